//! Signing keys: their files, generation, loading, rotation and the JWKS.
//!
//! A key lives in `keys_dir` as an unencrypted PKCS#8 PEM file named
//! `{created_unix}-{alg}.pem` (`1764350000-ES256.pem`), mode 0600 in a 0700 directory.
//! The time in the name drives rotation, with `now` always passed in:
//!
//! - the **active** key, the one that signs, is the newest key of the configured
//!   algorithm created at or before `now`;
//! - a key created after `now` is **pre-published**: in the JWKS, so relying parties have
//!   it cached before it starts signing;
//! - a key that has been succeeded by a newer key of the configured algorithm is
//!   **retired**: still published for [`RETIREMENT_WINDOW_SECS`] after its successor took
//!   over (the longest token lifetime plus clock skew), then dropped.
//!
//! `kid` is the RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key. Private
//! keys are parsed once, here, and kept.

use std::fmt;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::DecodingKey;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::jose::PublicKeys;
use super::{Algorithm, TokenError};
use crate::clock::UnixTime;

/// How long a retired key stays in the JWKS after its successor starts signing: the
/// longest access-token lifetime (12 h) plus 5 minutes of clock skew.
pub const RETIREMENT_WINDOW: Duration = Duration::from_secs(43_200 + 300);

/// The smallest RSA modulus accepted, in bytes (2048 bits).
const MIN_RSA_MODULUS_BYTES: usize = 256;

const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
const PEM_END: &str = "-----END PRIVATE KEY-----";

/// Writes a new key for `alg` into `dir` as `{now}-{alg}.pem` and returns its path.
///
/// Creates `dir` (mode 0700) when missing. The file is written under a temporary name
/// with mode 0600 and linked into place, so a reader never sees half a key and an
/// existing key is never overwritten (a second key of the same algorithm in the same
/// second is an [`TokenError::Io`] `AlreadyExists`).
pub fn generate_key(dir: &Path, alg: Algorithm, now: UnixTime) -> Result<PathBuf, TokenError> {
    let pkcs8 = generate_pkcs8(alg)?;
    let pem = pem_encode(&pkcs8);
    create_dir(dir)?;
    let path = dir.join(format!("{}-{alg}.pem", now.secs()));
    write_new_private_file(&path, pem.as_bytes())?;
    Ok(path)
}

fn generate_pkcs8(alg: Algorithm) -> Result<Zeroizing<Vec<u8>>, TokenError> {
    let failed = |_| TokenError::KeyGeneration(alg);
    let der = match alg {
        Algorithm::Es256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .and_then(|k| k.to_pkcs8v1())
            .map_err(failed)?
            .as_ref()
            .to_vec(),
        Algorithm::EdDsa => Ed25519KeyPair::generate()
            .and_then(|k| k.to_pkcs8v1())
            .map_err(failed)?
            .as_ref()
            .to_vec(),
        Algorithm::Rs256 => {
            let key = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .map_err(failed)?;
            let der: aws_lc_rs::encoding::Pkcs8V1Der<'static> = key.as_der().map_err(failed)?;
            der.as_ref().to_vec()
        }
    };
    Ok(Zeroizing::new(der))
}

fn create_dir(dir: &Path) -> Result<(), TokenError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| TokenError::Io {
        path: dir.to_owned(),
        source,
    })
}

/// Writes `contents` to the new file `path` (mode 0600), atomically and without
/// replacing anything.
fn write_new_private_file(path: &Path, contents: &[u8]) -> Result<(), TokenError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| TokenError::Io { path, source }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut nonce = [0u8; 8];
    aws_lc_rs::rand::fill(&mut nonce).map_err(|_| TokenError::Io {
        path: path.to_owned(),
        source: std::io::Error::other("the system random number generator failed"),
    })?;
    let tmp = dir.join(format!(".{name}.{}.tmp", URL_SAFE_NO_PAD.encode(nonce)));

    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let written = options.open(&tmp).and_then(|mut file| {
        file.write_all(contents)?;
        file.sync_all()
    });
    // `hard_link` fails when `path` exists: an existing key is never replaced.
    let linked = written.and_then(|()| fs::hard_link(&tmp, path));
    let removed = fs::remove_file(&tmp);
    linked.map_err(io(path))?;
    removed.map_err(io(&tmp))?;
    Ok(())
}

fn pem_encode(der: &[u8]) -> Zeroizing<String> {
    let b64 = Zeroizing::new(STANDARD.encode(der));
    let mut pem = Zeroizing::new(String::with_capacity(b64.len() + b64.len() / 64 + 64));
    pem.push_str(PEM_BEGIN);
    pem.push('\n');
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str(PEM_END);
    pem.push('\n');
    pem
}

/// The DER inside a `PRIVATE KEY` PEM block.
fn pem_decode(pem: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    pem_block(pem, "PRIVATE KEY")
        .ok_or_else(|| "no `BEGIN PRIVATE KEY` block (PKCS#8 is required)".to_owned())?
}

/// The DER inside the first `label` PEM block; `None` when there is no such block.
fn pem_block(pem: &str, label: &str) -> Option<Result<Zeroizing<Vec<u8>>, String>> {
    let begin = format!("-----BEGIN {label}-----");
    let start = pem.find(&begin)?;
    Some(pem_body(&pem[start + begin.len()..], label))
}

fn pem_body(body: &str, label: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    let end = body
        .find(&format!("-----END {label}-----"))
        .ok_or_else(|| format!("no `END {label}` line"))?;
    let b64: Zeroizing<String> = Zeroizing::new(
        body[..end]
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect(),
    );
    STANDARD
        .decode(b64.as_bytes())
        .map(Zeroizing::new)
        .map_err(|_| "the PEM body is not valid base64".to_owned())
}

/// `{created}-{alg}.pem` → (created, alg); `None` for any other name.
fn parse_file_name(name: &str) -> Option<(UnixTime, Algorithm)> {
    let stem = name.strip_suffix(".pem")?;
    let (created, alg) = stem.split_once('-')?;
    if created.is_empty() || !created.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((
        UnixTime::from_secs(created.parse().ok()?),
        alg.parse().ok()?,
    ))
}

/// A public key as the members of its JWK (RFC 7518 §6, RFC 8037 §2), base64url.
#[derive(Clone, PartialEq, Eq)]
enum PublicKey {
    Ec { x: String, y: String },
    Okp { x: String },
    Rsa { n: String, e: String },
}

impl PublicKey {
    /// The RFC 7638 thumbprint: SHA-256 over the required members in lexicographic
    /// order, without whitespace, base64url. Member values are base64url or fixed names,
    /// so no JSON escaping is needed.
    fn thumbprint(&self) -> String {
        let canonical = match self {
            PublicKey::Ec { x, y } => {
                format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#)
            }
            PublicKey::Okp { x } => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#),
            PublicKey::Rsa { n, e } => format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
        };
        URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, canonical.as_bytes()))
    }

    fn decoding_key(&self) -> Result<DecodingKey, jsonwebtoken::errors::Error> {
        match self {
            PublicKey::Ec { x, y } => DecodingKey::from_ec_components(x, y),
            PublicKey::Okp { x } => DecodingKey::from_ed_components(x),
            PublicKey::Rsa { n, e } => DecodingKey::from_rsa_components(n, e),
        }
    }
}

/// A PEM private key for signing something other than Lanyard's own tokens: PKCS#8
/// (RSA, P-256 or Ed25519), PKCS#1 RSA or SEC1 P-256.
pub(super) fn signer_from_pem(pem: &str) -> Result<Signer, String> {
    if let Some(der) = pem_block(pem, "PRIVATE KEY") {
        let der = der?;
        return Algorithm::ALL
            .into_iter()
            .find_map(|alg| Signer::parse(alg, &der).ok())
            .map(|(signer, _)| signer)
            .ok_or_else(|| "not an RSA, P-256 or Ed25519 PKCS#8 key".to_owned());
    }
    if let Some(der) = pem_block(pem, "RSA PRIVATE KEY") {
        let key = RsaKeyPair::from_der(&der?).map_err(|e| format!("not an RSA key ({e})"))?;
        if key.public_modulus_len() < MIN_RSA_MODULUS_BYTES {
            return Err("RSA keys must have at least 2048 bits".to_owned());
        }
        return Ok(Signer::Rs256(key));
    }
    if let Some(der) = pem_block(pem, "EC PRIVATE KEY") {
        return EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, &der?)
            .map(Signer::Es256)
            .map_err(|e| format!("not a P-256 key ({e})"));
    }
    Err("no PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block".to_owned())
}

/// A parsed private key, kept for signing.
pub(super) enum Signer {
    Es256(EcdsaKeyPair),
    EdDsa(Ed25519KeyPair),
    Rs256(RsaKeyPair),
}

impl Signer {
    fn parse(alg: Algorithm, der: &[u8]) -> Result<(Signer, PublicKey), String> {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        match alg {
            Algorithm::Es256 => {
                let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|e| format!("not a P-256 PKCS#8 key ({e})"))?;
                let point = key.public_key().as_ref();
                // Uncompressed SEC1 point: 0x04 || x (32 bytes) || y (32 bytes).
                let (x, y) = match point {
                    [0x04, rest @ ..] if rest.len() == 64 => rest.split_at(32),
                    _ => return Err("unexpected P-256 public key encoding".to_owned()),
                };
                let public = PublicKey::Ec {
                    x: b64(x),
                    y: b64(y),
                };
                Ok((Signer::Es256(key), public))
            }
            Algorithm::EdDsa => {
                let key = Ed25519KeyPair::from_pkcs8(der)
                    .map_err(|e| format!("not an Ed25519 PKCS#8 key ({e})"))?;
                let public = PublicKey::Okp {
                    x: b64(key.public_key().as_ref()),
                };
                Ok((Signer::EdDsa(key), public))
            }
            Algorithm::Rs256 => {
                let key = RsaKeyPair::from_pkcs8(der)
                    .map_err(|e| format!("not an RSA PKCS#8 key ({e})"))?;
                if key.public_modulus_len() < MIN_RSA_MODULUS_BYTES {
                    return Err("RSA keys must have at least 2048 bits".to_owned());
                }
                let public = key.public_key();
                let public = PublicKey::Rsa {
                    n: b64(public.modulus().big_endian_without_leading_zero()),
                    e: b64(public.exponent().big_endian_without_leading_zero()),
                };
                Ok((Signer::Rs256(key), public))
            }
        }
    }

    /// The algorithm it signs with.
    pub(super) fn alg(&self) -> Algorithm {
        match self {
            Signer::Es256(_) => Algorithm::Es256,
            Signer::EdDsa(_) => Algorithm::EdDsa,
            Signer::Rs256(_) => Algorithm::Rs256,
        }
    }

    /// The JWS signature over `message` (RFC 7518 §3: ES256 is the fixed-length r‖s).
    pub(super) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, TokenError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let failed = |_| TokenError::Signing("the crypto library refused to sign".to_owned());
        match self {
            Signer::Es256(key) => Ok(key.sign(&rng, message).map_err(failed)?.as_ref().to_vec()),
            Signer::EdDsa(key) => Ok(key.sign(message).as_ref().to_vec()),
            Signer::Rs256(key) => {
                let mut signature = vec![0; key.public_modulus_len()];
                key.sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
                    .map_err(failed)?;
                Ok(signature)
            }
        }
    }
}

/// One key of a [`KeySet`].
pub(super) struct Key {
    pub(super) kid: String,
    pub(super) alg: Algorithm,
    pub(super) created: UnixTime,
    public: PublicKey,
    pub(super) signer: Signer,
    decoding: DecodingKey,
}

impl Key {
    fn load(path: &Path, alg: Algorithm, created: UnixTime) -> Result<Key, TokenError> {
        let pem = fs::read(path)
            .map(Zeroizing::new)
            .map_err(|source| TokenError::Io {
                path: path.to_owned(),
                source,
            })?;
        warn_if_readable_by_others(path);
        let parse_error = |reason: String| TokenError::KeyParse {
            path: path.to_owned(),
            reason,
        };
        let pem = std::str::from_utf8(&pem).map_err(|_| parse_error("not text".to_owned()))?;
        let der = pem_decode(pem).map_err(parse_error)?;
        let (signer, public) = Signer::parse(alg, &der).map_err(parse_error)?;
        let decoding = public
            .decoding_key()
            .map_err(|e| parse_error(format!("public key rejected ({e})")))?;
        Ok(Key {
            kid: public.thumbprint(),
            alg,
            created,
            public,
            signer,
            decoding,
        })
    }

    fn jwk(&self) -> Jwk {
        let mut jwk = Jwk {
            kty: String::new(),
            crv: None,
            x: None,
            y: None,
            n: None,
            e: None,
            kid: self.kid.clone(),
            alg: self.alg.as_str().to_owned(),
            use_: "sig".to_owned(),
        };
        match &self.public {
            PublicKey::Ec { x, y } => {
                jwk.kty = "EC".to_owned();
                jwk.crv = Some("P-256".to_owned());
                jwk.x = Some(x.clone());
                jwk.y = Some(y.clone());
            }
            PublicKey::Okp { x } => {
                jwk.kty = "OKP".to_owned();
                jwk.crv = Some("Ed25519".to_owned());
                jwk.x = Some(x.clone());
            }
            PublicKey::Rsa { n, e } => {
                jwk.kty = "RSA".to_owned();
                jwk.n = Some(n.clone());
                jwk.e = Some(e.clone());
            }
        }
        jwk
    }
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = fs::metadata(path).map(|m| m.permissions().mode());
    if mode.is_ok_and(|mode| mode & 0o077 != 0) {
        tracing::warn!(
            path = %path.display(),
            "signing key file is accessible to other users; it should be mode 0600"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

/// The signing keys of one instance, as they stand at the `now` they were loaded for:
/// the active signer and every key the JWKS publishes. Private keys are parsed once and
/// kept; `Debug` shows key ids only.
///
/// A key set is a snapshot: reload it (for instance at [`KeySet::next_change`], or
/// every few minutes) to pick up new keys and drop retired ones.
pub struct KeySet {
    alg: Algorithm,
    /// Published keys, oldest first; `keys[active]` signs.
    pub(super) keys: Vec<Key>,
    active: usize,
    next_change: Option<UnixTime>,
    /// The published keys, for verification.
    pub(super) public: PublicKeys,
}

impl KeySet {
    /// Loads every key file in `dir` and keeps the ones in force at `now`.
    ///
    /// Fails when a key file cannot be read or parsed (a broken key is never skipped
    /// silently), or when no key of `alg` was created at or before `now`. Files whose
    /// names are not `{created}-{alg}.pem` are ignored.
    pub fn load(dir: &Path, alg: Algorithm, now: UnixTime) -> Result<KeySet, TokenError> {
        let entries = fs::read_dir(dir).map_err(|source| TokenError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| TokenError::Io {
                path: dir.to_owned(),
                source,
            })?;
            let name = entry.file_name();
            let Some((created, key_alg)) = name.to_str().and_then(parse_file_name) else {
                continue;
            };
            found.push(Key::load(&entry.path(), key_alg, created)?);
        }
        Self::from_keys(dir, alg, now, found)
    }

    /// Like [`KeySet::load`], but first creates `dir` (mode 0700) and generates a key of
    /// `alg` created at `now` when no key of `alg` is in force: the first start, or a
    /// change of algorithm.
    pub fn load_or_generate(
        dir: &Path,
        alg: Algorithm,
        now: UnixTime,
    ) -> Result<KeySet, TokenError> {
        create_dir(dir)?;
        match Self::load(dir, alg, now) {
            Err(TokenError::NoSigningKey { .. }) => {
                match generate_key(dir, alg, now) {
                    Ok(path) => {
                        tracing::info!(path = %path.display(), %alg, "generated a new signing key");
                    }
                    // Another instance sharing the directory generated it this very second.
                    Err(TokenError::Io { source, .. })
                        if source.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e),
                }
                Self::load(dir, alg, now)
            }
            other => other,
        }
    }

    fn from_keys(
        dir: &Path,
        alg: Algorithm,
        now: UnixTime,
        mut keys: Vec<Key>,
    ) -> Result<KeySet, TokenError> {
        // Oldest first; the kid breaks ties so the order never depends on the directory.
        keys.sort_by(|a, b| (a.created, &a.kid).cmp(&(b.created, &b.kid)));
        let no_key = || TokenError::NoSigningKey {
            dir: dir.to_owned(),
            alg,
        };
        let active_kid = keys
            .iter()
            .rev()
            .find(|k| k.alg == alg && k.created <= now)
            .map(|k| k.kid.clone())
            .ok_or_else(no_key)?;

        // Successors are the keys of the configured algorithm already in force.
        let successors: Vec<UnixTime> = keys
            .iter()
            .filter(|k| k.alg == alg && k.created <= now)
            .map(|k| k.created)
            .collect();
        let retires_at = |key: &Key| {
            successors
                .iter()
                .find(|&&created| created > key.created)
                .map(|&created| created + RETIREMENT_WINDOW)
        };
        let mut next_change: Option<UnixTime> = None;
        let mut note = |at: UnixTime| next_change = Some(next_change.map_or(at, |n| n.min(at)));
        for key in &keys {
            if key.created > now {
                note(key.created);
            } else if let Some(at) = retires_at(key).filter(|&at| at > now) {
                note(at);
            }
        }
        keys.retain(|k| k.created > now || retires_at(k).is_none_or(|at| at > now));
        let active = keys
            .iter()
            .position(|k| k.kid == active_kid)
            .ok_or_else(no_key)?;
        let public = PublicKeys::own(
            keys.iter()
                .map(|k| (k.kid.as_str(), k.alg.jws(), &k.decoding)),
        );
        Ok(KeySet {
            alg,
            keys,
            active,
            next_change,
            public,
        })
    }

    /// The algorithm new tokens are signed with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The `kid` of the key that signs.
    pub fn active_kid(&self) -> &str {
        &self.active_key().kid
    }

    /// When this snapshot goes stale (a pre-published key starts signing, or a retired
    /// key leaves the JWKS); `None` when no such change is scheduled.
    pub fn next_change(&self) -> Option<UnixTime> {
        self.next_change
    }

    /// The public keys to publish at `/.well-known/jwks.json`: the active key, keys
    /// pre-published for rollover and retired keys still inside their window.
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: self.keys.iter().map(Key::jwk).collect(),
        }
    }

    pub(super) fn active_key(&self) -> &Key {
        // `active` indexes `keys` by construction.
        &self.keys[self.active]
    }
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<(&str, Algorithm, UnixTime)> = self
            .keys
            .iter()
            .map(|k| (k.kid.as_str(), k.alg, k.created))
            .collect();
        f.debug_struct("KeySet")
            .field("algorithm", &self.alg)
            .field("active_kid", &self.active_kid())
            .field("published", &kids)
            .finish_non_exhaustive()
    }
}

/// A JSON Web Key Set (RFC 7517 §5), as served at `/.well-known/jwks.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The published keys.
    pub keys: Vec<Jwk>,
}

/// One public signing key (RFC 7517 §4; members by key type per RFC 7518 §6 and
/// RFC 8037 §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// `EC`, `OKP` or `RSA`.
    pub kty: String,
    /// The curve: `P-256` or `Ed25519` (EC and OKP keys).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub crv: Option<String>,
    /// The x coordinate (EC) or the public key (OKP), base64url.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub x: Option<String>,
    /// The y coordinate (EC), base64url.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub y: Option<String>,
    /// The modulus (RSA), base64url.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub n: Option<String>,
    /// The public exponent (RSA), base64url.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub e: Option<String>,
    /// The key id: the RFC 7638 thumbprint.
    pub kid: String,
    /// The algorithm the key signs with.
    pub alg: String,
    /// Always `sig`.
    #[serde(rename = "use")]
    pub use_: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(
            parse_file_name("1764350000-ES256.pem"),
            Some((UnixTime::from_secs(1_764_350_000), Algorithm::Es256))
        );
        assert_eq!(
            parse_file_name("1-EdDSA.pem"),
            Some((UnixTime::from_secs(1), Algorithm::EdDsa))
        );
        assert_eq!(
            parse_file_name("1764350000-RS256.pem"),
            Some((UnixTime::from_secs(1_764_350_000), Algorithm::Rs256))
        );
        for bad in [
            "1764350000-ES256.pem.tmp",
            ".1764350000-ES256.pem.x.tmp",
            "1764350000-HS256.pem",
            "-1-ES256.pem",
            "+1-ES256.pem",
            "x-ES256.pem",
            "1764350000-es256.pem",
            "README.md",
            "99999999999999999999-ES256.pem",
        ] {
            assert_eq!(parse_file_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn pem_roundtrip() {
        let der: Vec<u8> = (0..=255).cycle().take(1000).collect();
        let pem = pem_encode(&der);
        assert!(pem.starts_with(PEM_BEGIN));
        assert!(pem.lines().all(|l| l.len() <= 64));
        assert_eq!(pem_decode(&pem).unwrap().as_slice(), der.as_slice());
        assert!(
            pem_decode("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----")
                .is_err()
        );
    }

    #[test]
    fn rfc7638_thumbprint_example() {
        // RFC 7638 §3.1.
        let key = PublicKey::Rsa {
            n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw".to_owned(),
            e: "AQAB".to_owned(),
        };
        assert_eq!(
            key.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
