//! Minting credentials for a granted role: the role session and its signed access token
//! (RFC 9068 JWT profile, `typ: at+jwt`), with the claims of DESIGN.md; and verifying the
//! tokens Lanyard issued. Minting takes a [`TrustGrant`] and is reachable only from the
//! issuer of this module's parent (`access`), the one door.
//!
//! May import: `tokens`, `roles`, `sso`, `identity`, `clock`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::{SharedClock, UnixTime};
use crate::identity::{ClientId, Issuer, ProviderId, RoleName, RoleSessionId, Subject};
use crate::roles::{Caller, MAX_SESSION_SECS, MIN_SESSION_SECS, Role, TrustGrant};
use crate::session::random_id;
use crate::sso::RoleSession;
use crate::tokens::{Expectations, KeySet, TokenError};

/// The JWT `typ` of access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// Claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    /// Lanyard's public URL.
    pub iss: Issuer,
    /// `{provider}:{subject}`, or a machine client's ARN.
    pub sub: Subject,
    /// The audience.
    pub aud: String,
    /// Expiry.
    pub exp: UnixTime,
    /// Issued at.
    pub iat: UnixTime,
    /// Not before.
    pub nbf: UnixTime,
    /// Unique token id.
    pub jti: String,
    /// Role session id.
    pub sid: RoleSessionId,
    /// Role name.
    pub role: RoleName,
    /// Role session name.
    pub session_name: String,
    /// Provider id (`lanyard` for a machine client).
    pub idp: ProviderId,
    /// Authentication methods.
    pub amr: Vec<String>,
    /// When the person authenticated.
    pub auth_time: UnixTime,
    /// Groups.
    pub groups: Vec<String>,
    /// Principal tags.
    pub tags: BTreeMap<String, String>,
    /// The OIDC client it was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<ClientId>,
    /// Granted scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// The application a token is issued to.
#[derive(Debug, Clone)]
pub struct ClientBinding {
    /// `client_id`.
    pub client_id: ClientId,
    /// `aud` of the access token.
    pub audience: String,
    /// Granted scope.
    pub scope: Option<String>,
}

/// Why credentials were not issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The requested duration is outside 900 s – the role's maximum.
    #[error("the duration must be between {min} and {max} seconds for this role")]
    DurationOutOfRange {
        /// Shortest allowed.
        min: u64,
        /// Longest allowed.
        max: u64,
    },
    /// Signing failed.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The session store failed while storing the role session.
    #[error(transparent)]
    Store(#[from] crate::sso::SsoError),
    /// The audit trail could not record the issue (policy `refuse`): nothing was handed
    /// out, and what was stored is undone.
    #[error("the audit trail is unavailable: {0}")]
    AuditUnavailable(#[from] crate::audit::AuditError),
}

/// Mints access tokens.
#[derive(Clone)]
pub struct CredentialIssuer {
    keys: Arc<KeySet>,
    issuer: String,
    audience: String,
    clock: SharedClock,
}

impl std::fmt::Debug for CredentialIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialIssuer")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl CredentialIssuer {
    /// An issuer signing with `keys` as `issuer` for `audience`.
    pub fn new(keys: Arc<KeySet>, issuer: String, audience: String, clock: SharedClock) -> Self {
        Self {
            keys,
            issuer,
            audience,
            clock,
        }
    }

    /// The signing keys.
    pub fn keys(&self) -> &Arc<KeySet> {
        &self.keys
    }

    /// The `iss` of tokens.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The longest duration a role grants, in seconds.
    pub fn max_duration(role: &Role) -> u64 {
        role.max_session_duration.as_secs().min(MAX_SESSION_SECS)
    }

    /// Mints a role session for a grant, to an application when `client` is given (its
    /// `client_id`, `aud` and `scope` go into the token), named `session_name` (the
    /// identity's username, or the client's id, otherwise), with an optional session
    /// policy kept for `/v1/authorize`, and the caller's `principal_keys` (from
    /// [`TrustGrant::take_principal_keys`]). Nothing is stored.
    pub(super) fn mint(
        &self,
        grant: &TrustGrant,
        principal_keys: crate::roles::PrincipalKeys,
        duration: Duration,
        client: Option<&ClientBinding>,
        session_name: Option<&str>,
        session_policy: Option<String>,
    ) -> Result<RoleSession, IssueError> {
        let role = grant.role();
        let max = Self::max_duration(role);
        let secs = duration.as_secs();
        if !(MIN_SESSION_SECS..=max).contains(&secs) {
            return Err(IssueError::DurationOutOfRange {
                min: MIN_SESSION_SECS,
                max,
            });
        }
        let now = self.clock.now();
        // A role held through an approved access request ends with the approved window,
        // whatever duration was asked for.
        let exp = match grant.approved() {
            Some((_, ends)) if ends < now + Duration::from_secs(secs) => ends,
            _ => now + Duration::from_secs(secs),
        };
        let sid = RoleSessionId::new(random_id().expose_secret());
        let who = Who::of(grant.caller(), grant.decided_at());
        let session_name = session_name.unwrap_or(&who.name).to_owned();
        let claims = AccessTokenClaims {
            iss: Issuer::new(self.issuer.as_str()),
            sub: Subject::new(grant.caller().subject()),
            aud: client
                .map(|c| c.audience.clone())
                .unwrap_or_else(|| self.audience.clone()),
            exp,
            iat: now,
            nbf: now,
            jti: random_id().expose_secret().to_owned(),
            sid: sid.clone(),
            role: role.name.clone(),
            session_name: session_name.clone(),
            idp: who.idp,
            amr: who.amr,
            auth_time: who.auth_time,
            groups: who.groups,
            tags: who.tags,
            client_id: client.map(|c| c.client_id.clone()),
            scope: client.and_then(|c| c.scope.clone()),
        };
        let access_token = self.keys.sign(&claims, ACCESS_TOKEN_TYPE)?;
        Ok(RoleSession {
            id: sid,
            role: role.name.clone(),
            session_name,
            subject: claims.sub,
            principal_keys,
            auth_time: who.auth_time,
            mfa: who.mfa,
            issued_at: now,
            expires_at: exp,
            access_token_digest: crate::session::digest(&access_token),
            access_token,
            session_policy,
            sso_ref: None,
            access_request: grant.approved().map(|(id, _)| id.to_owned()),
        })
    }

    /// Verifies an access token Lanyard issued to any audience (signature, `typ`, `iss`, time
    /// window): for introspection and userinfo, where the audience is the caller's business.
    pub fn verify_any_audience(&self, token: &str) -> Result<AccessTokenClaims, TokenError> {
        self.keys.verify(
            token,
            &Expectations {
                issuer: self.issuer.clone(),
                audience: None,
                typ: Some(ACCESS_TOKEN_TYPE.to_owned()),
                now: self.clock.now(),
                leeway_secs: 0,
            },
        )
    }

    /// Verifies an access token Lanyard issued (signature, `typ`, `iss`, `aud`, time window).
    pub fn verify(&self, token: &str) -> Result<AccessTokenClaims, TokenError> {
        self.keys.verify(
            token,
            &Expectations {
                issuer: self.issuer.clone(),
                audience: Some(self.audience.clone()),
                typ: Some(ACCESS_TOKEN_TYPE.to_owned()),
                now: self.clock.now(),
                leeway_secs: 0,
            },
        )
    }
}

/// The token claims a caller brings.
struct Who {
    name: String,
    idp: ProviderId,
    amr: Vec<String>,
    auth_time: UnixTime,
    mfa: bool,
    groups: Vec<String>,
    tags: BTreeMap<String, String>,
}

impl Who {
    fn of(caller: &Caller, decided_at: UnixTime) -> Self {
        match caller {
            Caller::Federated(i) => Who {
                name: i.username.clone(),
                idp: i.provider.clone(),
                amr: i.amr.clone(),
                auth_time: i.auth_time,
                mfa: i.mfa,
                groups: i.groups.clone(),
                tags: i.tags.clone(),
            },
            // A machine client authenticated at the token endpoint, just now, to Lanyard
            // itself: no upstream provider, groups or tags.
            Caller::Client(c) => Who {
                name: c.id().to_owned(),
                idp: ProviderId::new(MACHINE_IDP),
                amr: vec![c.method().to_owned()],
                auth_time: decided_at,
                mfa: false,
                groups: Vec::new(),
                tags: BTreeMap::new(),
            },
        }
    }
}

/// The `idp` of a machine client's token: Lanyard authenticated it itself.
pub const MACHINE_IDP: &str = "lanyard";

#[cfg(test)]
mod tests {
    use super::*;

    /// The identifier newtypes are plain strings in the token: the claims of DESIGN.md.
    #[test]
    fn claims_are_plain_strings_on_the_wire() {
        let claims = AccessTokenClaims {
            iss: Issuer::new("https://sso.example.com"),
            sub: Subject::new("corp:alice"),
            aud: "lanyard".into(),
            exp: UnixTime::from_secs(3),
            iat: UnixTime::from_secs(1),
            nbf: UnixTime::from_secs(1),
            jti: "j".into(),
            sid: RoleSessionId::new("rs-1"),
            role: RoleName::new("admin"),
            session_name: "alice".into(),
            idp: ProviderId::new("corp"),
            amr: vec!["pwd".into()],
            auth_time: UnixTime::from_secs(1),
            groups: Vec::new(),
            tags: BTreeMap::new(),
            client_id: Some(ClientId::new("grafana")),
            scope: None,
        };
        let json = serde_json::to_value(&claims).unwrap();
        for (claim, value) in [
            ("iss", "https://sso.example.com"),
            ("sub", "corp:alice"),
            ("sid", "rs-1"),
            ("role", "admin"),
            ("idp", "corp"),
            ("client_id", "grafana"),
        ] {
            assert_eq!(json[claim], value, "{claim}");
        }
        for (claim, value) in [("exp", 3), ("iat", 1), ("nbf", 1), ("auth_time", 1)] {
            assert_eq!(json[claim], value, "{claim}");
        }
        let back: AccessTokenClaims = serde_json::from_value(json).unwrap();
        assert_eq!(back, claims);
    }
}
