use super::resource::Resource;
#[derive(Debug, serde::Deserialize)]
pub struct Selector {}
pub struct Matcher;
impl Selector {
    pub fn compile(&self) -> Result<Matcher, String> {
        Ok(Matcher)
    }
}
impl Matcher {
    pub fn matches(&self, _r: &Resource) -> bool {
        false
    }
}
