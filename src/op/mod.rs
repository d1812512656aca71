//! Lanyard as an OpenID Connect provider for applications: the authorization code flow with
//! PKCE (OpenID Connect Core 1.0 §3.1, RFC 6749 §4.1, RFC 7636), refresh tokens rotated on
//! every use with reuse detection (OAuth 2.0 Security BCP §4.14), `client_credentials` for
//! machine clients, the device authorization grant for command-line tools (RFC 8628, see
//! [`device`]), userinfo (Core §5.3), introspection (RFC 7662), revocation (RFC 7009) and
//! RP-initiated logout (RP-Initiated Logout 1.0); and, for `lanyard roles`, the roles a
//! token's person may take through its client (`GET /v1/roles`).
//!
//! Everything single-use (pending authorization requests once completed, codes, refresh
//! tokens, device answers) is taken atomically from the session store, so a replay loses
//! the race. A code
//! or refresh token is taken together with leaving its "used" tombstone (one store step,
//! [`SessionStore::take_leaving`], [`SessionStore::take_leaving_head`]), which names its
//! token family and the SSO session that family is kept in (a code's family is the code's
//! digest, its tombstone's key; the tombstone is the session ref alone): whoever comes
//! second, concurrently or later, finds the tombstone and revokes the family. Revoking
//! marks the family first, and issuing checks that mark after recording what it issued, so
//! tokens the first user is still issuing when the second revokes are revoked too. A
//! family's role sessions and current refresh token are fields of its SSO session's
//! `sso-iss:` hash (see [`keyspace::SSO_ISSUED`]).
//!
//! Credentials leave through the one door ([`Issuer`]): every grant carries a trust
//! decision. A person's role is evaluated again at the code exchange (with the address
//! they chose it from) and at every refresh; a machine client's role is evaluated for the
//! client's principal `arn:lanyard:iam:::client/<id>`. A reused code or refresh token
//! (`refresh.reuse`) and every revocation (`revocation`) are written to the audit trail.
//!
//! May import: `access`, `audit`, `elevation` (the trust rule of approval roles), `tokens`,
//! `sso`, `roles`, `identity`, `session`, `clock`.

mod assertion;
pub mod authorize;
mod client_credentials;
pub mod clients;
mod code;
pub mod device;
mod discovery;
pub mod error;
pub mod introspect;
mod issue;
pub mod logout;
mod refresh;
pub mod settings;
pub mod token_roles;

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::access::{IssueError, Issuer};
use crate::audit::{AuditEvent, EventKind};
use crate::clock::SharedClock;
use crate::identity::ClientId;
use crate::roles::RoleCatalog;
use crate::session::{SessionStore, keyspace};
use crate::sso::Sso;
use crate::tokens::jose::UnverifiedJws;

pub use authorize::{
    AuthorizeNext, AuthorizeParams, AuthorizeRejection, PendingAuthorization, RESUME_PATH,
};
pub use clients::{Client, Clients, PresentedAssertion, PresentedClient};
pub use device::{
    CodeEnterer, DeviceApproval, DeviceAuthorization, DeviceLookup, PendingDevice, UserCode,
};
pub use error::OAuthError;
pub use introspect::Introspection;
pub use issue::TokenResponse;
pub use logout::{LogoutPlan, LogoutRequest};
pub use settings::{
    ClientAuth, ClientSettings, DEVICE_CODE_GRANT, GeneratedSecret, GrantType, IntrospectScope,
    TOKEN_EXCHANGE_GRANT,
};
pub use token_roles::{OfferedRole, TokenRoles};

/// How long a pending authorization request waits for the person to sign in.
const PENDING_TTL: Duration = keyspace::AUTHZ_TTL;
/// How long an authorization code lives (single use).
const CODE_TTL: Duration = keyspace::CODE_TTL;
/// How long a used code or refresh token is remembered, to detect replays.
const USED_TTL: Duration = keyspace::USED_TTL;
/// The `typ` of ID tokens.
const ID_TOKEN_TYPE: &str = "JWT";
/// `acr` of a sign-in with a second factor (the provider's MFA `acr` or `amr`, a SAML MFA
/// class ref, a local user's one-time code), and the `acr_values` an application asks for
/// one with: the session steps up when it lacks one, or when it is older than `max_age`.
/// Named after RFC 8176's `amr` value, as the ID token's `amr` lists the methods
/// themselves.
pub const ACR_MFA: &str = "mfa";
/// `acr` of a sign-in with a single factor (RFC 8176's `pwd`, whatever the one factor was).
pub const ACR_PASSWORD: &str = "pwd";

/// Appends query parameters to a redirect URI.
fn with_params(base: &str, params: &[(&str, &str)]) -> Option<Url> {
    let mut url = Url::parse(base).ok()?;
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    Some(url)
}

/// The OAuth answer to an issue that failed.
fn issue_error(e: IssueError) -> OAuthError {
    match e {
        IssueError::DurationOutOfRange { .. } => OAuthError::InvalidGrant(e.to_string()),
        IssueError::Token(e) => OAuthError::ServerError(e.to_string()),
        IssueError::Store(e) => e.into(),
        IssueError::AuditUnavailable(e) => OAuthError::TemporarilyUnavailable(format!(
            "credentials cannot be issued while the audit trail is unavailable: {e}"
        )),
    }
}

/// The OpenID Connect provider service.
#[derive(Clone)]
pub struct OidcProvider {
    clients: Arc<Clients>,
    store: Arc<dyn SessionStore>,
    sso: Sso,
    issuer: Issuer,
    roles: Arc<RoleCatalog>,
    clock: SharedClock,
    default_duration: Duration,
    /// Access requests, for the roles that need approval (`None` without a database).
    elevation: Option<Arc<crate::elevation::Elevation>>,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("clients", &self.clients)
            .finish_non_exhaustive()
    }
}

impl OidcProvider {
    /// The provider over the broker's services.
    pub fn new(
        clients: Arc<Clients>,
        sso: Sso,
        issuer: Issuer,
        roles: Arc<RoleCatalog>,
        clock: SharedClock,
        default_duration: Duration,
    ) -> Self {
        Self {
            store: Arc::clone(sso.store()),
            clients,
            sso,
            issuer,
            roles,
            clock,
            default_duration,
            elevation: None,
        }
    }

    /// The provider granting the roles that need approval through `elevation`'s access
    /// requests (without, it grants none of them).
    pub fn with_elevation(mut self, elevation: Option<Arc<crate::elevation::Elevation>>) -> Self {
        self.elevation = elevation;
        self
    }

    /// The registered clients.
    pub fn clients(&self) -> &Clients {
        &self.clients
    }

    /// An audit event of this service.
    fn event(&self, kind: EventKind, client_id: Option<&str>) -> AuditEvent {
        let mut event = AuditEvent::new(kind, self.clock.now_ms());
        event.client_id = client_id.map(ClientId::new);
        event
    }
}

/// The claims of a JWT before verification: only to find the record that proves it.
fn unverified_claims<T: serde::de::DeserializeOwned>(token: &str) -> Option<T> {
    UnverifiedJws::parse(token).ok()?.untrusted_claims().ok()
}
