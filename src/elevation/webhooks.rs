//! Webhook notifications of access requests: a signed JSON POST (the Standard Webhooks
//! scheme: `webhook-id`, `webhook-timestamp`, and `webhook-signature: v1,<base64 of
//! HMAC-SHA256 over "{id}.{timestamp}.{body}">`), or a chat message (`{"text": …}`, the
//! shape Slack's and Microsoft Teams' incoming webhooks both take) with a link to the
//! request's page.
//!
//! Delivery never holds up the request that caused it: each notification is sent by a
//! task of its own, at most [`IN_FLIGHT`] at a time (more are dropped and logged), each
//! attempt bounded by [`ATTEMPT_TIMEOUT`], no redirect followed, tried [`ATTEMPTS`] times
//! with a growing pause while the receiver fails.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tokio::sync::Semaphore;

use super::{AccessRequest, State};
use crate::secret::Secret;

/// Deliveries under way at most; a notification beyond is dropped (and logged).
pub const IN_FLIGHT: usize = 32;
/// How long one attempt may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts per notification and receiver.
pub const ATTEMPTS: u32 = 3;
/// The pause before the second attempt; doubled before each next one.
const FIRST_PAUSE: Duration = Duration::from_millis(500);

/// What a receiver is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    /// The request as signed JSON.
    Json,
    /// A chat message, `{"text": …}`.
    Chat,
}

/// One receiver of notifications (`[[access_requests.webhooks]]`).
#[derive(Clone)]
pub struct Webhook {
    /// Where to POST.
    pub url: url::Url,
    /// What to send.
    pub format: WebhookFormat,
    /// The signing secret (required for JSON; a chat webhook's URL is its secret). A
    /// `whsec_` prefix marks a base64 key, as Standard Webhooks issues them.
    pub secret: Option<Secret>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A chat webhook's URL holds its secret: only the host is shown.
        f.debug_struct("Webhook")
            .field("host", &self.url.host_str())
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

/// What happened to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A person asked; approvers are wanted.
    Requested,
    /// The requester approved their own request (break-glass).
    BreakGlass,
    /// The last approval needed came in: the window is open.
    Approved,
    /// An approver denied it.
    Denied,
    /// It was withdrawn or revoked.
    Revoked,
    /// Nobody decided in time, or its window ended.
    Expired,
}

impl Change {
    /// The event type sent (`access_request.requested`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Requested => "access_request.requested",
            Change::BreakGlass => "access_request.break_glass",
            Change::Approved => "access_request.approved",
            Change::Denied => "access_request.denied",
            Change::Revoked => "access_request.revoked",
            Change::Expired => "access_request.expired",
        }
    }
}

/// Sends notifications to the configured receivers.
#[derive(Clone)]
pub struct Notifier {
    hooks: Arc<[Webhook]>,
    public_url: url::Url,
    client: reqwest::Client,
    in_flight: Arc<Semaphore>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("hooks", &self.hooks)
            .finish_non_exhaustive()
    }
}

impl Notifier {
    /// A notifier for `hooks`, linking to request pages under `public_url`.
    pub fn new(hooks: Vec<Webhook>, public_url: url::Url) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("Lanyard-Webhooks")
            .build()
            .map_err(|e| format!("cannot build the webhook client: {e}"))?;
        Ok(Self {
            hooks: hooks.into(),
            public_url,
            client,
            in_flight: Arc::new(Semaphore::new(IN_FLIGHT)),
        })
    }

    /// The page of request `id`.
    pub fn link(&self, id: &str) -> String {
        let base = self.public_url.as_str().trim_end_matches('/');
        format!("{base}/requests/{id}")
    }

    /// Sends `change` of `request` to every receiver, in the background.
    pub fn notify(&self, request: &AccessRequest, change: Change) {
        for hook in self.hooks.iter() {
            let Ok(permit) = Arc::clone(&self.in_flight).try_acquire_owned() else {
                tracing::warn!(
                    request = %request.row.id,
                    "webhook notification dropped: {IN_FLIGHT} deliveries are under way"
                );
                continue;
            };
            let body = match hook.format {
                WebhookFormat::Json => self.json(request, change),
                WebhookFormat::Chat => self.chat(request, change),
            };
            let (client, hook) = (self.client.clone(), hook.clone());
            let id = uuid::Uuid::new_v4().to_string();
            tokio::spawn(async move {
                deliver(&client, &hook, &id, body).await;
                drop(permit);
            });
        }
    }

    /// The JSON body: the event type, the request, and its page.
    pub fn json(&self, request: &AccessRequest, change: Change) -> String {
        let row = &request.row;
        let decisions: Vec<serde_json::Value> = row
            .decisions
            .iter()
            .map(|d| {
                serde_json::json!({
                    "by": format!("{}:{}", d.provider, d.subject),
                    "name": d.display_name,
                    "decision": d.decision,
                    "comment": d.comment,
                    "at_ms": d.time_ms,
                })
            })
            .collect();
        serde_json::json!({
            "type": change.as_str(),
            "request": {
                "id": row.id,
                "role": row.role,
                "requester": {
                    "provider": row.provider,
                    "subject": row.subject,
                    "name": row.display_name,
                },
                "reason": row.reason,
                "ticket": row.ticket,
                "duration_secs": row.duration_secs,
                "approvals_needed": row.approvals_needed,
                "break_glass": row.break_glass,
                "state": request.state.as_str(),
                "created_ms": row.created_ms,
                "decide_by_ms": row.decide_by_ms,
                "ends_ms": row.ends_ms,
                "decisions": decisions,
            },
            "url": self.link(&row.id),
        })
        .to_string()
    }

    /// The chat message: one sentence and the link.
    pub fn chat(&self, request: &AccessRequest, change: Change) -> String {
        let row = &request.row;
        let minutes = row.duration_secs / 60;
        let why = if row.reason.is_empty() {
            String::new()
        } else {
            format!(" Reason: {}.", row.reason)
        };
        let ticket = if row.ticket.is_empty() {
            String::new()
        } else {
            format!(" Ticket: {}.", row.ticket)
        };
        let what = match change {
            Change::Requested => format!(
                "{} asks for the role {} for {minutes} minutes.{why}{ticket} Review it",
                row.display_name, row.role
            ),
            Change::BreakGlass => format!(
                "BREAK-GLASS: {} approved their own access to the role {} for {minutes} \
                 minutes.{why}{ticket} See it",
                row.display_name, row.role
            ),
            Change::Approved => format!(
                "{}'s request for the role {} is approved.{ticket} See it",
                row.display_name, row.role
            ),
            Change::Denied => format!(
                "{}'s request for the role {} is denied. See it",
                row.display_name, row.role
            ),
            Change::Revoked => format!(
                "{}'s access request for the role {} was revoked. See it",
                row.display_name, row.role
            ),
            Change::Expired => {
                let how = if request.state == State::Expired && row.ends_ms.is_some() {
                    "approved window ended"
                } else {
                    "request expired undecided"
                };
                format!(
                    "{}'s access to the role {}: the {how}. See it",
                    row.display_name, row.role
                )
            }
        };
        serde_json::json!({ "text": format!("{what}: {}", self.link(&row.id)) }).to_string()
    }
}

/// The Standard Webhooks signature of `body` sent as message `id` at `timestamp`.
pub fn signature(secret: &Secret, id: &str, timestamp: i64, body: &str) -> String {
    let raw = secret.expose_secret();
    let key_bytes = match raw.strip_prefix("whsec_").map(|b| STANDARD.decode(b)) {
        Some(Ok(bytes)) => bytes,
        _ => raw.as_bytes().to_vec(),
    };
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &key_bytes);
    let tag = aws_lc_rs::hmac::sign(&key, format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(tag.as_ref()))
}

async fn deliver(client: &reqwest::Client, hook: &Webhook, id: &str, body: String) {
    let mut pause = FIRST_PAUSE;
    for attempt in 1..=ATTEMPTS {
        let timestamp = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut request = client
            .post(hook.url.clone())
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string());
        if let Some(secret) = &hook.secret {
            request = request.header("webhook-signature", signature(secret, id, timestamp, &body));
        }
        match request.body(body.clone()).send().await {
            Ok(answer) if answer.status().is_success() => return,
            Ok(answer) => tracing::warn!(
                host = hook.url.host_str().unwrap_or(""),
                status = answer.status().as_u16(),
                attempt,
                "a webhook receiver refused a notification"
            ),
            Err(e) => tracing::warn!(
                host = hook.url.host_str().unwrap_or(""),
                attempt,
                error = %e.without_url(),
                "a webhook notification was not delivered"
            ),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
    }
}
