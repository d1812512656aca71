//! What an application may ask about a token: userinfo (OIDC Core §5.3), introspection
//! (RFC 7662) and revocation (RFC 7009).

use serde::Serialize;

use crate::access::AccessTokenClaims;
use crate::audit::EventKind;
use crate::clock::UnixTime;
use crate::identity::{ClientId, RoleName, Subject};
use crate::op::IntrospectScope;
use crate::session::digest;
use crate::sso::{RoleSession, RoleSessionRecord, RoleSessionToken};

use super::{Client, OAuthError, OidcProvider, unverified_claims};

/// The answer of `/oauth2/introspect` (RFC 7662 §2.2). Serialized with `active` first and
/// the members of each kind in a fixed order, straight from the claims (no intermediate
/// JSON tree).
#[derive(Debug)]
pub enum Introspection {
    /// A live access token, described by its claims.
    AccessToken(Box<AccessTokenClaims>),
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
            Introspection::AccessToken(c) => {
                let mut m = serializer.serialize_struct("Introspection", 18)?;
                m.serialize_field("active", &true)?;
                m.serialize_field("token_type", "Bearer")?;
                m.serialize_field("iss", &c.iss)?;
                m.serialize_field("sub", &c.sub)?;
                m.serialize_field("aud", &c.aud)?;
                m.serialize_field("exp", &c.exp)?;
                m.serialize_field("iat", &c.iat)?;
                m.serialize_field("nbf", &c.nbf)?;
                m.serialize_field("jti", &c.jti)?;
                m.serialize_field("sid", &c.sid)?;
                m.serialize_field("role", &c.role)?;
                m.serialize_field("session_name", &c.session_name)?;
                m.serialize_field("username", &c.session_name)?;
                m.serialize_field("idp", &c.idp)?;
                m.serialize_field("groups", &c.groups)?;
                m.serialize_field("tags", &c.tags)?;
                m.serialize_field("client_id", &c.client_id)?;
                m.serialize_field("scope", &c.scope)?;
                m.end()
            }
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
        self.live_access_token_as(token).await
    }

    /// [`OidcProvider::live_access_token`], with the role session decoded into `R`.
    async fn live_access_token_as<R: RoleSessionRecord>(
        &self,
        token: &str,
    ) -> Result<Option<(AccessTokenClaims, R)>, OAuthError> {
        let Some(claims) = unverified_claims::<AccessTokenClaims>(token) else {
            return Ok(None);
        };
        let Some(rs) = self.sso.role_session_as::<R>(&claims.sid).await? else {
            return Ok(None);
        };
        // Checked here too, not only by the store lookup: a token past its role session's
        // expiry is never live, whichever path loaded the session.
        if rs.expires_at() <= self.clock.now() {
            return Ok(None);
        }
        // CRYPTO_memcmp: constant time in the contents, word at a time (subtle's `ct_eq`
        // goes byte by byte behind an optimization barrier, a microsecond per token).
        let same = aws_lc_rs::constant_time::verify_slices_are_equal(
            rs.access_token_digest().as_bytes(),
            digest(token).as_bytes(),
        )
        .is_ok();
        Ok(same.then_some((claims, rs)))
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
        // Only the token and expiry of the role session are needed here.
        if let Some((c, _)) = self.live_access_token_as::<RoleSessionToken>(token).await? {
            let visible = any
                || c.client_id.as_deref() == Some(client.config.id.as_str())
                || c.aud == client.config.audience;
            return Ok(if visible {
                Introspection::AccessToken(Box::new(c))
            } else {
                Introspection::Inactive
            });
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
