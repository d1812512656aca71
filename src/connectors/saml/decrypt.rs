//! `EncryptedAssertion` (saml-core §2.3.4) decryption with the SP key: XML Encryption 1.0/1.1
//! key transport RSA-OAEP (`rsa-oaep-mgf1p`, and `xmlenc11#rsa-oaep` with SHA-1 MGF1), then
//! AES-CBC (ISO 10126 padding, XML Encryption §5.2), AES-GCM or 3DES-CBC for the content.
//! RSA PKCS#1 v1.5 key transport is refused (Bleichenbacher-style oracles).
//!
//! Done with OpenSSL, the library samael itself uses for decryption; samael's own
//! `EncryptedAssertion::decrypt` is not used because it knows only AES-128 and can panic on a
//! short ciphertext.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Padding;
use openssl::symm::{Cipher, Crypter, Mode};
use roxmltree::Node;

use super::SamlError;
use super::canonical::{at_most_one, attribute, exactly_one, whole_text};
use super::xml::{DSIG, XENC};

const XENC11: &str = "http://www.w3.org/2009/xmlenc11#";

fn cipher_value(node: &Node<'_, '_>) -> Result<Vec<u8>, SamlError> {
    let data = exactly_one(node, XENC, "CipherData")?;
    let value = exactly_one(&data, XENC, "CipherValue")?;
    let text: String = whole_text(&value, "CipherValue")?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD
        .decode(text)
        .map_err(|_| SamlError::Decrypt("a CipherValue is not base64".into()))
}

fn algorithm<'a>(node: &Node<'a, '_>) -> Result<&'a str, SamlError> {
    let m = exactly_one(node, XENC, "EncryptionMethod")?;
    attribute(&m, "Algorithm")?
        .ok_or_else(|| SamlError::Decrypt("EncryptionMethod has no Algorithm".into()))
}

/// Decrypts the assertion inside an `EncryptedAssertion` element; returns its XML text.
pub fn decrypt_assertion(
    encrypted: Node<'_, '_>,
    key: &PKey<Private>,
) -> Result<String, SamlError> {
    let data = super::validate::encrypted_data(&encrypted)?;
    let content_alg = algorithm(&data)?;
    // The EncryptedKey sits in EncryptedData/KeyInfo or next to EncryptedData.
    let key_node = match at_most_one(&data, DSIG, "KeyInfo")?
        .map(|ki| at_most_one(&ki, XENC, "EncryptedKey"))
        .transpose()?
        .flatten()
    {
        Some(k) => k,
        None => exactly_one(&encrypted, XENC, "EncryptedKey")?,
    };
    let key_alg = algorithm(&key_node)?;
    match key_alg {
        "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p" => {}
        a if a == format!("{XENC11}rsa-oaep") => {
            let method = exactly_one(&key_node, XENC, "EncryptionMethod")?;
            if let Some(mgf) = at_most_one(&method, XENC11, "MGF")?
                && attribute(&mgf, "Algorithm")? != Some("http://www.w3.org/2009/xmlenc11#mgf1sha1")
            {
                return Err(SamlError::Decrypt(
                    "only MGF1 with SHA-1 is supported".into(),
                ));
            }
        }
        other => {
            return Err(SamlError::Decrypt(format!(
                "key transport {other} is not accepted (use RSA-OAEP)"
            )));
        }
    }
    let wrapped = cipher_value(&key_node)?;
    let rsa = key
        .rsa()
        .map_err(|_| SamlError::Decrypt("the SP decryption key is not RSA".into()))?;
    let mut cek = zeroize::Zeroizing::new(vec![0u8; rsa.size() as usize]);
    let n = rsa
        .private_decrypt(&wrapped, &mut cek, Padding::PKCS1_OAEP)
        .map_err(|_| SamlError::Decrypt("the content key could not be unwrapped".into()))?;
    cek.truncate(n);
    let body = cipher_value(&data)?;
    let plain = decrypt_content(content_alg, &cek, &body)?;
    String::from_utf8(plain).map_err(|_| SamlError::Decrypt("the plaintext is not UTF-8".into()))
}

fn decrypt_content(alg: &str, key: &[u8], body: &[u8]) -> Result<Vec<u8>, SamlError> {
    let (cipher, gcm) = match alg {
        "http://www.w3.org/2001/04/xmlenc#aes128-cbc" => (Cipher::aes_128_cbc(), false),
        "http://www.w3.org/2001/04/xmlenc#aes192-cbc" => (Cipher::aes_192_cbc(), false),
        "http://www.w3.org/2001/04/xmlenc#aes256-cbc" => (Cipher::aes_256_cbc(), false),
        "http://www.w3.org/2001/04/xmlenc#tripledes-cbc" => (Cipher::des_ede3_cbc(), false),
        "http://www.w3.org/2009/xmlenc11#aes128-gcm" => (Cipher::aes_128_gcm(), true),
        "http://www.w3.org/2009/xmlenc11#aes256-gcm" => (Cipher::aes_256_gcm(), true),
        other => {
            return Err(SamlError::Decrypt(format!(
                "content encryption {other} is not supported"
            )));
        }
    };
    if key.len() != cipher.key_len() {
        return Err(SamlError::Decrypt(
            "the content key has the wrong length".into(),
        ));
    }
    let iv_len = if gcm {
        12
    } else {
        cipher.iv_len().unwrap_or(16)
    };
    let tag_len = if gcm { 16 } else { 0 };
    if body.len() < iv_len + tag_len + 1 {
        return Err(SamlError::Decrypt("the ciphertext is too short".into()));
    }
    let (iv, rest) = body.split_at(iv_len);
    let (ct, tag) = rest.split_at(rest.len() - tag_len);
    let fail = |_| SamlError::Decrypt("the assertion could not be decrypted".into());
    let mut c = Crypter::new(cipher, Mode::Decrypt, key, Some(iv)).map_err(fail)?;
    c.pad(false);
    if gcm {
        c.set_tag(tag).map_err(fail)?;
    }
    let mut out = vec![0u8; ct.len() + cipher.block_size()];
    let mut n = c.update(ct, &mut out).map_err(fail)?;
    n += c.finalize(&mut out[n..]).map_err(fail)?;
    out.truncate(n);
    if !gcm {
        // ISO 10126: the last byte says how many padding bytes to drop.
        let pad = usize::from(*out.last().unwrap_or(&0));
        if pad == 0 || pad > cipher.block_size() || pad > out.len() {
            return Err(SamlError::Decrypt("bad padding".into()));
        }
        out.truncate(out.len() - pad);
    }
    Ok(out)
}
