//! Small typed values for what GitHub names: commits, repositories, pull requests, installations,
//! deliveries. Made once, where a webhook or an API response enters, so the rest of Warden never
//! handles a bare string or number whose meaning it has to guess.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a value from GitHub was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{0:?} is not a full commit SHA (40 lowercase hex digits)")]
    Sha(String),
    #[error("{0:?} is not a repository name (owner/name)")]
    Repo(String),
}

/// A full commit SHA: 40 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha(String);

impl Sha {
    pub fn parse(s: &str) -> Result<Sha, IdError> {
        let ok = s.len() == 40
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if ok {
            Ok(Sha(s.to_string()))
        } else {
            Err(IdError::Sha(s.chars().take(80).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 7 digits, as GitHub shows them.
    pub fn short(&self) -> &str {
        &self.0[..7]
    }

    /// The all-zero SHA a push uses for a created or deleted ref.
    pub fn is_zero(&self) -> bool {
        self.0.bytes().all(|b| b == b'0')
    }
}

/// `owner/name` of a repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoName {
    owner: String,
    name: String,
}

impl RepoName {
    /// From `owner/name`: both parts non-empty, GitHub's characters only.
    pub fn parse(full: &str) -> Result<RepoName, IdError> {
        let valid = |s: &str| {
            !s.is_empty()
                && s.len() <= 100
                && s != "."
                && s != ".."
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        };
        match full.split_once('/') {
            Some((o, n)) if valid(o) && valid(n) => Ok(RepoName {
                owner: o.to_string(),
                name: n.to_string(),
            }),
            _ => Err(IdError::Repo(full.chars().take(200).collect())),
        }
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

impl fmt::Display for Sha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! number_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

number_id!(
    /// A pull request's (or issue's) number in its repository.
    PrNumber
);
number_id!(
    /// An App installation.
    InstallationId
);
number_id!(
    /// A repository's numeric id (stable across renames).
    RepoId
);
number_id!(
    /// A check run.
    CheckRunId
);
number_id!(
    /// An issue or pull-request comment.
    CommentId
);

macro_rules! string_serde {
    ($name:ident) => {
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_serde!(Sha);
string_serde!(RepoName);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shas_are_full_lowercase_hex() {
        let s = Sha::parse("ec26c3e57ca3a959ca5aad62de7213c562f8c821").unwrap();
        assert_eq!(s.short(), "ec26c3e");
        assert!(!s.is_zero());
        assert!(Sha::parse(&"0".repeat(40)).unwrap().is_zero());
        for bad in [
            "",
            "ec26c3e",
            "EC26C3E57CA3A959CA5AAD62DE7213C562F8C821",
            &"g".repeat(40),
            &"a".repeat(41),
        ] {
            assert!(Sha::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn repo_names_have_an_owner_and_a_name() {
        let r = RepoName::parse("Codertocat/Hello-World").unwrap();
        assert_eq!((r.owner(), r.name()), ("Codertocat", "Hello-World"));
        assert_eq!(r.to_string(), "Codertocat/Hello-World");
        for bad in ["", "a", "a/", "/b", "a/b/c", "a/..", "a b/c", "a/b?x"] {
            assert!(RepoName::parse(bad).is_err(), "{bad}");
        }
        let json: RepoName = serde_json::from_str("\"o/n\"").unwrap();
        assert_eq!(serde_json::to_string(&json).unwrap(), "\"o/n\"");
        assert!(serde_json::from_str::<RepoName>("\"nope\"").is_err());
    }
}
