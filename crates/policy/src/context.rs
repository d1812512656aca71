//! The request context: condition keys and their values, supplied by the caller.
//!
//! Key names are case-insensitive, as in AWS ("condition key names are not case-sensitive",
//! IAM JSON policy elements: Condition); values are kept as given. The engine knows no list
//! of keys: whatever the caller puts here can be tested by a condition or substituted
//! into a policy variable.

use rustc_hash::FxHashMap;

use crate::error::{ContextError, json_type};

/// The value of one condition key in a request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum ContextValue {
    /// A single-valued key (`aws:SourceIp`, `aws:username`...).
    Single(String),
    /// A multivalued key (`aws:TagKeys`, `idp:groups`...). An empty list counts as a
    /// missing key (AWS's "null data set").
    Multi(Vec<String>),
}

impl ContextValue {
    /// The values as a slice-like list (one element for [`ContextValue::Single`]).
    pub fn values(&self) -> &[String] {
        match self {
            Self::Single(s) => std::slice::from_ref(s),
            Self::Multi(v) => v,
        }
    }
}

impl From<&str> for ContextValue {
    fn from(s: &str) -> Self {
        Self::Single(s.to_owned())
    }
}

impl From<String> for ContextValue {
    fn from(s: String) -> Self {
        Self::Single(s)
    }
}

impl From<Vec<String>> for ContextValue {
    fn from(v: Vec<String>) -> Self {
        Self::Multi(v)
    }
}

impl From<Vec<&str>> for ContextValue {
    fn from(v: Vec<&str>) -> Self {
        Self::Multi(v.into_iter().map(str::to_owned).collect())
    }
}

impl From<&[&str]> for ContextValue {
    fn from(v: &[&str]) -> Self {
        Self::Multi(v.iter().map(|s| (*s).to_owned()).collect())
    }
}

impl From<bool> for ContextValue {
    fn from(b: bool) -> Self {
        Self::Single(if b { "true" } else { "false" }.to_owned())
    }
}

impl From<i64> for ContextValue {
    fn from(n: i64) -> Self {
        Self::Single(n.to_string())
    }
}

impl From<u64> for ContextValue {
    fn from(n: u64) -> Self {
        Self::Single(n.to_string())
    }
}

/// The condition keys of one request. Cheap to build, read-only during evaluation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    map: FxHashMap<Box<str>, ContextValue>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty context with room for `keys` keys (no rehash while they are inserted).
    pub fn with_capacity(keys: usize) -> Self {
        Self {
            map: FxHashMap::with_capacity_and_hasher(keys, Default::default()),
        }
    }

    /// Sets `key` (case-insensitive) to `value`, returning the previous value.
    pub fn insert(
        &mut self,
        key: impl AsRef<str>,
        value: impl Into<ContextValue>,
    ) -> Option<ContextValue> {
        self.map.insert(lower(key.as_ref()), value.into())
    }

    /// Builder form of [`Context::insert`].
    #[must_use]
    pub fn with(mut self, key: impl AsRef<str>, value: impl Into<ContextValue>) -> Self {
        self.insert(key, value);
        self
    }

    /// Removes `key` (case-insensitive), returning its value.
    pub fn remove(&mut self, key: &str) -> Option<ContextValue> {
        self.map.remove(&*lower(key))
    }

    /// The value of `key` (case-insensitive).
    pub fn get(&self, key: &str) -> Option<&ContextValue> {
        if key.is_ascii() && !key.bytes().any(|b| b.is_ascii_uppercase()) {
            self.map.get(key)
        } else {
            self.map.get(&*lower(key))
        }
    }

    /// Lookup with a key already in lower case (the compiled policies store them so).
    #[inline]
    pub(crate) fn get_lower(&self, key: &str) -> Option<&ContextValue> {
        self.map.get(key)
    }

    /// The keys (in lower case) and values, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ContextValue)> {
        self.map.iter().map(|(k, v)| (&**k, v))
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Reads a JSON object of condition keys to a string or a list of strings (the format
    /// of `lanyard policy simulate --context`). Booleans and numbers are accepted and kept
    /// as their JSON text (`true`, `3600`); `null` means the key is absent.
    pub fn from_json(value: &serde_json::Value) -> Result<Context, ContextError> {
        let serde_json::Value::Object(obj) = value else {
            return Err(ContextError::NotAnObject {
                found: json_type(value),
            });
        };
        let mut ctx = Context::new();
        for (key, v) in obj {
            if key.is_empty() {
                return Err(ContextError::EmptyKey);
            }
            let invalid = |found| ContextError::InvalidValue {
                key: key.clone(),
                found,
            };
            let value = match v {
                serde_json::Value::Null => continue,
                serde_json::Value::Array(items) => ContextValue::Multi(
                    items
                        .iter()
                        .map(|i| scalar(i).ok_or_else(|| invalid(json_type(i))))
                        .collect::<Result<_, _>>()?,
                ),
                other => {
                    ContextValue::Single(scalar(other).ok_or_else(|| invalid(json_type(other)))?)
                }
            };
            ctx.insert(key, value);
        }
        Ok(ctx)
    }
}

impl<K: AsRef<str>, V: Into<ContextValue>> FromIterator<(K, V)> for Context {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut ctx = Context::new();
        for (k, v) in iter {
            ctx.insert(k, v);
        }
        ctx
    }
}

fn scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The canonical form of a condition-key name, the one the engine stores and looks up:
/// Unicode lower case (`str::to_lowercase`), since key names are case-insensitive. Callers
/// that decide which keys someone may set must compare in this form too: the Kelvin sign
/// `K` (U+212A) lower-cases to an ASCII `k`, so `"\u{212A}corp:email"` is the key
/// `kcorp:email`, which an ASCII-only comparison would miss.
pub fn normalize_key(key: &str) -> String {
    key.to_lowercase()
}

/// [`normalize_key`], boxed for storage.
pub(crate) fn lower(s: &str) -> Box<str> {
    normalize_key(s).into_boxed_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_case_insensitive() {
        let ctx = Context::new().with("aws:SourceIp", "10.0.0.1");
        assert_eq!(
            ctx.get("AWS:SOURCEIP"),
            Some(&ContextValue::from("10.0.0.1"))
        );
        assert_eq!(
            ctx.get("aws:sourceip"),
            Some(&ContextValue::from("10.0.0.1"))
        );
    }

    #[test]
    fn from_json_accepts_scalars_lists_and_null() {
        let ctx = Context::from_json(&serde_json::json!({
            "aws:SecureTransport": true,
            "aws:MultiFactorAuthAge": 300,
            "idp:groups": ["a", "b"],
            "aws:username": "alice",
            "gone": null,
        }))
        .unwrap();
        assert_eq!(
            ctx.get("aws:securetransport"),
            Some(&ContextValue::from("true"))
        );
        assert_eq!(
            ctx.get("aws:MultiFactorAuthAge"),
            Some(&ContextValue::from("300"))
        );
        assert_eq!(
            ctx.get("idp:groups"),
            Some(&ContextValue::from(vec!["a", "b"]))
        );
        assert!(ctx.get("gone").is_none());
        assert_eq!(ctx.len(), 4);
    }

    #[test]
    fn normalize_key_folds_unicode_like_the_lookup() {
        assert_eq!(normalize_key("\u{212A}corp:Email"), "kcorp:email");
        assert_eq!(
            normalize_key("AWS:PrincipalTag/Team"),
            "aws:principaltag/team"
        );
        let ctx = Context::new().with("\u{212A}corp:email", "x@example.com");
        assert_eq!(
            ctx.get("kcorp:email"),
            Some(&ContextValue::from("x@example.com"))
        );
        assert_eq!(ctx.iter().next().map(|(k, _)| k), Some("kcorp:email"));
    }

    #[test]
    fn from_json_rejects_objects() {
        assert!(matches!(
            Context::from_json(&serde_json::json!([])),
            Err(ContextError::NotAnObject { .. })
        ));
        assert!(matches!(
            Context::from_json(&serde_json::json!({"k": {"a": 1}})),
            Err(ContextError::InvalidValue { .. })
        ));
    }
}
