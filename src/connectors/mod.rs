//! Connectors: one submodule per upstream kind, each turning an upstream answer into an
//! [`ExternalIdentity`](crate::identity::ExternalIdentity).
//!
//! May import: `identity`, `session` (login transactions), `config`, `secret`, `clock`.

pub mod id_token;
pub mod ldap;
pub mod local;
pub mod oauth2;
pub mod oidc;
pub mod saml;
pub mod totp;
pub mod upstream;

use std::collections::BTreeMap;

use crate::config::{Config, ProviderConfig, ProviderSettings};
use crate::identity::{ProviderId, ProviderKind};

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
    by_id: BTreeMap<ProviderId, Connector>,
}

impl Connectors {
    /// Builds every connector of the configuration (hashing demo passwords, so call it once).
    pub fn from_config(config: &Config) -> Result<Self, ConnectorError> {
        let mut order = Vec::new();
        let mut by_id = BTreeMap::new();
        for p in &config.providers {
            order.push(info(p));
            let connector = match &p.settings {
                ProviderSettings::Local(dir) => {
                    Connector::Local(local::LocalDirectory::new(p.id.clone(), dir)?)
                }
                ProviderSettings::Ldap(settings) => {
                    Connector::Ldap(Box::new(ldap::LdapDirectory::new(p.id.clone(), settings)?))
                }
                ProviderSettings::Oidc(settings) => {
                    Connector::Oidc(Box::new(oidc::OidcConnector::new(
                        p.id.clone(),
                        settings.clone(),
                        callback_url(config, &p.id)?,
                    )?))
                }
                ProviderSettings::Github(settings) => {
                    Connector::Github(Box::new(oauth2::GithubConnector::new(
                        p.id.clone(),
                        settings.clone(),
                        callback_url(config, &p.id)?,
                    )?))
                }
                ProviderSettings::Saml(settings) => Connector::Saml(Box::new(
                    saml::SamlConnector::new(p.id.clone(), settings)
                        .map_err(|e| ConnectorError::Saml(p.id.clone(), e))?,
                )),
            };
            by_id.insert(p.id.clone(), connector);
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
        match self.by_id.get(id) {
            Some(Connector::Oidc(c)) => c.config().browser_sign_in,
            Some(_) => true,
            None => false,
        }
    }

    /// Looks up a provider by the id from a URL; `None` for unknown ids.
    pub fn get(&self, id: &str) -> Option<(&ProviderInfo, &Connector)> {
        let info = self.order.iter().find(|p| p.id.as_str() == id)?;
        Some((info, self.by_id.get(&info.id)?))
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
}

/// `{public_url}/auth/{provider}/callback`: the redirect URI to register at the provider.
pub fn callback_url(config: &Config, id: &ProviderId) -> Result<url::Url, ConnectorError> {
    let text = format!("{}/auth/{id}/callback", config.server.issuer());
    url::Url::parse(&text).map_err(|e| {
        ConnectorError::Upstream(upstream::UpstreamError::Config(format!(
            "redirect URI {text}: {e}"
        )))
    })
}

fn info(p: &ProviderConfig) -> ProviderInfo {
    ProviderInfo {
        id: p.id.clone(),
        kind: p.kind(),
        display_name: p.display_name.clone(),
    }
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
