use super::fieldspec::FieldSpec;
use super::resource::Resource;
#[derive(Debug, serde::Deserialize)]
pub struct Var {
    pub name: String,
}
pub fn resolve(_r: &mut [Resource], _v: &[Var], _s: &[FieldSpec]) -> Result<(), String> {
    Ok(())
}
