//! Registered clients and client authentication (RFC 6749 §2.3: `client_secret_basic`,
//! `client_secret_post`; public clients by id alone, with PKCE required).
//!
//! Client secrets are stored in one of two forms:
//! - an argon2id hash, for secrets a person chose. Verifying one costs tens of
//!   milliseconds and ~19 MiB, and anybody can ask for it, so the checks are bounded: at
//!   most `[limits] client_secret_checks` run at once and `client_secret_queue` wait;
//!   beyond that the answer is `temporarily_unavailable` with `Retry-After`, at once.
//!   After a secret verifies, its SHA-256 is remembered in memory and later requests
//!   compare digests in constant time.
//! - `sha256:` and the SHA-256 of the secret (base64url), for secrets Lanyard generated
//!   (`lanyard client-secret`: 256 random bits). A slow hash adds nothing to a secret
//!   nobody can guess, so the check is one SHA-256 and a constant-time comparison; a
//!   presented secret shorter than a generated one is refused without looking further.

use std::sync::{Arc, Mutex};

use argon2::password_hash::PasswordVerifier;
use argon2::password_hash::phc::PasswordHash;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::op::error::OAuthError;
use crate::op::settings::{ClientAuth, ClientSettings};
use crate::secret::Secret;

/// How a request presented its client.
#[derive(Debug)]
pub struct PresentedClient {
    /// `client_id`.
    pub id: String,
    /// The secret, when one was sent.
    pub secret: Option<Secret>,
}

/// A `client_assertion` (RFC 7523 §2.2) with the `client_id` it claims to be from.
#[derive(Debug)]
pub struct PresentedAssertion {
    /// `client_id` from the form, if sent.
    pub client_id: Option<String>,
    /// The JWT.
    pub assertion: Secret,
}

/// A registered client.
pub struct Client {
    /// Its configuration.
    pub config: ClientSettings,
    verified: Mutex<Option<[u8; 32]>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.config.id)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Whether the client is public (no secret).
    pub fn is_public(&self) -> bool {
        matches!(self.config.auth, ClientAuth::Public)
    }
}

fn sha256(s: &str) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, s.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// The prefix of a fast client-secret hash.
pub const FAST_HASH_PREFIX: &str = "sha256:";
/// The length of a generated client secret (256 bits, base64url without padding); a
/// `sha256:` hash only accepts secrets at least this long.
pub const GENERATED_SECRET_CHARS: usize = 43;

/// A new client secret (256 random bits, base64url) and its `sha256:` hash for the
/// configuration's `secret_hash`.
pub fn generate_secret() -> (Secret, String) {
    let secret = crate::session::random_id();
    let hash = fast_hash(&secret);
    (secret, hash)
}

/// The `sha256:` form of a secret.
pub fn fast_hash(secret: &Secret) -> String {
    format!(
        "{FAST_HASH_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(sha256(secret.expose_secret()))
    )
}

/// The digest of a `sha256:` hash, when `hash` is one (well formed).
pub fn fast_hash_digest(hash: &str) -> Option<[u8; 32]> {
    let encoded = hash.strip_prefix(FAST_HASH_PREFIX)?;
    let bytes = URL_SAFE_NO_PAD.decode(encoded).ok()?;
    <[u8; 32]>::try_from(bytes.as_slice()).ok()
}

/// How long a client-secret check refused for want of room waits before it is answered
/// (the `Retry-After` it carries).
const REFUSAL_PACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Bounds the argon2id checks anybody can trigger: `running` at once, and `admitted`
/// (running or waiting) in all; a check beyond that is refused at once.
#[derive(Debug)]
struct HashGate {
    running: Arc<Semaphore>,
    admitted: Arc<Semaphore>,
}

impl HashGate {
    fn new(running: usize, queue: usize) -> Self {
        Self {
            running: Arc::new(Semaphore::new(running.max(1))),
            admitted: Arc::new(Semaphore::new(running.max(1).saturating_add(queue))),
        }
    }

    /// Checks `secret` against `hash` on the blocking pool, within the bounds. The
    /// permits go with the check, so a request that gives up does not free its place
    /// while its hash still runs.
    async fn verify(&self, secret: Secret, hash: Secret) -> Result<bool, OAuthError> {
        let Ok(admitted) = Arc::clone(&self.admitted).try_acquire_owned() else {
            // Refused, but not at once: a client that ignores `Retry-After` and asks again
            // as soon as it is answered would otherwise turn refusals into a request flood.
            // Waiting costs a timer, no CPU and no hashing memory.
            tokio::time::sleep(REFUSAL_PACE).await;
            return Err(OAuthError::Busy);
        };
        let running = Arc::clone(&self.running)
            .acquire_owned()
            .await
            .map_err(|_| OAuthError::ServerError("the client-secret checks stopped".into()))?;
        tokio::task::spawn_blocking(move || {
            let ok = verify(&secret, &hash);
            drop((running, admitted));
            ok
        })
        .await
        .map_err(|_| OAuthError::ServerError("a client-secret check failed".into()))
    }
}

/// Every registered client.
#[derive(Debug)]
pub struct Clients {
    list: Vec<Arc<Client>>,
    gate: HashGate,
}

impl Default for Clients {
    fn default() -> Self {
        Self::new(&[], 2, 64)
    }
}

impl Clients {
    /// The clients of the configuration; at most `checks` argon2id verifications run at
    /// once and `queue` more wait (`[limits] client_secret_checks`, `client_secret_queue`).
    pub fn new(configs: &[ClientSettings], checks: u32, queue: u32) -> Self {
        let to_usize = |n: u32| usize::try_from(n).unwrap_or(usize::MAX);
        Self {
            gate: HashGate::new(to_usize(checks), to_usize(queue)),
            list: configs
                .iter()
                .map(|c| {
                    Arc::new(Client {
                        config: c.clone(),
                        verified: Mutex::new(None),
                    })
                })
                .collect(),
        }
    }

    /// A client by id.
    pub fn get(&self, id: &str) -> Option<&Arc<Client>> {
        self.list.iter().find(|c| c.config.id == id)
    }

    /// Authenticates a client at the token, introspection or revocation endpoint.
    pub async fn authenticate(
        &self,
        presented: PresentedClient,
    ) -> Result<Arc<Client>, OAuthError> {
        let client = self.get(&presented.id).cloned();
        match (client, presented.secret) {
            (Some(client), None) if client.is_public() => Ok(client),
            (Some(client), Some(secret)) => match &client.config.auth {
                ClientAuth::Public | ClientAuth::PrivateKeyJwt(_) => Err(OAuthError::InvalidClient),
                ClientAuth::SecretHash(hash) => {
                    let digest = sha256(secret.expose_secret());
                    if let Some(expected) = fast_hash_digest(hash.expose_secret()) {
                        let long_enough = secret.expose_secret().len() >= GENERATED_SECRET_CHARS;
                        return if long_enough && bool::from(expected.ct_eq(&digest)) {
                            Ok(client)
                        } else {
                            Err(OAuthError::InvalidClient)
                        };
                    }
                    let cached = client.verified.lock().ok().and_then(|g| *g);
                    if let Some(known) = cached
                        && bool::from(known.ct_eq(&digest))
                    {
                        return Ok(client);
                    }
                    if self.gate.verify(secret, hash.clone()).await? {
                        if let Ok(mut g) = client.verified.lock() {
                            *g = Some(digest);
                        }
                        Ok(client)
                    } else {
                        Err(OAuthError::InvalidClient)
                    }
                }
            },
            (None, Some(secret)) => {
                // Unknown client: spend what a wrong secret costs, within the same bounds.
                self.gate.verify(secret, Secret::new(DUMMY_HASH)).await?;
                Err(OAuthError::InvalidClient)
            }
            _ => Err(OAuthError::InvalidClient),
        }
    }
}

/// A hash of a random value nobody knows, checked for unknown client ids.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$bGFueWFyZC1kdW1teQ$3pDRqWrNp6f1vWZ3FmSJ3XhPlIrnl5zJ3yA8x2Ge7kQ";

fn verify(secret: &Secret, hash: &Secret) -> bool {
    match PasswordHash::new(hash.expose_secret()) {
        Ok(parsed) => argon2::Argon2::default()
            .verify_password(secret.expose_secret().as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_and_their_fast_hashes() {
        let (secret, hash) = generate_secret();
        assert_eq!(secret.expose_secret().len(), GENERATED_SECRET_CHARS);
        assert!(hash.starts_with(FAST_HASH_PREFIX));
        assert_eq!(
            fast_hash_digest(&hash),
            Some(sha256(secret.expose_secret()))
        );
        assert_eq!(fast_hash_digest("sha256:short"), None);
        assert_eq!(fast_hash_digest("$argon2id$v=19$x"), None);
    }

    #[tokio::test]
    async fn checks_beyond_the_queue_are_refused() {
        let gate = HashGate::new(1, 1);
        let hash = Secret::new(DUMMY_HASH);
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let (secret, hash) = (Secret::new("guess"), hash.clone());
            tasks.push(gate.verify(secret, hash));
        }
        let results = futures_join_all(tasks).await;
        let busy = results
            .iter()
            .filter(|r| matches!(r, Err(OAuthError::Busy)))
            .count();
        assert_eq!(busy, 4, "one runs, one waits, the rest are refused");
        assert!(results.iter().filter(|r| matches!(r, Ok(false))).count() == 2);
    }

    /// Polls every future to completion, all started before any finishes.
    async fn futures_join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
        let mut set = Vec::new();
        for f in futures {
            set.push(Box::pin(f));
        }
        let mut out: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
        std::future::poll_fn(|cx| {
            let mut pending = false;
            for (f, slot) in set.iter_mut().zip(out.iter_mut()) {
                if slot.is_none() {
                    match f.as_mut().poll(cx) {
                        std::task::Poll::Ready(v) => *slot = Some(v),
                        std::task::Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(())
            }
        })
        .await;
        out.into_iter().flatten().collect()
    }
}
