//! The SP's key pair towards one IdP: RSA-3072 (RSA, so that IdPs can encrypt assertions to
//! it with RSA-OAEP) and a self-signed certificate. A provider of the file has it in files,
//! generated on first start when absent (the key written with mode 0600) and read back on
//! later starts; a provider of the database has it in the database ([`generate_pem`], kept
//! by the catalog, read with [`SpKeys::from_pem`]).

use std::path::Path;

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509, X509NameBuilder};
use samael::crypto::CertificateDer;
use zeroize::Zeroizing;

use super::SamlError;

/// The SP's signing (and default decryption) key and its certificate.
pub struct SpKeys {
    /// The private key.
    pub key: PKey<Private>,
    /// The key as PKCS#8 DER, for xmlsec signing.
    pub key_der: Zeroizing<Vec<u8>>,
    /// The certificate, DER.
    pub cert: CertificateDer,
}

impl std::fmt::Debug for SpKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpKeys").finish_non_exhaustive()
    }
}

fn io(path: &Path, e: impl std::fmt::Display) -> SamlError {
    SamlError::Config(format!("{}: {e}", path.display()))
}

/// Reads a PEM private key (PKCS#8 or PKCS#1).
pub fn read_key(path: &Path) -> Result<PKey<Private>, SamlError> {
    let pem = Zeroizing::new(std::fs::read(path).map_err(|e| io(path, e))?);
    PKey::private_key_from_pem(&pem).map_err(|_| io(path, "not a PEM private key"))
}

impl SpKeys {
    /// Loads the key and certificate, generating both when neither exists.
    pub fn load_or_generate(
        key_file: &Path,
        cert_file: &Path,
        cn: &str,
    ) -> Result<Self, SamlError> {
        match (key_file.exists(), cert_file.exists()) {
            (true, true) => {}
            (false, false) => generate(key_file, cert_file, cn)?,
            _ => {
                return Err(SamlError::Config(format!(
                    "only one of {} and {} exists; give both or neither (then both are generated)",
                    key_file.display(),
                    cert_file.display()
                )));
            }
        }
        let key = read_key(key_file)?;
        let pem = std::fs::read(cert_file).map_err(|e| io(cert_file, e))?;
        Self::of(key, &pem).map_err(|e| io(cert_file, e))
    }

    /// The key pair kept in the database, as PEM text.
    pub fn from_pem(key_pem: &str, cert_pem: &str) -> Result<Self, SamlError> {
        let stored = |e: &str| SamlError::Config(format!("the SP key pair in the database: {e}"));
        let key = PKey::private_key_from_pem(key_pem.as_bytes())
            .map_err(|_| stored("not a PEM private key"))?;
        Self::of(key, cert_pem.as_bytes()).map_err(stored)
    }

    fn of(key: PKey<Private>, cert_pem: &[u8]) -> Result<Self, &'static str> {
        let cert = X509::from_pem(cert_pem).map_err(|_| "not a PEM certificate")?;
        let cert_der = cert
            .to_der()
            .map_err(|_| "the certificate cannot be encoded")?;
        let key_der = Zeroizing::new(
            key.private_key_to_pkcs8()
                .map_err(|_| "the key cannot be encoded")?,
        );
        Ok(Self {
            key,
            key_der,
            cert: CertificateDer::from(cert_der),
        })
    }
}

/// A new SP key pair for the SP named `cn`, as PEM: the private key (PKCS#8) and the
/// self-signed certificate (ten years). RSA-3072 takes a few hundred milliseconds: call
/// it off the async threads.
pub fn generate_pem(cn: &str) -> Result<(Zeroizing<String>, String), SamlError> {
    let (key, cert) = generate_pair(cn)?;
    let err = |e: openssl::error::ErrorStack| SamlError::Config(format!("key generation: {e}"));
    let key_pem = key.private_key_to_pem_pkcs8().map_err(err)?;
    let key_pem = Zeroizing::new(
        String::from_utf8(key_pem)
            .map_err(|_| SamlError::Config("key generation: the PEM is not text".into()))?,
    );
    let cert_pem = String::from_utf8(cert.to_pem().map_err(err)?)
        .map_err(|_| SamlError::Config("key generation: the PEM is not text".into()))?;
    Ok((key_pem, cert_pem))
}

fn generate(key_file: &Path, cert_file: &Path, cn: &str) -> Result<(), SamlError> {
    let (key_pem, cert_pem) = generate_pem(cn)?;
    if let Some(dir) = key_file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    }
    if let Some(dir) = cert_file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    }
    write_private(key_file, key_pem.as_bytes())?;
    std::fs::write(cert_file, cert_pem).map_err(|e| io(cert_file, e))?;
    tracing::info!(key = %key_file.display(), cert = %cert_file.display(), "generated a SAML SP key pair");
    Ok(())
}

fn generate_pair(cn: &str) -> Result<(PKey<Private>, X509), SamlError> {
    let err = |e: openssl::error::ErrorStack| SamlError::Config(format!("key generation: {e}"));
    let rsa = Rsa::generate(3072).map_err(err)?;
    let key = PKey::from_rsa(rsa).map_err(err)?;
    let mut name = X509NameBuilder::new().map_err(err)?;
    let cn: String = cn.chars().take(64).collect();
    name.append_entry_by_text("CN", &cn).map_err(err)?;
    let name = name.build();
    let mut b = X509::builder().map_err(err)?;
    b.set_version(2).map_err(err)?;
    let mut serial = BigNum::new().map_err(err)?;
    serial
        .rand(128, MsbOption::MAYBE_ZERO, false)
        .map_err(err)?;
    let serial = serial.to_asn1_integer().map_err(err)?;
    b.set_serial_number(&serial).map_err(err)?;
    b.set_subject_name(&name).map_err(err)?;
    b.set_issuer_name(&name).map_err(err)?;
    b.set_pubkey(&key).map_err(err)?;
    let not_before = Asn1Time::days_from_now(0).map_err(err)?;
    let not_after = Asn1Time::days_from_now(3650).map_err(err)?;
    b.set_not_before(&not_before).map_err(err)?;
    b.set_not_after(&not_after).map_err(err)?;
    b.sign(&key, MessageDigest::sha256()).map_err(err)?;
    Ok((key, b.build()))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), SamlError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io(path, e))?;
    f.write_all(bytes).map_err(|e| io(path, e))
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), SamlError> {
    std::fs::write(path, bytes).map_err(|e| io(path, e))
}

/// PEM certificate text → DER.
pub fn pem_to_der(pem: &str) -> Result<CertificateDer, SamlError> {
    let cert = X509::from_pem(pem.as_bytes())
        .map_err(|_| SamlError::Config("a certificate is not valid PEM".into()))?;
    cert.to_der()
        .map(CertificateDer::from)
        .map_err(|_| SamlError::Config("a certificate cannot be encoded".into()))
}
