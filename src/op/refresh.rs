//! Refresh tokens (RFC 6749 §6), rotated on every use, and token families: whoever
//! presents a used code or refresh token again revokes its family (OAuth 2.0 Security BCP
//! §4.14).
//!
//! A refresh token carries its own record: `{record}.{secret}`, the record being the
//! base64url JSON of a [`RefreshRecord`] (it names the token's SSO session and family), and
//! the secret 256 random bits. The store keeps only the digest of the whole token, as its
//! family's current one: the field `rt:{family}` of the SSO session's `sso-iss:` hash. A
//! token is live only while its digest is that field's value, so the record it carries is
//! exactly the one issued (a changed byte changes the digest), and rotation is one compare
//! and set of the field: a used token no longer matches, and whoever presents it revokes
//! the family. No key and no tombstone per token, where there were two (the record under
//! its digest, and a copy of it for a day after its use).
//!
//! Refresh tokens issued by earlier versions (a random id, the record stored under its
//! digest) are still read and rotated into the current form.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::access::Attempt;
use crate::audit::{Door, EventKind};
use crate::clock::UnixTime;
use crate::identity::{ClientId, ExternalIdentity, RoleName, Subject};
use crate::op::GrantType;
use crate::roles::RequestFacts;
use crate::session::{digest, get_json, keyspace, random_id};

use super::issue::Exchange;
use super::{Client, OAuthError, OidcProvider, TokenResponse, USED_TTL};

/// What the field of a family's current refresh token holds while a refresh that presented
/// it is under way (never a digest: those are 43 characters).
const ROTATING: &str = "-";

/// What the field of a family's current refresh token holds once the family is revoked.
const REVOKED: &str = "revoked";

/// The longest refresh token looked at: a record of a few hundred bytes and its secret.
const MAX_REFRESH_TOKEN_LEN: usize = 4096;

/// A refresh token of the current form, read from itself: not yet checked against the
/// store (see [`Carried::parse`]).
struct Carried {
    record: RefreshRecord,
    /// The SSO session the record names.
    sso_ref: String,
    /// The digest of the whole token, which its family's field must hold.
    digest: String,
}

impl Carried {
    /// Reads a token of the current form; `None` for anything else (a token of an earlier
    /// version, or garbage). What it says is believed only once the store holds its digest.
    fn parse(token: &str) -> Option<Carried> {
        if token.len() > MAX_REFRESH_TOKEN_LEN {
            return None;
        }
        let (record, secret) = token.split_once('.')?;
        if secret.len() != 43 || secret.contains('.') {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(record).ok()?;
        let record: RefreshRecord = serde_json::from_slice(&bytes).ok()?;
        let sso_ref = record.sso_ref.clone()?;
        Some(Carried {
            record,
            sso_ref,
            digest: digest(token),
        })
    }

    /// The hash and field holding its family's current token.
    fn place(&self) -> (String, String) {
        (
            keyspace::SSO_ISSUED.key([&self.sso_ref]),
            keyspace::family_refresh_token_field(&self.record.family),
        )
    }
}

/// The tombstone a used refresh token (or a code minted by an earlier version) leaves: a
/// copy of its record, of which only the family and the SSO session are read (an older
/// format kept the family alone, as a JSON string).
#[derive(Deserialize)]
#[serde(untagged)]
enum UsedTombstone {
    Family(String),
    Record {
        #[serde(alias = "f")]
        family: Option<String>,
        #[serde(alias = "o", default)]
        sso_ref: Option<String>,
    },
}

/// The family a JSON tombstone names, if any.
pub(super) fn used_family(tombstone: &[u8]) -> Option<String> {
    match serde_json::from_slice::<UsedTombstone>(tombstone).ok()? {
        UsedTombstone::Family(f) => Some(f),
        UsedTombstone::Record { family, .. } => family,
    }
}

/// The family and SSO session a refresh token's tombstone names.
fn used_refresh_token(tombstone: &[u8]) -> Option<(String, Option<String>)> {
    match serde_json::from_slice::<UsedTombstone>(tombstone).ok()? {
        UsedTombstone::Family(f) => Some((f, None)),
        UsedTombstone::Record { family, sso_ref } => Some((family?, sso_ref)),
    }
}

/// A refresh token. The person is not copied in: a refresh reads them from the SSO
/// session the token is bound to (which must still be live), so only their
/// `{provider}:{subject}` is kept, for introspection. Tokens issued before kept the whole
/// `identity`, still read (never written). Stored with short field names; the long ones
/// of tokens issued before read too.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct RefreshRecord {
    #[serde(rename = "f", alias = "family")]
    pub(super) family: String,
    #[serde(rename = "c", alias = "client_id")]
    pub(super) client_id: ClientId,
    #[serde(rename = "sc", alias = "scope")]
    pub(super) scope: String,
    #[serde(rename = "o", alias = "sso_ref", default)]
    pub(super) sso_ref: Option<String>,
    /// `{provider}:{subject}` of the person.
    #[serde(rename = "s", alias = "sub", default)]
    pub(super) sub: Option<Subject>,
    /// The person, in tokens issued before `sub` (read only).
    #[serde(default, skip_serializing)]
    pub(super) identity: Option<ExternalIdentity>,
    #[serde(rename = "r", alias = "role")]
    pub(super) role: RoleName,
    #[serde(rename = "ds", alias = "duration_secs")]
    pub(super) duration_secs: u64,
    #[serde(rename = "e", alias = "expires_at")]
    pub(super) expires_at: UnixTime,
    /// When it was issued (tokens of earlier versions have none: their issue time is taken
    /// as their expiry less the client's refresh token lifetime).
    #[serde(rename = "i", default, skip_serializing_if = "Option::is_none")]
    pub(super) issued_at: Option<UnixTime>,
}

impl OidcProvider {
    /// `grant_type=refresh_token` (RFC 6749 §6): the token is rotated; presenting an old one
    /// again revokes the whole family.
    pub async fn refresh(
        &self,
        client: &Client,
        token: &str,
        origin: &RequestFacts,
    ) -> Result<TokenResponse, OAuthError> {
        if !client.config.allows(GrantType::RefreshToken) {
            return Err(OAuthError::UnauthorizedClient(
                "this client may not use refresh_token".into(),
            ));
        }
        if let Some(carried) = Carried::parse(token) {
            return self.refresh_carried(client, carried, origin).await;
        }
        let key = digest(token);
        let (rt_key, used) = (
            keyspace::REFRESH_TOKEN.key([&key]),
            keyspace::REFRESH_TOKEN_USED.key([&key]),
        );
        let Some((record, bytes)) = self
            .take_single_use::<RefreshRecord>(&rt_key, &used)
            .await?
        else {
            let tombstone = self.store.get(&used).await?;
            if let Some((family, sso_ref)) = tombstone.as_deref().and_then(used_refresh_token) {
                let what = "refresh token";
                self.reuse_detected(client, (&family, sso_ref.as_deref()), origin, what)
                    .await?;
            }
            return Err(OAuthError::InvalidGrant(
                "the refresh token is invalid, expired or already used".into(),
            ));
        };
        let expires_at = record.expires_at;
        let result = self.refresh_with(client, record, origin).await;
        if matches!(result, Err(OAuthError::TemporarilyUnavailable(_))) {
            let left = self.clock.now().until(expires_at);
            if !left.is_zero() {
                self.restore_single_use(&rt_key, &used, &bytes, left).await;
            }
        }
        result
    }

    /// [`OidcProvider::refresh`] of a token of the current form: its family's field is set
    /// from its digest to [`ROTATING`] in one step, so of two uses (or two at once) one
    /// wins and the other revokes the family.
    async fn refresh_carried(
        &self,
        client: &Client,
        carried: Carried,
        origin: &RequestFacts,
    ) -> Result<TokenResponse, OAuthError> {
        let (issued, field) = carried.place();
        let held = self
            .store
            .hash_swap(&issued, &field, Some(&carried.digest), ROTATING)
            .await?;
        match held.as_deref() {
            Some(current) if current == carried.digest => {}
            // A family whose token is not this one: this one was used before (or is being
            // used right now), or was never issued.
            Some(other) if other != REVOKED => {
                let family = (
                    carried.record.family.as_str(),
                    Some(carried.sso_ref.as_str()),
                );
                self.reuse_detected(client, family, origin, "refresh token")
                    .await?;
                return Err(OAuthError::InvalidGrant(
                    "the refresh token is invalid, expired or already used".into(),
                ));
            }
            _ => {
                return Err(OAuthError::InvalidGrant(
                    "the refresh token is invalid, expired or already used".into(),
                ));
            }
        }
        let expires_at = carried.record.expires_at;
        let result = self.refresh_with(client, carried.record, origin).await;
        if matches!(result, Err(OAuthError::TemporarilyUnavailable(_)))
            && !self.clock.now().until(expires_at).is_zero()
        {
            self.restore_carried(&issued, &field, &carried.digest).await;
        }
        result
    }

    /// The record of a refresh token that is its family's current one (of either form),
    /// expired or not; `None` for anything else. Changes nothing (introspection,
    /// revocation).
    pub(super) async fn current_refresh_token(
        &self,
        token: &str,
    ) -> Result<Option<RefreshRecord>, OAuthError> {
        let Some(carried) = Carried::parse(token) else {
            let key = keyspace::REFRESH_TOKEN.key([&digest(token)]);
            return Ok(get_json(&*self.store, &key).await?);
        };
        let (issued, field) = carried.place();
        let fields = self.store.hash_fields(&issued).await?;
        let current = fields
            .iter()
            .any(|(f, v)| *f == field && *v == carried.digest);
        Ok(current.then_some(carried.record))
    }

    /// Makes a refresh token whose use failed only because the store did current again (the
    /// client is told to try again with it): its family's field holds [`ROTATING`], or the
    /// digest of a token the failed attempt recorded but never handed out. A family revoked
    /// meanwhile stays revoked. Best effort: with the store still down the token stays used.
    async fn restore_carried(&self, issued: &str, field: &str, digest: &str) {
        let mut expected = ROTATING.to_owned();
        for _ in 0..2 {
            match self
                .store
                .hash_swap(issued, field, Some(&expected), digest)
                .await
            {
                Ok(Some(held)) if held == expected => return,
                Ok(Some(held)) if held != REVOKED && held != digest => expected = held,
                Ok(_) => return,
                Err(_) => break,
            }
        }
        tracing::warn!("the session store failed mid-exchange; the refresh token is used up");
    }

    /// [`OidcProvider::refresh`] once the refresh token is taken.
    async fn refresh_with(
        &self,
        client: &Client,
        record: RefreshRecord,
        origin: &RequestFacts,
    ) -> Result<TokenResponse, OAuthError> {
        let family = (record.family.as_str(), record.sso_ref.as_deref());
        if record.client_id != client.config.id {
            self.revoke_family(family, "a refresh token came from another client")
                .await?;
            return Err(OAuthError::InvalidGrant(
                "the refresh token was issued to another client".into(),
            ));
        }
        if record.expires_at <= self.clock.now() {
            return Err(OAuthError::InvalidGrant(
                "the refresh token has expired".into(),
            ));
        }
        // The person, from the SSO session the token is bound to (or, for a token issued
        // before, its own copy).
        let session = match &record.sso_ref {
            Some(sso_ref) => self.sso.load_by_ref(sso_ref).await?,
            None => None,
        };
        let identity = match (session, record.identity.clone()) {
            (Some(s), _) => s.identity,
            (None, Some(i)) if record.sso_ref.is_none() => i,
            _ => {
                self.revoke_family(family, "the sign-in session has ended")
                    .await?;
                return Err(OAuthError::InvalidGrant(
                    "the sign-in session has ended".into(),
                ));
            }
        };
        // A token issued before its role was killed (the admin API's not-before mark).
        let issued = record
            .issued_at
            .unwrap_or(record.expires_at - client.config.refresh_token_lifetime);
        if self.sso.role_revoked(&record.role, issued).await? {
            self.revoke_family(family, "the role's sessions were revoked")
                .await?;
            return Err(OAuthError::InvalidGrant(
                "the role's sessions were revoked".into(),
            ));
        }
        // The person must still be allowed the role, and the client to receive it: trust is
        // evaluated again, so a changed policy takes effect at the next refresh. The
        // request comes from the application, not the person: no address.
        let facts = RequestFacts {
            source_ip: None,
            now: self.clock.now(),
            secure_transport: true,
            user_agent: None,
        };
        let attempt = Attempt::new(origin, Door::OidcRefresh, Some(&client.config.id));
        let grant = match self
            .person_grant(client, &identity, &record.role, &facts, &attempt)
            .await
        {
            Ok(g) => g,
            Err(e) => {
                self.revoke_family(family, "the role is no longer available")
                    .await?;
                return Err(e);
            }
        };
        let exchange = Exchange {
            duration_secs: record.duration_secs,
            scope: &record.scope,
            nonce: None,
            sso_ref: record.sso_ref.as_deref(),
            family: Some(&record.family),
        };
        self.respond(client, grant, exchange, attempt).await
    }

    /// A used code or refresh token came back: its family is revoked, and the reuse
    /// recorded in the audit trail (`refresh.reuse`).
    pub(super) async fn reuse_detected(
        &self,
        client: &Client,
        family: (&str, Option<&str>),
        origin: &RequestFacts,
        what: &str,
    ) -> Result<(), OAuthError> {
        self.revoke_family(family, "a used code or refresh token came back")
            .await?;
        tracing::warn!(client = %client.config.id, "{what} reused: its family is revoked");
        let mut event = self.event(EventKind::RefreshReuse, Some(&client.config.id));
        event.source_ip = origin.source_ip.map(|ip| ip.to_string());
        event.reason = Some(format!("a used {what} was presented again"));
        self.issuer.audit().note(event).await;
        Ok(())
    }

    /// A new refresh token of `family` in the SSO session `sso_ref` (see the module
    /// documentation for its form), and its digest: the caller makes it the family's
    /// current one ([`keyspace::family_refresh_token_field`] of the session's
    /// [`keyspace::SSO_ISSUED`]), for the client's `refresh_token_lifetime` at least.
    pub(super) fn refresh_token(
        &self,
        client: &Client,
        identity: &ExternalIdentity,
        role: &str,
        (x, family, sso_ref): (&Exchange<'_>, &str, &str),
    ) -> Result<(String, String), OAuthError> {
        let lifetime = client.config.refresh_token_lifetime;
        let record = RefreshRecord {
            family: family.to_owned(),
            client_id: client.config.id.clone(),
            scope: x.scope.to_owned(),
            sso_ref: Some(sso_ref.to_owned()),
            sub: Some(Subject::new(identity.qualified_subject())),
            identity: None,
            role: RoleName::new(role),
            duration_secs: x.duration_secs,
            expires_at: self.clock.now() + lifetime,
            issued_at: Some(self.clock.now()),
        };
        let carried = serde_json::to_vec(&record)
            .map_err(|_| OAuthError::ServerError("a refresh token could not be encoded".into()))?;
        let token = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(carried),
            random_id().expose_secret()
        );
        let token_digest = digest(&token);
        Ok((token, token_digest))
    }

    /// Takes a code or refresh token record and, in the same store step, leaves its
    /// tombstone under `used`. Returns the record and its stored bytes.
    pub(super) async fn take_single_use<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
        used: &str,
    ) -> Result<Option<(T, Vec<u8>)>, OAuthError> {
        let Some(bytes) = self.store.take_leaving(key, used, USED_TTL).await? else {
            return Ok(None);
        };
        let record = serde_json::from_slice(&bytes)
            .map_err(|_| OAuthError::ServerError("a stored token record is unreadable".into()))?;
        Ok(Some((record, bytes)))
    }

    /// Puts back a code or refresh token whose use failed only because the store did (the
    /// client is told to try again), and removes its tombstone, so that the retry finds it
    /// as it was. Best effort: with the store still down the item stays used. Whatever the
    /// failed attempt recorded before failing was never handed out; should someone reuse
    /// the item meanwhile, its family is marked revoked and the retry is refused.
    pub(super) async fn restore_single_use(
        &self,
        key: &str,
        used: &str,
        bytes: &[u8],
        ttl: Duration,
    ) {
        if self.store.put(key, bytes, ttl).await.is_ok() {
            let _ = self.store.delete(used).await;
        } else {
            tracing::warn!(
                "the session store failed mid-exchange; the code or refresh token is used up"
            );
        }
    }

    /// Revokes every role session and the current refresh token of a family, kept in the
    /// SSO session it was issued in (`family.1`; or, for a family started by an earlier
    /// version, in keys of its own, also read). The family is marked revoked first: an
    /// exchange still issuing into it sees the mark after recording its tokens (see
    /// [`OidcProvider::respond`]) and revokes them itself.
    /// Recorded as one `revocation` event saying why.
    pub(super) async fn revoke_family(
        &self,
        (family, sso_ref): (&str, Option<&str>),
        why: &str,
    ) -> Result<(), OAuthError> {
        self.store
            .put(&keyspace::FAMILY_REVOKED.key([family]), b"1", USED_TTL)
            .await?;
        let mut members = Vec::new();
        let mut refresh_tokens = Vec::new();
        if let Some(sso_ref) = sso_ref {
            let current = keyspace::family_refresh_token_field(family);
            let issued = keyspace::SSO_ISSUED.key([sso_ref]);
            for (field, value) in self.store.hash_fields(&issued).await? {
                if field == current {
                    refresh_tokens.push(value);
                } else if value == family {
                    members.push(field);
                }
            }
            // The current refresh token, of the current form, ends here; one of an
            // earlier version with its key below.
            if !refresh_tokens.is_empty() {
                self.store
                    .hash_swap(&issued, &current, None, REVOKED)
                    .await?;
            }
        }
        // Families started before `SSO_ISSUED`.
        members.extend(
            self.store
                .set_members(&keyspace::FAMILY.key([family]))
                .await?,
        );
        if let Some(current) = self
            .store
            .take(&keyspace::FAMILY_REFRESH_TOKEN.key([family]))
            .await?
            && let Ok(current) = String::from_utf8(current)
        {
            refresh_tokens.push(current);
        }
        for id in &members {
            self.sso.revoke_role_session(id).await?;
        }
        for current in &refresh_tokens {
            self.store
                .delete(&keyspace::REFRESH_TOKEN.key([current]))
                .await?;
        }
        let mut event = self.event(EventKind::Revocation, None);
        event.reason = Some(why.to_owned());
        event.detail = serde_json::json!({ "role_sessions": members });
        self.issuer.audit().note(event).await;
        Ok(())
    }
}
