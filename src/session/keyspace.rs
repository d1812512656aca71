//! The typed keyspace: every kind of record Lanyard keeps in the store, declared once with
//! its key prefix, the parts of its key, how long it lives, whether it is single use and
//! what its value is. Keys are built only through these declarations ([`Kind::key`]), so
//! no module spells a prefix with `format!`, and `tests.rs` pins every prefix: records in a
//! running Redis survive an upgrade only while the key strings stay byte-identical.
//!
//! A key is the prefix followed by its parts joined with `:`. A part that stands for a
//! bearer secret (a cookie, a code, a refresh token, an assertion id) is always its
//! [`digest`](super::digest), never the secret: the declarations say which.
//!
//! **Redis Cluster.** A cluster keeps each key in the slot of its hash tag (`{…}`), and one
//! `MULTI`/`EXEC` or Lua script may only touch keys of one slot. So every kind declares
//! which part, if any, is its tag ([`Kind::tag`]), and the kinds one operation touches
//! together share it: an item and its tombstone (`code:{H}` and `code-used:{H}`, `rt:`,
//! `device-done:`), an attempt counter and its lock (`bf:n:{acct:H}` and
//! `bf:lock:{acct:H}`). Records that belong together are tagged alike as well (an SSO
//! session, the hash of what it issued (its role sessions and token families), held roles
//! and mint counter by the session ref; a device request and its answer, gate and
//! counters by the device code; a token family's revocation mark), so a
//! later operation over them can be made atomic in a cluster too. Limits of *different*
//! subjects (an account and an address) cannot share a slot — an account is tried from
//! many addresses and an address tries many accounts — so a reservation against several
//! of them is one script per limit in a cluster (see `redis.rs`). The tags appeared with
//! cluster support: keys written by earlier versions are not found (a one-time sign-out
//! of everyone on that upgrade).
//!
//! ```
//! # use lanyard::session::keyspace::{self, Lifetime};
//! // An authorization code is stored under the digest of the code, for one minute, and
//! // taken once (its tombstone under `code-used:` remembers the use, in the same slot).
//! let key = keyspace::CODE.key(["Ew8zm6f0"]);
//! assert_eq!(key, "code:{Ew8zm6f0}");
//! let used = keyspace::CODE_USED.key(["Ew8zm6f0"]);
//! assert_eq!(keyspace::slot(&key), keyspace::slot(&used));
//! assert!(keyspace::CODE.single_use);
//! assert_eq!(keyspace::CODE.lifetime, Lifetime::Fixed(std::time::Duration::from_secs(60)));
//! ```
//!
//! May import: nothing of ours (the value types are named, not imported: they belong to the
//! modules above).

use std::net::IpAddr;
use std::time::Duration;

/// One kind of record: a key prefix with `N` key parts, a lifetime, single use or not, and
/// what its value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind<const N: usize> {
    /// The key prefix, its trailing `:` included.
    pub prefix: &'static str,
    /// What each key part is, in order (documentation, and the test of the key layout).
    pub parts: [&'static str; N],
    /// The key part written as a Redis Cluster hash tag (`{…}`), if any: the cluster puts
    /// a key in the slot of its tag alone, so records of different kinds that one
    /// operation touches together (an item and its tombstone, a counter and its lock)
    /// declare the same part as their tag and land in one slot. See the module
    /// documentation.
    pub tag: Option<usize>,
    /// How long a record lives.
    pub lifetime: Lifetime,
    /// Whether a record is taken atomically, at most once ([`SessionStore::take`] and
    /// its variants, or [`SessionStore::put_if_absent`] for a first-use marker).
    ///
    /// [`SessionStore::take`]: super::SessionStore::take
    /// [`SessionStore::put_if_absent`]: super::SessionStore::put_if_absent
    pub single_use: bool,
    /// What the value is.
    pub value: Value,
}

/// How long a record of a [`Kind`] lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// Always this long.
    Fixed(Duration),
    /// Until the expiry of what it stands for (a token, an assertion), chosen per record.
    UntilExpiry(&'static str),
    /// As long as a setting says (named here).
    Configured(&'static str),
}

impl Lifetime {
    /// The TTL of a [`Lifetime::Fixed`] kind; `None` for one chosen per record.
    pub const fn fixed(self) -> Option<Duration> {
        match self {
            Lifetime::Fixed(ttl) => Some(ttl),
            Lifetime::UntilExpiry(_) | Lifetime::Configured(_) => None,
        }
    }
}

/// What the value of a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// A JSON document of the named Rust type (defined by the module that owns the kind).
    Json(&'static str),
    /// A marker whose presence is the information (`1`).
    Flag,
    /// A UTF-8 string.
    Text(&'static str),
    /// A counter ([`SessionStore::incr`](super::SessionStore::incr)).
    Counter,
    /// A set of strings ([`SessionStore::set_add`](super::SessionStore::set_add)).
    Set(&'static str),
    /// A hash of strings ([`SessionStore::hash_set`](super::SessionStore::hash_set)).
    Hash(&'static str),
}

impl<const N: usize> Kind<N> {
    /// The key of the record whose key parts are `parts` (relative: the store adds its own
    /// prefix, `lanyard:` by default).
    pub fn key(&self, parts: [&str; N]) -> String {
        let len = self.prefix.len() + parts.iter().map(|p| p.len() + 1).sum::<usize>();
        let mut key = String::with_capacity(len);
        key.push_str(self.prefix);
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                key.push(':');
            }
            if self.tag == Some(i) {
                key.push('{');
                key.push_str(part);
                key.push('}');
            } else {
                key.push_str(part);
            }
        }
        key
    }
}

impl Kind<1> {
    /// The key part of a key of this kind (what [`Kind::key`] was given), or `None` for a
    /// key of another kind: for walks over the keyspace ([`super::SessionStore::scan`]).
    pub fn part(&self, key: &str) -> Option<String> {
        let part = key.strip_prefix(self.prefix)?;
        let part = match self.tag {
            Some(_) => part.strip_prefix('{')?.strip_suffix('}')?,
            None => part,
        };
        (!part.is_empty() && !part.contains(':')).then(|| part.to_owned())
    }
}

/// The Redis Cluster slot of `key` (the whole key, store prefix included): CRC16-XMODEM of
/// its hash tag (the text between the first `{` and the next `}`, when not empty) or of the
/// whole key, modulo 16384 (Redis Cluster specification, "Keys distribution model").
pub fn slot(key: &str) -> u16 {
    let bytes = key.as_bytes();
    let hashed = bytes
        .iter()
        .position(|&b| b == b'{')
        .and_then(|open| {
            let rest = &bytes[open + 1..];
            let close = rest.iter().position(|&b| b == b'}')?;
            (close > 0).then(|| &rest[..close])
        })
        .unwrap_or(bytes);
    crc16_xmodem(hashed) % 16384
}

/// CRC16-CCITT in its XMODEM form (polynomial 0x1021, initial value 0), as Redis Cluster
/// uses it.
fn crc16_xmodem(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// How long a login transaction (from "start sign-in" to the answer) may take.
pub const LOGIN_TRANSACTION_TTL: Duration = Duration::from_secs(600);

// --- sso: SSO sessions -------------------------------------------------------------------

/// An SSO session, under the digest of its cookie (the session ref).
pub const SSO_SESSION: Kind<1> = Kind {
    prefix: "sso:",
    parts: ["session ref (digest of the SSO cookie)"],
    lifetime: Lifetime::Configured("sessions.idle_timeout, bounded by absolute_timeout"),
    tag: Some(0),
    single_use: false,
    value: Value::Json("sso::SsoSession"),
};

/// What an SSO session issued, one hash per session: a field per role session (its id,
/// valued with the token family it belongs to, empty for none), and a field per token
/// family with a refresh token (`rt:{family}`, valued with the digest of the family's
/// current refresh token, which carries its own record: see `op::refresh`; `-` while a
/// refresh presenting it is under way, `revoked` once the family is). Signing out ends the role sessions; a reused code or refresh
/// token revokes its family's. One key per SSO session where there were three (a set of
/// role sessions, and per family a set and its current token).
pub const SSO_ISSUED: Kind<1> = Kind {
    prefix: "sso-iss:",
    parts: ["session ref"],
    lifetime: Lifetime::Configured(
        "sessions.absolute_timeout, or its longest role session or refresh token",
    ),
    tag: Some(0),
    single_use: false,
    value: Value::Hash("role session id → family id; rt:{family id} → refresh token digest"),
};

/// What the field of [`SSO_ISSUED`] naming a family's current refresh token starts with
/// (role session ids, base64url, never hold a `:`).
pub const REFRESH_TOKEN_FIELD_PREFIX: &str = "rt:";

/// The field of [`SSO_ISSUED`] naming a family's current refresh token.
pub fn family_refresh_token_field(family: &str) -> String {
    format!("{REFRESH_TOKEN_FIELD_PREFIX}{family}")
}

/// The ids of the role sessions issued in an SSO session, as earlier versions kept them
/// (now [`SSO_ISSUED`]): read when such a session ends, no longer written.
pub const SSO_ROLE_SESSIONS: Kind<1> = Kind {
    prefix: "sso-roles:",
    parts: ["session ref"],
    lifetime: Lifetime::Configured("sessions.absolute_timeout, or its longest role session"),
    tag: Some(0),
    single_use: false,
    value: Value::Set("role session ids"),
};

/// The role session an SSO session holds for one role, its token sealed for the browser.
pub const SSO_HELD_ROLE: Kind<2> = Kind {
    prefix: "sso-role:",
    parts: ["session ref", "role name"],
    lifetime: Lifetime::UntilExpiry("the role session's token"),
    tag: Some(0),
    single_use: false,
    value: Value::Json("sso::HeldRoleSession"),
};

/// How many role sessions an SSO session has minted (capped).
pub const SSO_MINTED: Kind<1> = Kind {
    prefix: "sso-minted:",
    parts: ["session ref"],
    lifetime: Lifetime::Configured("sessions.absolute_timeout"),
    tag: Some(0),
    single_use: false,
    value: Value::Counter,
};

// --- sso: login transactions -------------------------------------------------------------

/// A redirect sign-in in progress, under the digest of its login cookie.
pub const LOGIN: Kind<1> = Kind {
    prefix: "login:",
    parts: ["digest of the login cookie"],
    lifetime: Lifetime::Fixed(LOGIN_TRANSACTION_TTL),
    tag: None,
    single_use: true,
    value: Value::Json("sso::LoginTransaction"),
};

/// A password-form sign-in in progress, under the digest of the form's id.
pub const LOGIN_FORM: Kind<1> = Kind {
    prefix: "login-form:",
    parts: ["digest of the form id"],
    lifetime: Lifetime::Fixed(LOGIN_TRANSACTION_TTL),
    tag: None,
    single_use: true,
    value: Value::Json("sso::LoginTransaction"),
};

/// A pending SAML AuthnRequest, taken by the `InResponseTo` of the answer.
pub const SAML_REQUEST: Kind<2> = Kind {
    prefix: "saml-req:",
    parts: ["provider id", "digest of the request id"],
    lifetime: Lifetime::Fixed(LOGIN_TRANSACTION_TTL),
    tag: None,
    single_use: true,
    value: Value::Json("sso::LoginTransaction"),
};

/// A SAML assertion id seen once: a second use is a replay.
pub const SAML_SEEN: Kind<2> = Kind {
    prefix: "saml-seen:",
    parts: ["provider id", "digest of the assertion id"],
    lifetime: Lifetime::UntilExpiry("the assertion"),
    tag: None,
    single_use: true,
    value: Value::Flag,
};

// --- web: admin test sign-ins --------------------------------------------------------------

/// How long the answer of an admin's test sign-in can be looked at.
pub const TEST_SIGN_IN_TTL: Duration = Duration::from_secs(900);

/// The answer of an admin's test sign-in (what the provider sent), shown to the admin
/// whose SSO session started it, under the digest of the result's id in its page's URL.
pub const TEST_SIGN_IN: Kind<1> = Kind {
    prefix: "test-signin:",
    parts: ["digest of the result id"],
    lifetime: Lifetime::Fixed(TEST_SIGN_IN_TTL),
    tag: None,
    single_use: false,
    value: Value::Json("web::admin::test_signin::TestResult"),
};

// --- web: step-up answers (issue 17) -------------------------------------------------------

/// How long the answer of a step-up waits for its browser to come and use it.
pub const STEP_UP_TTL: Duration = Duration::from_secs(300);

/// The answer of a step-up's fresh sign-in (who came back, for which choice), between the
/// provider's answer (a SAML IdP posts cross-site, without the SSO session's cookie) and
/// the browser's next request, which has it; under the digest of the id in that request's
/// URL, taken once.
pub const STEP_UP: Kind<1> = Kind {
    prefix: "step-up:",
    parts: ["digest of the answer id"],
    lifetime: Lifetime::Fixed(STEP_UP_TTL),
    tag: None,
    single_use: true,
    value: Value::Json("web::step_up::StepUpAnswer"),
};

/// The comment an approver had typed when a decision asked for a step-up, kept for the
/// request's page the step-up's answer sends the browser to (`/requests/{id}?done=confirmed`),
/// so that the page can be reloaded; only that SSO session reads it, and only then.
pub const DECISION_DRAFT: Kind<2> = Kind {
    prefix: "decision-draft:",
    parts: ["SSO session ref", "request id"],
    lifetime: Lifetime::Fixed(STEP_UP_TTL),
    tag: None,
    single_use: false,
    value: Value::Json("the approver's comment (a JSON string)"),
};

// --- sso: revocations ---------------------------------------------------------------------

/// The not-before marks of the admin API's revocations, one hash for all (so that every
/// check reads it with the record it checks, in one round trip, its key known in advance):
/// a field `person:{provider}:{subject}` or `role:{name}`, valued with the second of the
/// revocation. A session of that person, or a role session of that role, issued at or
/// before that second is refused. Kept as long as the longest session could live after
/// the last revocation (a mark older than every session refuses nothing).
pub const REVOKED_BEFORE: Kind<0> = Kind {
    prefix: "revoked-before",
    parts: [],
    lifetime: Lifetime::Configured(
        "the longest an SSO session, role session or refresh token can live, from the last mark",
    ),
    tag: None,
    single_use: false,
    value: Value::Hash("person:{provider}:{subject} | role:{name} → seconds since the epoch"),
};

// --- sso: role sessions, the last role and favourites ------------------------------------

/// A role session, by its id (the `sid` of its tokens; not a credential).
pub const ROLE_SESSION: Kind<1> = Kind {
    prefix: "rs:",
    parts: ["role session id"],
    lifetime: Lifetime::UntilExpiry("the role session's token"),
    tag: None,
    single_use: false,
    value: Value::Json("sso::RoleSession"),
};

/// How long the last chosen role is remembered for preselection.
pub const LAST_ROLE_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// The role a person chose last, for preselection.
pub const LAST_ROLE: Kind<1> = Kind {
    prefix: "lastrole:",
    parts: ["digest of {provider}:{subject}"],
    lifetime: Lifetime::Fixed(LAST_ROLE_TTL),
    tag: None,
    single_use: false,
    value: Value::Text("role name"),
};

/// How long a person's favourite roles are kept after their last change (about 13
/// months, so a role starred once a year stays starred).
pub const FAVOURITES_TTL: Duration = Duration::from_secs(400 * 24 * 3600);

/// The roles a person starred on the role picker, oldest first.
pub const FAVOURITES: Kind<1> = Kind {
    prefix: "favourites:",
    parts: ["digest of {provider}:{subject}"],
    lifetime: Lifetime::Fixed(FAVOURITES_TTL),
    tag: None,
    single_use: false,
    value: Value::Json("Vec<identity::RoleName>"),
};

// --- store: parking caps and attempt limits ------------------------------------------------

/// Records anonymous clients made Lanyard park, per address or in all.
pub const PARKING_CAP: Kind<2> = Kind {
    prefix: "cap:",
    parts: ["what is parked (login, authz)", "address key, or all"],
    lifetime: Lifetime::Configured("the parked records' lifetime"),
    tag: None,
    single_use: false,
    value: Value::Counter,
};

/// Failed password attempts of one account or address, in a fixed window.
pub const ATTEMPTS: Kind<1> = Kind {
    prefix: "bf:n:",
    parts: ["who (account or address)"],
    lifetime: Lifetime::Configured("sign_in.failure_window"),
    tag: Some(0),
    single_use: false,
    value: Value::Counter,
};

/// The lock of one account or address after repeated failures.
pub const ATTEMPTS_LOCK: Kind<1> = Kind {
    prefix: "bf:lock:",
    parts: ["who (account or address)"],
    lifetime: Lifetime::Configured("sign_in.lockout, doubling up to sign_in.max_lockout"),
    tag: Some(0),
    single_use: false,
    value: Value::Text("the lock token of the reservation that set it"),
};

/// A TOTP code used by an account in one time step: a second use is refused.
pub const TOTP_USED: Kind<2> = Kind {
    prefix: "totp-used:",
    parts: ["who (an account)", "time step"],
    lifetime: Lifetime::UntilExpiry("the skew window of the step"),
    tag: Some(0),
    single_use: true,
    value: Value::Flag,
};

/// The "who" of an attempt limit that is an account: its hash (provider and username).
pub fn account(hash: &str) -> String {
    format!("acct:{hash}")
}

/// The "who" of an attempt limit that is a client address (an IPv6 client by its /64).
pub fn address(ip: IpAddr) -> String {
    format!("ip:{}", super::address_key(ip))
}

// --- op: Lanyard as OpenID provider ---------------------------------------------------------

/// How long a pending authorization request waits for the person to sign in.
pub const AUTHZ_TTL: Duration = Duration::from_secs(600);

/// A pending authorization request, waiting for the person to sign in.
pub const AUTHZ: Kind<1> = Kind {
    prefix: "authz:",
    parts: ["authorization request id"],
    lifetime: Lifetime::Fixed(AUTHZ_TTL),
    tag: None,
    single_use: true,
    value: Value::Json("op::PendingAuthorization"),
};

/// How long an authorization code lives.
pub const CODE_TTL: Duration = Duration::from_secs(60);

/// An authorization code, under its digest.
pub const CODE: Kind<1> = Kind {
    prefix: "code:",
    parts: ["digest of the code"],
    lifetime: Lifetime::Fixed(CODE_TTL),
    tag: Some(0),
    single_use: true,
    value: Value::Json("op::CodeRecord"),
};

/// How long a used code or refresh token (and a revoked family) is remembered.
pub const USED_TTL: Duration = Duration::from_secs(24 * 3600);

/// The tombstone of a redeemed code, for replay detection: the ref of the SSO session the
/// code was bound to, where its family is (earlier versions left a copy of the code's
/// record, which names it too).
pub const CODE_USED: Kind<1> = Kind {
    prefix: "code-used:",
    parts: ["digest of the code"],
    lifetime: Lifetime::Fixed(USED_TTL),
    tag: Some(0),
    single_use: false,
    value: Value::Text("session ref (or, from earlier versions, an op::CodeRecord)"),
};

/// A refresh token of an earlier version, under its digest (refresh tokens now carry their
/// record and are kept as a field of [`SSO_ISSUED`]): read and taken, no longer written.
pub const REFRESH_TOKEN: Kind<1> = Kind {
    prefix: "rt:",
    parts: ["digest of the refresh token"],
    lifetime: Lifetime::UntilExpiry("the refresh token"),
    tag: Some(0),
    single_use: true,
    value: Value::Json("op::RefreshRecord"),
};

/// The tombstone of a rotated refresh token of an earlier version, for replay detection
/// (see [`REFRESH_TOKEN`]).
pub const REFRESH_TOKEN_USED: Kind<1> = Kind {
    prefix: "rt-used:",
    parts: ["digest of the refresh token"],
    lifetime: Lifetime::Fixed(USED_TTL),
    tag: Some(0),
    single_use: false,
    value: Value::Json("op::RefreshRecord"),
};

/// The role sessions issued from one code and its refresh tokens, as earlier versions kept
/// them (now fields of [`SSO_ISSUED`]): read when revoking a family, no longer written.
pub const FAMILY: Kind<1> = Kind {
    prefix: "family:",
    parts: ["family id"],
    lifetime: Lifetime::Fixed(USED_TTL),
    tag: Some(0),
    single_use: false,
    value: Value::Set("role session ids"),
};

/// A family revoked after a replay.
pub const FAMILY_REVOKED: Kind<1> = Kind {
    prefix: "family-revoked:",
    parts: ["family id"],
    lifetime: Lifetime::Fixed(USED_TTL),
    tag: Some(0),
    single_use: false,
    value: Value::Flag,
};

/// The current refresh token of a family, as earlier versions kept it (now a field of
/// [`SSO_ISSUED`]): read when revoking a family, no longer written.
pub const FAMILY_REFRESH_TOKEN: Kind<1> = Kind {
    prefix: "family-rt:",
    parts: ["family id"],
    lifetime: Lifetime::UntilExpiry("the refresh token"),
    tag: Some(0),
    single_use: false,
    value: Value::Text("digest of the refresh token"),
};

/// A client assertion's `jti`, seen once (RFC 7523 §3): a second use is a replay.
pub const CLIENT_ASSERTION_JTI: Kind<2> = Kind {
    prefix: "jti:",
    parts: ["client id", "digest of the jti"],
    lifetime: Lifetime::UntilExpiry("the assertion, plus two minutes"),
    tag: None,
    single_use: true,
    value: Value::Flag,
};

// --- op: the device authorization grant (RFC 8628) ---------------------------------------

/// How long a device authorization request waits for the person (RFC 8628 §3.2
/// `expires_in`).
pub const DEVICE_CODE_TTL: Duration = Duration::from_secs(600);

/// How long a device authorization request is kept: its lifetime, and as long again to
/// answer `expired_token` (RFC 8628 §3.5) rather than "unknown" to a late poll.
pub const DEVICE_RECORD_TTL: Duration = Duration::from_secs(1200);

/// A device authorization request, under the digest of its device code.
pub const DEVICE: Kind<1> = Kind {
    prefix: "device:",
    parts: ["digest of the device code"],
    lifetime: Lifetime::Fixed(DEVICE_RECORD_TTL),
    tag: Some(0),
    single_use: false,
    value: Value::Json("op::DeviceRequest"),
};

/// The lookup of a device authorization request by its user code, taken when the person
/// approves or denies it (written with [`SessionStore::put_if_absent`], so that a user
/// code collision never overwrites another request).
///
/// [`SessionStore::put_if_absent`]: super::SessionStore::put_if_absent
pub const DEVICE_USER_CODE: Kind<1> = Kind {
    prefix: "device-user:",
    parts: ["digest of the user code (8 letters, no dash)"],
    lifetime: Lifetime::Fixed(DEVICE_CODE_TTL),
    tag: None,
    single_use: true,
    value: Value::Text("digest of the device code"),
};

/// The person's answer to a device authorization request, taken by the poll that
/// receives it (a poll after the request's expiry hears `expired_token` instead).
pub const DEVICE_DECISION: Kind<1> = Kind {
    prefix: "device-done:",
    parts: ["digest of the device code"],
    lifetime: Lifetime::Fixed(DEVICE_RECORD_TTL),
    tag: Some(0),
    single_use: true,
    value: Value::Json("op::DeviceDecision"),
};

/// The tombstone of a taken answer: a later poll learns that it was used (or denied).
pub const DEVICE_DECISION_USED: Kind<1> = Kind {
    prefix: "device-used:",
    parts: ["digest of the device code"],
    lifetime: Lifetime::Fixed(DEVICE_RECORD_TTL),
    tag: Some(0),
    single_use: false,
    value: Value::Json("op::DeviceDecision"),
};

/// The polling gate of a device code: present while the client must not poll again
/// (a poll that finds it is answered `slow_down`).
pub const DEVICE_POLL: Kind<1> = Kind {
    prefix: "device-poll:",
    parts: ["digest of the device code"],
    lifetime: Lifetime::UntilExpiry("the polling interval: 5 s, plus 5 s per slow_down"),
    tag: Some(0),
    single_use: false,
    value: Value::Flag,
};

/// How many times a device code's client was told `slow_down`.
pub const DEVICE_SLOW_DOWN: Kind<1> = Kind {
    prefix: "device-slow:",
    parts: ["digest of the device code"],
    lifetime: Lifetime::Fixed(DEVICE_RECORD_TTL),
    tag: Some(0),
    single_use: false,
    value: Value::Counter,
};

/// Wrong user codes entered on the device page by one SSO session or one address, in a
/// fixed window.
pub const DEVICE_ATTEMPTS: Kind<1> = Kind {
    prefix: "device-bf:n:",
    parts: ["who (an SSO session or an address)"],
    lifetime: Lifetime::Fixed(DEVICE_CODE_TTL),
    tag: Some(0),
    single_use: false,
    value: Value::Counter,
};

/// The lock of one SSO session or address after repeated wrong user codes.
pub const DEVICE_ATTEMPTS_LOCK: Kind<1> = Kind {
    prefix: "device-bf:lock:",
    parts: ["who (an SSO session or an address)"],
    lifetime: Lifetime::UntilExpiry("the lock: 10 min, doubling per further code, up to 1 h"),
    tag: Some(0),
    single_use: false,
    value: Value::Text("the lock token of the reservation that set it"),
};

/// The "who" of a user-code limit that is an SSO session: its session ref.
pub fn sso_session(session_ref: &str) -> String {
    format!("sso:{session_ref}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key layout, byte for byte: a change here orphans the records of a running
    /// Redis (signed-in people signed out, codes and refresh tokens lost, replays of
    /// assertions and codes no longer recognised). The hash tags (`{…}`) came with Redis
    /// Cluster support; the README's upgrade notes say so.
    #[test]
    fn key_layouts_are_pinned() {
        let keys = [
            (SSO_SESSION.key(["H"]), "sso:{H}"),
            (SSO_ISSUED.key(["H"]), "sso-iss:{H}"),
            (SSO_ROLE_SESSIONS.key(["H"]), "sso-roles:{H}"),
            (SSO_HELD_ROLE.key(["H", "admin"]), "sso-role:{H}:admin"),
            (SSO_MINTED.key(["H"]), "sso-minted:{H}"),
            (LOGIN.key(["H"]), "login:H"),
            (LOGIN_FORM.key(["H"]), "login-form:H"),
            (SAML_REQUEST.key(["corp", "H"]), "saml-req:corp:H"),
            (SAML_SEEN.key(["corp", "H"]), "saml-seen:corp:H"),
            (ROLE_SESSION.key(["sid"]), "rs:sid"),
            (REVOKED_BEFORE.key([]), "revoked-before"),
            (TEST_SIGN_IN.key(["H"]), "test-signin:H"),
            (STEP_UP.key(["H"]), "step-up:H"),
            (DECISION_DRAFT.key(["H", "id"]), "decision-draft:H:id"),
            (LAST_ROLE.key(["H"]), "lastrole:H"),
            (FAVOURITES.key(["H"]), "favourites:H"),
            (PARKING_CAP.key(["login", "all"]), "cap:login:all"),
            (ATTEMPTS.key([&account("H")]), "bf:n:{acct:H}"),
            (ATTEMPTS_LOCK.key([&account("H")]), "bf:lock:{acct:H}"),
            (
                ATTEMPTS.key([&address("192.0.2.7".parse().unwrap())]),
                "bf:n:{ip:192.0.2.7}",
            ),
            (
                ATTEMPTS_LOCK.key([&address("2001:db8::1:2:3:4".parse().unwrap())]),
                "bf:lock:{ip:2001:db8::/64}",
            ),
            (
                TOTP_USED.key([&account("H"), "42"]),
                "totp-used:{acct:H}:42",
            ),
            (AUTHZ.key(["id"]), "authz:id"),
            (CODE.key(["H"]), "code:{H}"),
            (CODE_USED.key(["H"]), "code-used:{H}"),
            (REFRESH_TOKEN.key(["H"]), "rt:{H}"),
            (REFRESH_TOKEN_USED.key(["H"]), "rt-used:{H}"),
            (FAMILY.key(["f"]), "family:{f}"),
            (FAMILY_REVOKED.key(["f"]), "family-revoked:{f}"),
            (FAMILY_REFRESH_TOKEN.key(["f"]), "family-rt:{f}"),
            (CLIENT_ASSERTION_JTI.key(["app", "H"]), "jti:app:H"),
            (DEVICE.key(["H"]), "device:{H}"),
            (DEVICE_USER_CODE.key(["H"]), "device-user:H"),
            (DEVICE_DECISION.key(["H"]), "device-done:{H}"),
            (DEVICE_DECISION_USED.key(["H"]), "device-used:{H}"),
            (DEVICE_POLL.key(["H"]), "device-poll:{H}"),
            (DEVICE_SLOW_DOWN.key(["H"]), "device-slow:{H}"),
            (
                DEVICE_ATTEMPTS.key([&sso_session("H")]),
                "device-bf:n:{sso:H}",
            ),
            (
                DEVICE_ATTEMPTS_LOCK.key([&address("192.0.2.7".parse().unwrap())]),
                "device-bf:lock:{ip:192.0.2.7}",
            ),
        ];
        for (built, pinned) in keys {
            assert_eq!(built, pinned);
        }
    }

    #[test]
    fn single_use_kinds_and_fixed_lifetimes() {
        let kinds = [
            (SSO_SESSION.prefix, SSO_SESSION.single_use),
            (SSO_ISSUED.prefix, SSO_ISSUED.single_use),
            (SSO_ROLE_SESSIONS.prefix, SSO_ROLE_SESSIONS.single_use),
            (SSO_HELD_ROLE.prefix, SSO_HELD_ROLE.single_use),
            (SSO_MINTED.prefix, SSO_MINTED.single_use),
            (LOGIN.prefix, LOGIN.single_use),
            (LOGIN_FORM.prefix, LOGIN_FORM.single_use),
            (SAML_REQUEST.prefix, SAML_REQUEST.single_use),
            (SAML_SEEN.prefix, SAML_SEEN.single_use),
            (ROLE_SESSION.prefix, ROLE_SESSION.single_use),
            (LAST_ROLE.prefix, LAST_ROLE.single_use),
            (FAVOURITES.prefix, FAVOURITES.single_use),
            (TOTP_USED.prefix, TOTP_USED.single_use),
            (AUTHZ.prefix, AUTHZ.single_use),
            (CODE.prefix, CODE.single_use),
            (REFRESH_TOKEN.prefix, REFRESH_TOKEN.single_use),
            (CODE_USED.prefix, CODE_USED.single_use),
            (CLIENT_ASSERTION_JTI.prefix, CLIENT_ASSERTION_JTI.single_use),
            (DEVICE.prefix, DEVICE.single_use),
            (DEVICE_USER_CODE.prefix, DEVICE_USER_CODE.single_use),
            (DEVICE_DECISION.prefix, DEVICE_DECISION.single_use),
            (DEVICE_DECISION_USED.prefix, DEVICE_DECISION_USED.single_use),
            (DEVICE_POLL.prefix, DEVICE_POLL.single_use),
            (DEVICE_SLOW_DOWN.prefix, DEVICE_SLOW_DOWN.single_use),
        ];
        let single: Vec<&str> = kinds.iter().filter(|k| k.1).map(|k| k.0).collect();
        assert_eq!(
            single,
            [
                "login:",
                "login-form:",
                "saml-req:",
                "saml-seen:",
                "totp-used:",
                "authz:",
                "code:",
                "rt:",
                "jti:",
                "device-user:",
                "device-done:"
            ]
        );
        assert_eq!(LOGIN.lifetime.fixed(), Some(Duration::from_secs(600)));
        assert_eq!(CODE.lifetime.fixed(), Some(Duration::from_secs(60)));
        assert_eq!(ROLE_SESSION.lifetime.fixed(), None);
        assert_eq!(LAST_ROLE.lifetime.fixed(), Some(LAST_ROLE_TTL));
        assert_eq!(FAVOURITES.lifetime.fixed(), Some(FAVOURITES_TTL));
        assert_eq!(DEVICE_USER_CODE.lifetime.fixed(), Some(DEVICE_CODE_TTL));
        assert_eq!(DEVICE.lifetime.fixed(), Some(DEVICE_RECORD_TTL));
    }

    /// Slots Redis itself computes (`CLUSTER KEYSLOT`), tags included.
    #[test]
    fn slots_are_redis_cluster_slots() {
        assert_eq!(slot("foo"), 12182);
        assert_eq!(slot("bar"), 5061);
        assert_eq!(slot("123456789"), 0x31C3);
        assert_eq!(slot("{user1000}.following"), slot("{user1000}.followers"));
        assert_eq!(slot("{user1000}.following"), slot("user1000"));
        // An empty tag does not count: the whole key is hashed.
        assert_eq!(slot("foo{}{bar}"), crc16_xmodem(b"foo{}{bar}") % 16384);
        assert_eq!(slot("foo{{bar}}zap"), slot("{bar"));
    }

    /// Every operation over several keys that Lanyard builds (a take that leaves a
    /// tombstone; an attempt limit's counter and lock, reserved and released in one
    /// script) names keys of one slot, whatever the store prefix and the key parts: so it
    /// stays one atomic step on Redis Cluster.
    #[test]
    fn multi_key_operations_stay_in_one_slot() {
        let secrets = [
            super::super::digest("a code"),
            super::super::digest("another"),
            "Ew8zm6f0-_".to_owned(),
        ];
        let whos = [
            account("Qm9i"),
            address("192.0.2.7".parse().unwrap()),
            address("2001:db8::1:2:3:4".parse().unwrap()),
            sso_session("SGVsbG8"),
        ];
        let mut pairs: Vec<(String, String)> = Vec::new();
        for h in &secrets {
            // SessionStore::take_leaving: op::code, op::refresh, op::device.
            pairs.push((CODE.key([h]), CODE_USED.key([h])));
            pairs.push((REFRESH_TOKEN.key([h]), REFRESH_TOKEN_USED.key([h])));
            pairs.push((DEVICE_DECISION.key([h]), DEVICE_DECISION_USED.key([h])));
        }
        for who in &whos {
            // AttemptLimit { counter, lock }: signin::password and op::device.
            pairs.push((ATTEMPTS.key([who]), ATTEMPTS_LOCK.key([who])));
            pairs.push((DEVICE_ATTEMPTS.key([who]), DEVICE_ATTEMPTS_LOCK.key([who])));
        }
        for prefix in ["lanyard:", "", "tenant-7:lanyard:"] {
            for (a, b) in &pairs {
                let (a, b) = (format!("{prefix}{a}"), format!("{prefix}{b}"));
                assert_eq!(slot(&a), slot(&b), "{a} and {b} are in different slots");
            }
        }
        // Records of one SSO session share its slot too.
        let r = "SGVsbG8";
        let session = slot(&SSO_SESSION.key([r]));
        for key in [
            SSO_ISSUED.key([r]),
            SSO_ROLE_SESSIONS.key([r]),
            SSO_HELD_ROLE.key([r, "admin"]),
            SSO_MINTED.key([r]),
        ] {
            assert_eq!(slot(&key), session, "{key}");
        }
    }
}
