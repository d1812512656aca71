//! Condition operators: names, families, the `...IfExists` suffix and the
//! `ForAllValues:`/`ForAnyValue:` set qualifiers.
//!
//! Implements "IAM JSON policy elements: Condition operators" and "Set operators for
//! multivalued context keys" (Single-valued vs. multivalued context keys).

/// Every base condition operator name, as AWS spells it. Each may take the `IfExists`
/// suffix except `Null`, and a `ForAllValues:` or `ForAnyValue:` prefix except `Null`.
pub const KNOWN_OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
];

/// The set qualifiers.
pub const SET_QUALIFIERS: &[&str] = &["ForAllValues", "ForAnyValue"];

/// The comparison a base operator makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    StrEq,
    StrEqIc,
    StrLike,
    NumEq,
    NumLt,
    NumLe,
    NumGt,
    NumGe,
    DateEq,
    DateLt,
    DateLe,
    DateGt,
    DateGe,
    Bool,
    Binary,
    Ip,
    Arn,
    Null,
}

/// The value family a comparison reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    String,
    Numeric,
    Date,
    Bool,
    Binary,
    Ip,
    Arn,
    Null,
}

impl Cmp {
    pub(crate) fn family(self) -> Family {
        match self {
            Cmp::StrEq | Cmp::StrEqIc | Cmp::StrLike => Family::String,
            Cmp::NumEq | Cmp::NumLt | Cmp::NumLe | Cmp::NumGt | Cmp::NumGe => Family::Numeric,
            Cmp::DateEq | Cmp::DateLt | Cmp::DateLe | Cmp::DateGt | Cmp::DateGe => Family::Date,
            Cmp::Bool => Family::Bool,
            Cmp::Binary => Family::Binary,
            Cmp::Ip => Family::Ip,
            Cmp::Arn => Family::Arn,
            Cmp::Null => Family::Null,
        }
    }
}

impl Family {
    /// Whether policy variables may appear in values of this family (AWS documents
    /// variables as supported for string, ARN and Boolean operators only).
    pub(crate) fn allows_variables(self) -> bool {
        matches!(self, Family::String | Family::Arn | Family::Bool)
    }
}

/// The set qualifier of an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetOp {
    ForAllValues,
    ForAnyValue,
}

/// A parsed operator name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Operator {
    pub set: Option<SetOp>,
    pub cmp: Cmp,
    /// `StringNotEquals`, `NotIpAddress`...: the result of the positive comparison is negated.
    pub negated: bool,
    pub if_exists: bool,
}

fn base(name: &str) -> Option<(Cmp, bool)> {
    Some(match name {
        "StringEquals" => (Cmp::StrEq, false),
        "StringNotEquals" => (Cmp::StrEq, true),
        "StringEqualsIgnoreCase" => (Cmp::StrEqIc, false),
        "StringNotEqualsIgnoreCase" => (Cmp::StrEqIc, true),
        "StringLike" => (Cmp::StrLike, false),
        "StringNotLike" => (Cmp::StrLike, true),
        "NumericEquals" => (Cmp::NumEq, false),
        "NumericNotEquals" => (Cmp::NumEq, true),
        "NumericLessThan" => (Cmp::NumLt, false),
        "NumericLessThanEquals" => (Cmp::NumLe, false),
        "NumericGreaterThan" => (Cmp::NumGt, false),
        "NumericGreaterThanEquals" => (Cmp::NumGe, false),
        "DateEquals" => (Cmp::DateEq, false),
        "DateNotEquals" => (Cmp::DateEq, true),
        "DateLessThan" => (Cmp::DateLt, false),
        "DateLessThanEquals" => (Cmp::DateLe, false),
        "DateGreaterThan" => (Cmp::DateGt, false),
        "DateGreaterThanEquals" => (Cmp::DateGe, false),
        "Bool" => (Cmp::Bool, false),
        "BinaryEquals" => (Cmp::Binary, false),
        "IpAddress" => (Cmp::Ip, false),
        "NotIpAddress" => (Cmp::Ip, true),
        "ArnEquals" | "ArnLike" => (Cmp::Arn, false),
        "ArnNotEquals" | "ArnNotLike" => (Cmp::Arn, true),
        "Null" => (Cmp::Null, false),
        _ => return None,
    })
}

impl Operator {
    /// Parses an operator name; the error is a message with a suggestion when one is close.
    pub(crate) fn parse(name: &str) -> Result<Operator, String> {
        let (set, rest) = match name.split_once(':') {
            Some(("ForAllValues", r)) => (Some(SetOp::ForAllValues), r),
            Some(("ForAnyValue", r)) => (Some(SetOp::ForAnyValue), r),
            Some(_) => return Err(unknown(name)),
            None => (None, name),
        };
        let (body, if_exists) = match rest.strip_suffix("IfExists") {
            Some(b) => (b, true),
            None => (rest, false),
        };
        let Some((cmp, negated)) = base(body) else {
            return Err(unknown(name));
        };
        if cmp == Cmp::Null && if_exists {
            return Err(unknown(name));
        }
        if cmp == Cmp::Null && set.is_some() {
            return Err(format!(
                "operator \"{name}\": Null cannot be qualified with ForAllValues or ForAnyValue"
            ));
        }
        Ok(Operator {
            set,
            cmp,
            negated,
            if_exists,
        })
    }
}

fn unknown(name: &str) -> String {
    match suggest(name) {
        Some(s) => format!("unknown operator \"{name}\", did you mean \"{s}\"?"),
        None => format!("unknown operator \"{name}\""),
    }
}

/// The closest valid operator name to `name`, if close enough to be a likely typo.
pub(crate) fn suggest(name: &str) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    let target = name.to_ascii_lowercase();
    let prefixes = ["", "ForAllValues:", "ForAnyValue:"];
    for prefix in prefixes {
        for op in KNOWN_OPERATORS {
            for suffix in ["", "IfExists"] {
                if *op == "Null" && (!prefix.is_empty() || !suffix.is_empty()) {
                    continue;
                }
                let cand = format!("{prefix}{op}{suffix}");
                let d = edit_distance(&target, &cand.to_ascii_lowercase());
                if best.as_ref().is_none_or(|(bd, _)| d < *bd) {
                    best = Some((d, cand));
                }
            }
        }
    }
    let (d, cand) = best?;
    let limit = (name.chars().count() / 3).clamp(2, 5);
    (d <= limit).then_some(cand)
}

/// Levenshtein distance between two strings (by characters).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest of `candidates` to `name` within a small edit distance.
pub(crate) fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let target = name.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (edit_distance(&target, &c.to_ascii_lowercase()), *c))
        .min_by_key(|(d, _)| *d)
        .filter(|(d, _)| *d <= (name.chars().count() / 3).clamp(1, 3))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_forms() {
        for op in KNOWN_OPERATORS {
            assert!(Operator::parse(op).is_ok(), "{op}");
        }
        let o = Operator::parse("ForAnyValue:StringNotLikeIfExists").unwrap();
        assert_eq!(o.set, Some(SetOp::ForAnyValue));
        assert_eq!(o.cmp, Cmp::StrLike);
        assert!(o.negated && o.if_exists);
        assert!(Operator::parse("NullIfExists").is_err());
        assert!(Operator::parse("ForAllValues:Null").is_err());
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            Operator::parse("StringEqual").unwrap_err(),
            "unknown operator \"StringEqual\", did you mean \"StringEquals\"?"
        );
        assert_eq!(suggest("stringequals").as_deref(), Some("StringEquals"));
        assert_eq!(
            suggest("ForAnyValues:StringLike").as_deref(),
            Some("ForAnyValue:StringLike")
        );
        assert_eq!(suggest("IpAdress").as_deref(), Some("IpAddress"));
        assert_eq!(
            suggest("DateLessThenEquals").as_deref(),
            Some("DateLessThanEquals")
        );
        assert_eq!(suggest("Completely"), None);
        assert_eq!(closest("Efect", &["Effect", "Action"]), Some("Effect"));
    }
}
