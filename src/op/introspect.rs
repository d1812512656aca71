//! What an application may ask about a token: userinfo (OIDC Core §5.3), introspection
//! (RFC 7662) and revocation (RFC 7009).

use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::access::AccessTokenClaims;
use crate::audit::EventKind;
use crate::clock::UnixTime;
use crate::identity::{ClientId, RoleName, Subject};
use crate::op::IntrospectScope;
use crate::sso::{RoleSession, RoleSessionRecord, RoleSessionToken};
use crate::tokens::jose::UnverifiedJws;

use super::{Client, OAuthError, OidcProvider, unverified_claims};

/// The answer of `/oauth2/introspect` (RFC 7662 §2.2). Serialized with `active` first and
/// the members of each kind in a fixed order.
#[derive(Debug)]
pub enum Introspection {
    /// A live access token: its answer, written once from the token's claims
    /// ([`AccessTokenAnswer`]) when the token was found live.
    AccessToken(Box<RawValue>),
    /// A live refresh token.
    RefreshToken {
        /// The client it was issued to.
        client_id: ClientId,
        /// `{provider}:{subject}`.
        sub: Subject,
        /// The role.
        role: RoleName,
        /// Expiry.
        exp: UnixTime,
        /// Granted scope.
        scope: String,
    },
    /// Unknown, expired, revoked or signed out: `{"active": false}` and nothing more.
    Inactive,
}

impl Serialize for Introspection {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        match self {
            Introspection::AccessToken(answer) => answer.serialize(serializer),
            Introspection::RefreshToken {
                client_id,
                sub,
                role,
                exp,
                scope,
            } => {
                let mut m = serializer.serialize_struct("Introspection", 7)?;
                m.serialize_field("active", &true)?;
                m.serialize_field("token_type", "refresh_token")?;
                m.serialize_field("client_id", client_id)?;
                m.serialize_field("sub", sub)?;
                m.serialize_field("role", role)?;
                m.serialize_field("exp", exp)?;
                m.serialize_field("scope", scope)?;
                m.end()
            }
            Introspection::Inactive => {
                let mut m = serializer.serialize_struct("Introspection", 1)?;
                m.serialize_field("active", &false)?;
                m.end()
            }
        }
    }
}

/// The claims of an access token ([`AccessTokenClaims`]) as introspection reads them:
/// borrowed from the token's decoded payload rather than copied into owned strings, with
/// `groups` and `tags` kept as the JSON text they are (the answer repeats them as they
/// are). The same members are required as for [`AccessTokenClaims`]; `amr` and
/// `auth_time` are not part of the answer and are only checked for presence. Read
/// before the token is proved live: nothing of it is answered until its role session's
/// digest matched.
#[derive(Deserialize)]
pub struct AccessTokenAnswer<'a> {
    #[serde(borrow)]
    iss: Cow<'a, str>,
    #[serde(borrow)]
    sub: Cow<'a, str>,
    #[serde(borrow)]
    aud: Cow<'a, str>,
    exp: UnixTime,
    iat: UnixTime,
    nbf: UnixTime,
    #[serde(borrow)]
    jti: Cow<'a, str>,
    #[serde(borrow)]
    sid: Cow<'a, str>,
    #[serde(borrow)]
    role: Cow<'a, str>,
    #[serde(borrow)]
    session_name: Cow<'a, str>,
    #[serde(borrow)]
    idp: Cow<'a, str>,
    #[serde(rename = "amr")]
    _amr: IgnoredAny,
    #[serde(rename = "auth_time")]
    _auth_time: IgnoredAny,
    #[serde(borrow)]
    groups: &'a RawValue,
    #[serde(borrow)]
    tags: &'a RawValue,
    #[serde(default, borrow)]
    client_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    scope: Option<Cow<'a, str>>,
}

impl Serialize for AccessTokenAnswer<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut m = serializer.serialize_struct("Introspection", 18)?;
        m.serialize_field("active", &true)?;
        m.serialize_field("token_type", "Bearer")?;
        m.serialize_field("iss", &self.iss)?;
        m.serialize_field("sub", &self.sub)?;
        m.serialize_field("aud", &self.aud)?;
        m.serialize_field("exp", &self.exp)?;
        m.serialize_field("iat", &self.iat)?;
        m.serialize_field("nbf", &self.nbf)?;
        m.serialize_field("jti", &self.jti)?;
        m.serialize_field("sid", &self.sid)?;
        m.serialize_field("role", &self.role)?;
        m.serialize_field("session_name", &self.session_name)?;
        m.serialize_field("username", &self.session_name)?;
        m.serialize_field("idp", &self.idp)?;
        m.serialize_field("groups", self.groups)?;
        m.serialize_field("tags", self.tags)?;
        m.serialize_field("client_id", &self.client_id)?;
        m.serialize_field("scope", &self.scope)?;
        m.end()
    }
}

/// Whether `token`'s SHA-256 (base64url, as [`crate::session::digest`] writes it) is `stored`, compared
/// in constant time (`CRYPTO_memcmp`, word at a time; subtle's `ct_eq` goes byte by byte
/// behind an optimization barrier, a microsecond per token). The digest is written on the
/// stack, not into a new `String`.
fn digest_matches(stored: &str, token: &str) -> bool {
    use base64::Engine;
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut encoded = [0u8; 43];
    let written = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode_slice(d.as_ref(), &mut encoded)
        .unwrap_or(0);
    written == encoded.len()
        && aws_lc_rs::constant_time::verify_slices_are_equal(stored.as_bytes(), &encoded).is_ok()
}

impl OidcProvider {
    /// A live access token: its claims and role session (userinfo, revocation).
    ///
    /// The session store is the source of truth: the role session named by the token's
    /// `sid` keeps the SHA-256 of the exact token Lanyard issued (never the token), so a
    /// presented token whose digest equals it (compared in constant time) is authentic
    /// without a signature check, and one whose digest does not is refused whatever its
    /// signature says. This spares an ECDSA verification per introspection.
    pub async fn live_access_token(
        &self,
        token: &str,
    ) -> Result<Option<(AccessTokenClaims, RoleSession)>, OAuthError> {
        let Some(claims) = unverified_claims::<AccessTokenClaims>(token) else {
            return Ok(None);
        };
        let Some(rs) = self.sso.role_session(&claims.sid).await? else {
            return Ok(None);
        };
        // Checked here too, not only by the store lookup: a token past its role session's
        // expiry is never live, whichever path loaded the session.
        if rs.expires_at() <= self.clock.now() {
            return Ok(None);
        }
        let same = digest_matches(rs.access_token_digest(), token);
        Ok(same.then_some((claims, rs)))
    }

    /// Introspection of `token` as an access token: `None` when it is not a live one
    /// (then it may be a refresh token), else the answer for `client` (`any`: the client
    /// may see every token). The checks of [`OidcProvider::live_access_token`], with the
    /// claims borrowed from the token ([`AccessTokenAnswer`]) and only the token's digest
    /// and expiry read from its role session ([`RoleSessionToken`]).
    async fn introspect_access_token(
        &self,
        client: &Client,
        any: bool,
        token: &str,
    ) -> Result<Option<Introspection>, OAuthError> {
        let Ok(jws) = UnverifiedJws::parse(token) else {
            return Ok(None);
        };
        let Ok(claims) = jws.untrusted_claims_borrowed::<AccessTokenAnswer<'_>>() else {
            return Ok(None);
        };
        let Some(rs) = self
            .sso
            .role_session_as::<RoleSessionToken>(&claims.sid)
            .await?
        else {
            return Ok(None);
        };
        if rs.expires_at() <= self.clock.now() || !digest_matches(rs.access_token_digest(), token) {
            return Ok(None);
        }
        let visible = any
            || claims.client_id.as_deref() == Some(client.config.id.as_str())
            || *claims.aud == *client.config.audience;
        if !visible {
            return Ok(Some(Introspection::Inactive));
        }
        let answer = serde_json::value::to_raw_value(&claims)
            .map_err(|e| OAuthError::ServerError(format!("introspection answer: {e}")))?;
        Ok(Some(Introspection::AccessToken(answer)))
    }

    /// `/oauth2/userinfo` (OIDC Core §5.3): the claims of the token's person.
    pub async fn userinfo(&self, token: &str) -> Result<serde_json::Value, OAuthError> {
        let (claims, rs) = self
            .live_access_token(token)
            .await?
            .ok_or_else(|| OAuthError::InvalidToken("the access token is not active".into()))?;
        let keys = &rs.principal_keys.0;
        let one = |k: &str| keys.get(k).and_then(|v| v.first()).cloned();
        let mut out = serde_json::json!({
            "sub": claims.sub,
            "preferred_username": one("idp:username"),
            "role": claims.role,
            "groups": claims.groups,
        });
        if let Some(map) = out.as_object_mut()
            && let Some(email) = one("idp:email")
        {
            map.insert("email".into(), email.into());
            map.insert(
                "email_verified".into(),
                (one("idp:email_verified").as_deref() == Some("true")).into(),
            );
        }
        Ok(out)
    }

    /// `/oauth2/introspect` (RFC 7662 §2.2) for an authenticated `client`: `active: false`
    /// for anything not live, and for tokens the client may not see. Only confidential
    /// clients may introspect (RFC 7662 §2.1 protects the endpoint against token
    /// scanning); by default only tokens issued to them or whose audience is theirs,
    /// everything with `introspect = "any"`. A refresh token is live only while the SSO
    /// session it belongs to is.
    pub async fn introspect(
        &self,
        client: &Client,
        token: &str,
    ) -> Result<Introspection, OAuthError> {
        if client.is_public() {
            return Err(OAuthError::InvalidClient);
        }
        let any = client.config.introspect == IntrospectScope::Any;
        if let Some(answer) = self.introspect_access_token(client, any, token).await? {
            return Ok(answer);
        }
        let Some(r) = self.current_refresh_token(token).await? else {
            return Ok(Introspection::Inactive);
        };
        if r.expires_at <= self.clock.now() || !(any || r.client_id == client.config.id) {
            return Ok(Introspection::Inactive);
        }
        if let Some(sso_ref) = &r.sso_ref
            && self.sso.load_by_ref(sso_ref).await?.is_none()
        {
            return Ok(Introspection::Inactive);
        }
        Ok(Introspection::RefreshToken {
            sub: match (r.sub, &r.identity) {
                (Some(sub), _) => sub,
                (None, Some(i)) => Subject::new(i.qualified_subject()),
                (None, None) => return Ok(Introspection::Inactive),
            },
            client_id: r.client_id,
            role: r.role,
            exp: r.expires_at,
            scope: r.scope,
        })
    }

    /// `/oauth2/revoke` (RFC 7009): ends an access token's role session or a refresh
    /// token's family. Unknown tokens are not an error.
    pub async fn revoke(&self, client: &Client, token: &str) -> Result<(), OAuthError> {
        if let Some((c, rs)) = self.live_access_token(token).await? {
            if c.client_id.as_deref() == Some(client.config.id.as_str()) {
                self.sso.revoke_role_session(&rs.id).await?;
                let mut event = self.event(EventKind::Revocation, Some(&client.config.id));
                event.role = Some(rs.role.clone());
                event.subject = Some(rs.subject.to_string());
                event.role_session = Some(rs.id.clone());
                event.reason = Some("the client revoked the access token".to_owned());
                self.issuer.audit().note(event).await;
            }
            return Ok(());
        }
        if let Some(r) = self.current_refresh_token(token).await?
            && r.client_id == client.config.id
        {
            let family = (r.family.as_str(), r.sso_ref.as_deref());
            self.revoke_family(family, "the client revoked the refresh token")
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::identity::{Issuer, ProviderId, RoleSessionId};

    fn claims(client_id: Option<&str>) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: Issuer::new("https://sso.example.com"),
            sub: Subject::new("corp:alice"),
            aud: "lanyard".into(),
            exp: UnixTime::from_secs(3_000),
            iat: UnixTime::from_secs(1_000),
            nbf: UnixTime::from_secs(1_000),
            jti: "j-1".into(),
            sid: RoleSessionId::new("rs-1"),
            role: RoleName::new("admin"),
            session_name: "alice \"a\" \u{e9}".into(),
            idp: ProviderId::new("corp"),
            amr: vec!["pwd".into()],
            auth_time: UnixTime::from_secs(900),
            groups: vec!["eng".into(), "ops/\"x\"".into()],
            tags: BTreeMap::from([("team".into(), "payments".into())]),
            client_id: client_id.map(ClientId::new),
            scope: None,
        }
    }

    /// The answer written from the borrowed claims is the one written from the owned
    /// claims before: every member, in order, `username` repeating `session_name`, `amr`
    /// and `auth_time` left out, an absent `client_id` or `scope` as `null`.
    #[test]
    fn the_answer_repeats_the_tokens_claims_in_a_fixed_order() {
        for client_id in [Some("grafana"), None] {
            let c = claims(client_id);
            let payload = serde_json::to_vec(&c).unwrap();
            let borrowed: AccessTokenAnswer<'_> = serde_json::from_slice(&payload).unwrap();
            let answer =
                Introspection::AccessToken(serde_json::value::to_raw_value(&borrowed).unwrap());
            let text = serde_json::to_string(&answer).unwrap();
            let expected = serde_json::json!({
                "active": true, "token_type": "Bearer", "iss": c.iss, "sub": c.sub,
                "aud": c.aud, "exp": 3_000, "iat": 1_000, "nbf": 1_000, "jti": "j-1",
                "sid": "rs-1", "role": "admin", "session_name": c.session_name,
                "username": c.session_name, "idp": "corp", "groups": c.groups,
                "tags": c.tags, "client_id": client_id, "scope": null,
            });
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(&text).unwrap(),
                expected
            );
            assert!(text.starts_with("{\"active\":true,\"token_type\":\"Bearer\",\"iss\":"));
            let keys: Vec<String> = serde_json::from_str::<serde_json::Map<_, _>>(&text)
                .unwrap()
                .keys()
                .cloned()
                .collect();
            assert_eq!(keys.len(), 18);
        }
    }

    /// A payload is read only if it has every member [`AccessTokenClaims`] requires.
    #[test]
    fn a_payload_without_a_required_claim_is_no_access_token() {
        let full = serde_json::to_value(claims(None)).unwrap();
        for missing in ["sid", "amr", "auth_time", "groups", "tags", "exp", "aud"] {
            let mut v = full.clone();
            v.as_object_mut().unwrap().remove(missing);
            let payload = serde_json::to_vec(&v).unwrap();
            assert!(
                serde_json::from_slice::<AccessTokenAnswer<'_>>(&payload).is_err(),
                "{missing}"
            );
            assert!(serde_json::from_slice::<AccessTokenClaims>(&payload).is_err());
        }
    }

    #[test]
    fn the_digest_matches_only_its_own_token() {
        let stored = crate::session::digest("header.payload.signature");
        assert!(digest_matches(&stored, "header.payload.signature"));
        assert!(!digest_matches(&stored, "header.payload.signaturf"));
        assert!(!digest_matches(&stored[1..], "header.payload.signature"));
        assert!(!digest_matches("", "header.payload.signature"));
    }
}
