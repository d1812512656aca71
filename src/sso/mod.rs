//! SSO sessions, login transactions and role sessions: the typed records Lanyard keeps in the
//! [`SessionStore`](crate::session::SessionStore).
//!
//! Keys never hold a bearer secret in clear: an SSO session or a login transaction is stored
//! under the SHA-256 of its cookie value, so a dump of the store yields no usable cookie.
//! Single-use records (login transactions) are taken atomically.
//!
//! Role sessions keep the SHA-256 of their access token, never the token: verification
//! compares digests in constant time. The `/credentials` page must still show the person
//! the token issued to them, so the SSO session keeps, per role, the id of its current role
//! session and that session's token sealed (AES-256-GCM) under a key derived from the SSO
//! session's cookie (HKDF-SHA-256). The store holds only the cookie's hash, so only the
//! browser holding the cookie can unseal it; a dump of the store yields no bearer token.
//! The same per-role record lets `GET /roles` reuse a live role session instead of
//! minting a new one at every visit, and a counter caps how many role sessions one SSO
//! session may mint.
//!
//! May import: `session`, `identity`, `roles`, `clock`, `secret`.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::clock::SharedClock;
use crate::connectors::upstream::UpstreamLogin;
use crate::identity::{ExternalIdentity, ProviderId};
use crate::roles::PrincipalKeys;
use crate::secret::Secret;
use crate::session::{SessionStore, StoreError, random_id};

/// How long a login transaction (the time between "start sign-in" and "submit") may take.
pub const LOGIN_TRANSACTION_TTL: Duration = Duration::from_secs(600);
/// How long the last chosen role is remembered for preselection.
const LAST_ROLE_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// `last_seen` is written back at most this often, to spare the store a write per request.
const TOUCH_INTERVAL_SECS: i64 = 60;

/// A failure of the SSO layer.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored record could not be read back (a different version wrote it, or it was
    /// tampered with in the store).
    #[error("a stored session record is unreadable")]
    Corrupt,
}

/// The outcome of a checked take ([`Sso::take_login_if`]).
#[derive(Debug)]
pub enum Claim<T> {
    /// Checked and taken: nobody else can take it now.
    Taken(T),
    /// There, but not the one being answered; left in place.
    Refused,
    /// Unknown, expired or already taken.
    Absent,
}

/// A signed-in person.
#[derive(Clone, Serialize, Deserialize)]
pub struct SsoSession {
    /// Who.
    pub identity: ExternalIdentity,
    /// When they signed in.
    pub created_at: i64,
    /// When the session was last used.
    pub last_seen: i64,
    /// Synchronizer token of the forms of this session.
    pub csrf: String,
    /// The role session issued last, shown on `/credentials`.
    pub last_role_session: Option<String>,
}

impl std::fmt::Debug for SsoSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoSession")
            .field("identity", &self.identity.qualified_subject())
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// A sign-in in progress. Single use: taken from the store when the answer arrives.
#[derive(Clone, Serialize, Deserialize)]
pub struct LoginTransaction {
    /// The provider the person chose.
    pub provider: ProviderId,
    /// Synchronizer token of the password form.
    pub csrf: String,
    /// A Lanyard path to go back to after sign-in.
    pub return_to: Option<String>,
    /// When it started.
    pub created_at: i64,
    /// `state`, `nonce` and PKCE verifier of a redirect (OIDC / OAuth 2.0) sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<UpstreamLogin>,
    /// The ID of the SAML AuthnRequest this sign-in sent, when it went to a SAML IdP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saml_request_id: Option<String>,
    /// SHA-256 of the cross-site cookie that binds a SAML sign-in to the browser that
    /// started it (https deployments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser_binding: Option<String>,
}

impl std::fmt::Debug for LoginTransaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginTransaction")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

/// Credentials issued for a role: one role session.
#[derive(Clone, Serialize, Deserialize)]
pub struct RoleSession {
    /// Role session id (`sid` of the token).
    pub id: String,
    /// The role.
    pub role: String,
    /// The role session name (`session_name`).
    pub session_name: String,
    /// `{provider}:{subject}`.
    pub subject: String,
    /// Principal-derived condition keys, for `/v1/authorize`.
    pub principal_keys: PrincipalKeys,
    /// When the person authenticated.
    pub auth_time: i64,
    /// Whether a second factor was used.
    pub mfa: bool,
    /// When issued.
    pub issued_at: i64,
    /// When the token expires.
    pub expires_at: i64,
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
    fn expires_at(&self) -> i64;
    /// SHA-256 of the access token issued for the role session, base64url.
    fn access_token_digest(&self) -> &str;
}

impl RoleSessionRecord for RoleSession {
    fn expires_at(&self) -> i64 {
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
    pub id: String,
    /// When the token expires.
    pub expires_at: i64,
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
    fn expires_at(&self) -> i64 {
        self.expires_at
    }

    fn access_token_digest(&self) -> &str {
        &self.access_token_digest
    }
}

/// The role session an SSO session holds for one role, with its token sealed for the
/// browser (see the module documentation). Stored under `sso-role:{session ref}:{role}`.
#[derive(Serialize, Deserialize)]
struct HeldRoleSession {
    /// Role session id.
    id: String,
    /// base64url of nonce ‖ AES-256-GCM(token) ‖ tag, keyed by the SSO cookie.
    sealed_token: String,
}

/// Why an SSO session may not mint another role session.
#[derive(Debug, thiserror::Error)]
#[error("this sign-in session has been issued {0} sets of credentials, the most allowed")]
pub struct RoleSessionCap(pub u32);

/// Sealing of role-session tokens under a key only the SSO cookie yields.
mod seal {
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
    use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    const SALT: &[u8] = b"lanyard/sso/role-session-token/v1";

    const INFO: &[&[u8]] = &[b"aes-256-gcm"];

    fn key(cookie: &str) -> Option<LessSafeKey> {
        let prk = Salt::new(HKDF_SHA256, SALT).extract(cookie.as_bytes());
        let okm = prk.expand(INFO, &AES_256_GCM).ok()?;
        Some(LessSafeKey::new(UnboundKey::from(okm)))
    }

    /// Seals `token` for the browser holding `cookie`, bound to the role session `id`.
    pub(super) fn seal(cookie: &str, id: &str, token: &str) -> Option<String> {
        let key = key(cookie)?;
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).ok()?;
        let mut sealed = token.as_bytes().to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(id.as_bytes()),
            &mut sealed,
        )
        .ok()?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Some(URL_SAFE_NO_PAD.encode(out))
    }

    /// Opens what [`seal`] sealed; `None` for another cookie, another id or a damaged value.
    pub(super) fn open(cookie: &str, id: &str, sealed: &str) -> Option<String> {
        let key = key(cookie)?;
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, rest) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut rest = rest.to_vec();
        let plain = key
            .open_in_place(nonce, Aad::from(id.as_bytes()), &mut rest)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

/// The SSO layer over a session store.
#[derive(Clone)]
pub struct Sso {
    store: Arc<dyn SessionStore>,
    clock: SharedClock,
    idle: Duration,
    absolute: Duration,
}

impl std::fmt::Debug for Sso {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sso")
            .field("store", &self.store.kind())
            .field("idle", &self.idle)
            .field("absolute", &self.absolute)
            .finish()
    }
}

/// SHA-256 of a cookie value, base64url: the store key of what it names.
fn key_hash(value: &str) -> String {
    crate::session::digest(value)
}

fn sso_key(cookie: &str) -> String {
    format!("sso:{}", key_hash(cookie))
}

fn roles_of_key(cookie: &str) -> String {
    format!("sso-roles:{}", key_hash(cookie))
}

fn form_login_key(id: &str) -> String {
    format!("login-form:{}", key_hash(id))
}

fn saml_request_key(provider: &ProviderId, request_id: &str) -> String {
    format!("saml-req:{provider}:{}", key_hash(request_id))
}

fn role_session_key(id: &str) -> String {
    format!("rs:{id}")
}

fn held_role_key(cookie: &str, role: &str) -> String {
    format!("sso-role:{}:{role}", key_hash(cookie))
}

fn minted_key(cookie: &str) -> String {
    format!("sso-minted:{}", key_hash(cookie))
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl Sso {
    /// An SSO layer with the configured timeouts.
    pub fn new(
        store: Arc<dyn SessionStore>,
        clock: SharedClock,
        idle: Duration,
        absolute: Duration,
    ) -> Self {
        Self {
            store,
            clock,
            idle,
            absolute,
        }
    }

    /// The store underneath (for readiness checks).
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.store
    }

    async fn put<T: Serialize>(&self, key: &str, value: &T, ttl: Duration) -> Result<(), SsoError> {
        let bytes = serde_json::to_vec(value).map_err(|_| SsoError::Corrupt)?;
        Ok(self.store.put(key, &bytes, ttl).await?)
    }

    fn decode<T: DeserializeOwned>(bytes: Option<Vec<u8>>) -> Result<Option<T>, SsoError> {
        match bytes {
            None => Ok(None),
            Some(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|_| SsoError::Corrupt),
        }
    }

    /// Starts a password-form sign-in: one transaction per form shown, so that two tabs or
    /// a second visit never overwrite each other. Returns the transaction id (the form's
    /// hidden field) and the record. The record keeps the SHA-256 of `browser`, the value
    /// of the browser's `lanyard_browser` cookie: the answer must come with both the id
    /// (only readable from Lanyard's own page) and that cookie (`HttpOnly`, `SameSite=Lax`,
    /// never sent on a cross-site POST). Stored under its own prefix, so a form's id is
    /// never accepted where a redirect sign-in's cookie is expected, or the other way round.
    pub async fn begin_form_login(
        &self,
        provider: ProviderId,
        return_to: Option<String>,
        browser: &str,
    ) -> Result<(Secret, LoginTransaction), SsoError> {
        let id = random_id();
        let txn = LoginTransaction {
            provider,
            csrf: String::new(),
            return_to,
            created_at: self.clock.now(),
            upstream: None,
            saml_request_id: None,
            browser_binding: Some(key_hash(browser)),
        };
        self.put(
            &form_login_key(id.expose_secret()),
            &txn,
            LOGIN_TRANSACTION_TTL,
        )
        .await?;
        Ok((id, txn))
    }

    /// Takes the password-form transaction `id` if it was started for `provider` in the
    /// browser holding `browser` (compare and delete, so it is used at most once, also
    /// under concurrency). A mismatch leaves it in place ([`Claim::Refused`]).
    pub async fn take_form_login(
        &self,
        id: &str,
        provider: &ProviderId,
        browser: Option<&str>,
    ) -> Result<Claim<LoginTransaction>, SsoError> {
        let Some(browser) = browser else {
            return Ok(Claim::Refused);
        };
        let binding = Secret::new(key_hash(browser));
        self.take_checked(&form_login_key(id), |txn| {
            &txn.provider == provider
                && txn
                    .browser_binding
                    .as_deref()
                    .is_some_and(|b| Secret::new(b) == binding)
        })
        .await
    }

    /// Starts a sign-in that keeps redirect state (`state`, `nonce`, PKCE verifier) until
    /// the callback; returns the transaction's cookie value and the record.
    pub async fn begin_login_with(
        &self,
        provider: ProviderId,
        return_to: Option<String>,
        upstream: Option<UpstreamLogin>,
    ) -> Result<(Secret, LoginTransaction), SsoError> {
        let id = random_id();
        let txn = LoginTransaction {
            provider,
            csrf: random_id().expose_secret().to_owned(),
            return_to,
            created_at: self.clock.now(),
            upstream,
            saml_request_id: None,
            browser_binding: None,
        };
        let key = format!("login:{}", key_hash(id.expose_secret()));
        self.put(&key, &txn, LOGIN_TRANSACTION_TTL).await?;
        Ok((id, txn))
    }

    /// Takes a login transaction only if `accept` says it is the one being answered (for a
    /// redirect callback: the same provider and `state`): it is read, checked, then taken
    /// atomically only if it is still the same record (compare and delete). A forged
    /// answer therefore leaves the person's sign-in in progress untouched.
    pub async fn take_login_if(
        &self,
        cookie: &str,
        accept: impl FnOnce(&LoginTransaction) -> bool,
    ) -> Result<Claim<LoginTransaction>, SsoError> {
        self.take_checked(&format!("login:{}", key_hash(cookie)), accept)
            .await
    }

    /// Reads the transaction under `key`, checks it with `accept`, then takes it only if it
    /// is still the same record (compare and delete).
    async fn take_checked(
        &self,
        key: &str,
        accept: impl FnOnce(&LoginTransaction) -> bool,
    ) -> Result<Claim<LoginTransaction>, SsoError> {
        let Some(bytes) = self.store.get(key).await? else {
            return Ok(Claim::Absent);
        };
        let Some(txn) = Self::decode::<LoginTransaction>(Some(bytes.clone()))? else {
            return Ok(Claim::Absent);
        };
        if !accept(&txn) {
            return Ok(Claim::Refused);
        }
        Ok(if self.store.take_if_equal(key, &bytes).await? {
            Claim::Taken(txn)
        } else {
            Claim::Absent
        })
    }

    /// Records a pending SAML AuthnRequest. The IdP posts its answer cross-site, where the
    /// SameSite=Lax login cookie is not sent, so the transaction is keyed by the request ID
    /// (random, 128 bits) and taken back by the `InResponseTo` of the verified assertion.
    /// `browser_binding` is the digest of a `SameSite=None` cookie set in the browser that
    /// started the sign-in; the ACS then requires that cookie.
    pub async fn begin_saml_login(
        &self,
        provider: ProviderId,
        request_id: &str,
        return_to: Option<String>,
        browser_binding: Option<String>,
    ) -> Result<LoginTransaction, SsoError> {
        let txn = LoginTransaction {
            provider: provider.clone(),
            csrf: String::new(),
            return_to,
            created_at: self.clock.now(),
            upstream: None,
            saml_request_id: Some(request_id.to_owned()),
            browser_binding,
        };
        self.put(
            &saml_request_key(&provider, request_id),
            &txn,
            LOGIN_TRANSACTION_TTL,
        )
        .await?;
        Ok(txn)
    }

    /// Takes the pending SAML request `request_id` of `provider` (atomic GETDEL): `None` when
    /// unknown, expired or already answered.
    pub async fn take_saml_login(
        &self,
        provider: &ProviderId,
        request_id: &str,
    ) -> Result<Option<LoginTransaction>, SsoError> {
        let txn: Option<LoginTransaction> = Self::decode(
            self.store
                .take(&saml_request_key(provider, request_id))
                .await?,
        )?;
        Ok(txn.filter(|t| {
            &t.provider == provider && t.saml_request_id.as_deref() == Some(request_id)
        }))
    }

    /// Records an assertion ID until `valid_until` (SET NX); `false` when it was seen
    /// before (a replay).
    pub async fn first_use_of_assertion(
        &self,
        provider: &ProviderId,
        assertion_id: &str,
        valid_until: i64,
    ) -> Result<bool, SsoError> {
        let ttl = (valid_until - self.clock.now()).max(1);
        let key = format!("saml-seen:{provider}:{}", key_hash(assertion_id));
        Ok(self
            .store
            .put_if_absent(&key, b"1", Duration::from_secs(ttl.unsigned_abs()))
            .await?)
    }

    /// Creates an SSO session for a freshly authenticated identity; returns the cookie value.
    pub async fn create(
        &self,
        identity: ExternalIdentity,
    ) -> Result<(Secret, SsoSession), SsoError> {
        let now = self.clock.now();
        let id = random_id();
        let session = SsoSession {
            identity,
            created_at: now,
            last_seen: now,
            csrf: random_id().expose_secret().to_owned(),
            last_role_session: None,
        };
        self.put(
            &sso_key(id.expose_secret()),
            &session,
            self.idle.min(self.absolute),
        )
        .await?;
        Ok((id, session))
    }

    /// The live SSO session a cookie names, after the idle and absolute timeouts; using it
    /// extends the idle timeout. `None` when there is none (unknown, expired, signed out).
    pub async fn load(&self, cookie: &str) -> Result<Option<SsoSession>, SsoError> {
        let key = sso_key(cookie);
        let Some(mut session) = Self::decode::<SsoSession>(self.store.get(&key).await?)? else {
            return Ok(None);
        };
        let now = self.clock.now();
        let absolute_end = session.created_at.saturating_add(secs(self.absolute));
        let idle_end = session.last_seen.saturating_add(secs(self.idle));
        if now >= absolute_end || now >= idle_end {
            self.end(cookie).await?;
            return Ok(None);
        }
        if now - session.last_seen >= TOUCH_INTERVAL_SECS {
            session.last_seen = now;
            self.save(cookie, &session).await?;
        }
        Ok(Some(session))
    }

    /// Writes a changed session back, keeping its timeouts.
    pub async fn save(&self, cookie: &str, session: &SsoSession) -> Result<(), SsoError> {
        let now = self.clock.now();
        let absolute_left = session.created_at.saturating_add(secs(self.absolute)) - now;
        let ttl = secs(self.idle).min(absolute_left).max(1);
        self.put(
            &sso_key(cookie),
            session,
            Duration::from_secs(ttl.unsigned_abs()),
        )
        .await
    }

    /// Ends an SSO session and every role session issued in it.
    pub async fn end(&self, cookie: &str) -> Result<(), SsoError> {
        let set = roles_of_key(cookie);
        for id in self.store.set_members(&set).await? {
            self.store.delete(&role_session_key(&id)).await?;
        }
        // The sealed tokens die with their role sessions; their records expire with them.
        self.store.delete(&minted_key(cookie)).await?;
        self.store.delete(&set).await?;
        self.store.delete(&sso_key(cookie)).await?;
        Ok(())
    }

    /// Counts one more role session minted by the SSO session `cookie` names (the picker,
    /// not applications): `Err` once `max` were minted. Call before issuing.
    pub async fn reserve_role_session(
        &self,
        cookie: &str,
        max: u32,
    ) -> Result<Result<(), RoleSessionCap>, SsoError> {
        let minted = self.store.incr(&minted_key(cookie), self.absolute).await?;
        Ok(if minted > i64::from(max) {
            Err(RoleSessionCap(max))
        } else {
            Ok(())
        })
    }

    /// The live role session the SSO session `cookie` names holds for `role`, if it has
    /// at least `min_left` seconds to run and its token can still be shown: what `GET
    /// /roles` hands out again instead of minting.
    pub async fn held_role_session(
        &self,
        cookie: &str,
        role: &str,
        min_left: i64,
    ) -> Result<Option<RoleSession>, SsoError> {
        let Some(held) =
            Self::decode::<HeldRoleSession>(self.store.get(&held_role_key(cookie, role)).await?)?
        else {
            return Ok(None);
        };
        let Some(rs) = self.role_session(&held.id).await? else {
            return Ok(None);
        };
        let usable = rs.role == role
            && rs.expires_at - self.clock.now() >= min_left
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
        let Some(held) = Self::decode::<HeldRoleSession>(
            self.store
                .get(&held_role_key(cookie, &role_session.role))
                .await?,
        )?
        else {
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
            session.last_role_session = Some(role_session.id.clone());
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
        self.add_role_session_by_ref(&Self::session_ref(cookie), role_session)
            .await?;
        let sealed_token = seal::seal(cookie, &role_session.id, &role_session.access_token)
            .ok_or(SsoError::Corrupt)?;
        let held = HeldRoleSession {
            id: role_session.id.clone(),
            sealed_token,
        };
        let ttl_secs = (role_session.expires_at - self.clock.now()).max(1);
        self.put(
            &held_role_key(cookie, &role_session.role),
            &held,
            Duration::from_secs(ttl_secs.unsigned_abs()),
        )
        .await?;
        session.last_role_session = Some(role_session.id.clone());
        self.save(cookie, session).await?;
        let last = format!(
            "lastrole:{}",
            key_hash(&session.identity.qualified_subject())
        );
        self.store
            .put(&last, role_session.role.as_bytes(), LAST_ROLE_TTL)
            .await?;
        Ok(())
    }

    /// Stores a role session issued outside a browser session (STS), so that its token
    /// works with `/v1/authorize` until it expires.
    pub async fn put_role_session(&self, role_session: &RoleSession) -> Result<(), SsoError> {
        let ttl_secs = (role_session.expires_at - self.clock.now()).max(1);
        self.put(
            &role_session_key(&role_session.id),
            role_session,
            Duration::from_secs(ttl_secs.unsigned_abs()),
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
        let record: Option<R> = Self::decode(self.store.get(&role_session_key(id)).await?)?;
        Ok(record.filter(|r| r.expires_at() > self.clock.now()))
    }

    /// A stable, non-secret handle of the SSO session a cookie names (the hash its record is
    /// stored under): the OpenID Connect `sid`, and what codes and refresh tokens are bound to.
    pub fn session_ref(cookie: &str) -> String {
        key_hash(cookie)
    }

    /// The live SSO session with this handle, if any (same timeouts as [`Sso::load`], but
    /// without extending the idle timeout: a refresh by an application is not a person).
    pub async fn load_by_ref(&self, session_ref: &str) -> Result<Option<SsoSession>, SsoError> {
        let Some(session) =
            Self::decode::<SsoSession>(self.store.get(&format!("sso:{session_ref}")).await?)?
        else {
            return Ok(None);
        };
        let now = self.clock.now();
        let alive = now < session.created_at.saturating_add(secs(self.absolute))
            && now < session.last_seen.saturating_add(secs(self.idle));
        Ok(alive.then_some(session))
    }

    /// Records a role session that belongs to an SSO session known only by its handle (tokens
    /// issued to an application at the token endpoint).
    pub async fn add_role_session_by_ref(
        &self,
        session_ref: &str,
        role_session: &RoleSession,
    ) -> Result<(), SsoError> {
        self.put_role_session(role_session).await?;
        let ttl_secs = (role_session.expires_at - self.clock.now()).max(1);
        self.store
            .set_add(
                &format!("sso-roles:{session_ref}"),
                &role_session.id,
                self.absolute
                    .max(Duration::from_secs(ttl_secs.unsigned_abs())),
            )
            .await?;
        Ok(())
    }

    /// Ends one role session (token revocation).
    pub async fn revoke_role_session(&self, id: &str) -> Result<(), SsoError> {
        Ok(self.store.delete(&role_session_key(id)).await?)
    }

    /// The role this person chose last, for preselection.
    pub async fn last_role(&self, identity: &ExternalIdentity) -> Result<Option<String>, SsoError> {
        let last = format!("lastrole:{}", key_hash(&identity.qualified_subject()));
        Ok(self
            .store
            .get(&last)
            .await?
            .and_then(|b| String::from_utf8(b).ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::seal;

    #[test]
    fn a_sealed_token_opens_only_with_its_cookie_and_role_session() {
        let sealed = seal::seal("cookie-a", "rs-1", "header.payload.signature").unwrap();
        assert!(!sealed.contains("signature"));
        assert_eq!(
            seal::open("cookie-a", "rs-1", &sealed).as_deref(),
            Some("header.payload.signature")
        );
        assert_eq!(seal::open("cookie-b", "rs-1", &sealed), None);
        assert_eq!(seal::open("cookie-a", "rs-2", &sealed), None);
        assert_eq!(seal::open("cookie-a", "rs-1", "short"), None);
        // A fresh nonce each time.
        assert_ne!(
            sealed,
            seal::seal("cookie-a", "rs-1", "header.payload.signature").unwrap()
        );
    }
}
