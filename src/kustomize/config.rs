//! The transformer configuration: which fields each built-in transformer touches.
//! Defaults are kustomize's (data in `data/fieldspecs.txt`); a kustomization's `configurations:`
//! files add to them, and the additions flow up to the kustomizations that include it.

use super::fieldspec::FieldSpec;
use crate::manifest::Gvk;
use serde_json::Value;
use std::borrow::Cow;
use std::sync::OnceLock;

/// Objects of kind `target` are referred to by name from the `referrers` fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameBackRef {
    pub target: Gvk,
    pub referrers: Vec<FieldSpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransformerConfig {
    pub name_prefix: Vec<FieldSpec>,
    pub name_suffix: Vec<FieldSpec>,
    pub common_labels: Vec<FieldSpec>,
    pub template_labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub namespace: Vec<FieldSpec>,
    pub var_reference: Vec<FieldSpec>,
    pub name_reference: Vec<NameBackRef>,
    pub images: Vec<FieldSpec>,
    pub replicas: Vec<FieldSpec>,
}

const DEFAULTS: &str = include_str!("data/fieldspecs.txt");

fn dash(s: &'static str) -> Cow<'static, str> {
    Cow::Borrowed(if s == "-" { "" } else { s })
}

impl TransformerConfig {
    /// kustomize's built-in field specs.
    pub fn defaults() -> &'static TransformerConfig {
        static CELL: OnceLock<TransformerConfig> = OnceLock::new();
        CELL.get_or_init(|| parse_defaults(DEFAULTS))
    }

    fn list_mut(&mut self, section: &str) -> Option<&mut Vec<FieldSpec>> {
        Some(match section {
            "namePrefix" => &mut self.name_prefix,
            "nameSuffix" => &mut self.name_suffix,
            "commonLabels" => &mut self.common_labels,
            "templateLabels" => &mut self.template_labels,
            "commonAnnotations" => &mut self.common_annotations,
            "namespace" => &mut self.namespace,
            "varReference" => &mut self.var_reference,
            "images" => &mut self.images,
            "replicas" => &mut self.replicas,
            _ => return None,
        })
    }

    /// Add another configuration's specs that are not already here.
    pub fn merge(&mut self, other: &TransformerConfig) {
        // Most merges bring nothing new (every level starts from the same defaults).
        if other == self {
            return;
        }
        fn add(dst: &mut Vec<FieldSpec>, src: &[FieldSpec]) {
            for s in src {
                if !dst.iter().any(|d| d.same_target(s)) {
                    dst.push(s.clone());
                }
            }
        }
        add(&mut self.name_prefix, &other.name_prefix);
        add(&mut self.name_suffix, &other.name_suffix);
        add(&mut self.common_labels, &other.common_labels);
        add(&mut self.template_labels, &other.template_labels);
        add(&mut self.common_annotations, &other.common_annotations);
        add(&mut self.namespace, &other.namespace);
        add(&mut self.var_reference, &other.var_reference);
        add(&mut self.images, &other.images);
        add(&mut self.replicas, &other.replicas);
        for br in &other.name_reference {
            match self
                .name_reference
                .iter_mut()
                .find(|b| b.target == br.target)
            {
                Some(b) => add(&mut b.referrers, &br.referrers),
                None => self.name_reference.push(br.clone()),
            }
        }
    }

    /// Read a `configurations:` file (already parsed): the same sections as the defaults.
    pub fn from_value(v: &Value) -> Result<TransformerConfig, String> {
        let mut c = TransformerConfig::default();
        let Some(m) = v.as_object() else {
            if v.is_null() {
                return Ok(c);
            }
            return Err("a transformer configuration must be a mapping".into());
        };
        for (k, val) in m {
            if k == "nameReference" {
                let items = val.as_array().cloned().unwrap_or_default();
                for it in items {
                    let o = it
                        .as_object()
                        .ok_or("nameReference entries must be mappings")?;
                    let s = |f: &str| o.get(f).and_then(|x| x.as_str()).unwrap_or("").to_string();
                    let target = Gvk {
                        group: s("group"),
                        version: s("version"),
                        kind: s("kind"),
                    };
                    let referrers: Vec<FieldSpec> = match o.get("fieldSpecs") {
                        Some(fs) => serde_json::from_value(fs.clone())
                            .map_err(|e| format!("nameReference fieldSpecs: {e}"))?,
                        None => Vec::new(),
                    };
                    c.merge(&TransformerConfig {
                        name_reference: vec![NameBackRef { target, referrers }],
                        ..Default::default()
                    });
                }
                continue;
            }
            let Some(list) = c.list_mut(k) else {
                return Err(format!("unknown transformer configuration field '{k}'"));
            };
            if val.is_null() {
                continue;
            }
            let specs: Vec<FieldSpec> =
                serde_json::from_value(val.clone()).map_err(|e| format!("{k}: {e}"))?;
            for s in specs {
                if !list.iter().any(|d| d.same_target(&s)) {
                    list.push(s);
                }
            }
        }
        Ok(c)
    }
}

fn parse_defaults(text: &'static str) -> TransformerConfig {
    let mut c = TransformerConfig::default();
    let mut section = "";
    // Plain ASCII data: split on single bytes into a fixed array (this runs on every build).
    for line in text.split('\n') {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if let Some(s) = line.strip_prefix("section ") {
            section = s;
            continue;
        }
        let mut f: [&'static str; 5] = [""; 5];
        for (slot, part) in f.iter_mut().zip(line.split(' ').filter(|x| !x.is_empty())) {
            *slot = part;
        }
        if section == "nameReference" {
            if f[0] == "ref" {
                c.name_reference.push(NameBackRef {
                    target: Gvk {
                        group: dash(f[1]).into_owned(),
                        version: dash(f[2]).into_owned(),
                        kind: dash(f[3]).into_owned(),
                    },
                    referrers: Vec::new(),
                });
            } else if let Some(last) = c.name_reference.last_mut() {
                last.referrers.push(spec_of(&f));
            }
            continue;
        }
        if let Some(list) = c.list_mut(section) {
            list.push(spec_of(&f));
        }
    }
    c
}

fn spec_of(f: &[&'static str]) -> FieldSpec {
    FieldSpec {
        group: dash(f[0]),
        version: dash(f[1]),
        kind: dash(f[2]),
        path: Cow::Borrowed(f[3]),
        create: f[4] == "1",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_have_every_section() {
        let d = TransformerConfig::defaults();
        assert_eq!(d.name_prefix.len(), 1);
        assert!(
            d.common_labels
                .iter()
                .any(|s| s.path == "spec/selector/matchLabels" && s.kind == "Deployment")
        );
        assert!(
            d.name_reference
                .iter()
                .any(|b| b.target.kind == "ConfigMap" && b.referrers.len() > 10)
        );
        assert!(!d.var_reference.is_empty());
        assert_eq!(d.replicas.len(), 4);
        assert_eq!(d.images.len(), 4);
    }

    #[test]
    fn custom_config_merges() {
        let v = serde_json::json!({"namePrefix": [{"path": "spec/x", "kind": "Foo"}],
            "nameReference": [{"kind": "Bar", "fieldSpecs": [{"path": "spec/bar", "kind": "Foo"}]}]});
        let c = TransformerConfig::from_value(&v).unwrap();
        let mut d = TransformerConfig::defaults().clone();
        d.merge(&c);
        assert_eq!(d.name_prefix.len(), 2);
        assert!(d.name_reference.iter().any(|b| b.target.kind == "Bar"));
    }
}
