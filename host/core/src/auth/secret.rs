//! Where a secret comes from: a file or an environment variable, never the
//! config file or the command line itself, so that a config can be shared
//! and a process listing shows nothing worth stealing.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A secret's source, written `file:PATH` or `env:NAME`.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// The whole file, without a trailing newline.
    File(PathBuf),
    /// The value of an environment variable of the process.
    Env(String),
}

/// Why a secret's source cannot be read, naming the source (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The text is neither `file:PATH` nor `env:NAME`; the text itself is
    /// never quoted, as it may be a secret pasted by mistake.
    #[error(
        "a secret's source must be `file:PATH` or `env:NAME`, not the secret itself (which would show in configs, process listings and shell histories)"
    )]
    Syntax,
    /// The file cannot be read.
    #[error("cannot read the secret file {path}: {reason}")]
    File { path: String, reason: String },
    /// The variable is not set, or not Unicode.
    #[error("the environment variable {0} holding a secret is not set (or not valid UTF-8)")]
    Env(String),
    /// The file or variable is empty.
    #[error("the secret in {0} is empty")]
    Empty(String),
}

impl SecretSource {
    /// Reads the secret now. A file's trailing newline (`\n` or `\r\n`) is
    /// not part of it, so that `echo` and editors can write one.
    pub fn read(&self) -> Result<Secret, SecretError> {
        let value = match self {
            SecretSource::File(path) => std::fs::read(path).map_err(|error| SecretError::File {
                path: path.display().to_string(),
                reason: error.to_string(),
            })?,
            SecretSource::Env(name) => std::env::var(name)
                .map_err(|_| SecretError::Env(name.clone()))?
                .into_bytes(),
        };
        let mut value = value;
        while value.last().is_some_and(|byte| *byte == b'\n' || *byte == b'\r') {
            value.pop();
        }
        if value.is_empty() {
            return Err(SecretError::Empty(self.to_string()));
        }
        Ok(Secret(value))
    }
}

impl FromStr for SecretSource {
    type Err = SecretError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.split_once(':') {
            Some(("file", path)) if !path.is_empty() => Ok(SecretSource::File(PathBuf::from(path))),
            Some(("env", name)) if !name.is_empty() => Ok(SecretSource::Env(name.to_string())),
            _ => Err(SecretError::Syntax),
        }
    }
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::File(path) => write!(f, "file:{}", path.display()),
            SecretSource::Env(name) => write!(f, "env:{name}"),
        }
    }
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for SecretSource {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SecretSource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for SecretSource {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SecretSource".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "pattern": "^(file|env):.+" })
    }
}

/// A secret's bytes. Its `Debug` shows only its length, so that it cannot
/// reach a log line through a `{:?}` by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// The secret's bytes, for the one place that needs them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// A secret held in memory only, e.g. a key the demo makes for itself.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes, hidden)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_is_a_file_or_a_variable_never_the_secret() {
        assert_eq!(
            "file:/run/secrets/key".parse::<SecretSource>(),
            Ok(SecretSource::File("/run/secrets/key".into()))
        );
        assert_eq!("env:KEY".parse::<SecretSource>(), Ok(SecretSource::Env("KEY".into())));
        let inline = "hunter2-is-my-key".parse::<SecretSource>().unwrap_err().to_string();
        assert!(inline.contains("file:PATH") && !inline.contains("hunter2"), "{inline}");
        let pasted = "Bearer:abc".parse::<SecretSource>().unwrap_err().to_string();
        assert!(!pasted.contains("abc") && !pasted.contains("Bearer"), "{pasted}");
        assert!("env:".parse::<SecretSource>().is_err());
    }

    #[test]
    fn a_file_loses_its_trailing_newline_and_an_empty_one_is_refused() {
        let dir = std::env::temp_dir().join(format!("fleethost-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key");
        std::fs::write(&path, "s3cret\r\n").unwrap();
        let secret = SecretSource::File(path.clone()).read().unwrap();
        assert_eq!(secret.expose(), b"s3cret");
        assert_eq!(format!("{secret:?}"), "Secret(6 bytes, hidden)");
        std::fs::write(&path, "\n").unwrap();
        assert!(matches!(SecretSource::File(path).read(), Err(SecretError::Empty(_))));
        let missing = SecretSource::File(dir.join("missing")).read().unwrap_err().to_string();
        assert!(missing.contains("missing"), "{missing}");
        let unset = SecretSource::Env("FLEETHOST_TEST_UNSET_SECRET".into())
            .read()
            .unwrap_err();
        assert!(unset.to_string().contains("FLEETHOST_TEST_UNSET_SECRET"), "{unset}");
    }
}
