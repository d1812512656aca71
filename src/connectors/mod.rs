//! Connectors: one submodule per upstream kind, each turning an upstream answer into an
//! [`ExternalIdentity`](crate::identity::ExternalIdentity).
//!
//! May import: `identity`, `session` (login transactions), `secret`, `clock`.

pub mod id_token;
pub mod inspect;
pub mod ldap;
pub mod local;
pub mod oauth2;
pub mod oidc;
pub mod saml;
pub mod settings;
pub mod totp;
pub mod upstream;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::clock::UnixTime;
use crate::identity::{ExternalIdentity, ProviderId, ProviderKind};
use crate::secret::hashing::PasswordHashing;

pub use settings::{Provider, ProviderSettings};

/// A configured upstream provider, ready to sign people in.
#[derive(Debug)]
pub enum Connector {
    /// The local directory.
    Local(local::LocalDirectory),
    /// An LDAP or Active Directory server.
    Ldap(Box<ldap::LdapDirectory>),
    /// An OpenID Connect provider (generic, Google, Microsoft).
    Oidc(Box<oidc::OidcConnector>),
    /// GitHub (OAuth 2.0 and its API).
    Github(Box<oauth2::GithubConnector>),
    /// A SAML 2.0 identity provider.
    Saml(Box<saml::SamlConnector>),
}

/// What the sign-in page needs to know of a provider.
#[derive(Debug, Clone)]
pub struct ProviderInfo {
    /// Id.
    pub id: ProviderId,
    /// Kind.
    pub kind: ProviderKind,
    /// Name to show.
    pub display_name: String,
}

/// Every configured provider, by id, in file order for display.
#[derive(Debug)]
pub struct Connectors {
    order: Vec<ProviderInfo>,
    by_id: BTreeMap<ProviderId, Arc<Connector>>,
}

impl Connectors {
    /// Builds a connector for every provider (hashing demo passwords, so call it once);
    /// `issuer` is Lanyard's public URL, the base of the redirect URIs.
    /// Local directories check passwords within one check at a time (tests and tools; the
    /// server passes its own bound to [`Connectors::rebuild`]).
    pub fn new(providers: &[Provider], issuer: &str) -> Result<Self, ConnectorError> {
        Self::rebuild(providers, issuer, &PasswordHashing::default(), None, |_| {
            None
        })
    }

    /// Builds the connectors of `providers`, taking the existing instance that `reuse` offers
    /// for a provider instead of building it anew (a config reload keeps the connector of a
    /// provider whose settings did not change, and with it its discovery, JWKS and
    /// metadata caches).
    /// New connectors report their upstream calls to `observer`; local directories check
    /// passwords within `hashing`.
    pub fn rebuild(
        providers: &[Provider],
        issuer: &str,
        hashing: &PasswordHashing,
        observer: Option<Arc<dyn UpstreamObserver>>,
        reuse: impl Fn(&Provider) -> Option<Arc<Connector>>,
    ) -> Result<Self, ConnectorError> {
        let mut order = Vec::new();
        let mut by_id = BTreeMap::new();
        for p in providers {
            order.push(info(p));
            if let Some(kept) = reuse(p) {
                by_id.insert(p.id.clone(), kept);
                continue;
            }
            let timer = CallTimer::new(p.id.clone(), observer.clone());
            let connector = match &p.settings {
                ProviderSettings::Local(dir) => Connector::Local(local::LocalDirectory::new(
                    p.id.clone(),
                    dir,
                    hashing.clone(),
                )?),
                ProviderSettings::Ldap(settings) => Connector::Ldap(Box::new(
                    ldap::LdapDirectory::new(p.id.clone(), settings, timer)?,
                )),
                ProviderSettings::Oidc(settings) => {
                    Connector::Oidc(Box::new(oidc::OidcConnector::new(
                        p.id.clone(),
                        settings.clone(),
                        callback_url(issuer, &p.id)?,
                        timer,
                    )?))
                }
                ProviderSettings::Github(settings) => {
                    Connector::Github(Box::new(oauth2::GithubConnector::new(
                        p.id.clone(),
                        settings.clone(),
                        callback_url(issuer, &p.id)?,
                        timer,
                    )?))
                }
                ProviderSettings::Saml(settings) => Connector::Saml(Box::new(
                    saml::SamlConnector::new(p.id.clone(), settings, timer)
                        .map_err(|e| ConnectorError::Saml(p.id.clone(), e))?,
                )),
            };
            by_id.insert(p.id.clone(), Arc::new(connector));
        }
        Ok(Self { order, by_id })
    }

    /// The providers in the order of the config file.
    pub fn providers(&self) -> &[ProviderInfo] {
        &self.order
    }

    /// Whether people may sign in with this provider in a browser (not so for a provider
    /// trusted only for web identity tokens).
    pub fn offers_browser_sign_in(&self, id: &ProviderId) -> bool {
        match self.by_id.get(id).map(|c| &**c) {
            Some(Connector::Oidc(c)) => c.config().browser_sign_in,
            Some(_) => true,
            None => false,
        }
    }

    /// Looks up a provider by the id from a URL; `None` for unknown ids.
    pub fn get(&self, id: &str) -> Option<(&ProviderInfo, &Connector)> {
        let info = self.order.iter().find(|p| p.id.as_str() == id)?;
        Some((info, &**self.by_id.get(&info.id)?))
    }

    /// The identity `provider` would make of `claims`, which nobody verified (the trust
    /// simulator's pasted claims or a JWT decoded without trusting it): an OpenID Connect
    /// provider maps them with its own claim names and restrictions; any other kind with
    /// the default claim names ([`oidc::identity_from_untrusted_claims`]). `None` when no
    /// provider has that id.
    pub fn identity_of_untrusted(
        &self,
        provider: &str,
        claims: &serde_json::Map<String, serde_json::Value>,
        now: UnixTime,
    ) -> Option<Result<ExternalIdentity, upstream::UpstreamError>> {
        let (info, connector) = self.get(provider)?;
        Some(match connector {
            Connector::Oidc(c) => c.identity_of_untrusted(claims, now),
            _ => oidc::identity_from_untrusted_claims(&info.id, info.kind, claims, now),
        })
    }

    /// The OpenID Connect provider whose issuer is `iss`, if any.
    pub fn provider_of_issuer(&self, iss: &str) -> Option<&ProviderId> {
        self.order.iter().map(|p| &p.id).find(|id| {
            matches!(self.by_id.get(*id).map(|c| &**c), Some(Connector::Oidc(c)) if c.is_issuer(iss))
        })
    }

    /// For every provider with upstream signing keys, at `now`: how old the copy of its
    /// keys is (OIDC JWKS, SAML IdP metadata) and when its first signing certificate
    /// expires (SAML certificates; OIDC keys that carry `x5c`).
    pub async fn key_facts(&self, now: UnixTime) -> Vec<KeyFacts> {
        let mut facts = Vec::new();
        for (id, connector) in &self.by_id {
            let (age, expires) = match &**connector {
                Connector::Oidc(c) => match c.keys_status().await {
                    Some((fetched, expires)) => (Some(now.since(fetched)), expires),
                    None => (None, None),
                },
                Connector::Saml(c) => (c.metadata_age(), c.certificate_expiry()),
                _ => continue,
            };
            facts.push(KeyFacts {
                provider: id.clone(),
                age,
                certificate_expiry: expires,
            });
        }
        facts
    }

    /// The upstream signing certificates of `id` that Lanyard trusts now, with their
    /// expiry: a SAML IdP's (from its metadata); empty for other kinds and while a SAML
    /// IdP's metadata is not loaded.
    pub fn signing_certificates(&self, id: &str) -> Vec<crate::identity::CertificateFacts> {
        let Some(Ok(idp)) = self.saml(id).map(saml::SamlConnector::idp) else {
            return Vec::new();
        };
        idp.certificates
            .iter()
            .filter_map(|c| certificate_facts(c.der_data()))
            .collect()
    }

    /// The SAML connector with this id; `None` for unknown ids and other kinds.
    pub fn saml(&self, id: &str) -> Option<&saml::SamlConnector> {
        match self.get(id)? {
            (_, Connector::Saml(c)) => Some(c),
            _ => None,
        }
    }

    /// Every SAML provider, in the order of the config file.
    pub fn saml_providers(&self) -> impl Iterator<Item = (&ProviderInfo, &saml::SamlConnector)> {
        self.order
            .iter()
            .filter_map(|info| Some((info, self.saml(info.id.as_str())?)))
    }

    /// The shared instance of a provider's connector, to be kept by a reload.
    pub fn instance(&self, id: &ProviderId) -> Option<Arc<Connector>> {
        self.by_id.get(id).cloned()
    }
}

/// Told of every call Lanyard makes to an upstream provider: HTTP requests (discovery,
/// JWKS, token, userinfo, API, SAML metadata) and LDAP operations.
pub trait UpstreamObserver: Send + Sync + 'static {
    /// A call to `provider`'s `operation` took `elapsed`; `ok` is false when it failed
    /// (unreachable, timed out, an error status; not a refused password).
    fn observe(&self, provider: &ProviderId, operation: &'static str, elapsed: Duration, ok: bool);
}

/// Times one provider's upstream calls for an [`UpstreamObserver`], when there is one.
#[derive(Clone)]
pub struct CallTimer {
    provider: ProviderId,
    observer: Option<Arc<dyn UpstreamObserver>>,
}

impl std::fmt::Debug for CallTimer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallTimer")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl CallTimer {
    /// The timer of `provider`'s calls.
    pub fn new(provider: ProviderId, observer: Option<Arc<dyn UpstreamObserver>>) -> Self {
        Self { provider, observer }
    }

    /// The provider whose calls are timed.
    pub fn provider(&self) -> &ProviderId {
        &self.provider
    }

    /// Runs `call`, reporting its duration and whether it failed as `operation`.
    pub async fn time<T, E>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let started = Instant::now();
        let result = call.await;
        if let Some(o) = &self.observer {
            o.observe(&self.provider, operation, started.elapsed(), result.is_ok());
        }
        result
    }
}

/// When a DER certificate expires (its `notAfter`); `None` when it cannot be read.
pub fn certificate_not_after(der: &[u8]) -> Option<UnixTime> {
    let epoch = openssl::asn1::Asn1Time::from_unix(0).ok()?;
    let cert = openssl::x509::X509::from_der(der).ok()?;
    let d = epoch.diff(cert.not_after()).ok()?;
    Some(UnixTime::from_secs(
        i64::from(d.days) * 86_400 + i64::from(d.secs),
    ))
}

/// A certificate's subject, SHA-256 fingerprint and expiry, for a person to compare with
/// what the IdP's admin sees; `None` when the DER is not a certificate.
pub fn certificate_facts(der: &[u8]) -> Option<crate::identity::CertificateFacts> {
    let cert = openssl::x509::X509::from_der(der).ok()?;
    let subject = cert
        .subject_name()
        .entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?");
            let value = e.data().to_string().unwrap_or_default();
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ");
    let digest = openssl::sha::sha256(der);
    let sha256 = digest
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    Some(crate::identity::CertificateFacts {
        subject,
        sha256,
        not_after: certificate_not_after(der),
    })
}

/// `{issuer}/auth/{provider}/callback`: the redirect URI to register at the provider
/// (`issuer` is Lanyard's public URL without a trailing slash).
pub fn callback_url(issuer: &str, id: &ProviderId) -> Result<url::Url, ConnectorError> {
    let text = format!("{issuer}/auth/{id}/callback");
    url::Url::parse(&text).map_err(|e| {
        ConnectorError::Upstream(upstream::UpstreamError::Config(format!(
            "redirect URI {text}: {e}"
        )))
    })
}

fn info(p: &Provider) -> ProviderInfo {
    ProviderInfo {
        id: p.id.clone(),
        kind: p.kind(),
        display_name: p.display_name.clone(),
    }
}

/// What the metrics report of one provider's upstream signing keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFacts {
    /// The provider.
    pub provider: ProviderId,
    /// How long ago its keys (JWKS, IdP metadata) were fetched or read, once they were.
    pub age: Option<Duration>,
    /// When its first signing certificate expires, if its keys carry any.
    pub certificate_expiry: Option<UnixTime>,
}

/// A connector could not be set up or could not sign someone in.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// Local directory problems.
    #[error(transparent)]
    Local(#[from] local::LocalError),
    /// LDAP problems.
    #[error(transparent)]
    Ldap(#[from] ldap::LdapError),
    /// An upstream (redirect) provider could not be set up.
    #[error("{0}: {detail}", detail = .0.detail())]
    Upstream(#[from] upstream::UpstreamError),
    /// A SAML provider could not be set up.
    #[error("provider {0}: {1}")]
    Saml(ProviderId, saml::SamlError),
}
