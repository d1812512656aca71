//! Wildcard patterns (`*` any run of characters, `?` exactly one character) and policy
//! variables (`${aws:username}`, `${key, 'default'}`, `${*}`, `${?}`, `${$}`).
//!
//! Implements "IAM JSON policy elements: Resource" (wildcards within an ARN) and "IAM policy
//! elements: Variables and tags" (substitution, default values, special characters). A
//! substituted value is always literal text: a user name containing `*` is not a wildcard.
//! Matching is the classic greedy algorithm with single-star backtracking, linear in the
//! common cases and never worse than O(pattern × value): no regular expressions, no
//! allocation for patterns without variables.

use crate::context::{Context, ContextValue, lower};

/// A pattern token with no variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GTok {
    Lit(Box<str>),
    Star,
    One,
}

/// A policy variable reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Var {
    /// The condition key, in lower case.
    pub key: Box<str>,
    /// The default from `${key, 'default'}`.
    pub default: Option<Box<str>>,
}

/// A pattern token that may be a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VTok {
    G(GTok),
    Var(Var),
}

/// A borrowed token, after variables were substituted.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TokRef<'a> {
    Lit(&'a str),
    Star,
    One,
}

impl GTok {
    fn view(&self) -> TokRef<'_> {
        match self {
            GTok::Lit(s) => TokRef::Lit(s),
            GTok::Star => TokRef::Star,
            GTok::One => TokRef::One,
        }
    }
}

/// Splits `s` into tokens.
///
/// * `wildcards`: whether `*` and `?` in the text are wildcards (else literal).
/// * `variables`: whether `${...}` is a policy variable (policy version 2012-10-17).
///
/// Errors are messages for a malformed variable.
pub(crate) fn tokenize(s: &str, wildcards: bool, variables: bool) -> Result<Vec<VTok>, String> {
    let mut out: Vec<VTok> = Vec::new();
    let mut lit = String::new();
    let flush = |lit: &mut String, out: &mut Vec<VTok>| {
        if !lit.is_empty() {
            out.push(VTok::G(GTok::Lit(std::mem::take(lit).into_boxed_str())));
        }
    };
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if variables && rest.starts_with("${") {
            let Some(end) = find_var_end(&rest[2..]) else {
                return Err(format!("unterminated policy variable in \"{s}\""));
            };
            let inner = &rest[2..2 + end];
            rest = &rest[2 + end + 1..];
            match inner.trim() {
                "*" => lit.push('*'),
                "?" => lit.push('?'),
                "$" => lit.push('$'),
                _ => {
                    flush(&mut lit, &mut out);
                    out.push(VTok::Var(parse_var(inner)?));
                }
            }
            continue;
        }
        rest = &rest[c.len_utf8()..];
        match c {
            '*' if wildcards => {
                flush(&mut lit, &mut out);
                // Consecutive stars are one star.
                if !matches!(out.last(), Some(VTok::G(GTok::Star))) {
                    out.push(VTok::G(GTok::Star));
                }
            }
            '?' if wildcards => {
                flush(&mut lit, &mut out);
                out.push(VTok::G(GTok::One));
            }
            _ => lit.push(c),
        }
    }
    flush(&mut lit, &mut out);
    Ok(out)
}

/// Finds the `}` closing a variable body, skipping quoted defaults (`''` is a quote).
fn find_var_end(s: &str) -> Option<usize> {
    let mut in_quote = false;
    for (i, c) in s.char_indices() {
        match c {
            '\'' => in_quote = !in_quote,
            '}' if !in_quote => return Some(i),
            _ => {}
        }
    }
    None
}

fn parse_var(inner: &str) -> Result<Var, String> {
    let (key, default) = match inner.split_once(',') {
        None => (inner.trim(), None),
        Some((k, d)) => {
            let d = d.trim();
            let body = d
                .strip_prefix('\'')
                .and_then(|d| d.strip_suffix('\''))
                .filter(|_| d.len() >= 2)
                .ok_or_else(|| {
                    format!("the default value of policy variable \"${{{inner}}}\" must be in single quotes")
                })?;
            (k.trim(), Some(body.replace("''", "'").into_boxed_str()))
        }
    };
    if key.is_empty() {
        return Err("empty policy variable \"${}\"".to_owned());
    }
    if key
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '$' | '{' | '}' | '\'' | '*' | '?'))
    {
        return Err(format!("invalid policy variable name \"{key}\""));
    }
    Ok(Var {
        key: lower(key),
        default,
    })
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pattern {
    /// `*`: matches everything.
    Any,
    /// No wildcard, no variable.
    Exact(Box<str>),
    /// `literal*`.
    Prefix(Box<str>),
    /// Wildcards, no variables.
    Glob(Box<[GTok]>),
    /// Contains variables.
    Template(Box<[VTok]>),
}

impl Pattern {
    /// Builds the fastest representation of `toks`.
    pub(crate) fn compile(toks: Vec<VTok>) -> Pattern {
        if toks.iter().any(|t| matches!(t, VTok::Var(_))) {
            return Pattern::Template(toks.into_boxed_slice());
        }
        let g: Vec<GTok> = toks
            .into_iter()
            .filter_map(|t| match t {
                VTok::G(g) => Some(g),
                VTok::Var(_) => None,
            })
            .collect();
        match g.as_slice() {
            [] => Pattern::Exact("".into()),
            [GTok::Star] => Pattern::Any,
            [GTok::Lit(l)] => Pattern::Exact(l.clone()),
            [GTok::Lit(l), GTok::Star] => Pattern::Prefix(l.clone()),
            _ => Pattern::Glob(g.into_boxed_slice()),
        }
    }

    /// Matches `s`; `None` when a variable cannot be resolved (missing or multivalued key
    /// without a default), which makes the statement inapplicable.
    #[inline]
    pub(crate) fn matches(&self, s: &str, ctx: &Context) -> Option<bool> {
        Some(match self {
            Pattern::Any => true,
            Pattern::Exact(l) => **l == *s,
            Pattern::Prefix(p) => s.starts_with(&**p),
            Pattern::Glob(toks) => glob_match(toks.iter().map(GTok::view), toks.len(), s),
            Pattern::Template(toks) => {
                let resolved = resolve(toks, ctx)?;
                glob_match(resolved.iter().copied(), resolved.len(), s)
            }
        })
    }

    /// The pattern as a token list with variables resolved (`None` if one cannot be).
    pub(crate) fn resolved<'a>(&'a self, ctx: &'a Context) -> Option<Vec<TokRef<'a>>> {
        Some(match self {
            Pattern::Any => vec![TokRef::Star],
            Pattern::Exact(l) => vec![TokRef::Lit(l)],
            Pattern::Prefix(p) => vec![TokRef::Lit(p), TokRef::Star],
            Pattern::Glob(toks) => toks.iter().map(GTok::view).collect(),
            Pattern::Template(toks) => resolve(toks, ctx)?,
        })
    }
}

/// Substitutes the variables of `toks` from `ctx`.
pub(crate) fn resolve<'a>(toks: &'a [VTok], ctx: &'a Context) -> Option<Vec<TokRef<'a>>> {
    toks.iter()
        .map(|t| match t {
            VTok::G(g) => Some(g.view()),
            VTok::Var(v) => resolve_var(v, ctx).map(TokRef::Lit),
        })
        .collect()
}

/// The value of one variable: a single-valued key's value, else the default.
/// Multivalued keys cannot be used as variables (AWS: "Single-valued vs. multivalued
/// context keys").
pub(crate) fn resolve_var<'a>(v: &'a Var, ctx: &'a Context) -> Option<&'a str> {
    match ctx.get_lower(&v.key) {
        Some(ContextValue::Single(s)) => Some(s),
        _ => v.default.as_deref(),
    }
}

/// Greedy wildcard match with backtracking to the last star.
pub(crate) fn glob_match<'p, I>(toks: I, n: usize, s: &str) -> bool
where
    I: Iterator<Item = TokRef<'p>> + Clone,
{
    // Small patterns: copy into a stack buffer for random access.
    let mut buf = [TokRef::Star; 16];
    let heap: Vec<TokRef<'p>>;
    let toks: &[TokRef<'p>] = if n <= buf.len() {
        let mut k = 0;
        for (slot, t) in buf.iter_mut().zip(toks) {
            *slot = t;
            k += 1;
        }
        &buf[..k]
    } else {
        heap = toks.collect();
        &heap
    };
    glob_slice(toks, s)
}

fn glob_slice(toks: &[TokRef<'_>], s: &str) -> bool {
    let (mut ti, mut si) = (0usize, 0usize);
    // (token index after the star, value index the star extends to)
    let mut star: Option<(usize, usize)> = None;
    loop {
        if let Some(t) = toks.get(ti) {
            match *t {
                TokRef::Star => {
                    star = Some((ti + 1, si));
                    ti += 1;
                    continue;
                }
                TokRef::Lit(l) => {
                    if s.as_bytes()[si..].starts_with(l.as_bytes()) {
                        si += l.len();
                        ti += 1;
                        continue;
                    }
                }
                TokRef::One => {
                    if let Some(c) = s[si..].chars().next() {
                        si += c.len_utf8();
                        ti += 1;
                        continue;
                    }
                }
            }
        } else if si == s.len() {
            return true;
        }
        // Mismatch: let the last star swallow one more character.
        match star {
            Some((after, from)) if from < s.len() => {
                let step = s[from..].chars().next().map_or(1, char::len_utf8);
                let mut next = from + step;
                // Skip ahead to the next place the following literal can start.
                if let Some(TokRef::Lit(l)) = toks.get(after) {
                    match s[next..].find(*l) {
                        Some(off) => next += off,
                        None => return false,
                    }
                }
                star = Some((after, next));
                ti = after;
                si = next;
            }
            _ => return false,
        }
    }
}

/// `ArnLike`/`ArnEquals`: the six colon-delimited parts are matched separately (a
/// wildcard does not cross a colon), the sixth part taking the rest of the value.
/// ("IAM JSON policy elements: Condition operators", ARN condition operators.)
pub(crate) fn arn_match(pattern: &[TokRef<'_>], s: &str) -> bool {
    let values: Vec<&str> = s.splitn(6, ':').collect();
    let segs = split_tokens(pattern);
    if segs.len() != 6 || values.len() != 6 {
        // Not an ARN-shaped pattern (e.g. "*"): plain wildcard match.
        return glob_slice(pattern, s);
    }
    segs.iter().zip(values).all(|(seg, v)| glob_slice(seg, v))
}

/// Splits a token list at its first five colons.
fn split_tokens<'a>(toks: &[TokRef<'a>]) -> Vec<Vec<TokRef<'a>>> {
    let mut segs: Vec<Vec<TokRef<'a>>> = vec![Vec::new()];
    for t in toks {
        match *t {
            TokRef::Lit(l) => {
                let mut rest = l;
                while segs.len() < 6 {
                    let Some(i) = rest.find(':') else { break };
                    if i > 0 {
                        if let Some(cur) = segs.last_mut() {
                            cur.push(TokRef::Lit(&rest[..i]));
                        }
                    }
                    segs.push(Vec::new());
                    rest = &rest[i + 1..];
                }
                if !rest.is_empty() {
                    if let Some(cur) = segs.last_mut() {
                        cur.push(TokRef::Lit(rest));
                    }
                }
            }
            other => {
                if let Some(cur) = segs.last_mut() {
                    cur.push(other);
                }
            }
        }
    }
    segs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Pattern::compile(tokenize(p, true, true).unwrap())
            .matches(s, &Context::new())
            .unwrap()
    }

    #[test]
    fn wildcards() {
        assert!(m("*", ""));
        assert!(m("*", "anything"));
        assert!(m("s3:Get*", "s3:GetObject"));
        assert!(!m("s3:Get*", "s3:PutObject"));
        assert!(m("s3:*Object", "s3:GetObject"));
        assert!(m("a*b*c", "abc"));
        assert!(m("a*b*c", "axxbyyc"));
        assert!(!m("a*b*c", "axxbyy"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("a?c", "aéc"));
        assert!(m("*a*a*a*b", "aaaaaaaaaaab"));
        assert!(!m("*a*a*a*b", "aaaaaaaaaaaa"));
        assert!(m(
            "arn:aws:s3:::bucket/*/test/*",
            "arn:aws:s3:::bucket/1/2/test/3/x.jpg"
        ));
        assert!(!m(
            "arn:aws:s3:::bucket/*/test/*",
            "arn:aws:s3:::bucket/1-test/x.jpg"
        ));
        assert!(m("**", "x"));
        assert!(m("", ""));
        assert!(!m("", "x"));
    }

    #[test]
    fn variables_and_escapes() {
        let ctx = Context::new().with("aws:username", "al*ce");
        let p = Pattern::compile(tokenize("home/${aws:username}/*", true, true).unwrap());
        assert_eq!(p.matches("home/al*ce/x", &ctx), Some(true));
        // The substituted '*' is literal.
        assert_eq!(p.matches("home/alice/x", &ctx), Some(false));
        assert_eq!(p.matches("home/x/y", &Context::new()), None);
        let d = Pattern::compile(tokenize("${aws:username, 'anon'}", true, true).unwrap());
        assert_eq!(d.matches("anon", &Context::new()), Some(true));
        let e = Pattern::compile(tokenize("a${*}b${?}${$}", true, true).unwrap());
        assert_eq!(e, Pattern::Exact("a*b?$".into()));
        assert!(tokenize("${aws:username", true, true).is_err());
        assert!(tokenize("${}", true, true).is_err());
        assert!(tokenize("${a, b}", true, true).is_err());
        // Version 2008-10-17: literal.
        assert_eq!(
            Pattern::compile(tokenize("${x}", true, false).unwrap()),
            Pattern::Exact("${x}".into())
        );
    }

    #[test]
    fn arn_segments() {
        let p = |s: &str| tokenize(s, true, true).unwrap();
        let check = |pat: &str, v: &str| {
            let c = Pattern::compile(p(pat));
            let ctx = Context::new();
            let r = c.resolved(&ctx).unwrap();
            arn_match(&r, v)
        };
        assert!(check(
            "arn:aws:iam::*:role/x",
            "arn:aws:iam::123456789012:role/x"
        ));
        assert!(!check("arn:aws:iam::*:role/x", "arn:aws:iam::1:2:role/x"));
        assert!(check("arn:aws:s3:::b/*", "arn:aws:s3:::b/a:b:c"));
        assert!(check("*", "whatever"));
        assert!(!check("arn:aws:sns:*:123:t", "arn:aws:sqs:us-east-1:123:t"));
    }
}
