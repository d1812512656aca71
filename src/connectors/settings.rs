//! The settings of each upstream provider kind, as the connectors use them: a local
//! directory's users, an LDAP server's searches, an OpenID Connect or GitHub client, a SAML
//! identity provider and Lanyard's Service Provider towards it. Built and validated by
//! `config` from `[[providers]]`.
//!
//! An LDAP search filter is a template with `{username}` (user search) or `{dn}` /
//! `{username}` (group search) placeholders. It is parsed once, so that a value put into it
//! at sign-in is always escaped (RFC 4515 §3) and can never change the filter's structure.
//!
//! May import: `identity`, `secret`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::identity::{ProviderId, ProviderKind};
use crate::secret::Secret;

/// An upstream identity provider: one `[[providers]]` entry.
#[derive(Debug, Clone)]
pub struct Provider {
    /// Id.
    pub id: ProviderId,
    /// Name on the sign-in page.
    pub display_name: String,
    /// Kind-specific settings.
    pub settings: ProviderSettings,
}

impl Provider {
    /// The provider's kind.
    pub fn kind(&self) -> ProviderKind {
        match &self.settings {
            ProviderSettings::Local(_) => ProviderKind::Local,
            ProviderSettings::Ldap(_) => ProviderKind::Ldap,
            ProviderSettings::Oidc(o) => o.preset.kind(),
            ProviderSettings::Github(_) => ProviderKind::Github,
            ProviderSettings::Saml(_) => ProviderKind::Saml,
        }
    }
}

/// Kind-specific provider settings.
#[derive(Debug, Clone)]
pub enum ProviderSettings {
    /// `kind = "local"`.
    Local(LocalDirectorySettings),
    /// `kind = "ldap"`.
    Ldap(Box<LdapSettings>),
    /// `kind = "oidc"`, `"google"` or `"microsoft"`.
    Oidc(OidcSettings),
    /// `kind = "github"`.
    Github(GithubSettings),
    /// `kind = "saml"`.
    Saml(Box<SamlSettings>),
}

/// A local directory.
#[derive(Debug, Clone)]
pub struct LocalDirectorySettings {
    /// Its users.
    pub users: Vec<LocalUser>,
}

/// How a local user's password is checked.
#[derive(Debug, Clone)]
pub enum PasswordCredential {
    /// An argon2id PHC string.
    Hash(Secret),
    /// A plaintext password from the config, for demo directories only: hashed at start-up,
    /// printed at start-up, and warned about loudly.
    InsecureDemo(Secret),
}

/// One local user.
#[derive(Debug, Clone)]
pub struct LocalUser {
    /// Username (the subject).
    pub username: String,
    /// Password.
    pub password: PasswordCredential,
    /// Email.
    pub email: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Groups.
    pub groups: Vec<String>,
    /// Principal tags.
    pub tags: BTreeMap<String, String>,
    /// The base32 TOTP secret (RFC 6238) when the user signs in with a one-time code too.
    pub totp: Option<Secret>,
}

/// The placeholder Entra ID's multi-tenant discovery documents put in `issuer`.
pub const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// Which flavour of OpenID Connect provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OidcPreset {
    /// Any provider, configured by hand.
    Generic,
    /// Google: `email_verified` required, `allowed_domains` checked against `hd`.
    Google,
    /// Microsoft Entra ID: multi-tenant issuer validated against `tid`.
    Microsoft,
}

impl OidcPreset {
    /// The provider kind.
    pub fn kind(self) -> ProviderKind {
        match self {
            OidcPreset::Generic => ProviderKind::Oidc,
            OidcPreset::Google => ProviderKind::Google,
            OidcPreset::Microsoft => ProviderKind::Microsoft,
        }
    }
}

/// How Lanyard authenticates itself at the token endpoint (OIDC Core §9).
#[derive(Debug, Clone)]
pub enum UpstreamClientAuth {
    /// `client_secret_basic`: HTTP Basic with the client secret (the default).
    SecretBasic(Secret),
    /// `client_secret_post`: the secret in the form body.
    SecretPost(Secret),
    /// `private_key_jwt`: a JWT signed with Lanyard's key (RFC 7523).
    PrivateKeyJwt {
        /// The private key, PEM (RSA → RS256, EC P-256 → ES256).
        pem: Secret,
        /// `kid` to put in the assertion header.
        key_id: Option<String>,
    },
    /// `none`: a public client (OAuth 2.0 §2.1); the code is protected by PKCE alone. Also
    /// the setting for a provider that is trusted only for web identity tokens (a CI
    /// system's OIDC tokens), where Lanyard never redeems a code.
    None,
}

/// Which claims fill the normalized identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimMapping {
    /// `idp:username` (default `preferred_username`, then `email`, then `sub`).
    pub username: String,
    /// `idp:email` (default `email`).
    pub email: String,
    /// `idp:groups` (default `groups`).
    pub groups: String,
    /// Display name (default `name`).
    pub display_name: String,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        Self {
            username: "preferred_username".into(),
            email: "email".into(),
            groups: "groups".into(),
            display_name: "name".into(),
        }
    }
}

/// An OpenID Connect provider (generic or a preset).
#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// Which preset.
    pub preset: OidcPreset,
    /// The issuer as configured; discovery is at `{issuer}/.well-known/openid-configuration`.
    pub issuer: Url,
    /// Our client id.
    pub client_id: String,
    /// Client authentication.
    pub client_auth: UpstreamClientAuth,
    /// Scopes requested (always including `openid`).
    pub scopes: Vec<String>,
    /// Claim mapping.
    pub claims: ClaimMapping,
    /// `aws:PrincipalTag/<tag>` ← claim.
    pub principal_tags: BTreeMap<String, String>,
    /// Email domains (generic) or Google `hd` values accepted; empty: any.
    pub allowed_domains: Vec<String>,
    /// Entra ID tenant ids (`tid`) accepted; empty: any.
    pub allowed_tenants: Vec<String>,
    /// `prompt` sent upstream.
    pub prompt: Option<String>,
    /// `acr_values` sent upstream.
    pub acr_values: Vec<String>,
    /// An `acr` among these counts as multi-factor authentication.
    pub mfa_acr_values: Vec<String>,
    /// Fetch userinfo and merge it into the ID token claims.
    pub fetch_userinfo: bool,
    /// Whether `email_verified` must be true (Google).
    pub require_verified_email: bool,
    /// Clock skew tolerated on `exp`, `iat`, `nbf`.
    pub clock_skew: Duration,
    /// Timeout of each upstream call.
    pub timeout: Duration,
    /// `aud` values accepted in web identity tokens (`/sts/assume-role-with-web-identity`,
    /// token exchange); `[client_id]` unless configured.
    pub web_identity_audiences: Vec<String>,
    /// Whether people can sign in with it in a browser (listed on the sign-in page); `false`
    /// for a provider trusted only for web identity tokens (a CI system).
    pub browser_sign_in: bool,
}

/// GitHub or GitHub Enterprise Server (OAuth 2.0 and the REST API).
#[derive(Debug, Clone)]
pub struct GithubSettings {
    /// The web host (`/login/oauth/authorize`, `/login/oauth/access_token`).
    pub base_url: Url,
    /// The REST API root (`/user`, `/user/emails`, `/user/orgs`, `/user/teams`).
    pub api_url: Url,
    /// Our OAuth app's client id.
    pub client_id: String,
    /// Its secret.
    pub client_secret: Secret,
    /// Scopes requested.
    pub scopes: Vec<String>,
    /// Organizations one of which the person must belong to; empty: any GitHub user.
    pub allowed_organizations: Vec<String>,
    /// Timeout of each upstream call.
    pub timeout: Duration,
}

/// How the connection to the directory is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LdapTransport {
    /// `ldaps://`: TLS from the first byte.
    Ldaps,
    /// `ldap://` upgraded with the StartTLS extended operation (RFC 4511 §4.14) before
    /// anything else is sent.
    StartTls,
    /// `ldap://` in clear (`insecure_no_tls = true`), allowed for loopback hosts only.
    InsecurePlain,
}

/// Search scope (RFC 4511 §4.5.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LdapScope {
    /// The base entry only.
    Base,
    /// The immediate children of the base entry.
    One,
    /// The base entry and everything below it.
    Sub,
}

/// One piece of a filter template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Username,
    Dn,
}

/// A search filter with placeholders, validated at start-up; see [`LdapFilter::render`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapFilter {
    pieces: Vec<Piece>,
}

impl LdapFilter {
    /// Parses a template; `allowed` lists the placeholders it may use.
    pub fn parse(template: &str, allowed: &[&str]) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| "has a '{' without a closing '}'".to_owned())?;
            let name = &after[..close];
            if !allowed.contains(&name) {
                return Err(format!(
                    "unknown placeholder {{{name}}}; this filter may use {}",
                    allowed
                        .iter()
                        .map(|a| format!("{{{a}}}"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ));
            }
            pieces.push(match name {
                "username" => Piece::Username,
                _ => Piece::Dn,
            });
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        let filter = Self { pieces };
        if !filter
            .pieces
            .iter()
            .any(|p| matches!(p, Piece::Username | Piece::Dn))
        {
            return Err("must contain a placeholder for the person (e.g. {username})".to_owned());
        }
        if ldap3::parse_filter(filter.render("x", "cn=x")).is_err() {
            return Err(format!(
                "{template:?} is not a valid LDAP filter (RFC 4515)"
            ));
        }
        Ok(filter)
    }

    /// Whether the template has a `{username}` placeholder.
    pub fn has_username(&self) -> bool {
        self.pieces.contains(&Piece::Username)
    }

    /// The filter for one person: `username` and `dn` are escaped (RFC 4515 §3), so that
    /// `*`, `(`, `)`, `\` and NUL in them match literally.
    pub fn render(&self, username: &str, dn: &str) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Username => out.push_str(&ldap3::ldap_escape(username)),
                Piece::Dn => out.push_str(&ldap3::ldap_escape(dn)),
            }
        }
        out
    }
}

/// `[providers.user_search]`.
#[derive(Debug, Clone)]
pub struct LdapUserSearch {
    /// Where people are.
    pub base_dn: String,
    /// Finds exactly one person by `{username}`.
    pub filter: LdapFilter,
    /// Scope.
    pub scope: LdapScope,
    /// Attribute holding the username (`uid`; `sAMAccountName` in Active Directory).
    pub username_attribute: String,
    /// Attribute holding the email address.
    pub email_attribute: String,
    /// Whether the directory vouches for the email addresses it holds (`idp:email_verified`).
    pub email_verified: bool,
    /// Attribute holding the display name.
    pub display_name_attribute: String,
    /// Attribute of the person's entry listing group DNs (`memberOf`), if groups come
    /// from there.
    pub groups_attribute: Option<String>,
}

/// `[providers.group_search]`.
#[derive(Debug, Clone)]
pub struct LdapGroupSearch {
    /// Where groups are.
    pub base_dn: String,
    /// Finds the person's groups by `{dn}` (or `{username}`).
    pub filter: LdapFilter,
    /// Scope.
    pub scope: LdapScope,
    /// Attribute holding a group's name (`cn`).
    pub name_attribute: String,
}

/// An LDAP or Active Directory provider.
#[derive(Clone)]
pub struct LdapSettings {
    /// `ldap://host:port` or `ldaps://host:port`.
    pub url: Url,
    /// How the connection is protected.
    pub transport: LdapTransport,
    /// CA certificates (PEM) to verify the directory's certificate with, instead of the
    /// system's.
    pub ca_file: Option<PathBuf>,
    /// Service account used to search; anonymous when absent.
    pub bind_dn: Option<String>,
    /// Its password.
    pub bind_password: Option<Secret>,
    /// How people are found.
    pub user_search: LdapUserSearch,
    /// How groups are found, if by a search.
    pub group_search: Option<LdapGroupSearch>,
    /// Principal tag name → attribute of the person's entry.
    pub principal_tags: BTreeMap<String, String>,
    /// Longest wait for a connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// Longest wait for one operation.
    pub timeout: Duration,
    /// Connections kept open at most.
    pub pool_size: usize,
}

impl std::fmt::Debug for LdapSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapSettings")
            .field("url", &self.url.as_str())
            .field("transport", &self.transport)
            .field("bind_dn", &self.bind_dn)
            .field("user_search", &self.user_search)
            .field("group_search", &self.group_search)
            .finish_non_exhaustive()
    }
}

/// Where the IdP's description comes from.
#[derive(Debug, Clone)]
pub enum IdpSource {
    /// Metadata fetched from a URL, cached and refreshed every `refresh`.
    MetadataUrl {
        /// The URL.
        url: Url,
        /// Refresh interval.
        refresh: Duration,
    },
    /// Metadata in a file, read at start-up.
    MetadataFile(PathBuf),
    /// Given explicitly.
    Explicit {
        /// The IdP's entity id (`Issuer`).
        entity_id: String,
        /// Its SSO endpoint (HTTP-Redirect binding).
        sso_url: Url,
        /// Its signing certificates, PEM (several during a rollover).
        certificates: Vec<String>,
    },
}

/// Which attribute names feed the normalized identity, in order of preference.
#[derive(Debug, Clone)]
pub struct SamlAttributeMap {
    /// Username.
    pub username: Vec<String>,
    /// Email.
    pub email: Vec<String>,
    /// Groups.
    pub groups: Vec<String>,
    /// Display name.
    pub display_name: Vec<String>,
}

/// Where a SAML provider's SP key pair is kept.
#[derive(Debug, Clone, PartialEq)]
pub enum SpKeySource {
    /// Files (a provider of lanyard.toml): the key (PEM, PKCS#8) and the certificate (PEM),
    /// both generated on first start when both are absent.
    Files {
        /// The private key file.
        key: PathBuf,
        /// The certificate file.
        cert: PathBuf,
    },
    /// The database (a provider of the admin API): generated once by the first instance
    /// that needs it, so that every instance is the same SP towards the IdP.
    Stored {
        /// The private key, PEM.
        key_pem: Secret,
        /// The certificate, PEM.
        cert_pem: String,
    },
}

/// A SAML provider.
#[derive(Debug, Clone)]
pub struct SamlSettings {
    /// The IdP.
    pub idp: IdpSource,
    /// Lanyard's entity id towards this IdP.
    pub sp_entity_id: String,
    /// The Assertion Consumer Service URL.
    pub acs_url: String,
    /// The SP metadata URL.
    pub metadata_url: String,
    /// The SP's signing (and default decryption) key and its certificate.
    pub sp_keys: SpKeySource,
    /// Key that decrypts `EncryptedAssertion`s; the signing key when not given.
    pub encryption_key_file: Option<PathBuf>,
    /// `NameIDPolicy/@Format` requested and the `NameIDFormat` of the SP metadata
    /// ([`DEFAULT_NAME_ID_FORMAT`] unless configured).
    pub name_id_format: String,
    /// How long a copy of the SP metadata stays valid (`validUntil` = when it is served +
    /// this). `None` (the default): no `validUntil`, the copy an IdP saved never expires.
    pub metadata_valid_for: Option<Duration>,
    /// Attribute mapping.
    pub attributes: SamlAttributeMap,
    /// `aws:PrincipalTag/<tag>` from attribute names.
    pub principal_tags: BTreeMap<String, String>,
    /// Accept unsolicited responses.
    pub allow_idp_initiated: bool,
    /// Sign AuthnRequests (HTTP-Redirect binding signature).
    pub sign_authn_requests: bool,
    /// `ForceAuthn`.
    pub force_authn: bool,
    /// `RequestedAuthnContext` class refs (exact comparison).
    pub requested_authn_context: Vec<String>,
    /// Allowed clock difference with the IdP.
    pub clock_skew: Duration,
    /// The assertion itself must be signed (otherwise a signed response covering it will do).
    pub want_assertions_signed: bool,
    /// `AuthnContextClassRef` values that set `aws:MultiFactorAuthPresent`.
    pub mfa_authn_contexts: Vec<String>,
}

/// Lanyard's Service Provider URLs towards one SAML provider: what an IdP's admin is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpEndpoints {
    /// The SP entity id when `sp_entity_id` is not configured: the SP metadata URL.
    pub entity_id: String,
    /// The Assertion Consumer Service URL, `{public_url}/auth/{id}/callback`.
    pub acs_url: String,
    /// The SP metadata URL, `{public_url}/auth/{id}/metadata`.
    pub metadata_url: String,
}

impl SpEndpoints {
    /// The SP URLs of provider `id` under Lanyard's `public_url` (relative paths when there
    /// is none): the one place they are derived, for the connector's settings and for an
    /// admin inspecting an IdP before adding it.
    pub fn of(public_url: Option<&Url>, id: &ProviderId) -> Self {
        let base = public_url
            .map(|u| u.as_str().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        let metadata_url = format!("{base}/auth/{id}/metadata");
        Self {
            entity_id: metadata_url.clone(),
            acs_url: format!("{base}/auth/{id}/callback"),
            metadata_url,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_escaped_and_cannot_change_the_filter() {
        let f =
            LdapFilter::parse("(&(objectClass=person)(uid={username}))", &["username"]).unwrap();
        assert_eq!(f.render("alice", ""), "(&(objectClass=person)(uid=alice))");
        assert_eq!(f.render("*", ""), "(&(objectClass=person)(uid=\\2a))");
        assert_eq!(
            f.render(")(uid=*", ""),
            "(&(objectClass=person)(uid=\\29\\28uid=\\2a))"
        );
        assert_eq!(f.render("a\0b", ""), "(&(objectClass=person)(uid=a\\00b))");
        // A value that looks like a placeholder stays a value.
        assert_eq!(
            f.render("{dn}", "cn=x"),
            "(&(objectClass=person)(uid={dn}))"
        );
    }

    #[test]
    fn bad_templates_are_refused() {
        assert!(LdapFilter::parse("(uid={user})", &["username"]).is_err());
        assert!(LdapFilter::parse("(uid=alice)", &["username"]).is_err());
        assert!(LdapFilter::parse("(uid={username}", &["username"]).is_err());
        assert!(LdapFilter::parse("uid={username", &["username"]).is_err());
        let g = LdapFilter::parse("(member:1.2.840.113556.1.4.1941:={dn})", &["dn"]).unwrap();
        assert_eq!(
            g.render("", "CN=A (x),DC=ex"),
            "(member:1.2.840.113556.1.4.1941:=CN=A \\28x\\29,DC=ex)"
        );
    }
}
