//! The TOML file as written: every key the file may hold, nothing else
//! (`deny_unknown_fields` everywhere, so that a typo in security configuration is an error
//! rather than a silently ignored setting).

use std::collections::BTreeMap;

use serde::Deserialize;

/// `[server]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub bind: Option<String>,
    pub public_url: Option<String>,
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

/// `[sessions]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSessions {
    pub store: Option<String>,
    pub redis_url: Option<String>,
    pub redis_url_file: Option<String>,
    pub key_prefix: Option<String>,
    pub idle_timeout: Option<String>,
    pub absolute_timeout: Option<String>,
    pub max_role_sessions: Option<u32>,
    pub redis_mode: Option<String>,
    pub sentinels: Option<Vec<String>>,
    pub sentinel_master: Option<String>,
    pub cluster_nodes: Option<Vec<String>>,
    pub redis_password: Option<String>,
    pub redis_password_file: Option<String>,
    pub redis_ca_file: Option<String>,
    pub redis_replica_acks: Option<u32>,
}

/// `[tokens]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTokens {
    pub algorithm: Option<String>,
    pub keys_dir: Option<String>,
    pub default_duration: Option<String>,
    pub audience: Option<String>,
}

/// `kind = "local"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLocalProvider {
    pub id: String,
    pub display_name: Option<String>,
    #[serde(default)]
    pub users: Vec<RawLocalUser>,
}

/// `[[providers.users]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLocalUser {
    pub username: String,
    pub password_hash: Option<String>,
    pub password_hash_file: Option<String>,
    pub insecure_demo_password: Option<String>,
    pub email: Option<String>,
    pub display_name: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    pub totp_secret: Option<String>,
    pub totp_secret_file: Option<String>,
}

impl std::fmt::Debug for RawLocalUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawLocalUser")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A policy written inline (a TOML table of the IAM JSON shape) or a path to a `.json` file.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawPolicySource {
    /// A path, relative to the config file.
    File(String),
    /// The document itself.
    Inline(serde_json::Value),
}

/// `[[roles]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRole {
    pub name: String,
    pub description: Option<String>,
    pub group: Option<String>,
    pub max_session_duration: Option<String>,
    #[serde(default)]
    pub permission_policies: Vec<String>,
    pub inline_policy: Option<RawPolicySource>,
    pub permissions_boundary: Option<String>,
    pub trust_policy: Option<RawPolicySource>,
    pub approval: Option<RawApproval>,
}

/// `[roles.approval]`: the role is assumed only through an approved access request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApproval {
    pub approvers: Option<RawPolicySource>,
    pub approvals: Option<u32>,
    pub max_duration: Option<String>,
    pub require_reason: Option<bool>,
    pub ticket_pattern: Option<String>,
    pub decision_window: Option<String>,
    #[serde(default)]
    pub break_glass: bool,
}

/// `[[policies]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    pub name: String,
    /// What the policy is for (shown in the admin console; no effect on evaluation).
    pub description: Option<String>,
    pub document: Option<serde_json::Value>,
    pub document_file: Option<String>,
}

/// `[[clients]]`: an application signing its users in through Lanyard.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClient {
    pub id: String,
    pub name: Option<String>,
    pub secret_hash: Option<String>,
    pub secret_hash_file: Option<String>,
    pub jwks_file: Option<String>,
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub assert_source_ip: bool,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(default)]
    pub allowed_roles: Vec<String>,
    pub audience: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub access_token_lifetime: Option<String>,
    pub refresh_token_lifetime: Option<String>,
    pub machine_role: Option<String>,
    pub introspect: Option<String>,
}

/// `[sign_in]`: brute-force protection of password sign-ins.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSignIn {
    pub max_account_failures: Option<u32>,
    pub max_ip_failures: Option<u32>,
    pub lockout: Option<String>,
    pub max_lockout: Option<String>,
    pub failure_window: Option<String>,
}

/// `[metrics]`: who may scrape `/metrics`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    pub allow: Option<Vec<String>>,
    pub bearer_token: Option<String>,
    pub bearer_token_file: Option<String>,
}

/// `[ui]`: the organisation's name, logo and accent colour on the pages.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUi {
    pub name: Option<String>,
    pub logo: Option<String>,
    pub accent: Option<String>,
}

/// `[limits]`: connections, timeouts and caps on anonymous work.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub header_read_timeout: Option<String>,
    pub max_connections: Option<u32>,
    pub max_pending_logins_per_address: Option<u32>,
    pub max_pending_logins: Option<u32>,
    pub max_pending_authorizations_per_address: Option<u32>,
    pub max_pending_authorizations: Option<u32>,
    pub client_secret_checks: Option<u32>,
    pub client_secret_queue: Option<u32>,
    pub password_hashes: Option<u32>,
    pub shutdown_delay: Option<String>,
}

/// `kind = "ldap"`. No `Debug`: it holds the service account's password.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLdapProvider {
    pub id: String,
    pub display_name: Option<String>,
    pub url: String,
    pub ca_file: Option<String>,
    #[serde(default)]
    pub insecure_no_tls: bool,
    pub bind_dn: Option<String>,
    pub bind_password: Option<String>,
    pub bind_password_file: Option<String>,
    pub user_search: RawLdapUserSearch,
    pub group_search: Option<RawLdapGroupSearch>,
    #[serde(default)]
    pub principal_tags: BTreeMap<String, String>,
    pub connect_timeout: Option<String>,
    pub timeout: Option<String>,
    pub pool_size: Option<u32>,
}

/// `[providers.user_search]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLdapUserSearch {
    pub base_dn: String,
    pub filter: Option<String>,
    pub scope: Option<String>,
    pub username_attribute: Option<String>,
    pub email_attribute: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
    pub display_name_attribute: Option<String>,
    pub groups_attribute: Option<String>,
}

/// `[providers.group_search]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLdapGroupSearch {
    pub base_dn: String,
    pub filter: Option<String>,
    pub scope: Option<String>,
    pub name_attribute: Option<String>,
    #[serde(default)]
    pub nested: bool,
}

/// `kind = "saml"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSamlProvider {
    pub id: String,
    pub display_name: Option<String>,
    pub metadata_url: Option<String>,
    pub metadata_file: Option<String>,
    pub metadata_refresh: Option<String>,
    pub idp_entity_id: Option<String>,
    pub sso_url: Option<String>,
    #[serde(default)]
    pub certificates: Vec<String>,
    pub sp_entity_id: Option<String>,
    pub sp_key_file: Option<String>,
    pub sp_cert_file: Option<String>,
    pub encryption_key_file: Option<String>,
    pub name_id_format: Option<String>,
    pub metadata_valid_for: Option<String>,
    #[serde(default)]
    pub attributes: RawSamlAttributes,
    #[serde(default)]
    pub principal_tags: BTreeMap<String, String>,
    pub allow_idp_initiated: Option<bool>,
    pub sign_authn_requests: Option<bool>,
    pub force_authn: Option<bool>,
    #[serde(default)]
    pub requested_authn_context: Vec<String>,
    pub clock_skew: Option<String>,
    pub want_assertions_signed: Option<bool>,
    pub mfa_authn_contexts: Option<Vec<String>>,
}

/// `[providers.attributes]` of a SAML provider: which attribute names feed the normalized
/// identity; each takes one name or a list tried in order.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSamlAttributes {
    pub username: Option<RawNames>,
    pub email: Option<RawNames>,
    pub groups: Option<RawNames>,
    pub display_name: Option<RawNames>,
}

/// One attribute name or several.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawNames {
    /// One name.
    One(String),
    /// Names tried in order.
    Many(Vec<String>),
}

impl RawNames {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            RawNames::One(s) => vec![s],
            RawNames::Many(v) => v,
        }
    }
}
