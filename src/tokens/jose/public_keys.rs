//! Verification keys: a JWKS (RFC 7517) or Lanyard's own published keys, parsed once.
//!
//! **The algorithm-from-key rule**: a key with an `alg` allows exactly that algorithm (and
//! is unusable when that `alg` does not fit its type and curve); a key without one allows
//! the algorithms of its type and curve (RSA: RS256–RS512 and PS256–PS512; EC P-256:
//! ES256; EC P-384: ES384; OKP Ed25519: EdDSA). A token's `alg` the key does not allow is
//! refused, so neither `none`, nor HMAC keyed with a public key, nor a switch between
//! asymmetric algorithms can pass.
//!
//! **Parsed once**: each key is also kept as an aws-lc-rs [`ParsedPublicKey`] for its
//! first algorithm (RS256 for an RSA key, ES256, ES384, EdDSA), the algorithm nearly every
//! token names. Verifying with it spares rebuilding the key (for RSA, the modulus's
//! Montgomery context) per token, which jsonwebtoken's verification does; the parameters
//! are those jsonwebtoken's aws-lc-rs backend verifies with, so the same signatures pass.
//! Other algorithms a key allows go through jsonwebtoken as before.

use std::sync::Arc;

use aws_lc_rs::signature::{self as aws_sig, ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine as _;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{DecodingKey, DecodingKeyKind};
use serde::Deserialize;
use serde_json::Value;

use super::{ASYMMETRIC_ALGORITHMS, JoseError, JwsAlgorithm, UnverifiedJws};

/// Without a `kid`, at most this many keys that allow the token's `alg` are tried.
const MAX_KEYS_TRIED: usize = 16;

/// The `{"keys": [...]}` document; keys are read one by one, so one odd key does not
/// hide the others.
#[derive(Deserialize)]
pub struct JwksDocument {
    keys: Vec<Value>,
}

impl JwksDocument {
    /// The keys as given (JSON objects), for what this module does not read (`x5c`).
    pub fn keys(&self) -> &[Value] {
        &self.keys
    }
}

/// Why a registered JWK set is not usable.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    /// Not a `{"keys": [...]}` JSON document.
    #[error("not a JWK set: {0}")]
    NotAJwkSet(#[from] serde_json::Error),
    /// `keys` is empty.
    #[error("the JWK set has no keys")]
    Empty,
    /// The key at this index is not a public signing key Lanyard verifies with.
    #[error("key {0} is not a usable public signing key (RSA, EC or OKP; no HMAC)")]
    UnusableKey(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    P256,
    P384,
    Ed25519,
}

impl KeyKind {
    /// The algorithms a key of this kind allows when it names none.
    fn algorithms(self) -> &'static [JwsAlgorithm] {
        match self {
            KeyKind::Rsa => &ASYMMETRIC_ALGORITHMS[..6],
            KeyKind::P256 => &[JwsAlgorithm::ES256],
            KeyKind::P384 => &[JwsAlgorithm::ES384],
            KeyKind::Ed25519 => &[JwsAlgorithm::EdDSA],
        }
    }
}

/// One verification key.
#[derive(Clone)]
struct PublicKey {
    kid: Option<String>,
    alg: Option<JwsAlgorithm>,
    kind: KeyKind,
    key: DecodingKey,
    /// The key parsed once for its first algorithm (see the module's documentation).
    parsed: Option<Parsed>,
}

/// A key parsed once by aws-lc-rs, for one algorithm.
#[derive(Clone)]
struct Parsed {
    alg: JwsAlgorithm,
    key: Arc<ParsedPublicKey>,
}

impl Parsed {
    /// `key` parsed for `alg`, with the parameters jsonwebtoken's aws-lc-rs backend
    /// verifies `alg` with; `None` for the algorithms left to jsonwebtoken, or a key
    /// aws-lc-rs does not accept (jsonwebtoken then refuses it per token, as before).
    fn new(alg: JwsAlgorithm, key: &DecodingKey) -> Option<Self> {
        let parsed = match (alg, key.kind()) {
            (JwsAlgorithm::RS256, DecodingKeyKind::RsaModulusExponent { n, e }) => {
                RsaPublicKeyComponents { n, e }
                    .to_parsed_public_key(&aws_sig::RSA_PKCS1_2048_8192_SHA256)
                    .ok()?
            }
            (JwsAlgorithm::RS256, DecodingKeyKind::SecretOrDer(der)) => {
                ParsedPublicKey::new(&aws_sig::RSA_PKCS1_2048_8192_SHA256, der).ok()?
            }
            (JwsAlgorithm::ES256, DecodingKeyKind::SecretOrDer(point)) => {
                ParsedPublicKey::new(&aws_sig::ECDSA_P256_SHA256_FIXED, point).ok()?
            }
            (JwsAlgorithm::ES384, DecodingKeyKind::SecretOrDer(point)) => {
                ParsedPublicKey::new(&aws_sig::ECDSA_P384_SHA384_FIXED, point).ok()?
            }
            (JwsAlgorithm::EdDSA, DecodingKeyKind::SecretOrDer(point)) => {
                ParsedPublicKey::new(&aws_sig::ED25519, point).ok()?
            }
            _ => return None,
        };
        Some(Self {
            alg,
            key: Arc::new(parsed),
        })
    }
}

impl PublicKey {
    /// A key, parsed once for the first algorithm it allows.
    fn new(
        kid: Option<String>,
        alg: Option<JwsAlgorithm>,
        kind: KeyKind,
        key: DecodingKey,
    ) -> Self {
        let first = alg.or_else(|| kind.algorithms().first().copied());
        let parsed = first.and_then(|a| Parsed::new(a, &key));
        Self {
            kid,
            alg,
            kind,
            key,
            parsed,
        }
    }

    /// The algorithm-from-key rule.
    fn allows(&self, alg: JwsAlgorithm) -> bool {
        self.alg
            .map_or_else(|| self.kind.algorithms().contains(&alg), |a| a == alg)
    }

    /// Whether `signature` (base64url, as in the token) is this key's signature of
    /// `message` with `alg` (which the caller checked the key allows).
    fn verifies(&self, alg: JwsAlgorithm, message: &[u8], signature: &str) -> bool {
        match &self.parsed {
            Some(p) if p.alg == alg => {
                // jsonwebtoken decodes the signature the same way (no padding).
                match base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature) {
                    Ok(sig) => p.key.verify_sig(message, &sig).is_ok(),
                    Err(_) => false,
                }
            }
            _ => jsonwebtoken::crypto::verify(signature, message, &self.key, alg).unwrap_or(false),
        }
    }

    fn from_jwk(value: &Value) -> Option<PublicKey> {
        let jwk: Jwk = serde_json::from_value(value.clone()).ok()?;
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            return None;
        }
        let kind = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => KeyKind::Rsa,
            AlgorithmParameters::EllipticCurve(p) => match p.curve {
                EllipticCurve::P256 => KeyKind::P256,
                EllipticCurve::P384 => KeyKind::P384,
                _ => return None,
            },
            AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
                KeyKind::Ed25519
            }
            _ => return None,
        };
        let alg = match jwk.common.key_algorithm {
            None => None,
            // A named algorithm must be one this kind of key signs with (no HMAC, no
            // encryption algorithm, no RSA key claiming ES256).
            Some(named) => {
                let alg: JwsAlgorithm = named.to_string().parse().ok()?;
                if !kind.algorithms().contains(&alg) {
                    return None;
                }
                Some(alg)
            }
        };
        Some(PublicKey::new(
            jwk.common.key_id.clone(),
            alg,
            kind,
            DecodingKey::from_jwk(&jwk).ok()?,
        ))
    }
}

/// A set of verification keys, parsed once and kept. `Debug` shows key ids and types.
#[derive(Clone, Default)]
pub struct PublicKeys {
    keys: Vec<PublicKey>,
}

impl std::fmt::Debug for PublicKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|k| (&k.kid, k.kind, k.alg)))
            .finish()
    }
}

impl PublicKeys {
    /// Keeps every usable signature key of a JWKS; encryption keys, symmetric keys, keys
    /// whose `alg` does not fit them and key types Lanyard does not verify with are
    /// skipped, not fatal (an upstream's JWKS).
    pub fn from_document(doc: &JwksDocument) -> Self {
        Self {
            keys: doc.keys.iter().filter_map(PublicKey::from_jwk).collect(),
        }
    }

    /// [`PublicKeys::from_document`] from JSON text.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        Ok(Self::from_document(&serde_json::from_str(text)?))
    }

    /// A registered JWK set (a client's keys): every key must be usable, and there must
    /// be at least one.
    pub fn from_json_strict(text: &str) -> Result<Self, JwksError> {
        let doc: JwksDocument = serde_json::from_str(text)?;
        if doc.keys.is_empty() {
            return Err(JwksError::Empty);
        }
        let keys = doc
            .keys
            .iter()
            .enumerate()
            .map(|(i, v)| PublicKey::from_jwk(v).ok_or(JwksError::UnusableKey(i)))
            .collect::<Result<_, _>>()?;
        Ok(Self { keys })
    }

    /// Lanyard's own keys: each with its `kid` and the one algorithm it signs with.
    pub(in crate::tokens) fn own<'k>(
        keys: impl Iterator<Item = (&'k str, JwsAlgorithm, &'k DecodingKey)>,
    ) -> Self {
        let keys = keys
            .filter_map(|(kid, alg, key)| {
                let kind = match alg {
                    JwsAlgorithm::ES256 => KeyKind::P256,
                    JwsAlgorithm::EdDSA => KeyKind::Ed25519,
                    JwsAlgorithm::RS256 => KeyKind::Rsa,
                    _ => return None,
                };
                Some(PublicKey::new(
                    Some(kid.to_owned()),
                    Some(alg),
                    kind,
                    key.clone(),
                ))
            })
            .collect();
        Self { keys }
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether a key with this `kid` is in the set.
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid.as_deref() == Some(kid))
    }

    /// Whether some key may verify `jws`: one with its `kid` (any key when it has none)
    /// that allows its `alg` (to decide on a JWKS refresh).
    pub fn has_key_for(&self, jws: &UnverifiedJws<'_>) -> bool {
        self.candidates(jws).is_ok()
    }

    /// The keys that may verify `jws`, by the algorithm-from-key rule.
    fn candidates<'s>(&'s self, jws: &UnverifiedJws<'_>) -> Result<Vec<&'s PublicKey>, JoseError> {
        let alg = jws.alg();
        let found: Vec<&PublicKey> = match jws.kid() {
            Some(kid) => {
                let named: Vec<&PublicKey> = self
                    .keys
                    .iter()
                    .filter(|k| k.kid.as_deref() == Some(kid))
                    .collect();
                if named.is_empty() {
                    return Err(JoseError::UnknownKey);
                }
                let fit: Vec<&PublicKey> = named.into_iter().filter(|k| k.allows(alg)).collect();
                if fit.is_empty() {
                    return Err(JoseError::AlgorithmMismatch);
                }
                fit
            }
            None => self
                .keys
                .iter()
                .filter(|k| k.allows(alg))
                .take(MAX_KEYS_TRIED)
                .collect(),
        };
        if found.is_empty() {
            return Err(JoseError::UnknownKey);
        }
        Ok(found)
    }

    /// Checks the signature of `jws` with the keys that may verify it.
    pub(super) fn verify_signature(&self, jws: &UnverifiedJws<'_>) -> Result<(), JoseError> {
        let verified = self
            .candidates(jws)?
            .into_iter()
            .any(|k| k.verifies(jws.alg, jws.message.as_bytes(), jws.signature));
        if verified {
            Ok(())
        } else {
            Err(JoseError::BadSignature)
        }
    }
}
