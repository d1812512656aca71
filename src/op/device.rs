//! The device authorization grant (RFC 8628): a command-line tool (`lanyard login`) asks for
//! a device code and a user code (§3.1, §3.2), the person enters or confirms the user code on
//! the `/device` page while signed in and approves or denies (§3.3), and the tool polls the
//! token endpoint with the device code (§3.4) until it gets the answer (§3.5).
//!
//! What is kept, each under its typed keyspace with a TTL:
//! - the request, under the digest of the device code ([`keyspace::DEVICE`]), kept twice its
//!   600 s lifetime so that a late poll hears `expired_token` (the expiry itself is read from
//!   the injected clock);
//! - the lookup by user code ([`keyspace::DEVICE_USER_CODE`]), written only if absent, so a
//!   user code collision picks another code and never overwrites another request; it is
//!   taken (single use) when the person answers;
//! - the person's answer ([`keyspace::DEVICE_DECISION`]), taken atomically by the poll that
//!   receives it, which leaves a tombstone ([`keyspace::DEVICE_DECISION_USED`]) in the same
//!   store step: of two concurrent polls exactly one gets tokens, the other hears that the
//!   code was used;
//! - the polling gate ([`keyspace::DEVICE_POLL`], written if absent for the interval) and
//!   the count of `slow_down` answers ([`keyspace::DEVICE_SLOW_DOWN`]): a poll that finds the
//!   gate is answered `slow_down`, and the interval grows by 5 s each time (§3.5).
//!
//! User codes are 8 letters of `BCDFGHJKLMNPQRSTVWXZ` (§6.1: no vowels, no digits), about
//! 34.6 bits, shown as `XXXX-XXXX`. Wrong codes on the page are bounded (§5.1): at most
//! [`MAX_WRONG_CODES_PER_SESSION`] per SSO session and [`MAX_WRONG_CODES_PER_ADDRESS`] per
//! client address within 10 minutes; after that the page refuses codes for 10 minutes,
//! doubling per further attempt up to an hour. A correct code does not count.
//!
//! Tokens leave as they do for the authorization code flow: the trust policy of the chosen
//! role is evaluated again at the poll (with the address the person approved from), and the
//! one door ([`Issuer`](crate::access::Issuer)) issues them and writes the audit event (door
//! `device`). They are bound to the SSO session that approved them, like a code's.
//!
//! May import: `access`, `audit`, `tokens`, `sso`, `roles`, `identity`, `session`, `clock`.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::access::Attempt;
use crate::audit::Door;
use crate::clock::UnixTime;
use crate::identity::{ClientId, ExternalIdentity, RoleName};
use crate::op::GrantType;
use crate::roles::RequestFacts;
use crate::session::keyspace::{
    self, DEVICE, DEVICE_ATTEMPTS, DEVICE_ATTEMPTS_LOCK, DEVICE_CODE_TTL, DEVICE_DECISION,
    DEVICE_DECISION_USED, DEVICE_POLL, DEVICE_RECORD_TTL, DEVICE_SLOW_DOWN, DEVICE_USER_CODE,
};
use crate::session::{
    AttemptLimit, Reservation, SessionStore, StoreError, digest, get_json, put_json,
    put_json_if_absent, random_id,
};

use super::authorize::granted_scope;
use super::issue::Exchange;
use super::{Client, OAuthError, OidcProvider, TokenResponse};

/// The letters of user codes (RFC 8628 §6.1): consonants only, so that no word is spelled
/// and none is mistaken for a digit; the same in upper and lower case.
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// The letters of a user code.
pub const USER_CODE_LEN: usize = 8;
/// How long the device code and user code are valid (`expires_in`).
pub const DEVICE_CODE_LIFETIME: Duration = DEVICE_CODE_TTL;
/// The polling interval first given (`interval`, RFC 8628 §3.2).
pub const POLL_INTERVAL: Duration = Duration::from_secs(5);
/// How much a `slow_down` adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// A poll up to this much early is not counted as too soon: the network's jitter between
/// two polls sent exactly `interval` apart.
const POLL_GRACE: Duration = Duration::from_millis(500);
/// How many fresh user codes are tried when one is taken by another request.
const USER_CODE_TRIES: usize = 8;
/// Wrong user codes one SSO session may enter within [`WRONG_CODE_WINDOW`].
pub const MAX_WRONG_CODES_PER_SESSION: u32 = 5;
/// Wrong user codes one client address (an IPv6 /64) may enter within [`WRONG_CODE_WINDOW`].
pub const MAX_WRONG_CODES_PER_ADDRESS: u32 = 20;
/// The window wrong user codes are counted in: the lifetime of a user code.
pub const WRONG_CODE_WINDOW: Duration = DEVICE_CODE_TTL;
/// How long the page refuses codes once the limit is reached (doubling per further
/// attempt, up to [`WRONG_CODE_MAX_LOCKOUT`]).
pub const WRONG_CODE_LOCKOUT: Duration = Duration::from_secs(600);
/// The longest refusal.
pub const WRONG_CODE_MAX_LOCKOUT: Duration = Duration::from_secs(3600);

/// A device authorization request (RFC 8628 §3.1) as stored.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct DeviceRequest {
    client_id: ClientId,
    /// The scope granted.
    scope: String,
    /// The role the tool asked to preselect (Lanyard's `role` parameter).
    role: Option<RoleName>,
    /// The user code, as shown (`XXXX-XXXX`).
    user_code: String,
    /// When the device code and user code expire.
    expires_at: UnixTime,
}

impl std::fmt::Debug for DeviceRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceRequest")
            .field("client_id", &self.client_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The person's answer to a device authorization request.
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub(super) enum DeviceDecision {
    /// Approved for `role` and `duration_secs`, from the SSO session `sso_ref`.
    Approved {
        identity: Box<ExternalIdentity>,
        role: RoleName,
        duration_secs: u64,
        sso_ref: String,
        /// The person's address when approving: the poll evaluates the trust policy with it.
        source_ip: Option<IpAddr>,
    },
    /// Denied: the tool hears `access_denied`.
    Denied,
}

/// The answer of the device authorization endpoint (RFC 8628 §3.2). Its `Debug` leaves the
/// device code out.
#[derive(Serialize)]
pub struct DeviceAuthorization {
    /// The device code the tool polls with (256 random bits, base64url).
    pub device_code: String,
    /// The code the person enters, `XXXX-XXXX`.
    pub user_code: String,
    /// `{public_url}/device`.
    pub verification_uri: String,
    /// `{public_url}/device?user_code=XXXX-XXXX`.
    pub verification_uri_complete: String,
    /// Seconds until both codes expire.
    pub expires_in: u64,
    /// Seconds to wait between polls.
    pub interval: u64,
}

impl std::fmt::Debug for DeviceAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceAuthorization")
            .field("user_code", &self.user_code)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// A user code as the person typed it, normalised: upper case, without spaces and dashes.
#[derive(Clone, PartialEq, Eq)]
pub struct UserCode(String);

impl std::fmt::Debug for UserCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserCode([redacted])")
    }
}

impl UserCode {
    /// The code in `typed`: lower case, spaces, dashes and a missing dash are accepted
    /// (RFC 8628 §6.1); `None` unless 8 letters of the alphabet remain.
    pub fn parse(typed: &str) -> Option<Self> {
        if typed.len() > 64 {
            return None;
        }
        let letters: String = typed
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let ok = letters.len() == USER_CODE_LEN
            && letters.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
        ok.then_some(Self(letters))
    }

    /// A fresh random code from the operating system's CSPRNG (rejection sampling keeps
    /// every letter equally likely).
    fn generate() -> Self {
        let mut letters = String::with_capacity(USER_CODE_LEN);
        let limit = u8::try_from(256 - 256 % USER_CODE_ALPHABET.len()).unwrap_or(240);
        while letters.len() < USER_CODE_LEN {
            let mut bytes = [0u8; 16];
            if aws_lc_rs::rand::fill(&mut bytes).is_err() {
                tracing::error!("the system random number generator failed; aborting");
                std::process::abort();
            }
            for b in bytes.into_iter().filter(|b| *b < limit) {
                if letters.len() < USER_CODE_LEN {
                    let i = usize::from(b) % USER_CODE_ALPHABET.len();
                    letters.push(char::from(USER_CODE_ALPHABET[i]));
                }
            }
        }
        Self(letters)
    }

    /// The code as shown: `XXXX-XXXX`.
    pub fn shown(&self) -> String {
        let (a, b) = self.0.split_at(USER_CODE_LEN / 2);
        format!("{a}-{b}")
    }

    /// The key part of its lookup record.
    fn key(&self) -> String {
        digest(&self.0)
    }
}

/// Who is entering user codes on the device page: what wrong codes count against.
#[derive(Debug, Clone, Copy)]
pub struct CodeEnterer<'a> {
    /// The SSO session's reference.
    pub sso_ref: &'a str,
    /// The client address, when known.
    pub source_ip: Option<IpAddr>,
}

impl CodeEnterer<'_> {
    /// The limits a code entered counts against: the SSO session's, then the address's.
    fn limits(&self) -> Vec<AttemptLimit> {
        let limit = |who: String, allowed: u32| AttemptLimit {
            counter: DEVICE_ATTEMPTS.key([&who]),
            lock: DEVICE_ATTEMPTS_LOCK.key([&who]),
            allowed,
            window: WRONG_CODE_WINDOW,
            lockout: WRONG_CODE_LOCKOUT,
            max_lockout: WRONG_CODE_MAX_LOCKOUT,
        };
        let session = limit(
            keyspace::sso_session(self.sso_ref),
            MAX_WRONG_CODES_PER_SESSION,
        );
        std::iter::once(session)
            .chain(
                self.source_ip
                    .map(|ip| limit(keyspace::address(ip), MAX_WRONG_CODES_PER_ADDRESS)),
            )
            .collect()
    }
}

/// A pending device authorization request, as the device page shows it.
#[derive(Debug, Clone)]
pub struct PendingDevice {
    /// Its user code.
    pub user_code: UserCode,
    /// The client asking.
    pub client_id: ClientId,
    /// The client's name, shown to the person.
    pub client_name: String,
    /// The roles the client may receive.
    pub allowed_roles: Vec<RoleName>,
    /// The role the tool asked to preselect.
    pub role: Option<RoleName>,
}

/// What the device page finds for a user code.
#[derive(Debug)]
pub enum DeviceLookup {
    /// A pending request.
    Found(PendingDevice),
    /// No pending request has this code (never had, expired, or already answered).
    Unknown,
    /// Too many wrong codes: none is looked up for a while.
    Locked,
}

/// The person's approval of a pending request, from the device page.
#[derive(Debug)]
pub struct DeviceApproval<'a> {
    /// Who approves.
    pub identity: &'a ExternalIdentity,
    /// The role chosen (allowed by its trust policy and the client: `access::offer`).
    pub role: &'a RoleName,
    /// The length chosen, in seconds.
    pub duration_secs: u64,
    /// The SSO session approving: the tokens end with it.
    pub sso_ref: &'a str,
    /// The person's address.
    pub source_ip: Option<IpAddr>,
}

impl OidcProvider {
    /// `POST /oauth2/device_authorization` (RFC 8628 §3.1, §3.2) for an authenticated
    /// `client`: the scope granted from `scope` as at `/oauth2/authorize`, and `role`, a
    /// role to preselect on the device page, which must be among the client's
    /// `allowed_roles`.
    pub async fn device_authorization(
        &self,
        client: &Client,
        scope: Option<&str>,
        role: Option<&str>,
    ) -> Result<DeviceAuthorization, OAuthError> {
        if !client.config.allows(GrantType::DeviceCode) {
            return Err(OAuthError::UnauthorizedClient(
                "this client may not use the device authorization grant".into(),
            ));
        }
        let role = match role.filter(|r| !r.is_empty()) {
            None => None,
            Some(r) if client.config.allowed_roles.iter().any(|a| a == r) => Some(RoleName::new(r)),
            Some(r) => {
                let shown: String = r.chars().take(64).collect();
                return Err(OAuthError::InvalidRequest(format!(
                    "the role \"{shown}\" is not among the roles this client may receive"
                )));
            }
        };
        let device_code = random_id();
        let device_key = digest(device_code.expose_secret());
        let expires_at = self.clock.now() + DEVICE_CODE_LIFETIME;
        let claimed = claim_user_code(&*self.store, &device_key, UserCode::generate).await?;
        let Some(user_code) = claimed else {
            return Err(OAuthError::ServerError(
                "no free user code was found; the pending requests are too many".into(),
            ));
        };
        let request = DeviceRequest {
            client_id: client.config.id.clone(),
            scope: granted_scope(scope),
            role,
            user_code: user_code.shown(),
            expires_at,
        };
        put_json(
            &*self.store,
            &DEVICE.key([&device_key]),
            &request,
            DEVICE_RECORD_TTL,
        )
        .await?;
        let page = format!("{}/device", self.issuer.tokens().issuer());
        Ok(DeviceAuthorization {
            device_code: device_code.expose_secret().to_owned(),
            verification_uri_complete: format!("{page}?user_code={}", request.user_code),
            verification_uri: page,
            user_code: request.user_code,
            expires_in: DEVICE_CODE_LIFETIME.as_secs(),
            interval: POLL_INTERVAL.as_secs(),
        })
    }

    /// The device page's lookup of `code` entered by `who`, bounded: a wrong code counts
    /// against the SSO session and the address, and once either limit is reached nothing
    /// is looked up until the lock ends ([`DeviceLookup::Locked`]).
    pub async fn device_lookup(
        &self,
        code: &UserCode,
        who: CodeEnterer<'_>,
    ) -> Result<DeviceLookup, OAuthError> {
        let limits = who.limits();
        let token = random_id();
        if let Reservation::Locked(_) = self
            .store
            .reserve_attempt(&limits, token.expose_secret())
            .await?
        {
            tracing::warn!(address = ?who.source_ip, "device page locked after wrong user codes");
            return Ok(DeviceLookup::Locked);
        }
        let Some((_, pending)) = self.pending_device(code).await? else {
            tracing::info!(address = ?who.source_ip, "a wrong or expired user code was entered");
            return Ok(DeviceLookup::Unknown);
        };
        // A code that fits is no failure: its attempt is given back.
        for limit in &limits {
            self.store
                .release_attempt(limit, token.expose_secret(), false)
                .await?;
        }
        Ok(DeviceLookup::Found(pending))
    }

    /// The pending sign-in of `code`, looked up again for the session that entered it
    /// before: the code a step-up's single-use record kept, never typed again. Nothing
    /// counts against the wrong-code limits (nobody can guess through it), so a code
    /// that expired during the step-up is no wrong code.
    pub async fn device_pending_again(
        &self,
        code: &UserCode,
    ) -> Result<Option<PendingDevice>, OAuthError> {
        Ok(self.pending_device(code).await?.map(|(_, pending)| pending))
    }

    /// The pending request of `code` and its record key, if any is live.
    async fn pending_device(
        &self,
        code: &UserCode,
    ) -> Result<Option<(String, PendingDevice)>, OAuthError> {
        let lookup = DEVICE_USER_CODE.key([&code.key()]);
        let Some(device_key) = self.store.get(&lookup).await? else {
            return Ok(None);
        };
        let device_key = String::from_utf8_lossy(&device_key).into_owned();
        let Some(request) = self.live_request(&device_key).await? else {
            return Ok(None);
        };
        let Some(client) = self.clients.get(&request.client_id) else {
            return Ok(None);
        };
        let pending = PendingDevice {
            user_code: code.clone(),
            client_id: request.client_id,
            client_name: client.config.name.clone(),
            allowed_roles: client.config.allowed_roles.clone(),
            role: request.role,
        };
        Ok(Some((device_key, pending)))
    }

    /// The request stored under `device_key`, unless it has expired.
    async fn live_request(&self, device_key: &str) -> Result<Option<DeviceRequest>, OAuthError> {
        let request: Option<DeviceRequest> =
            get_json(&*self.store, &DEVICE.key([device_key])).await?;
        let now = self.clock.now();
        Ok(request.filter(|r| r.expires_at > now))
    }

    /// Approves the pending request of `code` (RFC 8628 §3.3): its user code is taken
    /// (single use) and the answer left for the next poll. `false` when the code is no
    /// longer pending (expired, or answered meanwhile).
    pub async fn device_approve(
        &self,
        code: &UserCode,
        approval: DeviceApproval<'_>,
    ) -> Result<bool, OAuthError> {
        let decision = DeviceDecision::Approved {
            identity: Box::new(approval.identity.clone()),
            role: approval.role.clone(),
            duration_secs: approval.duration_secs,
            sso_ref: approval.sso_ref.to_owned(),
            source_ip: approval.source_ip,
        };
        self.decide(code, &decision).await
    }

    /// Denies the pending request of `code`: the tool hears `access_denied`. `false` when
    /// the code is no longer pending.
    pub async fn device_deny(&self, code: &UserCode) -> Result<bool, OAuthError> {
        self.decide(code, &DeviceDecision::Denied).await
    }

    async fn decide(&self, code: &UserCode, decision: &DeviceDecision) -> Result<bool, OAuthError> {
        let lookup = DEVICE_USER_CODE.key([&code.key()]);
        let Some(device_key) = self.store.take(&lookup).await? else {
            return Ok(false);
        };
        let device_key = String::from_utf8_lossy(&device_key).into_owned();
        if self.live_request(&device_key).await?.is_none() {
            return Ok(false);
        }
        let stored = put_json_if_absent(
            &*self.store,
            &DEVICE_DECISION.key([&device_key]),
            decision,
            DEVICE_RECORD_TTL,
        )
        .await?;
        Ok(stored)
    }

    /// `grant_type=urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4, §3.5):
    /// `authorization_pending` until the person answers, `slow_down` for a poll sooner than
    /// the interval, `access_denied` after a denial, `expired_token` once the code expired,
    /// and on approval the tokens, once.
    pub async fn device_token(
        &self,
        client: &Client,
        device_code: &str,
        origin: &RequestFacts,
    ) -> Result<TokenResponse, OAuthError> {
        if !client.config.allows(GrantType::DeviceCode) {
            return Err(OAuthError::UnauthorizedClient(
                "this client may not use the device authorization grant".into(),
            ));
        }
        let device_key = digest(device_code);
        let request: DeviceRequest = get_json(&*self.store, &DEVICE.key([&device_key]))
            .await?
            .ok_or_else(|| {
                OAuthError::InvalidGrant("the device_code is unknown or long expired".into())
            })?;
        if request.client_id != client.config.id {
            return Err(OAuthError::InvalidGrant(
                "the device_code was issued to another client".into(),
            ));
        }
        if request.expires_at <= self.clock.now() {
            return Err(OAuthError::ExpiredToken);
        }
        self.pace(&device_key).await?;
        let (decision_key, used) = (
            DEVICE_DECISION.key([&device_key]),
            DEVICE_DECISION_USED.key([&device_key]),
        );
        let taken = self
            .store
            .take_leaving(&decision_key, &used, DEVICE_RECORD_TTL)
            .await?;
        let Some(bytes) = taken else {
            return Err(match self.decision(&used).await? {
                Some(DeviceDecision::Denied) => denied(),
                Some(DeviceDecision::Approved { .. }) => {
                    OAuthError::InvalidGrant("the device_code was already used".into())
                }
                None => OAuthError::AuthorizationPending,
            });
        };
        let decision: DeviceDecision = serde_json::from_slice(&bytes)
            .map_err(|_| OAuthError::ServerError("a stored device answer is unreadable".into()))?;
        let result = match decision {
            DeviceDecision::Denied => return Err(denied()),
            DeviceDecision::Approved {
                identity,
                role,
                duration_secs,
                sso_ref,
                source_ip,
            } => {
                let approved = Approved {
                    identity: &identity,
                    role: &role,
                    duration_secs,
                    sso_ref: &sso_ref,
                    source_ip,
                };
                self.redeem_device(client, &request, approved, origin).await
            }
        };
        if matches!(result, Err(OAuthError::TemporarilyUnavailable(_))) {
            let left = self.clock.now().until(request.expires_at);
            if !left.is_zero() {
                self.restore_single_use(&decision_key, &used, &bytes, left)
                    .await;
            }
        }
        result
    }

    /// The decision a tombstone holds.
    async fn decision(&self, used: &str) -> Result<Option<DeviceDecision>, OAuthError> {
        Ok(self
            .store
            .get(used)
            .await?
            .and_then(|b| serde_json::from_slice(&b).ok()))
    }

    /// The polling gate (RFC 8628 §3.5): a poll passes when the gate is absent and sets it
    /// for the interval; one that finds it is answered `slow_down`, the interval grows by
    /// 5 s, and the gate is set again for the new interval from this poll on.
    async fn pace(&self, device_key: &str) -> Result<(), OAuthError> {
        let (gate, slowed) = (
            DEVICE_POLL.key([device_key]),
            DEVICE_SLOW_DOWN.key([device_key]),
        );
        let count = self
            .store
            .get(&slowed)
            .await?
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse::<u32>().ok())
            .unwrap_or(0);
        let interval = poll_interval(count);
        let held = interval.saturating_sub(POLL_GRACE);
        if self.store.put_if_absent(&gate, b"1", held).await? {
            return Ok(());
        }
        let count = self.store.incr(&slowed, DEVICE_RECORD_TTL).await?;
        let interval = poll_interval(u32::try_from(count).unwrap_or(u32::MAX));
        self.store
            .put(&gate, b"1", interval.saturating_sub(POLL_GRACE))
            .await?;
        Err(OAuthError::SlowDown {
            interval: interval.as_secs(),
        })
    }

    /// The tokens of an approval, once its answer is taken: the SSO session that approved
    /// must still be live, and the role's trust policy must still allow the person (with
    /// the address they approved from), as at the code exchange.
    async fn redeem_device(
        &self,
        client: &Client,
        request: &DeviceRequest,
        approved: Approved<'_>,
        origin: &RequestFacts,
    ) -> Result<TokenResponse, OAuthError> {
        let Some(session) = self.sso.load_by_ref(approved.sso_ref).await? else {
            return Err(OAuthError::InvalidGrant(
                "the sign-in session that approved this device has ended".into(),
            ));
        };
        let facts = RequestFacts {
            source_ip: approved.source_ip,
            now: self.clock.now(),
            secure_transport: origin.secure_transport,
            user_agent: origin.user_agent.clone(),
        };
        let attempt = Attempt::new(origin, Door::Device, Some(&client.config.id));
        // The person of that session (whom the approval names too): the role session's
        // principal keys are read from it (see `sso`).
        let grant = self
            .person_grant(client, &session.identity, approved.role, &facts, &attempt)
            .await?;
        let family = random_id().expose_secret().to_owned();
        let exchange = Exchange {
            duration_secs: approved.duration_secs,
            scope: &request.scope,
            nonce: None,
            sso_ref: Some(approved.sso_ref),
            // A family only for refresh tokens: nothing else of this grant comes back.
            family: client
                .config
                .allows(GrantType::RefreshToken)
                .then_some(family.as_str()),
        };
        let response = self.respond(client, grant, exchange, attempt).await?;
        tracing::info!(
            client = %client.config.id,
            subject = %approved.identity.qualified_subject(),
            role = %approved.role,
            "device authorization redeemed"
        );
        Ok(response)
    }
}

/// Draws user codes with `draw` until one is free and claims it for the request stored
/// under `device_key`: its lookup is written only if absent, so a code another pending
/// request holds is never overwritten, another is drawn. `None` after
/// [`USER_CODE_TRIES`] taken codes.
async fn claim_user_code(
    store: &dyn SessionStore,
    device_key: &str,
    mut draw: impl FnMut() -> UserCode,
) -> Result<Option<UserCode>, StoreError> {
    for _ in 0..USER_CODE_TRIES {
        let user_code = draw();
        let lookup = DEVICE_USER_CODE.key([&user_code.key()]);
        if store
            .put_if_absent(&lookup, device_key.as_bytes(), DEVICE_CODE_LIFETIME)
            .await?
        {
            return Ok(Some(user_code));
        }
        tracing::info!("a user code collided with a pending one; another is drawn");
    }
    Ok(None)
}

/// The parts of an approval the poll redeems.
struct Approved<'a> {
    identity: &'a ExternalIdentity,
    role: &'a RoleName,
    duration_secs: u64,
    sso_ref: &'a str,
    source_ip: Option<IpAddr>,
}

/// `access_denied` after the person denied (RFC 8628 §3.5).
fn denied() -> OAuthError {
    OAuthError::AccessDenied("the person denied the sign-in".into())
}

/// The polling interval after `slowed` `slow_down` answers.
fn poll_interval(slowed: u32) -> Duration {
    POLL_INTERVAL.saturating_add(SLOW_DOWN_STEP.saturating_mul(slowed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_are_eight_consonants_shown_with_a_dash() {
        for _ in 0..200 {
            let code = UserCode::generate();
            assert_eq!(code.0.len(), USER_CODE_LEN);
            assert!(code.0.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)));
            let shown = code.shown();
            assert_eq!(shown.len(), 9);
            assert_eq!(&shown[4..5], "-");
            assert_eq!(UserCode::parse(&shown), Some(code));
        }
    }

    #[test]
    fn typed_codes_accept_lower_case_spaces_and_a_missing_dash() {
        let code = UserCode::parse("BCDF-GHJK").unwrap();
        for typed in [
            "bcdfghjk",
            " bcdf ghjk ",
            "BcDf-gHjK",
            "bc-df-gh-jk",
            "BCDF - GHJK",
        ] {
            assert_eq!(UserCode::parse(typed).as_ref(), Some(&code), "{typed}");
        }
        for typed in [
            "",
            "BCDF-GHJ",
            "BCDF-GHJKL",
            "BCDF-GHJA",
            "BCDF-GHJ1",
            "ВCDF-GHJK",
        ] {
            assert!(UserCode::parse(typed).is_none(), "{typed}");
        }
        assert!(UserCode::parse(&"B".repeat(1000)).is_none());
        assert!(
            !format!("{code:?}").contains("BCDF"),
            "the code is not logged"
        );
    }

    #[test]
    fn every_letter_is_drawn() {
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..200 {
            seen.extend(UserCode::generate().0.bytes());
        }
        assert_eq!(seen.len(), USER_CODE_ALPHABET.len());
    }

    #[tokio::test]
    async fn a_user_code_collision_draws_another_and_overwrites_nothing() {
        use std::sync::Arc;

        use crate::clock::{ManualClock, SharedClock};
        use crate::session::MemoryStore;

        let clock: SharedClock = Arc::new(ManualClock::new(UnixTime::from_secs(1_800_000_000)));
        let store = MemoryStore::new("t:", clock);
        let (taken, free) = (
            UserCode::parse("BCDF-GHJK").unwrap(),
            UserCode::parse("LMNP-QRST").unwrap(),
        );
        let first = claim_user_code(&store, "first", || taken.clone()).await;
        assert_eq!(first.unwrap(), Some(taken.clone()));
        // The second request draws the taken code first, then a free one.
        let mut draws = [taken.clone(), free.clone()].into_iter();
        let second = claim_user_code(&store, "second", || draws.next().unwrap()).await;
        assert_eq!(second.unwrap(), Some(free.clone()));
        let holder = |code: &UserCode| DEVICE_USER_CODE.key([&code.key()]);
        let held = store.get(&holder(&taken)).await.unwrap();
        assert_eq!(held.as_deref(), Some(&b"first"[..]));
        let held = store.get(&holder(&free)).await.unwrap();
        assert_eq!(held.as_deref(), Some(&b"second"[..]));
        // Only taken codes: none, after a bounded number of draws.
        let mut n = 0;
        let none = claim_user_code(&store, "third", || {
            n += 1;
            taken.clone()
        })
        .await;
        assert_eq!(none.unwrap(), None);
        assert_eq!(n, USER_CODE_TRIES);
        let held = store.get(&holder(&taken)).await.unwrap();
        assert_eq!(held.as_deref(), Some(&b"first"[..]), "still the first's");
    }

    #[test]
    fn the_interval_grows_by_five_seconds_per_slow_down() {
        assert_eq!(poll_interval(0), Duration::from_secs(5));
        assert_eq!(poll_interval(1), Duration::from_secs(10));
        assert_eq!(poll_interval(3), Duration::from_secs(20));
    }

    #[test]
    fn a_decision_round_trips_and_its_debug_says_nothing_secret() {
        let answer = DeviceAuthorization {
            device_code: "device-code-text".into(),
            user_code: "BCDF-GHJK".into(),
            verification_uri: "https://l/device".into(),
            verification_uri_complete: "https://l/device?user_code=BCDF-GHJK".into(),
            expires_in: 600,
            interval: 5,
        };
        assert!(!format!("{answer:?}").contains("device-code-text"));
        let denied = serde_json::to_string(&DeviceDecision::Denied).unwrap();
        assert_eq!(denied, r#"{"decision":"denied"}"#);
        let back: DeviceDecision = serde_json::from_str(&denied).unwrap();
        assert!(matches!(back, DeviceDecision::Denied));
    }
}
