//! Errors of the policy module: document validation errors (every problem, each with its
//! location) and request-context errors.

use std::fmt;

/// One problem found in a policy document.
///
/// `path` locates the offending element with a JSON-path-like string without a leading dot
/// (`Statement[0].Condition`, `Statement[2].Action[1]`, `Version`), or is empty for the
/// document as a whole. A caller embedding the document elsewhere prefixes it (see
/// [`ValidationErrors::prefixed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// Where the problem is, e.g. `Statement[0].Condition`.
    pub path: String,
    /// What the problem is, as a plain sentence fragment.
    pub message: String,
}

impl ValidationError {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ValidationError {}

/// Every problem found in a policy document (never empty when returned as an error).
///
/// `Display` writes one error per line, in document order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValidationErrors(Vec<ValidationError>);

impl ValidationErrors {
    pub(crate) fn new() -> Self {
        Self(Vec::new())
    }

    pub(crate) fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ValidationError::new(path, message));
    }

    /// The errors, in document order.
    pub fn iter(&self) -> std::slice::Iter<'_, ValidationError> {
        self.0.iter()
    }

    /// How many errors there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no errors.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The same errors with `prefix` put in front of every path, joined with a dot
    /// (`roles[1].trust_policy` + `Statement[0]` → `roles[1].trust_policy.Statement[0]`).
    #[must_use]
    pub fn prefixed(self, prefix: &str) -> Self {
        if prefix.is_empty() {
            return self;
        }
        Self(
            self.0
                .into_iter()
                .map(|e| ValidationError {
                    path: if e.path.is_empty() {
                        prefix.to_owned()
                    } else {
                        format!("{prefix}.{}", e.path)
                    },
                    message: e.message,
                })
                .collect(),
        )
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

impl IntoIterator for ValidationErrors {
    type Item = ValidationError;
    type IntoIter = std::vec::IntoIter<ValidationError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a ValidationErrors {
    type Item = &'a ValidationError;
    type IntoIter = std::slice::Iter<'a, ValidationError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl From<ValidationErrors> for Vec<ValidationError> {
    fn from(e: ValidationErrors) -> Self {
        e.0
    }
}

/// A request context given as JSON could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    /// The context is not a JSON object.
    #[error("the context must be a JSON object of condition keys, found {found}")]
    NotAnObject {
        /// The JSON type found instead.
        found: &'static str,
    },
    /// A key's value is not a string, number, boolean, null or list of those.
    #[error(
        "context key \"{key}\": expected a string, number, boolean or a list of them, found {found}"
    )]
    InvalidValue {
        /// The condition key.
        key: String,
        /// The JSON type found instead.
        found: &'static str,
    },
    /// A key is empty.
    #[error("context keys must not be empty")]
    EmptyKey,
}

/// The JSON type name of `v`, for messages.
pub(crate) fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}
