//! Role sessions: credentials issued for a role, kept until their token expires, by id
//! (`sid`); and, per SSO session and role, the role session it holds with its token sealed
//! for its browser (see the parent module), with a counter capping how many it may mint.

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use std::time::Duration;

use super::revocation::{Issued, Marks};
use super::{Sso, SsoError, SsoSession, key_hash, seal, until};
use crate::clock::UnixTime;
use crate::identity::{PrincipalKeys, RoleName, RoleSessionId, Subject};
use crate::secret::Secret;
use crate::session::Step;
use crate::session::keyspace::{
    REVOKED_BEFORE, ROLE_SESSION, SSO_HELD_ROLE, SSO_ISSUED, SSO_MINTED, SSO_SESSION,
};

/// Credentials issued for a role: one role session.
///
/// Stored compactly: short field names (each reads under its long name too, as records
/// written before have them), `mfa` only when true, and no `id` (the record's key is the
/// id; records written before have it).
#[derive(Clone, Serialize, Deserialize)]
pub struct RoleSession {
    /// Role session id (`sid` of the token).
    #[serde(default = "no_id", skip_serializing)]
    pub id: RoleSessionId,
    /// The role.
    #[serde(rename = "r", alias = "role")]
    pub role: RoleName,
    /// The role session name (`session_name`).
    #[serde(rename = "n", alias = "session_name")]
    pub session_name: String,
    /// `{provider}:{subject}`.
    #[serde(rename = "s", alias = "subject")]
    pub subject: Subject,
    /// Principal-derived condition keys, for `/v1/authorize`. Not stored for a role
    /// session of an SSO session (`sso_ref`): read back, they are derived from that
    /// session's person (the same identity they were computed from at issue), so the
    /// store keeps them once, not once per role session.
    #[serde(
        rename = "k",
        alias = "principal_keys",
        default,
        skip_serializing_if = "PrincipalKeys::is_empty"
    )]
    pub principal_keys: PrincipalKeys,
    /// When the person authenticated.
    #[serde(rename = "at", alias = "auth_time")]
    pub auth_time: UnixTime,
    /// Whether a second factor was used.
    #[serde(rename = "m", alias = "mfa", default, skip_serializing_if = "is_false")]
    pub mfa: bool,
    /// When issued.
    #[serde(rename = "i", alias = "issued_at")]
    pub issued_at: UnixTime,
    /// When the token expires.
    #[serde(rename = "e", alias = "expires_at")]
    pub expires_at: UnixTime,
    /// The access token (a bearer credential): only in the value just issued, never
    /// stored (empty in a role session read back from the store).
    #[serde(skip)]
    pub access_token: String,
    /// SHA-256 of the access token, base64url: what verification compares with.
    #[serde(rename = "d", alias = "access_token_digest", default)]
    pub access_token_digest: String,
    /// A session policy (IAM JSON) set by an STS caller; it must allow as well.
    #[serde(
        rename = "p",
        alias = "session_policy",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub session_policy: Option<String>,
    /// The handle ([`Sso::session_ref`]) of the SSO session the role session was issued
    /// in, when there is one (the picker, the OpenID provider's code and refresh grants):
    /// the person behind a token, for `GET /v1/roles`. Not a secret (a digest of the
    /// cookie, as store keys are). Set when the role session is recorded with its SSO
    /// session; absent for STS and machine clients.
    #[serde(
        rename = "o",
        alias = "sso_ref",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sso_ref: Option<String>,
    /// The approved access request the role was held through (issue 17), if any: revoking
    /// that request refuses this role session at once ([`Sso::mark_request_revoked`]).
    #[serde(
        rename = "q",
        alias = "access_request",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub access_request: Option<String>,
}

/// The `id` of a record read without one (filled in from its key).
fn no_id() -> RoleSessionId {
    RoleSessionId::new("")
}

/// Whether a flag is off (left out of a stored record).
fn is_false(flag: &bool) -> bool {
    !*flag
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
    /// Sets the id, which a record does not repeat (its key is the id).
    fn set_id(&mut self, id: &str);
    /// The SSO session whose person this record's principal keys are derived from, when
    /// they were not stored and this decoding needs them.
    fn derives_keys_from(&self) -> Option<&str> {
        None
    }
    /// Sets the principal keys derived for [`RoleSessionRecord::derives_keys_from`].
    fn set_principal_keys(&mut self, _keys: PrincipalKeys) {}
}

impl RoleSessionRecord for RoleSession {
    fn expires_at(&self) -> UnixTime {
        self.expires_at
    }

    fn access_token_digest(&self) -> &str {
        &self.access_token_digest
    }

    fn set_id(&mut self, id: &str) {
        self.id = RoleSessionId::new(id);
    }

    fn derives_keys_from(&self) -> Option<&str> {
        // Every identity has keys (`idp:provider` at least): none stored means derived.
        match &self.sso_ref {
            Some(sso_ref) if self.principal_keys.is_empty() => Some(sso_ref),
            _ => None,
        }
    }

    fn set_principal_keys(&mut self, mut keys: PrincipalKeys) {
        // The SSO session's person may have stepped up with a second factor after this role
        // session was issued (issue 17): its MFA is that of its own issue, as in AWS.
        if !self.mfa {
            keys.0.insert(
                "aws:MultiFactorAuthPresent".to_owned(),
                vec!["false".to_owned()],
            );
        }
        self.principal_keys = keys;
    }
}

/// The parts of a stored [`RoleSession`] that tell whether a presented token is its live
/// one (introspection).
#[derive(Deserialize)]
pub struct RoleSessionToken {
    /// Role session id.
    #[serde(default = "no_id")]
    pub id: RoleSessionId,
    /// When the token expires.
    #[serde(rename = "e", alias = "expires_at")]
    pub expires_at: UnixTime,
    /// SHA-256 of the access token, base64url.
    #[serde(rename = "d", alias = "access_token_digest", default)]
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

    fn set_id(&mut self, id: &str) {
        self.id = RoleSessionId::new(id);
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
        // Issued for this session's person, as the picker does: the keys are derived.
        let derived = PrincipalKeys::of(&session.identity) == role_session.principal_keys;
        self.record_role_session(&session_ref, role_session, None, derived)
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
    /// once expired or signed out. Principal keys not stored are derived from the person
    /// of the role session's SSO session; with that record gone too, so is the role
    /// session.
    pub async fn role_session_as<R: RoleSessionRecord>(
        &self,
        id: &str,
    ) -> Result<Option<R>, SsoError> {
        let (bytes, marks) = self
            .store
            .get_with_fields(&ROLE_SESSION.key([id]), &REVOKED_BEFORE.key([]))
            .await?;
        // Almost always there is no mark: then the record is decoded once, as before.
        let marks = Marks::new(marks);
        if let Some(bytes) = bytes.as_deref().filter(|_| !marks.is_empty()) {
            let issued: Issued = serde_json::from_slice(bytes).map_err(|_| SsoError::Corrupt)?;
            if marks.refuse_role_session(
                issued.subject.as_str(),
                issued.role.as_str(),
                issued.issued_at,
            ) || marks.refuse_request(issued.access_request.as_deref())
            {
                return Ok(None);
            }
        }
        let record: Option<R> = Self::decode(bytes)?;
        let Some(mut record) = record.filter(|r| r.expires_at() > self.clock.now()) else {
            return Ok(None);
        };
        record.set_id(id);
        if let Some(sso_ref) = record.derives_keys_from() {
            let Some(identity) = self.identity_by_ref(sso_ref).await? else {
                return Ok(None);
            };
            record.set_principal_keys(PrincipalKeys::of(&identity));
        }
        Ok(Some(record))
    }

    /// Records a role session issued in the SSO session with handle `session_ref` (by the
    /// picker, or to an application at the token endpoint), in token `family` if any: the
    /// stored record names that handle (`sso_ref`) and keeps no principal keys (they are
    /// derived from that session's person, whose record is kept as long as the role
    /// session); the session's [`SSO_ISSUED`] hash lists it with its family. The role
    /// session must have been issued for that session's person.
    pub async fn add_role_session_by_ref(
        &self,
        session_ref: &str,
        role_session: &RoleSession,
        family: Option<&str>,
    ) -> Result<(), SsoError> {
        self.record_role_session(session_ref, role_session, family, true)
            .await
    }

    /// [`Sso::add_role_session_by_ref`]; the principal keys are kept in the record unless
    /// `derived` (they are those of the SSO session's person).
    async fn record_role_session(
        &self,
        session_ref: &str,
        role_session: &RoleSession,
        family: Option<&str>,
        derived: bool,
    ) -> Result<(), SsoError> {
        let now = self.clock.now();
        let ttl = until(role_session.expires_at, now);
        let mut stored = RoleSession {
            access_token: String::new(),
            sso_ref: Some(session_ref.to_owned()),
            ..role_session.clone()
        };
        if derived {
            stored.principal_keys = PrincipalKeys::default();
        }
        let bytes = serde_json::to_vec(&stored).map_err(|_| SsoError::Corrupt)?;
        let (person, record) = (
            SSO_SESSION.key([session_ref]),
            ROLE_SESSION.key([&role_session.id]),
        );
        let issued = SSO_ISSUED.key([session_ref]);
        // One round trip, in this order: the person's record first (once the role session
        // is readable, so are its keys), then the role session and its entry.
        let steps = [
            Step::Extend { key: &person, ttl },
            Step::Put {
                key: &record,
                value: &bytes,
                ttl,
            },
            Step::HashSet {
                key: &issued,
                field: &role_session.id,
                value: family.unwrap_or_default(),
                ttl: self.absolute.max(ttl),
            },
        ];
        self.store.batch(&steps).await?;
        Ok(())
    }

    /// Ends one role session (token revocation).
    pub async fn revoke_role_session(&self, id: &str) -> Result<(), SsoError> {
        Ok(self.store.delete(&ROLE_SESSION.key([id])).await?)
    }
}
