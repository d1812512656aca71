//! `[access_requests]`: where notifications of access requests go
//! (`[[access_requests.webhooks]]`: a URL, `format = "json"` — signed, the default — or
//! `"chat"` for Slack- and Teams-style incoming webhooks, and the signing secret).

use serde::Deserialize;

use super::Cx;
use super::cx::at;
use crate::elevation::{Webhook, WebhookFormat};

/// The most webhooks: each notification is sent to every one.
const MAX_WEBHOOKS: usize = 8;

/// `[access_requests]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccessRequests {
    #[serde(default)]
    webhooks: Vec<RawWebhook>,
}

/// `[[access_requests.webhooks]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    url: String,
    format: Option<String>,
    secret: Option<String>,
    secret_file: Option<String>,
}

impl Cx<'_> {
    /// `[access_requests]`; no webhooks by default.
    pub(super) fn access_requests(&mut self, value: Option<toml::Value>) -> Vec<Webhook> {
        let Some(value) = value else {
            return Vec::new();
        };
        let Some(raw) = self.shape::<RawAccessRequests>("access_requests", value) else {
            return Vec::new();
        };
        if raw.webhooks.len() > MAX_WEBHOOKS {
            self.error(
                "access_requests.webhooks",
                format!("at most {MAX_WEBHOOKS} webhooks"),
            );
        }
        let mut hooks = Vec::new();
        for (i, w) in raw.webhooks.into_iter().enumerate() {
            let path = format!("access_requests.webhooks[{i}]");
            let url = match url::Url::parse(&w.url) {
                Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => Some(u),
                _ => {
                    self.error(at(&path, "url"), "must be an http(s) URL");
                    None
                }
            };
            let format = match w.format.as_deref() {
                None | Some("json") => Some(WebhookFormat::Json),
                Some("chat") => Some(WebhookFormat::Chat),
                Some(other) => {
                    self.error(
                        at(&path, "format"),
                        format!("must be \"json\" or \"chat\", not {other:?}"),
                    );
                    None
                }
            };
            let secret = self.secret(&at(&path, "secret"), w.secret, w.secret_file, "secret_file");
            if format == Some(WebhookFormat::Json) && secret.is_none() {
                self.error(
                    at(&path, "secret"),
                    "is required for a JSON webhook: its receiver checks the signature",
                );
            }
            if let (Some(url), Some(format)) = (url, format) {
                hooks.push(Webhook {
                    url,
                    format,
                    secret,
                });
            }
        }
        hooks
    }
}
