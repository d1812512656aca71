//! Minting and verifying Lanyard's JWTs.
//!
//! Signing writes the JWS compact serialization (RFC 7515 §7.1) with the key parsed once
//! at load: `base64url(header) . base64url(claims) . base64url(signature)`, header
//! `{alg, typ, kid}`.
//!
//! Verification picks the key by `kid` among the published keys and pins the algorithm
//! to that key's: the header's `alg` must equal it, so `none`, HMAC signed with a public
//! key and any other algorithm confusion are refused before a signature is looked at.
//! `jsonwebtoken` checks the signature; the registered claims (RFC 7519 §4.1) are then
//! checked here against the `now` passed in, never the system clock.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::keys::KeySet;
use super::{Algorithm, TokenError};

/// The `typ` of an access token (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Tokens longer than this are refused unread.
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// What a token must satisfy to verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectations {
    /// The exact `iss` required.
    pub issuer: String,
    /// An audience `aud` must name (a string equal to it, or an array holding it);
    /// `None` skips the audience check.
    pub audience: Option<String>,
    /// The header `typ` required (compared case-insensitively, with or without the
    /// `application/` prefix, per RFC 7515 §4.1.9); `None` accepts any.
    pub typ: Option<String>,
    /// The current time, Unix seconds.
    pub now: i64,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub leeway_secs: u64,
}

impl Expectations {
    /// The expectations for a Lanyard access token (`typ: at+jwt`) issued by `issuer`
    /// for `audience`, at `now`, with 60 seconds of leeway.
    pub fn access_token(issuer: &str, audience: Option<&str>, now: i64) -> Self {
        Self {
            issuer: issuer.to_owned(),
            audience: audience.map(str::to_owned),
            typ: Some(ACCESS_TOKEN_TYP.to_owned()),
            now,
            leeway_secs: 60,
        }
    }
}

#[derive(Serialize)]
struct Header<'a> {
    alg: Algorithm,
    typ: &'a str,
    kid: &'a str,
}

/// The header members verification looks at, read before anything is trusted.
#[derive(Deserialize)]
struct UntrustedHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    crit: Option<Value>,
}

impl KeySet {
    /// Signs `claims` with the active key as a compact JWS with header
    /// `{"alg", "typ": typ, "kid"}`. The claims are serialized as they are: the caller
    /// sets `iss`, `exp` and the rest.
    pub fn sign<C: Serialize>(&self, claims: &C, typ: &str) -> Result<String, TokenError> {
        let key = self.active_key();
        let header = Header {
            alg: key.alg,
            typ,
            kid: &key.kid,
        };
        let header =
            serde_json::to_vec(&header).map_err(|e| TokenError::Signing(format!("header: {e}")))?;
        let claims =
            serde_json::to_vec(claims).map_err(|e| TokenError::Signing(format!("claims: {e}")))?;
        let mut token = URL_SAFE_NO_PAD.encode(header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(claims, &mut token);
        let signature = key.signer.sign(token.as_bytes())?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(token)
    }

    /// Verifies `token` against this key set and `expect`, and returns its claims.
    ///
    /// Checks, in order: the shape; the `kid` names a published key; the header `alg` is
    /// that key's; no `crit` header; the signature; `typ`; `iss`; `aud`; `exp` (required),
    /// `nbf` and `iat` against `expect.now` with `expect.leeway_secs`.
    pub fn verify<C: DeserializeOwned>(
        &self,
        token: &str,
        expect: &Expectations,
    ) -> Result<C, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed("too long".to_owned()));
        }
        let mut parts = token.split('.');
        let (Some(header), Some(_), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed(
                "not three dot-separated parts".to_owned(),
            ));
        };
        let header: UntrustedHeader = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or_else(|| TokenError::Malformed("unreadable header".to_owned()))?;
        let kid = header.kid.ok_or(TokenError::MissingClaim("kid"))?;
        let key = self.key(&kid).ok_or(TokenError::UnknownKid)?;
        if header.alg != key.alg.as_str() {
            return Err(TokenError::WrongAlgorithm);
        }
        if header.crit.is_some() {
            // RFC 7515 §4.1.11: no extension is understood, so `crit` cannot be honoured.
            return Err(TokenError::Malformed(
                "unsupported `crit` header".to_owned(),
            ));
        }

        let mut validation = jsonwebtoken::Validation::new(key.alg.jsonwebtoken());
        // Only the signature here: the claims are checked below against `expect.now`.
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<Value>(token, &key.decoding, &validation)
            .map_err(|e| map_jwt_error(&e))?
            .claims;

        if let Some(expected) = &expect.typ {
            let typ = header.typ.as_deref().ok_or(TokenError::WrongType)?;
            let typ = strip_prefix_ignore_case(typ, "application/");
            if !typ.eq_ignore_ascii_case(expected) {
                return Err(TokenError::WrongType);
            }
        }
        check_claims(&claims, expect)?;
        serde_json::from_value(claims).map_err(|e| {
            // serde_json can quote the offending value: keep the category only.
            TokenError::Malformed(format!("claims do not fit ({:?} error)", e.classify()))
        })
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> &'a str {
    match s.get(..prefix.len()) {
        Some(head) if head.eq_ignore_ascii_case(prefix) => &s[prefix.len()..],
        _ => s,
    }
}

fn map_jwt_error(e: &jsonwebtoken::errors::Error) -> TokenError {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => TokenError::WrongAlgorithm,
        ErrorKind::Base64(_) => TokenError::Malformed("invalid base64url".to_owned()),
        ErrorKind::Json(_) | ErrorKind::Utf8(_) => {
            TokenError::Malformed("the payload is not a JSON object".to_owned())
        }
        ErrorKind::InvalidToken => TokenError::Malformed("not a JWS".to_owned()),
        // Key-format or provider trouble on a key that loaded: treat as not verified.
        _ => TokenError::BadSignature,
    }
}

fn check_claims(claims: &Value, expect: &Expectations) -> Result<(), TokenError> {
    let claims = claims
        .as_object()
        .ok_or_else(|| TokenError::Malformed("the payload is not a JSON object".to_owned()))?;

    match claims.get("iss") {
        None => return Err(TokenError::MissingClaim("iss")),
        Some(Value::String(iss)) if *iss == expect.issuer => {}
        Some(_) => return Err(TokenError::WrongIssuer),
    }

    if let Some(audience) = &expect.audience {
        let matches = match claims.get("aud") {
            None => return Err(TokenError::MissingClaim("aud")),
            Some(Value::String(aud)) => aud == audience,
            Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(audience)),
            Some(_) => return Err(TokenError::Malformed("`aud` is not a string".to_owned())),
        };
        if !matches {
            return Err(TokenError::WrongAudience);
        }
    }

    let leeway = i64::try_from(expect.leeway_secs).unwrap_or(i64::MAX);
    let now = expect.now;
    let exp = numeric_date(claims.get("exp"), "exp")?.ok_or(TokenError::MissingClaim("exp"))?;
    // RFC 7519 §4.1.4: the token is valid only before `exp`.
    if now >= exp.saturating_add(leeway) {
        return Err(TokenError::Expired);
    }
    let nbf = numeric_date(claims.get("nbf"), "nbf")?;
    let iat = numeric_date(claims.get("iat"), "iat")?;
    let later = now.saturating_add(leeway);
    if nbf.is_some_and(|nbf| later < nbf) || iat.is_some_and(|iat| later < iat) {
        return Err(TokenError::NotYetValid);
    }
    Ok(())
}

/// A NumericDate (RFC 7519 §2): seconds, possibly fractional (floored).
fn numeric_date(value: Option<&Value>, name: &'static str) -> Result<Option<i64>, TokenError> {
    let malformed = || TokenError::Malformed(format!("`{name}` is not a NumericDate"));
    match value {
        None => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                return Ok(Some(i));
            }
            let f = n.as_f64().filter(|f| f.is_finite()).ok_or_else(malformed)?;
            if f.abs() >= 9.0e15 {
                return Err(malformed());
            }
            // In range: the cast is exact after flooring.
            #[allow(clippy::cast_possible_truncation)]
            Ok(Some(f.floor() as i64))
        }
        Some(_) => Err(malformed()),
    }
}
