//! Role sessions: credentials issued for a role, kept until their token expires, by id
//! (`sid`); and, per SSO session and role, the role session it holds with its token sealed
//! for its browser (see the parent module), with a counter capping how many it may mint.

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use std::time::Duration;

use super::{Sso, SsoError, SsoSession, key_hash, seal, until};
use crate::clock::UnixTime;
use crate::identity::{PrincipalKeys, RoleName, RoleSessionId, Subject};
use crate::secret::Secret;
use crate::session::keyspace::{ROLE_SESSION, SSO_HELD_ROLE, SSO_MINTED, SSO_ROLE_SESSIONS};

/// Credentials issued for a role: one role session.
#[derive(Clone, Serialize, Deserialize)]
pub struct RoleSession {
    /// Role session id (`sid` of the token).
    pub id: RoleSessionId,
    /// The role.
    pub role: RoleName,
    /// The role session name (`session_name`).
    pub session_name: String,
    /// `{provider}:{subject}`.
    pub subject: Subject,
    /// Principal-derived condition keys, for `/v1/authorize`.
    pub principal_keys: PrincipalKeys,
    /// When the person authenticated.
    pub auth_time: UnixTime,
    /// Whether a second factor was used.
    pub mfa: bool,
    /// When issued.
    pub issued_at: UnixTime,
    /// When the token expires.
    pub expires_at: UnixTime,
    /// The access token (a bearer credential): only in the value just issued, never
    /// stored (empty in a role session read back from the store).
    #[serde(skip)]
    pub access_token: String,
    /// SHA-256 of the access token, base64url: what verification compares with.
    #[serde(default)]
    pub access_token_digest: String,
    /// A session policy (IAM JSON) set by an STS caller; it must allow as well.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_policy: Option<String>,
    /// The handle ([`Sso::session_ref`]) of the SSO session the role session was issued
    /// in, when there is one (the picker, the OpenID provider's code and refresh grants):
    /// the person behind a token, for `GET /v1/roles`. Not a secret (a digest of the
    /// cookie, as store keys are). Set when the role session is recorded with its SSO
    /// session; absent for STS and machine clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sso_ref: Option<String>,
}

impl std::fmt::Debug for RoleSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleSession")
            .field("id", &self.id)
            .field("role", &self.role)
            .field("subject", &self.subject)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// What a role-session lookup decodes the stored record into: the whole [`RoleSession`],
/// or a [`RoleSessionToken`] when only its token and expiry are needed (the JSON parser
/// then skips the principal keys instead of building them).
pub trait RoleSessionRecord: DeserializeOwned {
    /// When the role session's token expires.
    fn expires_at(&self) -> UnixTime;
    /// SHA-256 of the access token issued for the role session, base64url.
    fn access_token_digest(&self) -> &str;
}

impl RoleSessionRecord for RoleSession {
    fn expires_at(&self) -> UnixTime {
        self.expires_at
    }

    fn access_token_digest(&self) -> &str {
        &self.access_token_digest
    }
}

/// The parts of a stored [`RoleSession`] that tell whether a presented token is its live
/// one (introspection).
#[derive(Deserialize)]
pub struct RoleSessionToken {
    /// Role session id.
    pub id: RoleSessionId,
    /// When the token expires.
    pub expires_at: UnixTime,
    /// SHA-256 of the access token, base64url.
    #[serde(default)]
    pub access_token_digest: String,
}

impl std::fmt::Debug for RoleSessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleSessionToken")
            .field("id", &self.id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl RoleSessionRecord for RoleSessionToken {
    fn expires_at(&self) -> UnixTime {
        self.expires_at
    }

    fn access_token_digest(&self) -> &str {
        &self.access_token_digest
    }
}

/// The role session an SSO session holds for one role, with its token sealed for the
/// browser (see the module documentation).
#[derive(Serialize, Deserialize)]
struct HeldRoleSession {
    /// Role session id.
    id: String,
    /// base64url of nonce ‖ AES-256-GCM(token) ‖ tag, keyed by the SSO cookie.
    sealed_token: String,
}

impl std::fmt::Debug for HeldRoleSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldRoleSession")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Why an SSO session may not mint another role session.
#[derive(Debug, thiserror::Error)]
#[error("this sign-in session has been issued {0} sets of credentials, the most allowed")]
pub struct RoleSessionCap(pub u32);

impl Sso {
    /// Counts one more role session minted by the SSO session `cookie` names (the picker,
    /// not applications): `Err` once `max` were minted. Call before issuing.
    pub async fn reserve_role_session(
        &self,
        cookie: &str,
        max: u32,
    ) -> Result<Result<(), RoleSessionCap>, SsoError> {
        let key = SSO_MINTED.key([&key_hash(cookie)]);
        let minted = self.store.incr(&key, self.absolute).await?;
        Ok(if minted > i64::from(max) {
            Err(RoleSessionCap(max))
        } else {
            Ok(())
        })
    }

    /// The record of the role session the SSO session `cookie` names holds for `role`.
    async fn held(&self, cookie: &str, role: &str) -> Result<Option<HeldRoleSession>, SsoError> {
        self.get(&SSO_HELD_ROLE.key([&key_hash(cookie), role]))
            .await
    }

    /// The live role session the SSO session `cookie` names holds for `role`, if it has
    /// at least `min_left` to run and its token can still be shown: what `GET
    /// /roles` hands out again instead of minting.
    pub async fn held_role_session(
        &self,
        cookie: &str,
        role: &str,
        min_left: Duration,
    ) -> Result<Option<RoleSession>, SsoError> {
        let Some(held) = self.held(cookie, role).await? else {
            return Ok(None);
        };
        let Some(rs) = self.role_session(&held.id).await? else {
            return Ok(None);
        };
        let usable = rs.role == role
            && self.clock.now().until(rs.expires_at) >= min_left
            && seal::open(cookie, &rs.id, &held.sealed_token).is_some();
        Ok(usable.then_some(rs))
    }

    /// The access token of `role_session`, for the browser holding `cookie` only: `None`
    /// when that SSO session did not issue it (or no longer holds it for its role).
    pub async fn shown_token(
        &self,
        cookie: &str,
        role_session: &RoleSession,
    ) -> Result<Option<Secret>, SsoError> {
        let Some(held) = self.held(cookie, &role_session.role).await? else {
            return Ok(None);
        };
        if held.id != role_session.id {
            return Ok(None);
        }
        Ok(seal::open(cookie, &held.id, &held.sealed_token).map(Secret::new))
    }

    /// Makes `role_session` (already stored) the one shown on `/credentials`.
    pub async fn show_role_session(
        &self,
        cookie: &str,
        session: &mut SsoSession,
        role_session: &RoleSession,
    ) -> Result<(), SsoError> {
        if session.last_role_session.as_deref() != Some(role_session.id.as_str()) {
            session.last_role_session = Some(RoleSessionId::new(role_session.id.as_str()));
            self.save(cookie, session).await?;
        }
        Ok(())
    }

    /// Records a role session issued in the SSO session `cookie` names; its token is
    /// kept sealed for that browser only (see the module documentation).
    pub async fn add_role_session(
        &self,
        cookie: &str,
        session: &mut SsoSession,
        role_session: &RoleSession,
    ) -> Result<(), SsoError> {
        let session_ref = Self::session_ref(cookie);
        self.add_role_session_by_ref(&session_ref, role_session)
            .await?;
        let sealed_token = seal::seal(cookie, &role_session.id, &role_session.access_token)
            .ok_or(SsoError::Corrupt)?;
        let held = HeldRoleSession {
            id: role_session.id.to_string(),
            sealed_token,
        };
        self.put(
            &SSO_HELD_ROLE.key([&session_ref, &role_session.role]),
            &held,
            until(role_session.expires_at, self.clock.now()),
        )
        .await?;
        session.last_role_session = Some(RoleSessionId::new(role_session.id.as_str()));
        self.save(cookie, session).await?;
        self.remember_last_role(&session.identity, &role_session.role)
            .await
    }

    /// Stores a role session issued outside a browser session (STS), so that its token
    /// works with `/v1/authorize` until it expires.
    pub async fn put_role_session(&self, role_session: &RoleSession) -> Result<(), SsoError> {
        self.put(
            &ROLE_SESSION.key([&role_session.id]),
            role_session,
            until(role_session.expires_at, self.clock.now()),
        )
        .await
    }

    /// A live role session by id (`sid`); `None` once expired or signed out.
    pub async fn role_session(&self, id: &str) -> Result<Option<RoleSession>, SsoError> {
        self.role_session_as(id).await
    }

    /// A live role session by id, decoded into `R` (see [`RoleSessionRecord`]); `None`
    /// once expired or signed out.
    pub async fn role_session_as<R: RoleSessionRecord>(
        &self,
        id: &str,
    ) -> Result<Option<R>, SsoError> {
        let record: Option<R> = self.get(&ROLE_SESSION.key([id])).await?;
        Ok(record.filter(|r| r.expires_at() > self.clock.now()))
    }

    /// Records a role session that belongs to an SSO session known only by its handle (tokens
    /// issued to an application at the token endpoint); the stored record names that
    /// handle (`sso_ref`).
    pub async fn add_role_session_by_ref(
        &self,
        session_ref: &str,
        role_session: &RoleSession,
    ) -> Result<(), SsoError> {
        if role_session.sso_ref.as_deref() == Some(session_ref) {
            self.put_role_session(role_session).await?;
        } else {
            let mut held = role_session.clone();
            held.sso_ref = Some(session_ref.to_owned());
            self.put_role_session(&held).await?;
        }
        let ttl = until(role_session.expires_at, self.clock.now());
        self.store
            .set_add(
                &SSO_ROLE_SESSIONS.key([session_ref]),
                &role_session.id,
                self.absolute.max(ttl),
            )
            .await?;
        Ok(())
    }

    /// Ends one role session (token revocation).
    pub async fn revoke_role_session(&self, id: &str) -> Result<(), SsoError> {
        Ok(self.store.delete(&ROLE_SESSION.key([id])).await?)
    }
}
