//! Registered clients and client authentication (RFC 6749 §2.3: `client_secret_basic`,
//! `client_secret_post`; public clients by id alone, with PKCE required).
//!
//! Client secrets are stored as argon2id hashes. Verifying one costs tens of milliseconds,
//! so after a secret verifies, its SHA-256 is remembered in memory and later requests
//! compare digests in constant time. A wrong secret always pays the full argon2id cost.

use std::sync::{Arc, Mutex};

use argon2::password_hash::PasswordVerifier;
use argon2::password_hash::phc::PasswordHash;
use subtle::ConstantTimeEq;

use crate::config::{ClientAuth, ClientConfig};
use crate::provider::error::OAuthError;
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
    pub config: ClientConfig,
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

/// Every registered client.
#[derive(Debug, Default)]
pub struct Clients {
    list: Vec<Arc<Client>>,
}

impl Clients {
    /// The clients of the configuration.
    pub fn new(configs: &[ClientConfig]) -> Self {
        Self {
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
                    let cached = client.verified.lock().ok().and_then(|g| *g);
                    if let Some(known) = cached
                        && bool::from(known.ct_eq(&digest))
                    {
                        return Ok(client);
                    }
                    let hash = hash.clone();
                    let ok = tokio::task::spawn_blocking(move || verify(&secret, &hash))
                        .await
                        .unwrap_or(false);
                    if ok {
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
                // Unknown client: spend what a wrong secret costs.
                let _ =
                    tokio::task::spawn_blocking(move || verify(&secret, &Secret::new(DUMMY_HASH)))
                        .await;
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
