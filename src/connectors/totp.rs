//! Time-based one-time passwords (RFC 6238, HMAC-SHA1, 6 digits, 30-second steps — what
//! every authenticator app speaks) for local users: enrolment and code checks.
//!
//! A code is accepted for its own step and one step either side (clock skew). Checking
//! returns the step that matched, so the caller can record it and refuse the same code a
//! second time (RFC 6238 §5.2); see [`crate::signin`].
//!
//! May import: `secret`, `clock` (the `UnixTime` type).

use crate::clock::UnixTime;
use crate::secret::Secret;

/// Seconds per step.
pub const STEP_SECS: u64 = 30;
/// Steps accepted either side of the current one.
pub const SKEW_STEPS: u16 = 1;
/// Digits of a code.
pub const DIGITS: u8 = 6;

/// Why TOTP could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TotpError {
    /// The secret is not usable (not base32, too short).
    #[error("the TOTP secret is not usable: {0}")]
    BadSecret(String),
    /// The random generator failed.
    #[error("the system random number generator failed")]
    Random,
}

/// A user's TOTP verifier. Its secret never leaves it, and `Debug` does not show it.
pub struct Totp(totp_rs::Totp);

impl std::fmt::Debug for Totp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Totp([redacted])")
    }
}

fn build(secret: Vec<u8>, account: &str, issuer: &str) -> Result<Totp, TotpError> {
    totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_skew(SKEW_STEPS)
        .with_step_duration(STEP_SECS)
        .with_secret(secret)
        .with_account_name(account.replace(':', "_"))
        .with_issuer(Some(issuer.replace(':', "_")))
        .build()
        .map(Totp)
        .map_err(|e| TotpError::BadSecret(e.to_string()))
}

impl Totp {
    /// A verifier for a base32 secret (as in the config).
    pub fn from_base32(secret: &Secret) -> Result<Self, TotpError> {
        let bytes = totp_rs::Secret::try_from_base32(secret.expose_secret())
            .map_err(|_| TotpError::BadSecret("not base32".into()))?;
        build(bytes.as_bytes().to_vec(), "user", "Lanyard")
    }

    /// The step a code belongs to, if it is right for `now` (± one step); `None` for a
    /// wrong or malformed code.
    pub fn check(&self, code: &str, now: UnixTime) -> Option<u64> {
        let code = code.trim();
        if code.len() != usize::from(DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now = u64::try_from(now.secs()).ok()?;
        self.0.check(code, now)
    }

    /// The code for a moment (for tests and for showing a check code at enrolment).
    pub fn code_at(&self, time: UnixTime) -> String {
        self.0
            .generate(u64::try_from(time.secs()).unwrap_or(0))
            .to_string()
    }
}

/// A new enrolment: the secret to store and the `otpauth://` URI to scan.
pub struct Enrolment {
    /// Base32 secret (for `totp_secret` / `totp_secret_file`).
    pub secret: Secret,
    /// `otpauth://totp/Issuer:account?secret=…&issuer=…` (holds the secret).
    pub uri: Secret,
}

/// Creates a fresh 160-bit secret (RFC 4226 §4 recommends 160 bits) for `account`.
pub fn enroll(account: &str, issuer: &str) -> Result<Enrolment, TotpError> {
    let mut bytes = zeroize::Zeroizing::new(vec![0u8; 20]);
    aws_lc_rs::rand::fill(bytes.as_mut_slice()).map_err(|_| TotpError::Random)?;
    let totp = build(bytes.to_vec(), account, issuer)?;
    let uri = totp
        .0
        .to_url()
        .map_err(|e| TotpError::BadSecret(e.to_string()))?;
    Ok(Enrolment {
        secret: Secret::new(totp.0.secret().to_base32()),
        uri: Secret::new(uri),
    })
}

/// A QR code of `text` for a terminal, two rows of modules per line of text.
pub fn terminal_qr(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::unicode::Dense1x2>()
            .dark_color(qrcode::render::unicode::Dense1x2::Light)
            .light_color(qrcode::render::unicode::Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    // RFC 6238 Appendix B, SHA-1 seed "12345678901234567890" (8-digit vectors, last 6 digits).
    const RFC_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn rfc6238_vectors() {
        let t = Totp::from_base32(&Secret::new(RFC_SECRET)).unwrap();
        assert_eq!(t.code_at(UnixTime::from_secs(59)), "287082");
        assert_eq!(t.code_at(UnixTime::from_secs(1_111_111_109)), "081804");
        assert_eq!(t.code_at(UnixTime::from_secs(1_234_567_890)), "005924");
        assert_eq!(t.code_at(UnixTime::from_secs(2_000_000_000)), "279037");
    }

    #[test]
    fn one_step_of_skew_either_side() {
        let t = Totp::from_base32(&Secret::new(RFC_SECRET)).unwrap();
        let now = UnixTime::from_secs(1_800_000_000);
        let step = (now.secs() / 30) as u64;
        let (one, two) = (Duration::from_secs(30), Duration::from_secs(60));
        assert_eq!(t.check(&t.code_at(now), now), Some(step));
        assert_eq!(t.check(&t.code_at(now - one), now), Some(step - 1));
        assert_eq!(t.check(&t.code_at(now + one), now), Some(step + 1));
        assert_eq!(t.check(&t.code_at(now - two), now), None);
        assert_eq!(t.check(&t.code_at(now + two), now), None);
        assert_eq!(t.check("12345", now), None);
        assert_eq!(t.check("+12345", now), None);
        assert_eq!(t.check("", now), None);
    }

    #[test]
    fn enrolment_gives_a_scannable_uri() {
        let e = enroll("alice", "Lanyard corp").unwrap();
        let uri = e.uri.expose_secret();
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(uri.contains(&format!("secret={}", e.secret.expose_secret())));
        assert_eq!(e.secret.expose_secret().len(), 32);
        assert!(terminal_qr(uri).is_some_and(|q| q.lines().count() > 10));
        let t = Totp::from_base32(&e.secret).unwrap();
        let at = UnixTime::from_secs(1000);
        assert!(t.check(&t.code_at(at), at).is_some());
        assert_eq!(format!("{t:?}"), "Totp([redacted])");
    }
}
