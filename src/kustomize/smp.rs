use crate::manifest::Object;
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SmpError(String);
pub fn apply(target: &Object, _patch: &Object) -> Result<Option<Object>, SmpError> {
    Ok(Some(target.clone()))
}
