//! Registered clients and client authentication (RFC 6749 §2.3: `client_secret_basic`,
//! `client_secret_post`; public clients by id alone, with PKCE required), and how a
//! request's `redirect_uri` is matched against the registered ones ([`redirect_uri_matches`]:
//! exact, except for the port of a loopback IP literal, RFC 8252 §7.3).
//!
//! Client secrets are stored in one of two forms:
//! - an argon2id hash, for secrets a person chose. Verifying one costs tens of
//!   milliseconds and ~19 MiB, and anybody can ask for it, so the checks are bounded: at
//!   most `[limits] client_secret_checks` run at once and `client_secret_queue` wait;
//!   beyond that the answer is `temporarily_unavailable` with `Retry-After`, at once.
//!   After a secret verifies, its SHA-256 is remembered in memory and later requests
//!   compare digests in constant time. One client's checks run one at a time: requests
//!   that arrive while its secret is being verified wait for that check and then compare
//!   digests, so a burst of grants after a start costs one argon2id run, not one each.
//! - `sha256:` and the SHA-256 of the secret (base64url), for secrets Lanyard generated
//!   (`lanyard client-secret`: 256 random bits). A slow hash adds nothing to a secret
//!   nobody can guess, so the check is one SHA-256 and a constant-time comparison; a
//!   presented secret shorter than a generated one is refused without looking further.
//! - for a client kept in the database (the admin API), the digests of the secrets Lanyard
//!   generated for it ([`ClientAuth::GeneratedSecrets`]), each with the time it stops
//!   working: after a rotation the previous secret keeps working until the end of its
//!   overlap, which is checked here, at each request, against the time of the request.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::clock::UnixTime;
use crate::op::error::OAuthError;
use crate::op::settings::{ClientAuth, ClientSettings, GeneratedSecret};
use crate::secret::Secret;
use crate::secret::hashing::PasswordHashing;

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
    /// The SHA-256 of the last secret that verified against an argon2id hash.
    verified: Mutex<Option<[u8; 32]>>,
    /// Held across one argon2id check of this client's secret (one at a time).
    checking: tokio::sync::Mutex<()>,
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

    /// Whether `digest` is the SHA-256 of the last secret that verified (constant time).
    fn verified_as(&self, digest: &[u8; 32]) -> bool {
        let known = self.verified.lock().ok().and_then(|g| *g);
        known.is_some_and(|known| bool::from(known.ct_eq(digest)))
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

/// Whether `presented` is one of `secrets` that still works at `now`: one SHA-256, and a
/// constant-time comparison with each (a presented secret shorter than a generated one is
/// refused without looking further).
fn generated_secret_works(secrets: &[GeneratedSecret], presented: &str, now: UnixTime) -> bool {
    if presented.len() < GENERATED_SECRET_CHARS {
        return false;
    }
    let digest = sha256(presented);
    let mut works = false;
    for s in secrets {
        // Every digest is compared, whichever matches.
        works |= bool::from(s.digest.ct_eq(&digest)) && s.works_at(now);
    }
    works
}

/// How long a client-secret check refused for want of room waits before it is answered
/// (the `Retry-After` it carries).
const REFUSAL_PACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Bounds the argon2id checks anybody can trigger: `running` at once, and `admitted`
/// (running or waiting) in all; a check beyond that is refused at once.
#[derive(Debug)]
struct HashGate {
    /// The process's bound on argon2id checks, shared with the local directories.
    hashing: PasswordHashing,
    running: Arc<Semaphore>,
    admitted: Arc<Semaphore>,
    /// argon2id checks of client secrets started (what the bounds and single flight save).
    runs: std::sync::atomic::AtomicU64,
}

impl HashGate {
    fn new(hashing: PasswordHashing, running: usize, queue: usize) -> Self {
        Self {
            hashing,
            running: Arc::new(Semaphore::new(running.max(1))),
            admitted: Arc::new(Semaphore::new(running.max(1).saturating_add(queue))),
            runs: std::sync::atomic::AtomicU64::new(0),
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
        let stopped = |_| OAuthError::ServerError("the client-secret checks stopped".into());
        let turn = self.hashing.turn().await.map_err(stopped)?;
        self.runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.hashing
            .verify_in_turn(turn, (running, admitted), secret, hash)
            .await
            .map_err(stopped)
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
        Self::new(&[], PasswordHashing::default(), 2, 64)
    }
}

impl Clients {
    /// The clients of the configuration; at most `checks` argon2id verifications run at
    /// once and `queue` more wait (`[limits] client_secret_checks`, `client_secret_queue`),
    /// each also within `hashing`, the process's bound on argon2id checks.
    pub fn new(
        configs: &[ClientSettings],
        hashing: PasswordHashing,
        checks: u32,
        queue: u32,
    ) -> Self {
        let to_usize = |n: u32| usize::try_from(n).unwrap_or(usize::MAX);
        Self {
            gate: HashGate::new(hashing, to_usize(checks), to_usize(queue)),
            list: configs
                .iter()
                .map(|c| {
                    Arc::new(Client {
                        config: c.clone(),
                        verified: Mutex::new(None),
                        checking: tokio::sync::Mutex::new(()),
                    })
                })
                .collect(),
        }
    }

    /// How many argon2id client-secret checks have started since the start.
    pub fn hash_checks(&self) -> u64 {
        self.gate.runs.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A client by id.
    pub fn get(&self, id: &str) -> Option<&Arc<Client>> {
        self.list.iter().find(|c| c.config.id == id)
    }

    /// Authenticates a client at the token, introspection or revocation endpoint, at
    /// `now` (a generated secret past the end of its overlap no longer works).
    pub async fn authenticate(
        &self,
        presented: PresentedClient,
        now: UnixTime,
    ) -> Result<Arc<Client>, OAuthError> {
        let client = self.get(&presented.id).cloned();
        match (client, presented.secret) {
            (Some(client), None) if client.is_public() => Ok(client),
            (Some(client), Some(secret)) => match &client.config.auth {
                ClientAuth::Public | ClientAuth::PrivateKeyJwt(_) => Err(OAuthError::InvalidClient),
                ClientAuth::GeneratedSecrets(secrets) => {
                    if generated_secret_works(secrets, secret.expose_secret(), now) {
                        Ok(client)
                    } else {
                        Err(OAuthError::InvalidClient)
                    }
                }
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
                    if client.verified_as(&digest) {
                        return Ok(client);
                    }
                    // One check of this client's secret at a time; a request that waited
                    // for another's check finds its digest remembered when they match.
                    let this = Arc::clone(&client);
                    let _one = this.checking.lock().await;
                    if client.verified_as(&digest) {
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

/// Whether a request's `redirect_uri` (`given`, as sent) names the registered URI
/// `registered`. The comparison is exact (RFC 6749 §3.1.2.3, OAuth 2.0 Security BCP §4.1.3:
/// simple string comparison), with one exception: for a registered `http` URI whose host is
/// the loopback IP literal `127.0.0.1` or `[::1]`, any port is accepted (RFC 8252 §7.3: a
/// native app listens on a port the operating system gives it at the time of the request).
/// Everything else — scheme, host, path, query — must still be exactly the registered text.
/// `localhost` gets no such exception (RFC 8252 §8.3: it may resolve elsewhere).
pub fn redirect_uri_matches(registered: &url::Url, given: &str) -> bool {
    if registered.as_str() == given {
        return true;
    }
    let loopback = match registered.host() {
        Some(url::Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
        Some(url::Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        _ => false,
    };
    if registered.scheme() != "http" || !loopback {
        return false;
    }
    let Some(host) = registered.host_str() else {
        return false;
    };
    // The registered text after its authority: path, query (no fragment is registered).
    let rest = &registered[url::Position::BeforePath..];
    let Some(after_host) = given.strip_prefix(&format!("http://{host}")) else {
        return false;
    };
    let after_port = match after_host.strip_prefix(':') {
        Some(port_and_rest) => {
            let digits = port_and_rest.bytes().take_while(u8::is_ascii_digit).count();
            let port = &port_and_rest[..digits];
            // 1-65535, written without leading zeros (one way to write each port).
            let valid = !port.starts_with('0') && port.parse::<u16>().is_ok_and(|p| p > 0);
            if !valid {
                return false;
            }
            &port_and_rest[digits..]
        }
        None => after_host,
    };
    after_port == rest
}

/// A hash of a random value nobody knows, checked for unknown client ids.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$bGFueWFyZC1kdW1teQ$3pDRqWrNp6f1vWZ3FmSJ3XhPlIrnl5zJ3yA8x2Ge7kQ";

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

    #[test]
    fn loopback_redirect_uris_match_any_port_and_nothing_else() {
        let v4 = url::Url::parse("http://127.0.0.1/callback").unwrap();
        let v6 = url::Url::parse("http://[::1]/callback").unwrap();
        let with_port = url::Url::parse("http://127.0.0.1:8400/callback?x=1").unwrap();
        for (registered, given) in [
            (&v4, "http://127.0.0.1/callback"),
            (&v4, "http://127.0.0.1:53124/callback"),
            (&v4, "http://127.0.0.1:1/callback"),
            (&v4, "http://127.0.0.1:65535/callback"),
            (&v6, "http://[::1]:40000/callback"),
            (&v6, "http://[::1]/callback"),
            (&with_port, "http://127.0.0.1:9000/callback?x=1"),
            (&with_port, "http://127.0.0.1/callback?x=1"),
        ] {
            assert!(
                redirect_uri_matches(registered, given),
                "{registered} {given}"
            );
        }
        for (registered, given) in [
            // Another host, path, query, scheme or user info.
            (&v4, "http://127.0.0.2:5000/callback"),
            (&v4, "http://localhost:5000/callback"),
            (&v4, "http://[::1]:5000/callback"),
            (&v6, "http://127.0.0.1:5000/callback"),
            (&v4, "http://127.0.0.1:5000/callback/"),
            (&v4, "http://127.0.0.1:5000/Callback"),
            (&v4, "http://127.0.0.1:5000/callback?x=1"),
            (&v4, "http://127.0.0.1:5000/callback#f"),
            (&v4, "https://127.0.0.1:5000/callback"),
            (&v4, "HTTP://127.0.0.1:5000/callback"),
            (&v4, "http://user@127.0.0.1:5000/callback"),
            (&v4, "http://127.0.0.1:5000/other/../callback"),
            (&v4, "http://127.1:5000/callback"),
            (&v4, "http://127.0.0.1.evil.example:5000/callback"),
            (&with_port, "http://127.0.0.1:9000/callback"),
            // Ports that are not one: empty, zero, leading zeros, too large, signed.
            (&v4, "http://127.0.0.1:/callback"),
            (&v4, "http://127.0.0.1:0/callback"),
            (&v4, "http://127.0.0.1:08080/callback"),
            (&v4, "http://127.0.0.1:65536/callback"),
            (&v4, "http://127.0.0.1:+80/callback"),
        ] {
            assert!(
                !redirect_uri_matches(registered, given),
                "{registered} {given}"
            );
        }
    }

    #[test]
    fn other_redirect_uris_match_exactly() {
        let https = url::Url::parse("https://app.example.com/cb").unwrap();
        assert!(redirect_uri_matches(&https, "https://app.example.com/cb"));
        assert!(!redirect_uri_matches(
            &https,
            "https://app.example.com:8443/cb"
        ));
        assert!(!redirect_uri_matches(
            &https,
            "https://app.example.com/cb?x"
        ));
        // localhost is not a loopback literal: its port is exact too (RFC 8252 §8.3).
        let localhost = url::Url::parse("http://localhost:8080/cb").unwrap();
        assert!(redirect_uri_matches(&localhost, "http://localhost:8080/cb"));
        assert!(!redirect_uri_matches(
            &localhost,
            "http://localhost:9090/cb"
        ));
        let native = url::Url::parse("com.example.app:/oauth").unwrap();
        assert!(redirect_uri_matches(&native, "com.example.app:/oauth"));
        assert!(!redirect_uri_matches(&native, "com.example.app:/oauth2"));
    }

    fn client_with_argon2_secret(secret: &str) -> ClientSettings {
        use argon2::password_hash::PasswordHasher;
        let params = argon2::Params::new(256, 1, 1, None).unwrap();
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let hash = argon.hash_password(secret.as_bytes()).unwrap().to_string();
        ClientSettings {
            id: crate::identity::ClientId::new("machine"),
            name: "Machine".into(),
            auth: ClientAuth::SecretHash(Secret::new(hash)),
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            allowed_roles: Vec::new(),
            audience: String::new(),
            assert_source_ip: false,
            grant_types: Vec::new(),
            access_token_lifetime: None,
            refresh_token_lifetime: std::time::Duration::from_secs(60),
            machine_role: None,
            introspect: crate::op::settings::IntrospectScope::Own,
        }
    }

    fn presented(secret: &str) -> PresentedClient {
        PresentedClient {
            id: "machine".into(),
            secret: Some(Secret::new(secret)),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_burst_of_grants_runs_one_check_per_client() {
        let clients = Clients::new(
            &[client_with_argon2_secret("right")],
            PasswordHashing::new(8),
            8,
            64,
        );
        let burst: Vec<_> = (0..16)
            .map(|_| clients.authenticate(presented("right"), UnixTime::EPOCH))
            .collect();
        let results = futures_join_all(burst).await;
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(
            clients.hash_checks(),
            1,
            "the other 15 waited for the first"
        );
        // Wrong secrets are each checked (one at a time), and never remembered.
        let wrong: Vec<_> = (0..3)
            .map(|_| clients.authenticate(presented("wrong"), UnixTime::EPOCH))
            .collect();
        for r in futures_join_all(wrong).await {
            assert!(matches!(r, Err(OAuthError::InvalidClient)));
        }
        assert_eq!(clients.hash_checks(), 4);
        assert!(
            clients
                .authenticate(presented("right"), UnixTime::EPOCH)
                .await
                .is_ok()
        );
        assert_eq!(
            clients.hash_checks(),
            4,
            "the right secret is still remembered"
        );
    }

    #[tokio::test]
    async fn generated_secrets_work_until_the_end_of_their_overlap() {
        let (current, current_hash) = generate_secret();
        let (previous, previous_hash) = generate_secret();
        let digest = |h: &str| fast_hash_digest(h).unwrap();
        let end = UnixTime::from_secs(1_000);
        let mut settings = client_with_argon2_secret("unused");
        settings.auth = ClientAuth::GeneratedSecrets(
            vec![
                GeneratedSecret {
                    digest: digest(&previous_hash),
                    not_after: Some(end),
                },
                GeneratedSecret {
                    digest: digest(&current_hash),
                    not_after: None,
                },
            ]
            .into(),
        );
        let clients = Clients::new(&[settings], PasswordHashing::new(1), 1, 1);
        let at = |secret: &Secret, secs: i64| {
            clients.authenticate(presented(secret.expose_secret()), UnixTime::from_secs(secs))
        };
        assert!(at(&current, 0).await.is_ok());
        assert!(at(&previous, 999).await.is_ok(), "within the overlap");
        assert!(
            matches!(at(&previous, 1_000).await, Err(OAuthError::InvalidClient)),
            "at the end of the overlap"
        );
        assert!(
            at(&current, 1_000_000).await.is_ok(),
            "the current one lasts"
        );
        let short = &current.expose_secret()[..GENERATED_SECRET_CHARS - 1];
        assert!(at(&Secret::new(short), 0).await.is_err());
        assert!(at(&Secret::new("x".repeat(43)), 0).await.is_err());
        assert_eq!(clients.hash_checks(), 0, "no argon2id check for these");
    }

    #[tokio::test]
    async fn checks_beyond_the_queue_are_refused() {
        let gate = HashGate::new(PasswordHashing::new(4), 1, 1);
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
