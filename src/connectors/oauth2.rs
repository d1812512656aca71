//! Plain OAuth 2.0 providers (`kind = "github"`): the authorization code flow (RFC 6749
//! §4.1, with PKCE) and then GitHub's REST API for who the person is: `/user`, the verified
//! primary address of `/user/emails`, and `/user/orgs` and `/user/teams` as groups
//! (`org` and `org:team`). Works with GitHub Enterprise Server through `base_url`.
//!
//! There is no ID token: the identity is whatever the API says for the access token
//! Lanyard itself just redeemed over TLS, which is as strong as the redemption.

use std::collections::BTreeMap;

use serde::Deserialize;
use url::Url;

use super::upstream::{Endpoint, Http, NotAllowed, Params, UpstreamError, UpstreamLogin, short};
use crate::clock::UnixTime;
use crate::connectors::settings::GithubSettings;
use crate::identity::{ClaimValue, ExternalIdentity, ProviderId, ProviderKind};
use crate::secret::Secret;

/// Items per API page (GitHub's maximum).
const PER_PAGE: usize = 100;
/// Pages read at most per list (1,000 organizations or teams).
const MAX_PAGES: usize = 10;
/// GitHub's media type.
const GITHUB_JSON: &str = "application/vnd.github+json";

/// GitHub, ready to sign people in.
pub struct GithubConnector {
    id: ProviderId,
    config: GithubSettings,
    http: Http,
    redirect_uri: Url,
}

impl std::fmt::Debug for GithubConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubConnector")
            .field("id", &self.id)
            .field("base_url", &self.config.base_url.as_str())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    access_token: Option<Secret>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

#[derive(Deserialize)]
struct User {
    id: u64,
    login: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct Email {
    email: String,
    #[serde(default)]
    primary: bool,
    #[serde(default)]
    verified: bool,
}

#[derive(Deserialize)]
struct Org {
    login: String,
}

#[derive(Deserialize)]
struct Team {
    slug: String,
    organization: Org,
}

/// The authorization endpoint's path under GitHub's web URL.
pub const AUTHORIZE_PATH: &str = "login/oauth/authorize";
/// The token endpoint's path under GitHub's web URL.
pub const TOKEN_PATH: &str = "login/oauth/access_token";
/// The signed-in user's path under GitHub's API URL.
pub const USER_PATH: &str = "user";

fn join(base: &Url, path: &str) -> Result<Url, UpstreamError> {
    let text = format!("{}/{}", base.as_str().trim_end_matches('/'), path);
    Url::parse(&text).map_err(|e| UpstreamError::Config(format!("URL {text}: {e}")))
}

impl GithubConnector {
    /// A connector for `config`; `redirect_uri` is `{public_url}/auth/{id}/callback`.
    pub fn new(
        id: ProviderId,
        config: GithubSettings,
        redirect_uri: Url,
        timer: super::CallTimer,
    ) -> Result<Self, UpstreamError> {
        Ok(Self {
            http: Http::new(config.timeout, timer)?,
            id,
            config,
            redirect_uri,
        })
    }

    /// The authorization request.
    pub fn authorization_url(
        &self,
        login: &UpstreamLogin,
        login_hint: Option<&str>,
    ) -> Result<Url, UpstreamError> {
        let mut url = join(&self.config.base_url, AUTHORIZE_PATH)?;
        if let Some(hint) = login_hint {
            // GitHub's name for it: the account to suggest.
            url.query_pairs_mut().append_pair("login", hint);
        }
        url.query_pairs_mut()
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", self.redirect_uri.as_str())
            .append_pair("scope", &self.config.scopes.join(" "))
            .append_pair("state", &login.state)
            .append_pair("code_challenge", &login.pkce_challenge())
            .append_pair("code_challenge_method", "S256")
            .append_pair("allow_signup", "false");
        Ok(url)
    }

    /// Redeems the code and asks the API who the person is.
    pub async fn finish(
        &self,
        code: &Secret,
        login: &UpstreamLogin,
        now: UnixTime,
    ) -> Result<ExternalIdentity, UpstreamError> {
        let mut form: Params<'_> = vec![
            ("client_id", self.config.client_id.clone()),
            (
                "client_secret",
                self.config.client_secret.expose_secret().to_owned(),
            ),
            ("code", code.expose_secret().to_owned()),
            ("redirect_uri", self.redirect_uri.to_string()),
            ("code_verifier", login.pkce_verifier.clone()),
        ];
        let url = join(&self.config.base_url, TOKEN_PATH)?;
        let response: Result<TokenResponse, _> = self
            .http
            .post_form(Endpoint::Token, &url, &form, None)
            .await;
        for (_, v) in &mut form {
            zeroize::Zeroize::zeroize(v);
        }
        let response = response?;
        // GitHub answers 200 with an `error` field (e.g. bad_verification_code).
        let token = match (response.access_token, response.error) {
            (Some(t), None) if !t.is_empty() => t,
            (_, Some(error)) => {
                return Err(UpstreamError::Denied {
                    error: short(&error, 64),
                    description: response.error_description.as_deref().map(|d| short(d, 200)),
                });
            }
            _ => {
                return Err(UpstreamError::Malformed {
                    endpoint: Endpoint::Token,
                    detail: "no access_token in the token response".into(),
                });
            }
        };
        let user: User = self.api(&token, USER_PATH).await?;
        let emails: Vec<Email> = self.api(&token, "user/emails").await.unwrap_or_else(|e| {
            tracing::info!(provider = %self.id, error = %e, "cannot read email addresses (scope user:email?)");
            Vec::new()
        });
        let orgs: Vec<Org> = self.pages(&token, "user/orgs").await?;
        let teams: Vec<Team> = self.pages(&token, "user/teams").await?;
        identity(&self.id, &self.config, user, &emails, &orgs, &teams, now)
    }

    async fn api<T: serde::de::DeserializeOwned>(
        &self,
        token: &Secret,
        path: &str,
    ) -> Result<T, UpstreamError> {
        let url = join(&self.config.api_url, path)?;
        self.http
            .get_json(Endpoint::Api, &url, Some(token), GITHUB_JSON)
            .await
    }

    async fn pages<T: serde::de::DeserializeOwned>(
        &self,
        token: &Secret,
        path: &str,
    ) -> Result<Vec<T>, UpstreamError> {
        let mut all = Vec::new();
        for page in 1..=MAX_PAGES {
            let batch: Vec<T> = self
                .api(token, &format!("{path}?per_page={PER_PAGE}&page={page}"))
                .await?;
            let n = batch.len();
            all.extend(batch);
            if n < PER_PAGE {
                break;
            }
        }
        Ok(all)
    }
}

fn identity(
    provider: &ProviderId,
    config: &GithubSettings,
    user: User,
    emails: &[Email],
    orgs: &[Org],
    teams: &[Team],
    now: UnixTime,
) -> Result<ExternalIdentity, UpstreamError> {
    let org_names: Vec<String> = orgs.iter().map(|o| o.login.to_lowercase()).collect();
    if !config.allowed_organizations.is_empty()
        && !org_names
            .iter()
            .any(|o| config.allowed_organizations.contains(o))
    {
        return Err(UpstreamError::NotAllowed(NotAllowed::Organization(
            config.allowed_organizations.clone(),
        )));
    }
    let email = emails
        .iter()
        .find(|e| e.primary && e.verified)
        .map(|e| e.email.clone());
    let mut groups = org_names.clone();
    groups.extend(teams.iter().map(|t| {
        format!(
            "{}:{}",
            t.organization.login.to_lowercase(),
            t.slug.to_lowercase()
        )
    }));
    let mut claims = BTreeMap::new();
    claims.insert("id".to_owned(), ClaimValue::One(user.id.to_string()));
    claims.insert("login".to_owned(), ClaimValue::One(user.login.clone()));
    claims.insert("orgs".to_owned(), ClaimValue::Many(org_names));
    if let Some(name) = &user.name {
        claims.insert("name".to_owned(), ClaimValue::One(short(name, 256)));
    }
    Ok(ExternalIdentity {
        provider: provider.clone(),
        provider_kind: ProviderKind::Github,
        subject: user.id.to_string(),
        username: short(&user.login, 128),
        email_verified: email.is_some(),
        email,
        display_name: user.name.map(|n| short(&n, 256)),
        groups,
        amr: Vec::new(),
        mfa: false,
        auth_time: now,
        tags: BTreeMap::new(),
        claims,
    })
}
