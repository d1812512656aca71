//! The one signing path: the JWS compact serialization (RFC 7515 §7.1),
//! `base64url(header) . base64url(claims) . base64url(signature)`, header
//! `{alg, typ, kid}`, with a key parsed once.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::secret::Secret;
use crate::tokens::keys::{Signer, signer_from_pem};
use crate::tokens::{Algorithm, TokenError};

#[derive(Serialize)]
struct Header<'a> {
    alg: Algorithm,
    typ: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

/// Signs `claims` as they are (the caller sets `iss`, `exp` and the rest) with `signer`.
pub(in crate::tokens) fn sign_compact<C: Serialize>(
    signer: &Signer,
    kid: Option<&str>,
    typ: &str,
    claims: &C,
) -> Result<String, TokenError> {
    let header = Header {
        alg: signer.alg(),
        typ,
        kid,
    };
    let header =
        serde_json::to_vec(&header).map_err(|e| TokenError::Signing(format!("header: {e}")))?;
    let claims =
        serde_json::to_vec(claims).map_err(|e| TokenError::Signing(format!("claims: {e}")))?;
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(claims, &mut token);
    let signature = signer.sign(token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}

/// A private key from a PEM file that signs JWTs other than Lanyard's own tokens (the
/// `private_key_jwt` client assertions Lanyard sends upstream). `Debug` shows the
/// algorithm and `kid` only.
pub struct SigningKey {
    signer: Signer,
    kid: Option<String>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.signer.alg())
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Parses a PEM private key: PKCS#8 (`PRIVATE KEY`: RSA → RS256, P-256 → ES256,
    /// Ed25519 → EdDSA), PKCS#1 (`RSA PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`, P-256).
    /// `kid` goes into the header of what it signs.
    pub fn from_pem(pem: &Secret, kid: Option<&str>) -> Result<Self, TokenError> {
        let signer =
            signer_from_pem(pem.expose_secret()).map_err(|reason| TokenError::KeyParse {
                path: "private_key_file".into(),
                reason,
            })?;
        Ok(Self {
            signer,
            kid: kid.map(str::to_owned),
        })
    }

    /// The algorithm it signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.signer.alg()
    }

    /// Signs `claims` as a compact JWS with header `{alg, typ, kid}`.
    pub fn sign<C: Serialize>(&self, claims: &C, typ: &str) -> Result<String, TokenError> {
        sign_compact(&self.signer, self.kid.as_deref(), typ, claims)
    }
}
