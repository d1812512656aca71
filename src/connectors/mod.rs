//! Connectors: one submodule per upstream kind, each turning an upstream answer into an
//! [`ExternalIdentity`](crate::identity::ExternalIdentity).
//!
//! May import: `identity`, `session` (login transactions), `config`, `secret`, `clock`.

pub mod local;
pub mod saml;

use std::collections::BTreeMap;

use crate::config::{Config, ProviderConfig, ProviderSettings};
use crate::identity::{ProviderId, ProviderKind};

/// A configured upstream provider, ready to sign people in.
#[derive(Debug)]
pub enum Connector {
    /// The local directory.
    Local(local::LocalDirectory),
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

    /// Looks up a provider by the id from a URL; `None` for unknown ids.
    pub fn get(&self, id: &str) -> Option<(&ProviderInfo, &Connector)> {
        let info = self.order.iter().find(|p| p.id.as_str() == id)?;
        Some((info, self.by_id.get(&info.id)?))
    }
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
    /// A SAML provider could not be set up.
    #[error("provider {0}: {1}")]
    Saml(ProviderId, saml::SamlError),
}
