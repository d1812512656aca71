//! Lanyard's own tokens: signing keys on disk, their rotation, the JWKS that publishes
//! them, and minting and verifying JWTs (the access token of RFC 9068, ID tokens).
//!
//! - `keys`: key files in `tokens.keys_dir` (`{created_unix}-{alg}.pem`, PKCS#8),
//!   generated with aws-lc-rs, parsed once and kept as [`KeySet`]; `kid` is the key's
//!   RFC 7638 thumbprint; the JWKS (RFC 7517) lists every key not yet expired.
//! - `jwt`: Lanyard's own tokens signed with the kept keys and verified against them: the
//!   own-token rules (`kid` required, `typ`, audience) on top of [`jose`].
//! - [`jose`]: the one JOSE module of every trust path (parse, key sets, the
//!   algorithm-from-key rule, the registered-claims check, the one signing path).
//!
//! Time is always passed in (`now`, a `UnixTime`), never read from the system.
//!
//! May import: `crate::secret`, `crate::clock`; nothing else of ours.

pub mod jose;
mod jwt;
mod keys;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use self::jwt::{ACCESS_TOKEN_TYP, Expectations};
pub use self::keys::{Jwk, Jwks, KeySet, RETIREMENT_WINDOW, generate_key};

/// A JWS signature algorithm Lanyard signs with (RFC 7518 §3, RFC 8037 for EdDSA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256; the default.
    #[serde(rename = "ES256")]
    Es256,
    /// Ed25519.
    #[serde(rename = "EdDSA")]
    EdDsa,
    /// RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit keys or larger.
    #[serde(rename = "RS256")]
    Rs256,
}

impl Algorithm {
    /// Every supported algorithm.
    pub const ALL: [Algorithm; 3] = [Algorithm::Es256, Algorithm::EdDsa, Algorithm::Rs256];

    /// The JOSE name: `ES256`, `EdDSA` or `RS256`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::EdDsa => "EdDSA",
            Algorithm::Rs256 => "RS256",
        }
    }

    /// The same algorithm as a [`jose::JwsAlgorithm`].
    pub fn jws(self) -> jose::JwsAlgorithm {
        match self {
            Algorithm::Es256 => jose::JwsAlgorithm::ES256,
            Algorithm::EdDsa => jose::JwsAlgorithm::EdDSA,
            Algorithm::Rs256 => jose::JwsAlgorithm::RS256,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = TokenError;

    /// Parses the exact JOSE name (`ES256`, `EdDSA`, `RS256`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::ALL
            .into_iter()
            .find(|alg| alg.as_str() == s)
            .ok_or_else(|| TokenError::UnsupportedAlgorithm(s.chars().take(32).collect()))
    }
}

/// Why a key could not be loaded or made, or a token could not be signed or verified.
///
/// Messages name files and claims but never carry key material or token contents.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Reading or writing a key file or the keys directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A key file is not a usable PKCS#8 key of the algorithm its name says.
    #[error("{path}: not a usable key: {reason}")]
    KeyParse {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Generating a key failed in the crypto library.
    #[error("key generation failed for {0}")]
    KeyGeneration(Algorithm),
    /// The keys directory holds no key of the configured algorithm that is in force.
    #[error("{dir}: no {alg} signing key (run `lanyard keys generate --alg {alg} --dir {dir}`)")]
    NoSigningKey {
        /// The keys directory.
        dir: PathBuf,
        /// The configured algorithm.
        alg: Algorithm,
    },
    /// An algorithm name Lanyard does not sign or accept.
    #[error("unsupported algorithm {0:?} (expected ES256, EdDSA or RS256)")]
    UnsupportedAlgorithm(String),
    /// Claims or header could not be serialized, or the crypto library failed to sign.
    #[error("signing failed: {0}")]
    Signing(String),
    /// The token is not a well-formed JWS/JWT, or a claim has the wrong shape.
    #[error("malformed token: {0}")]
    Malformed(String),
    /// The token's `kid` names no key of this key set.
    #[error("the token's key id is not known")]
    UnknownKid,
    /// The token's header `alg` is not the algorithm of the key its `kid` names.
    #[error("the token's algorithm does not match its key")]
    WrongAlgorithm,
    /// The signature does not verify.
    #[error("the token's signature is not valid")]
    BadSignature,
    /// A claim the verification needs is missing.
    #[error("the token has no `{0}` claim")]
    MissingClaim(&'static str),
    /// `exp` has passed.
    #[error("the token has expired")]
    Expired,
    /// `nbf` (or `iat`) is in the future.
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iss` is not the expected issuer.
    #[error("the token was issued by someone else")]
    WrongIssuer,
    /// `aud` does not include the expected audience.
    #[error("the token is meant for another audience")]
    WrongAudience,
    /// The header `typ` is not the expected type.
    #[error("the token is not of the expected type")]
    WrongType,
}
