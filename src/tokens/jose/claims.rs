//! The one registered-claims check (RFC 7519 §4.1) with clock skew, and NumericDate parsing.

use serde_json::{Map, Value};

use super::JoseError;
use crate::clock::UnixTime;

/// The longest `jti` accepted.
const MAX_JTI_LEN: usize = 256;

/// Which audiences `aud` (a string or an array of strings) must name one of.
#[derive(Debug, Clone, Copy)]
pub enum Audience<'a> {
    /// Not checked (`aud` may be absent).
    Unchecked,
    /// Exactly this one.
    Is(&'a str),
    /// Any of these.
    AnyOf(&'a [String]),
}

/// What a verified token's registered claims and `typ` must satisfy.
#[derive(Debug, Clone, Copy)]
pub struct Validation<'a> {
    /// The exact `iss` required; `None` leaves `iss` to the caller.
    pub issuer: Option<&'a str>,
    /// The audience check.
    pub audience: Audience<'a>,
    /// When set, `azp` must be this party when present, and present when `aud` holds
    /// several audiences (OIDC Core §3.1.3.7 steps 4–5).
    pub authorized_party: Option<&'a str>,
    /// The header `typ` required (case-insensitively, with or without `application/`,
    /// RFC 7515 §4.1.9); `None` accepts any.
    pub typ: Option<&'a str>,
    /// Now (the injected clock).
    pub now: UnixTime,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub skew: i64,
    /// Whether `iat` must be present.
    pub require_iat: bool,
    /// When set, `iat` (when present) may be at most this many seconds old.
    pub max_age: Option<i64>,
    /// When set, `exp` may be at most this many seconds after now.
    pub max_lifetime: Option<i64>,
    /// Whether a `jti` (1 to 256 characters) must be present.
    pub require_jti: bool,
}

impl<'a> Validation<'a> {
    /// `iss` = `issuer`, `exp` required, `nbf`/`iat` not in the future, at `now` with
    /// `skew`; every other check off.
    pub fn new(issuer: Option<&'a str>, now: UnixTime, skew: i64) -> Self {
        Self {
            issuer,
            audience: Audience::Unchecked,
            authorized_party: None,
            typ: None,
            now,
            skew,
            require_iat: false,
            max_age: None,
            max_lifetime: None,
            require_jti: false,
        }
    }

    /// Checks, in order: `typ`, `iss`, `aud`, `azp`, `exp` (always required), `nbf`,
    /// `iat`, `jti`.
    pub(super) fn check(
        &self,
        typ: Option<&str>,
        claims: &Map<String, Value>,
    ) -> Result<(), JoseError> {
        if let Some(expected) = self.typ {
            let typ = typ.ok_or(JoseError::WrongType)?;
            if !strip_prefix_ignore_case(typ, "application/").eq_ignore_ascii_case(expected) {
                return Err(JoseError::WrongType);
            }
        }
        if let Some(issuer) = self.issuer {
            match claims.get("iss") {
                None => return Err(JoseError::MissingClaim("iss")),
                Some(Value::String(iss)) if iss == issuer => {}
                Some(_) => return Err(JoseError::WrongIssuer),
            }
        }
        self.check_audience(claims)?;
        self.check_time(claims)?;
        if self.require_jti {
            match claims.get("jti") {
                None => return Err(JoseError::MissingClaim("jti")),
                Some(Value::String(jti)) if (1..=MAX_JTI_LEN).contains(&jti.len()) => {}
                Some(_) => return Err(JoseError::InvalidClaim("jti")),
            }
        }
        Ok(())
    }

    fn check_audience(&self, claims: &Map<String, Value>) -> Result<(), JoseError> {
        if matches!(self.audience, Audience::Unchecked) && self.authorized_party.is_none() {
            return Ok(());
        }
        let audiences = audiences(claims)?;
        let named = |want: &str| audiences.contains(&want);
        let ok = match self.audience {
            Audience::Unchecked => true,
            Audience::Is(want) => named(want),
            Audience::AnyOf(list) => list.iter().any(|w| named(w)),
        };
        if !ok {
            return Err(JoseError::WrongAudience);
        }
        if let Some(party) = self.authorized_party {
            match claims.get("azp") {
                Some(Value::String(azp)) if azp == party => {}
                None if audiences.len() == 1 => {}
                _ => return Err(JoseError::WrongAuthorizedParty),
            }
        }
        Ok(())
    }

    fn check_time(&self, claims: &Map<String, Value>) -> Result<(), JoseError> {
        // In seconds: the claims are the sender's numbers, compared with saturating
        // arithmetic as they come.
        let (now, skew) = (self.now.secs(), self.skew.max(0));
        let later = now.saturating_add(skew);
        let exp = numeric_date(claims, "exp")?
            .ok_or(JoseError::MissingClaim("exp"))?
            .secs();
        // RFC 7519 §4.1.4: the token is valid only before `exp`.
        if now >= exp.saturating_add(skew) {
            return Err(JoseError::Expired);
        }
        if self
            .max_lifetime
            .is_some_and(|max| exp > later.saturating_add(max))
        {
            return Err(JoseError::TooLongLived);
        }
        if numeric_date(claims, "nbf")?.is_some_and(|nbf| nbf.secs() > later) {
            return Err(JoseError::NotYetValid);
        }
        match numeric_date(claims, "iat")?.map(UnixTime::secs) {
            None if self.require_iat => Err(JoseError::MissingClaim("iat")),
            Some(iat) if iat > later => Err(JoseError::IssuedInFuture),
            Some(iat)
                if self
                    .max_age
                    .is_some_and(|max| iat < now.saturating_sub(max).saturating_sub(skew)) =>
            {
                Err(JoseError::TooOld)
            }
            _ => Ok(()),
        }
    }
}

/// The audiences `aud` names: a string, or the strings of an array.
pub(super) fn audiences(claims: &Map<String, Value>) -> Result<Vec<&str>, JoseError> {
    match claims.get("aud") {
        None => Err(JoseError::MissingClaim("aud")),
        Some(Value::String(a)) => Ok(vec![a.as_str()]),
        Some(Value::Array(list)) => Ok(list.iter().filter_map(Value::as_str).collect()),
        Some(_) => Err(JoseError::InvalidClaim("aud")),
    }
}

/// A NumericDate (RFC 7519 §2): seconds, possibly fractional (floored).
pub(super) fn numeric_date(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<UnixTime>, JoseError> {
    let invalid = || JoseError::InvalidClaim(name);
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                return Ok(Some(UnixTime::from_secs(i)));
            }
            let f = n.as_f64().filter(|f| f.is_finite()).ok_or_else(invalid)?;
            if f.abs() >= 9.0e15 {
                return Err(invalid());
            }
            // In range: the cast is exact after flooring.
            #[allow(clippy::cast_possible_truncation)]
            Ok(Some(UnixTime::from_secs(f.floor() as i64)))
        }
        Some(_) => Err(invalid()),
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> &'a str {
    match s.get(..prefix.len()) {
        Some(head) if head.eq_ignore_ascii_case(prefix) => &s[prefix.len()..],
        _ => s,
    }
}
