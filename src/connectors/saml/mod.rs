//! Upstream SAML 2.0 identity providers (ADFS, Okta, Entra ID, Shibboleth): Lanyard as a
//! Service Provider, one per configured provider (saml-core, saml-bindings, saml-profiles
//! Web Browser SSO §4.1).
//!
//! - [`SamlConnector::authn_request`] builds an AuthnRequest for the HTTP-Redirect binding
//!   (saml-bindings §3.4), signed with the SP key when configured;
//! - [`SamlConnector::verify`] validates what arrives at the ACS by the HTTP-POST binding
//!   ([`validate`]); the caller then checks InResponseTo and replay with the session store;
//! - [`SamlConnector::identity`] maps a [`VerifiedAssertion`] to an [`ExternalIdentity`];
//! - [`SamlConnector::sp_metadata`] is the signed SP metadata.
//!
//! The IdP comes from a metadata file, from a metadata URL (fetched with a timeout, cached,
//! refreshed on a schedule, and kept when a refresh fails), or from explicit settings.
//!
//! Signatures are verified by libxmlsec1 through samael. May import: `identity`,
//! `session` (its pending requests and replay cache are its own keyspace records), `clock`
//! (the `UnixTime` type).

mod canonical;
mod decrypt;
mod flow;
mod keys;
pub mod metadata;
pub mod unverified;
pub mod validate;
pub(crate) mod xml;

/// Runs `f` while no other thread uses libxmlsec1 (through samael) in this process.
///
/// libxmlsec1 and its OpenSSL backend keep process-wide state (the initialised crypto
/// engine, the transforms' registry, OpenSSL's error queue as xmlsec reads it). Concurrent
/// signing and verification from several threads was seen to produce, rarely, a signature
/// that verified as absent. SAML operations take a few hundred microseconds and come at
/// sign-in rate, so Lanyard runs them one at a time. Everything in the process that calls
/// samael's xmlsec functions — Lanyard's validator and metadata signer, and tests that sign
/// responses — goes through this, and so does every parse of a SAML document (libxml2 is
/// what libxmlsec1 works on, and libxmlsec1's set-up changes libxml2's process-wide
/// settings).
pub fn with_xmlsec<T>(f: impl FnOnce() -> T) -> T {
    static XMLSEC: std::sync::Mutex<()> = std::sync::Mutex::new(());
    init_libxml();
    let _guard = XMLSEC
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    f()
}

/// Initialises libxml2 once per process, before any other use of it.
///
/// libxml2 (2.9, Debian 12's) sets up its process-wide state (its mutexes, the string
/// dictionary, the encoding handlers) on first use, and that set-up must not run in two
/// threads at once: "call xmlInitParser once before using the library from several
/// threads". Neither the `libxml` crate nor samael does so before their first parse, and
/// Lanyard parses SAML documents on any runtime thread, so sign-ins that arrive together
/// just after a start could run that set-up twice at once. The first parse in the process
/// is therefore made here, once, while every other caller waits for it to finish
/// ([`with_xmlsec`] calls it).
fn init_libxml() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let _ = libxml::parser::Parser::default().parse_string("<lanyard/>");
    });
}

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::write::DeflateEncoder;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use samael::crypto::CertificateDer;

use crate::clock::UnixTime;
use crate::connectors::settings::{IdpSource, SamlSettings, SpKeySource};
use crate::identity::{ClaimValue, ExternalIdentity, ProviderId, ProviderKind, SamlEvidence};

pub use flow::{AcceptError, Accepted, Presenter};
pub use keys::{SpKeys, generate_pem};
pub use metadata::IdpTrust;
pub use validate::{SamlAttribute, VerifiedAssertion};

/// How long a metadata fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest metadata document accepted.
pub const MAX_METADATA_BYTES: usize = 1024 * 1024;
/// After a failed refresh, try again this soon (capped by the configured interval).
const RETRY_AFTER: Duration = Duration::from_secs(60);

/// Why a SAML sign-in or set-up failed. Messages carry no secrets and no assertion
/// content beyond names and timestamps: they are safe to log.
#[derive(Debug, thiserror::Error)]
pub enum SamlError {
    /// The body is larger than accepted.
    #[error("the SAML response is too large")]
    TooLarge,
    /// Not valid base64.
    #[error("the SAMLResponse is not base64")]
    Base64,
    /// DOCTYPE or entity declarations.
    #[error("the XML carries a DOCTYPE or entity declaration, which SAML never needs")]
    Dtd,
    /// Structurally wrong.
    #[error("malformed SAML: {0}")]
    Malformed(String),
    /// A value Lanyard reads (NameID, Issuer, Audience, AuthnContextClassRef,
    /// AttributeValue) holds a comment, a processing instruction or markup besides its
    /// text: the comment-injection trick (`alice@example.com<!---->.evil.com`), refused
    /// whether or not the signature covers it.
    #[error("the {0} holds a comment or markup inside its text (comment injection)")]
    SplitText(&'static str),
    /// Not exactly one assertion.
    #[error("the response must carry exactly one assertion directly under Response, found {0}")]
    AssertionCount(usize),
    /// No signature anywhere.
    #[error("neither the response nor the assertion is signed")]
    Unsigned,
    /// The assertion itself must be signed.
    #[error("the assertion is not signed (want_assertions_signed)")]
    AssertionUnsigned,
    /// A signature references another element or sits in the wrong place.
    #[error("signature placement: {0}")]
    SignatureReference(String),
    /// A signature names an algorithm or transform outside the pinned set: a signature or
    /// digest method other than SHA-2 RSA/ECDSA, a canonicalization with comments, or a
    /// transform other than enveloped-signature plus one canonicalization (an XPath or XSLT
    /// transform could make the signature cover less than its element).
    #[error("signature algorithm or transform not accepted: {0}")]
    SignatureAlgorithm(String),
    /// xmlsec did not verify a signature with any trusted certificate.
    #[error("the signature does not verify with the IdP's certificates")]
    BadSignature,
    /// Status is not Success.
    #[error("the IdP answered with status {0}")]
    Status(String),
    /// Wrong `Destination`.
    #[error("the Destination {0:?} is not this ACS")]
    Destination(String),
    /// Wrong `Recipient`.
    #[error("the SubjectConfirmationData Recipient {0:?} is not this ACS")]
    Recipient(String),
    /// Wrong `Audience`.
    #[error("the Audience ({0}) is not this SP")]
    Audience(String),
    /// Wrong `Issuer`.
    #[error("the Issuer {0:?} is not the configured IdP")]
    Issuer(String),
    /// Past `NotOnOrAfter`.
    #[error("the assertion expired at {0}")]
    Expired(String),
    /// Before `NotBefore`.
    #[error("the assertion is not valid before {0}")]
    NotYetValid(String),
    /// InResponseTo problems.
    #[error("InResponseTo: {0}")]
    InResponseTo(String),
    /// The response answers a request started in another browser (login CSRF).
    #[error("the response answers a sign-in started in another browser")]
    OtherBrowser,
    /// IdP-initiated sign-in while not allowed.
    #[error("unsolicited (IdP-initiated) responses are not accepted by this provider")]
    Unsolicited,
    /// The assertion ID was seen before.
    #[error("the assertion was already used (replay)")]
    Replay,
    /// Decryption failed.
    #[error("encrypted assertion: {0}")]
    Decrypt(String),
    /// Metadata could not be read.
    #[error("IdP metadata: {0}")]
    Metadata(String),
    /// The IdP is not known yet (metadata not loaded).
    #[error("the IdP's metadata has not been loaded yet")]
    NotReady,
    /// Set-up problem (keys, certificates).
    #[error("{0}")]
    Config(String),
}

/// Whether a provider's IdP is known, for the sign-in page and `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdpState {
    /// Its metadata is loaded (a failed refresh since then keeps this copy).
    Ready,
    /// The first fetch of its metadata URL has not finished yet.
    Loading,
    /// Its metadata could not be loaded; the reason names no URL and no secret. Lanyard
    /// retries within a minute.
    Failed(String),
}

impl std::fmt::Display for IdpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdpState::Ready => f.write_str("its metadata is loaded"),
            IdpState::Loading => f.write_str("its metadata has not been loaded yet"),
            IdpState::Failed(reason) => {
                write!(f, "its metadata could not be loaded ({reason})")
            }
        }
    }
}

/// One SAML provider.
pub struct SamlConnector {
    id: ProviderId,
    settings: Arc<SamlSettings>,
    keys: SpKeys,
    decryption_key: PKey<Private>,
    idp: Arc<RwLock<Option<Arc<IdpTrust>>>>,
    /// Why the last metadata fetch failed, while no copy is loaded.
    last_failure: Arc<RwLock<Option<String>>>,
    /// When the IdP's metadata (its signing certificates) was last read or fetched.
    loaded_at: Arc<RwLock<Option<std::time::Instant>>>,
}

impl std::fmt::Debug for SamlConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SamlConnector")
            .field("id", &self.id)
            .field("sp_entity_id", &self.settings.sp_entity_id)
            .finish_non_exhaustive()
    }
}

/// The common name of the SP's certificate towards the provider `id`.
pub fn sp_common_name(id: &ProviderId) -> String {
    format!("lanyard-{id}")
}

impl SamlConnector {
    /// Sets up the SP (keys generated when absent) and the IdP (metadata file or explicit
    /// now; a metadata URL is fetched by [`SamlConnector::spawn_refresh`]).
    /// Metadata fetches are timed by `timer`.
    pub fn new(
        id: ProviderId,
        settings: &SamlSettings,
        timer: super::CallTimer,
    ) -> Result<Self, SamlError> {
        let keys = match &settings.sp_keys {
            SpKeySource::Files { key, cert } => {
                SpKeys::load_or_generate(key, cert, &sp_common_name(&id))?
            }
            SpKeySource::Stored { key_pem, cert_pem } => {
                SpKeys::from_pem(key_pem.expose_secret(), cert_pem)?
            }
        };
        let decryption_key = match &settings.encryption_key_file {
            Some(f) => keys::read_key(f)?,
            None => keys.key.clone(),
        };
        let idp = match &settings.idp {
            IdpSource::MetadataFile(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    SamlError::Metadata(format!("cannot read {}: {e}", path.display()))
                })?;
                Some(Arc::new(metadata::parse_idp_metadata(&text)?))
            }
            IdpSource::Explicit {
                entity_id,
                sso_url,
                certificates,
            } => Some(Arc::new(IdpTrust {
                entity_id: entity_id.clone(),
                sso_url: sso_url.clone(),
                certificates: certificates
                    .iter()
                    .map(|c| keys::pem_to_der(c))
                    .collect::<Result<_, _>>()?,
            })),
            IdpSource::MetadataUrl { .. } => None,
        };
        let loaded_at = idp.as_ref().map(|_| std::time::Instant::now());
        let connector = Self {
            id,
            settings: Arc::new(settings.clone()),
            keys,
            decryption_key,
            idp: Arc::new(RwLock::new(idp)),
            last_failure: Arc::new(RwLock::new(None)),
            loaded_at: Arc::new(RwLock::new(loaded_at)),
        };
        connector.spawn_refresh(timer);
        Ok(connector)
    }

    /// The provider id.
    pub fn id(&self) -> &ProviderId {
        &self.id
    }

    /// Lanyard's SP entity id for this provider (the `Audience` of its assertions).
    pub fn entity_id(&self) -> &str {
        &self.settings.sp_entity_id
    }

    /// The settings.
    pub fn settings(&self) -> &SamlSettings {
        &self.settings
    }

    /// The IdP as currently known.
    pub fn idp(&self) -> Result<Arc<IdpTrust>, SamlError> {
        self.idp
            .read()
            .ok()
            .and_then(|g| g.clone())
            .ok_or(SamlError::NotReady)
    }

    /// When the first of the IdP's signing certificates expires, while its metadata is
    /// loaded; certificates that cannot be read are left out.
    pub fn certificate_expiry(&self) -> Option<UnixTime> {
        let idp = self.idp().ok()?;
        idp.certificates
            .iter()
            .filter_map(|c| super::certificate_not_after(c.der_data()))
            .min()
    }

    /// How long ago the IdP's metadata was last read or fetched, while it is loaded.
    pub fn metadata_age(&self) -> Option<std::time::Duration> {
        self.idp().ok()?;
        let at = (*self.loaded_at.read().ok()?)?;
        Some(at.elapsed())
    }

    /// Whether the IdP is known, and if not, why.
    pub fn idp_state(&self) -> IdpState {
        if self.idp().is_ok() {
            return IdpState::Ready;
        }
        match self.last_failure.read().ok().and_then(|g| g.clone()) {
            Some(reason) => IdpState::Failed(reason),
            None => IdpState::Loading,
        }
    }

    /// For a metadata URL: fetches it now (inside a Tokio runtime) and then on schedule,
    /// keeping the last good copy when a fetch fails.
    fn spawn_refresh(&self, timer: super::CallTimer) {
        let IdpSource::MetadataUrl { url, refresh } = &self.settings.idp else {
            return;
        };
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(provider = %self.id, "no runtime: IdP metadata will not be fetched");
            return;
        };
        let url = url.clone();
        let refresh = *refresh;
        let slot = Arc::downgrade(&self.idp);
        let failure = Arc::downgrade(&self.last_failure);
        let loaded_at = Arc::downgrade(&self.loaded_at);
        let id = self.id.clone();
        handle.spawn(async move {
            let client = match reqwest::Client::builder().timeout(FETCH_TIMEOUT).build() {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(provider = %id, error = %e, "cannot build an HTTP client");
                    return;
                }
            };
            loop {
                let (Some(slot), Some(failure)) = (slot.upgrade(), failure.upgrade()) else {
                    return;
                };
                let fetched = timer.time("metadata", fetch_metadata(&client, &url)).await;
                let wait = match fetched {
                    Ok(trust) => {
                        tracing::info!(provider = %id, idp = %trust.entity_id, certificates = trust.certificates.len(), "IdP metadata loaded");
                        if let Ok(mut g) = slot.write() {
                            *g = Some(Arc::new(trust));
                        }
                        if let Ok(mut g) = failure.write() {
                            *g = None;
                        }
                        if let Some(at) = loaded_at.upgrade()
                            && let Ok(mut g) = at.write()
                        {
                            *g = Some(std::time::Instant::now());
                        }
                        refresh
                    }
                    Err(e) => {
                        let kept = slot.read().map(|g| g.is_some()).unwrap_or(false);
                        tracing::warn!(provider = %id, url = %url, error = %e, kept_previous = kept, "IdP metadata refresh failed");
                        if let Ok(mut g) = failure.write() {
                            *g = Some(e.to_string());
                        }
                        refresh.min(RETRY_AFTER)
                    }
                };
                drop((slot, failure));
                tokio::time::sleep(wait).await;
            }
        });
    }

    /// Builds an AuthnRequest (saml-core §3.4.1) and the HTTP-Redirect URL that carries it.
    /// Returns the request ID (to store) and the URL.
    pub fn authn_request(
        &self,
        now: UnixTime,
        relay_state: Option<&str>,
    ) -> Result<(String, String), SamlError> {
        self.authn_request_for(now, relay_state, false)
    }

    /// The AuthnRequest of a step-up (issue 17): [`SamlConnector::authn_request`] with
    /// `ForceAuthn="true"` (saml-core §3.4.1: the IdP must authenticate the person afresh)
    /// and a `RequestedAuthnContext` of the provider's MFA class refs
    /// (`mfa_authn_contexts`; its configured `requested_authn_context` when it has none).
    pub fn step_up_request(&self, now: UnixTime) -> Result<(String, String), SamlError> {
        self.authn_request_for(now, None, true)
    }

    fn authn_request_for(
        &self,
        now: UnixTime,
        relay_state: Option<&str>,
        step_up: bool,
    ) -> Result<(String, String), SamlError> {
        let idp = self.idp()?;
        let s = &self.settings;
        let id = format!("_{}", uuid::Uuid::new_v4().simple());
        let mut xml = format!(
            "<samlp:AuthnRequest xmlns:samlp=\"{p}\" xmlns:saml=\"{a}\" ID=\"{id}\" Version=\"2.0\" \
             IssueInstant=\"{t}\" Destination=\"{d}\" AssertionConsumerServiceURL=\"{acs}\" \
             ProtocolBinding=\"{b}\"{force}><saml:Issuer>{issuer}</saml:Issuer>",
            p = xml::PROTOCOL,
            a = xml::ASSERTION,
            t = xml::format_time(now),
            d = xml::escape(idp.sso_url.as_str()),
            acs = xml::escape(&s.acs_url),
            b = metadata::POST_BINDING,
            force = if s.force_authn || step_up {
                " ForceAuthn=\"true\""
            } else {
                ""
            },
            issuer = xml::escape(&s.sp_entity_id),
        );
        xml.push_str(&format!(
            "<samlp:NameIDPolicy Format=\"{}\" AllowCreate=\"true\"/>",
            xml::escape(&s.name_id_format)
        ));
        let contexts = match &s.mfa_authn_contexts {
            mfa if step_up && !mfa.is_empty() => mfa,
            _ => &s.requested_authn_context,
        };
        if !contexts.is_empty() {
            xml.push_str("<samlp:RequestedAuthnContext Comparison=\"exact\">");
            for c in contexts {
                xml.push_str(&format!(
                    "<saml:AuthnContextClassRef>{}</saml:AuthnContextClassRef>",
                    xml::escape(c)
                ));
            }
            xml.push_str("</samlp:RequestedAuthnContext>");
        }
        xml.push_str("</samlp:AuthnRequest>");
        let mut enc = DeflateEncoder::new(Vec::new(), Compression::default());
        enc.write_all(xml.as_bytes())
            .and_then(|()| enc.finish())
            .map(|deflated| {
                let mut query = format!("SAMLRequest={}", urlencode(&STANDARD.encode(deflated)));
                if let Some(rs) = relay_state {
                    query.push_str(&format!("&RelayState={}", urlencode(rs)));
                }
                query
            })
            .map_err(|e| SamlError::Config(format!("deflate: {e}")))
            .and_then(|mut query| {
                if s.sign_authn_requests {
                    // saml-bindings §3.4.4.1: sign "SAMLRequest=…&RelayState=…&SigAlg=…".
                    query.push_str(&format!(
                        "&SigAlg={}",
                        urlencode("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
                    ));
                    let mut signer = Signer::new(MessageDigest::sha256(), &self.keys.key)
                        .map_err(|e| SamlError::Config(format!("signer: {e}")))?;
                    signer
                        .update(query.as_bytes())
                        .map_err(|e| SamlError::Config(format!("signer: {e}")))?;
                    let sig = signer
                        .sign_to_vec()
                        .map_err(|e| SamlError::Config(format!("signer: {e}")))?;
                    query.push_str(&format!("&Signature={}", urlencode(&STANDARD.encode(sig))));
                }
                let mut url = idp.sso_url.to_string();
                url.push(if idp.sso_url.query().is_some() {
                    '&'
                } else {
                    '?'
                });
                url.push_str(&query);
                Ok((id, url))
            })
    }

    /// Validates a base64 `SAMLResponse` (signature, structure, conditions). InResponseTo
    /// and replay are the caller's: they need the store.
    pub fn verify(
        &self,
        saml_response: &str,
        now: UnixTime,
    ) -> Result<VerifiedAssertion, SamlError> {
        if saml_response.len() > validate::MAX_RESPONSE_BYTES * 4 / 3 + 4096 {
            return Err(SamlError::TooLarge);
        }
        let cleaned: String = saml_response
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let bytes = STANDARD.decode(cleaned).map_err(|_| SamlError::Base64)?;
        self.verify_xml(&bytes, now)
    }

    /// Validates a decoded response.
    pub fn verify_xml(&self, xml: &[u8], now: UnixTime) -> Result<VerifiedAssertion, SamlError> {
        let idp = self.idp()?;
        self.verify_xml_with(xml, now, &idp.entity_id, &idp.certificates)
    }

    /// [`SamlConnector::verify_xml`] against the signing certificates `certificates`.
    fn verify_xml_with(
        &self,
        xml: &[u8],
        now: UnixTime,
        idp_entity_id: &str,
        certificates: &[CertificateDer],
    ) -> Result<VerifiedAssertion, SamlError> {
        let s = &self.settings;
        let verified = validate::verify_response(
            xml,
            &validate::Expectations {
                idp_entity_id,
                idp_certificates: certificates,
                sp_entity_id: &s.sp_entity_id,
                acs_url: &s.acs_url,
                want_assertions_signed: s.want_assertions_signed,
                clock_skew: s.clock_skew,
                now,
                decryption_key: Some(&self.decryption_key),
            },
        )?;
        if verified.in_response_to().is_none() && !s.allow_idp_initiated {
            return Err(SamlError::Unsolicited);
        }
        Ok(verified)
    }

    /// What `verified` (the assertion of `saml_response`) said, for an admin's test
    /// sign-in, with the certificate that signed it: found by verifying the response again
    /// against each of the IdP's certificates alone (samael reports only that one of them
    /// verified), so a test sign-in costs one verification per certificate more.
    pub fn evidence(
        &self,
        verified: &VerifiedAssertion,
        saml_response: &str,
        now: UnixTime,
    ) -> SamlEvidence {
        let signer = self.idp().ok().and_then(|idp| {
            let cleaned: String = saml_response
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            let xml = STANDARD.decode(cleaned).ok()?;
            idp.certificates.iter().find_map(|cert| {
                self.verify_xml_with(&xml, now, &idp.entity_id, std::slice::from_ref(cert))
                    .ok()
                    .and_then(|_| super::certificate_facts(cert.der_data()))
            })
        });
        SamlEvidence {
            name_id: verified.name_id().to_owned(),
            name_id_format: verified.name_id_format().map(str::to_owned),
            authn_context: verified.authn_context().map(str::to_owned),
            authn_instant: verified.authn_instant(),
            valid_until: verified.valid_until(),
            response_signed: verified.response_signed(),
            assertion_signed: verified.assertion_signed(),
            encrypted: verified.encrypted(),
            attributes: verified
                .attributes()
                .iter()
                .map(|a| (a.name.clone(), a.friendly_name.clone(), a.values.clone()))
                .collect(),
            signer,
        }
    }

    /// The identity a verified assertion describes.
    pub fn identity(&self, a: &VerifiedAssertion, now: UnixTime) -> ExternalIdentity {
        self.identity_from(
            (a.name_id(), a.authn_context(), a.authn_instant()),
            a.attributes(),
            now,
        )
    }

    /// The identity this provider would make of an assertion nobody verified (the trust
    /// simulator's pasted SAML response), by the mapping of [`SamlConnector::identity`].
    pub fn identity_of_unverified(
        &self,
        a: &unverified::UnverifiedAssertion,
        now: UnixTime,
    ) -> ExternalIdentity {
        self.identity_from(
            (&a.name_id, a.authn_context.as_deref(), a.authn_instant),
            &a.attributes,
            now,
        )
    }

    /// The identity of a NameID, AuthnContextClassRef and AuthnInstant with `attributes`,
    /// mapped by this provider's `[providers.attributes]`.
    fn identity_from(
        &self,
        (name_id, authn_context, authn_instant): (&str, Option<&str>, Option<UnixTime>),
        attributes: &[SamlAttribute],
        now: UnixTime,
    ) -> ExternalIdentity {
        let map = &self.settings.attributes;
        let find = |names: &[String]| -> Vec<String> {
            for n in names {
                if let Some(attr) = attributes
                    .iter()
                    .find(|x| &x.name == n || x.friendly_name.as_deref() == Some(n.as_str()))
                    && !attr.values.is_empty()
                {
                    return attr.values.clone();
                }
            }
            Vec::new()
        };
        let first = |names: &[String]| find(names).into_iter().next();
        let username = first(&map.username).unwrap_or_else(|| name_id.to_owned());
        let email = first(&map.email);
        let mut groups = find(&map.groups);
        groups.sort();
        groups.dedup();
        let mfa =
            authn_context.is_some_and(|c| self.settings.mfa_authn_contexts.iter().any(|m| m == c));
        let mut claims = BTreeMap::new();
        for attr in attributes {
            let value = match attr.values.as_slice() {
                [one] => ClaimValue::One(one.clone()),
                many => ClaimValue::Many(many.to_vec()),
            };
            if let Some(f) = &attr.friendly_name {
                claims.insert(f.clone(), value.clone());
            }
            claims.insert(attr.name.clone(), value);
        }
        claims.insert("NameID".to_owned(), ClaimValue::One(name_id.to_owned()));
        if let Some(c) = authn_context {
            claims.insert(
                "AuthnContextClassRef".to_owned(),
                ClaimValue::One(c.to_owned()),
            );
        }
        let mut tags = BTreeMap::new();
        for (tag, attr_name) in &self.settings.principal_tags {
            if let Some(v) = first(std::slice::from_ref(attr_name)) {
                tags.insert(tag.clone(), v);
            }
        }
        ExternalIdentity {
            provider: self.id.clone(),
            provider_kind: ProviderKind::Saml,
            subject: name_id.to_owned(),
            username,
            email,
            email_verified: false,
            display_name: first(&map.display_name),
            groups,
            amr: if mfa {
                vec!["mfa".to_owned()]
            } else {
                vec!["pwd".to_owned()]
            },
            mfa,
            auth_time: authn_instant.unwrap_or(now),
            tags,
            claims,
        }
    }

    /// Lanyard's signed SP metadata for this provider.
    pub fn sp_metadata(&self, now: UnixTime) -> Result<String, SamlError> {
        let s = &self.settings;
        metadata::sp_metadata(
            &metadata::SpDescription {
                entity_id: &s.sp_entity_id,
                acs_url: &s.acs_url,
                authn_requests_signed: s.sign_authn_requests,
                want_assertions_signed: s.want_assertions_signed,
                name_id_format: &s.name_id_format,
                valid_until: s.metadata_valid_for.map(|d| now + d),
            },
            &self.keys,
        )
    }
}

async fn fetch_metadata(client: &reqwest::Client, url: &url::Url) -> Result<IdpTrust, SamlError> {
    let r = client
        .get(url.as_str())
        .send()
        .await
        .map_err(|e| SamlError::Metadata(format!("fetch failed: {}", error_chain(&e))))?;
    if !r.status().is_success() {
        return Err(SamlError::Metadata(format!("HTTP {}", r.status())));
    }
    let body = r
        .bytes()
        .await
        .map_err(|e| SamlError::Metadata(format!("read failed: {}", error_chain(&e))))?;
    if body.len() > MAX_METADATA_BYTES {
        return Err(SamlError::Metadata("the document is too large".into()));
    }
    let text = std::str::from_utf8(&body)
        .map_err(|_| SamlError::Metadata("the document is not UTF-8".into()))?;
    metadata::parse_idp_metadata(text)
}

/// A fetch error with its causes ("error sending request: ...: Connection refused"), without
/// the URL (the log names it; `/readyz` and the page do not need it).
fn error_chain(e: &reqwest::Error) -> String {
    let mut out = if e.is_timeout() {
        "timed out".to_owned()
    } else {
        let mut s = String::new();
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            if !s.is_empty() {
                s.push_str(": ");
            }
            s.push_str(&cause.to_string());
            source = cause.source();
        }
        s
    };
    if out.is_empty() {
        out = "the request failed".to_owned();
    }
    out
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
