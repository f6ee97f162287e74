//! The embedded Kubernetes schemas (`data/k8s-schemas/defs.tsv.gz`, format described in its
//! README and in `scripts/gen-k8s-schemas.py`).

use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::SchemaError;
use crate::checks::KubeVersion;

static RAW: &[u8] = include_bytes!("../../../data/k8s-schemas/defs.tsv.gz");
const MAGIC: &str = "warden-k8s-schemas 1";

/// The decompressed text, read once per process.
fn text() -> Result<&'static str, SchemaError> {
    static TEXT: OnceLock<Result<String, String>> = OnceLock::new();
    TEXT.get_or_init(|| {
        let mut s = String::new();
        flate2::read::GzDecoder::new(RAW)
            .read_to_string(&mut s)
            .map_err(|e| e.to_string())?;
        Ok(s)
    })
    .as_deref()
    .map_err(|e| SchemaError::Data(e.clone()))
}

/// The versions line of the data.
pub(super) fn versions() -> Result<Vec<KubeVersion>, SchemaError> {
    let t = text()?;
    let mut lines = t.lines();
    if lines.next() != Some(MAGIC) {
        return Err(SchemaError::Data("bad magic line".into()));
    }
    let Some(vs) = lines.next().and_then(|l| l.strip_prefix("versions ")) else {
        return Err(SchemaError::Data("missing versions line".into()));
    };
    vs.split(' ')
        .map(|v| KubeVersion::parse(v).ok_or_else(|| SchemaError::Data(format!("bad version {v}"))))
        .collect()
}

/// One version's definitions.
pub(super) struct Defs {
    /// `{"$defs": {name: body}}`, the document `$ref`s point into.
    pub doc: Value,
    /// apiVersion → kind → definition name, from `x-kubernetes-group-version-kind`.
    pub kinds: HashMap<String, HashMap<String, String>>,
}

/// Build the definitions of `version` (which must be in [`versions`]).
pub(super) fn load(version: KubeVersion) -> Result<Defs, SchemaError> {
    let all = versions()?;
    let Some(bit) = all.iter().position(|v| *v == version) else {
        return Err(SchemaError::Data(format!("no data for {version}")));
    };
    let mut defs = Map::new();
    let mut kinds: HashMap<String, HashMap<String, String>> = HashMap::new();
    for line in text()?.lines().skip(3) {
        let mut parts = line.splitn(3, '\t');
        let (Some(name), Some(mask), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(SchemaError::Data(format!("bad line {line:.60}")));
        };
        let mask = u64::from_str_radix(mask, 16)
            .map_err(|_| SchemaError::Data(format!("bad mask in {name}")))?;
        if bit >= 64 || mask & (1 << bit) == 0 {
            continue;
        }
        let body: Value =
            serde_json::from_str(body).map_err(|e| SchemaError::Data(format!("{name}: {e}")))?;
        if let Some(gvks) = body
            .get("x-kubernetes-group-version-kind")
            .and_then(Value::as_array)
        {
            for g in gvks {
                let s = |k| g.get(k).and_then(Value::as_str).unwrap_or("");
                let api = if s("group").is_empty() {
                    s("version").to_string()
                } else {
                    format!("{}/{}", s("group"), s("version"))
                };
                kinds
                    .entry(api)
                    .or_default()
                    .entry(s("kind").to_string())
                    .or_insert_with(|| name.to_string());
            }
        }
        defs.insert(name.to_string(), body);
    }
    let mut doc = Map::new();
    doc.insert("$defs".into(), Value::Object(defs));
    Ok(Defs {
        doc: Value::Object(doc),
        kinds,
    })
}
