//! OpenID Connect providers (`kind = "oidc"`, `"google"`, `"microsoft"`): the authorization
//! code flow with PKCE (OpenID Connect Core §3.1, RFC 7636), discovery (OpenID Connect
//! Discovery §4) and the JWKS cached, ID token validation ([`super::id_token`]), optional
//! userinfo (Core §5.3, `sub` must match), and the mapping of the claims to an
//! [`ExternalIdentity`].
//!
//! Caching: the discovery document and the JWKS are kept for an hour. A token whose `kid`
//! is unknown triggers one JWKS refresh, at most one every [`JWKS_MIN_REFRESH_SECS`] per
//! provider, so a stream of tokens with made-up key ids cannot make Lanyard hammer the
//! provider, while a provider that rotates its keys never breaks sign-in. When the
//! provider cannot be reached, a cached document or key set is used past its hour.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::Mutex;
use url::Url;

use super::id_token::{
    Expectations, IssuerCheck, JwksDocument, PublicKeys, TokenUse, UnverifiedIdToken,
    allowed_algorithms,
};
use super::upstream::{Endpoint, Http, NotAllowed, Params, UpstreamError, UpstreamLogin, short};
use crate::clock::UnixTime;
use crate::connectors::settings::{
    ClaimMapping, OidcPreset, OidcSettings, TENANT_PLACEHOLDER, UpstreamClientAuth,
};
use crate::identity::{
    ClaimValue, ExternalIdentity, Issuer, OidcEvidence, ProviderId, ProviderKind,
};
use crate::secret::Secret;
use crate::session::random_id;
use crate::tokens::jose::{JwsAlgorithm as Algorithm, SigningKey};

/// How long a fetched discovery document or JWKS is used before it is fetched again.
pub const CACHE_FOR: Duration = Duration::from_secs(3600);
/// The least time between two JWKS refreshes caused by an unknown `kid`.
pub const JWKS_MIN_REFRESH: Duration = Duration::from_secs(10);
/// `amr` values (RFC 8176) that mean a second factor was used.
pub const MFA_AMR_VALUES: &[&str] = &["mfa", "otp", "hwk", "swk", "fido"];
/// At most this many groups are kept from a token.
const MAX_GROUPS: usize = 1000;
/// Claims that describe the protocol exchange, not the person; not exposed as condition keys.
const PROTOCOL_CLAIMS: &[&str] = &["nonce", "at_hash", "c_hash", "s_hash", "sid", "jti"];

/// The parts of a discovery document Lanyard uses.
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderMetadata {
    /// `issuer`.
    pub issuer: Issuer,
    /// `authorization_endpoint`.
    pub authorization_endpoint: Url,
    /// `token_endpoint`.
    pub token_endpoint: Url,
    /// `userinfo_endpoint`.
    #[serde(default)]
    pub userinfo_endpoint: Option<Url>,
    /// `jwks_uri`.
    pub jwks_uri: Url,
    /// `id_token_signing_alg_values_supported`.
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Option<Vec<String>>,
}

#[derive(Default)]
struct Cache {
    metadata: Option<(Arc<ProviderMetadata>, Vec<Algorithm>)>,
    metadata_at: UnixTime,
    keys: Option<Arc<PublicKeys>>,
    keys_at: UnixTime,
    /// When the first `x5c` certificate of the cached JWKS expires.
    keys_expiry: Option<UnixTime>,
    last_key_refresh: Option<UnixTime>,
}

/// An OpenID Connect provider, ready to sign people in.
pub struct OidcConnector {
    id: ProviderId,
    config: OidcSettings,
    http: Http,
    redirect_uri: Url,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for OidcConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConnector")
            .field("id", &self.id)
            .field("issuer", &self.config.issuer.as_str())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Secret,
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
}

#[derive(Serialize)]
struct ClientAssertion<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    jti: String,
    iat: UnixTime,
    exp: UnixTime,
}

/// The discovery document's URL of `issuer` (OpenID Connect Discovery §4):
/// `{issuer}/.well-known/openid-configuration`.
pub fn discovery_url(issuer: &Url) -> Url {
    let mut url = issuer.clone();
    let path = format!(
        "{}/.well-known/openid-configuration",
        url.path().trim_end_matches('/')
    );
    url.set_path(&path);
    url
}

/// Whether Lanyard talks to an upstream endpoint at `url`: https, or plain http only on a
/// loopback host (`127.0.0.0/8` or `localhost`, for local development and tests).
pub fn is_secure_endpoint(url: &Url) -> bool {
    let loopback = matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(url.host(), Some(url::Host::Domain("localhost")));
    url.scheme() == "https" || (url.scheme() == "http" && loopback)
}

/// Why a discovery document is refused (OpenID Connect Discovery §4.3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoveryFault {
    /// The document names another issuer than the one it was fetched for.
    #[error("discovered issuer {found:?} is not the configured {expected:?}")]
    IssuerMismatch {
        /// The issuer the document names (shortened).
        found: String,
        /// The issuer asked for.
        expected: String,
    },
    /// An endpoint is neither https nor on a loopback host.
    #[error("endpoint {0} is not https")]
    Insecure(Url),
}

/// Checks a discovery document fetched for `issuer`: the `issuer` it names must be that
/// one (for Microsoft Entra ID a tenant's issuer, or the `{tenantid}` template, on the same
/// host), and every endpoint must pass [`is_secure_endpoint`].
pub fn check_discovery(
    issuer: &Url,
    preset: OidcPreset,
    m: &ProviderMetadata,
) -> Result<(), DiscoveryFault> {
    let configured = issuer.as_str().trim_end_matches('/');
    let issuer_ok = match preset {
        // Entra ID: `/organizations/v2.0` or a domain-named tenant discovers an issuer
        // with the tenant id or the `{tenantid}` template, on the same host.
        OidcPreset::Microsoft => Url::parse(&m.issuer.replace(TENANT_PLACEHOLDER, "t"))
            .is_ok_and(|u| u.origin() == issuer.origin()),
        _ => m.issuer.trim_end_matches('/') == configured,
    };
    if !issuer_ok {
        return Err(DiscoveryFault::IssuerMismatch {
            found: short(&m.issuer, 200),
            expected: configured.to_owned(),
        });
    }
    for u in [&m.authorization_endpoint, &m.token_endpoint, &m.jwks_uri]
        .into_iter()
        .chain(m.userinfo_endpoint.as_ref())
    {
        if !is_secure_endpoint(u) {
            return Err(DiscoveryFault::Insecure(u.clone()));
        }
    }
    Ok(())
}

impl OidcConnector {
    /// A connector for `config`; `redirect_uri` is `{public_url}/auth/{id}/callback`.
    pub fn new(
        id: ProviderId,
        config: OidcSettings,
        redirect_uri: Url,
        timer: super::CallTimer,
    ) -> Result<Self, UpstreamError> {
        if config.preset == OidcPreset::Microsoft && config.allowed_tenants.is_empty() {
            tracing::warn!(
                provider = %id,
                "no allowed_tenants: any Microsoft Entra tenant's accounts can sign in (trust \
                 policies still decide the roles)"
            );
        }
        Ok(Self {
            http: Http::new(config.timeout, timer)?,
            id,
            config,
            redirect_uri,
            cache: Mutex::new(Cache::default()),
        })
    }

    /// When the JWKS in the cache was fetched (by the injected clock) and when the first
    /// of its `x5c` certificates expires; `None` before the first fetch.
    pub async fn keys_status(&self) -> Option<(UnixTime, Option<UnixTime>)> {
        let cache = self.cache.lock().await;
        cache.keys.as_ref()?;
        Some((cache.keys_at, cache.keys_expiry))
    }

    /// The provider's id.
    pub fn id(&self) -> &ProviderId {
        &self.id
    }

    /// The settings.
    pub fn config(&self) -> &OidcSettings {
        &self.config
    }

    fn discovery_url(&self) -> Url {
        discovery_url(&self.config.issuer)
    }

    /// The discovery document, from the cache when fresh.
    async fn metadata(
        &self,
        now: UnixTime,
    ) -> Result<(Arc<ProviderMetadata>, Vec<Algorithm>), UpstreamError> {
        let stale = {
            let cache = self.cache.lock().await;
            match &cache.metadata {
                Some(m) if now.since(cache.metadata_at) < CACHE_FOR => return Ok(m.clone()),
                other => other.clone(),
            }
        };
        let fetched = self
            .http
            .get_json::<ProviderMetadata>(
                Endpoint::Discovery,
                &self.discovery_url(),
                None,
                "application/json",
            )
            .await
            .and_then(|m| self.check_metadata(m));
        match (fetched, stale) {
            (Ok(m), _) => {
                let algs = allowed_algorithms(m.id_token_signing_alg_values_supported.as_deref());
                if algs.is_empty() {
                    return Err(UpstreamError::Malformed {
                        endpoint: Endpoint::Discovery,
                        detail: "no ID token signing algorithm Lanyard accepts".into(),
                    });
                }
                let entry = (Arc::new(m), algs);
                let mut cache = self.cache.lock().await;
                cache.metadata = Some(entry.clone());
                cache.metadata_at = now;
                Ok(entry)
            }
            (Err(e), Some(stale)) => {
                tracing::warn!(provider = %self.id, error = %e, detail = %e.detail(), "discovery refresh failed; using the cached document");
                Ok(stale)
            }
            (Err(e), None) => Err(e),
        }
    }

    /// OpenID Connect Discovery §4.3: the issuer must be the one configured; endpoints
    /// must be https (http only on loopback) ([`check_discovery`]).
    fn check_metadata(&self, m: ProviderMetadata) -> Result<ProviderMetadata, UpstreamError> {
        check_discovery(&self.config.issuer, self.config.preset, &m).map_err(|fault| {
            UpstreamError::Malformed {
                endpoint: Endpoint::Discovery,
                detail: fault.to_string(),
            }
        })?;
        Ok(m)
    }

    /// The JWKS; `refresh` forces a fetch unless one happened less than
    /// [`JWKS_MIN_REFRESH`] ago.
    async fn keys(
        &self,
        jwks_uri: &Url,
        now: UnixTime,
        refresh: bool,
    ) -> Result<Arc<PublicKeys>, UpstreamError> {
        let stale = {
            let mut cache = self.cache.lock().await;
            let fresh = now.since(cache.keys_at) < CACHE_FOR;
            match &cache.keys {
                Some(k) if fresh && !refresh => return Ok(Arc::clone(k)),
                Some(k)
                    if refresh
                        && cache
                            .last_key_refresh
                            .is_some_and(|t| now.since(t) < JWKS_MIN_REFRESH) =>
                {
                    return Ok(Arc::clone(k));
                }
                _ => {}
            }
            if refresh {
                cache.last_key_refresh = Some(now);
            }
            cache.keys.clone()
        };
        let fetched = self
            .http
            .get_json::<JwksDocument>(Endpoint::Jwks, jwks_uri, None, "application/json")
            .await
            .map(|doc| {
                let expiry = super::id_token::certificate_expiry(&doc);
                (PublicKeys::from_document(&doc), expiry)
            });
        match (fetched, stale) {
            (Ok((keys, expiry)), _) if !keys.is_empty() => {
                let keys = Arc::new(keys);
                let mut cache = self.cache.lock().await;
                cache.keys = Some(Arc::clone(&keys));
                cache.keys_at = now;
                cache.keys_expiry = expiry;
                Ok(keys)
            }
            (Ok(_), None) => Err(UpstreamError::Malformed {
                endpoint: Endpoint::Jwks,
                detail: "the JWKS holds no usable signing key".into(),
            }),
            (Ok(_), Some(stale)) => Ok(stale),
            (Err(e), Some(stale)) => {
                tracing::warn!(provider = %self.id, error = %e, detail = %e.detail(), "JWKS refresh failed; using the cached keys");
                Ok(stale)
            }
            (Err(e), None) => Err(e),
        }
    }

    /// Where to send the browser: the authorization request (Core §3.1.2.1) with `state`,
    /// `nonce`, an S256 PKCE challenge and, when an application gave one, `login_hint`.
    pub async fn authorization_url(
        &self,
        login: &UpstreamLogin,
        login_hint: Option<&str>,
        now: UnixTime,
    ) -> Result<Url, UpstreamError> {
        self.authorization_url_for(login, login_hint, now, false)
            .await
    }

    /// The authorization request of a step-up (issue 17): [`OidcConnector::authorization_url`]
    /// asking for a fresh authentication, `prompt=login` and `max_age=0` (Core §3.1.2.1; the
    /// ID token must then carry `auth_time`), with the provider's `mfa_acr_values` as
    /// `acr_values` (its configured `acr_values` when it has none).
    pub async fn step_up_url(
        &self,
        login: &UpstreamLogin,
        login_hint: Option<&str>,
        now: UnixTime,
    ) -> Result<Url, UpstreamError> {
        self.authorization_url_for(login, login_hint, now, true)
            .await
    }

    /// The `acr` values that mean a second factor (`mfa_acr_values`): a step-up's answer
    /// must carry one of them when there are any.
    pub fn mfa_acr_values(&self) -> &[String] {
        &self.config.mfa_acr_values
    }

    async fn authorization_url_for(
        &self,
        login: &UpstreamLogin,
        login_hint: Option<&str>,
        now: UnixTime,
        step_up: bool,
    ) -> Result<Url, UpstreamError> {
        let (metadata, _) = self.metadata(now).await?;
        let mut url = metadata.authorization_endpoint.clone();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &self.config.client_id)
                .append_pair("redirect_uri", self.redirect_uri.as_str())
                .append_pair("scope", &self.config.scopes.join(" "))
                .append_pair("state", &login.state)
                .append_pair("nonce", &login.nonce)
                .append_pair("code_challenge", &login.pkce_challenge())
                .append_pair("code_challenge_method", "S256");
            if step_up {
                q.append_pair("prompt", "login").append_pair("max_age", "0");
            } else if let Some(prompt) = &self.config.prompt {
                q.append_pair("prompt", prompt);
            }
            if let Some(hint) = login_hint {
                q.append_pair("login_hint", hint);
            }
            let acr_values = match &self.config.mfa_acr_values {
                mfa if step_up && !mfa.is_empty() => mfa,
                _ => &self.config.acr_values,
            };
            if !acr_values.is_empty() {
                q.append_pair("acr_values", &acr_values.join(" "));
            }
            // Google shows only accounts of that Workspace domain (a hint; `hd` is checked).
            if self.config.preset == OidcPreset::Google
                && let [domain] = self.config.allowed_domains.as_slice()
            {
                q.append_pair("hd", domain);
            }
        }
        Ok(url)
    }

    /// Handles the callback: redeems the code, validates the ID token, merges userinfo,
    /// and maps the claims to an identity.
    pub async fn finish(
        &self,
        code: &Secret,
        callback_iss: Option<&str>,
        login: &UpstreamLogin,
        now: UnixTime,
    ) -> Result<ExternalIdentity, UpstreamError> {
        let (identity, _) = self
            .finish_with(code, callback_iss, login, now, false)
            .await?;
        Ok(identity)
    }

    /// [`OidcConnector::finish`], also keeping what the provider sent when `keep_evidence`
    /// (an admin's test sign-in): the ID token's header and claims and the userinfo answer.
    pub async fn finish_with(
        &self,
        code: &Secret,
        callback_iss: Option<&str>,
        login: &UpstreamLogin,
        now: UnixTime,
        keep_evidence: bool,
    ) -> Result<(ExternalIdentity, Option<OidcEvidence>), UpstreamError> {
        let (metadata, algorithms) = self.metadata(now).await?;
        // RFC 9207: when the provider names itself in the callback, it must be this one.
        if let Some(iss) = callback_iss
            && !metadata.issuer.contains(TENANT_PLACEHOLDER)
            && metadata.issuer != iss
        {
            return Err(super::id_token::IdTokenError::WrongIssuer.into());
        }
        let tokens = self.redeem(&metadata, code, login, now).await?;
        let id_token = tokens.id_token.as_deref().ok_or(UpstreamError::Malformed {
            endpoint: Endpoint::Token,
            detail: "no id_token in the token response".into(),
        })?;
        if tokens
            .token_type
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("bearer") && !t.eq_ignore_ascii_case("dpop"))
        {
            tracing::debug!(provider = %self.id, "unusual token_type from the token endpoint");
        }
        let unverified = UnverifiedIdToken::parse(id_token)?;
        let mut keys = self.keys(&metadata.jwks_uri, now, false).await?;
        if !unverified.has_key_in(&keys) {
            tracing::info!(provider = %self.id, kid = ?unverified.kid(), "unknown signing key; refreshing the JWKS");
            keys = self.keys(&metadata.jwks_uri, now, true).await?;
        }
        let issuer = if metadata.issuer.contains(TENANT_PLACEHOLDER) {
            IssuerCheck::TenantTemplate(&metadata.issuer)
        } else {
            IssuerCheck::Exact(&metadata.issuer)
        };
        let expect = Expectations {
            issuer,
            token_use: TokenUse::SignIn {
                client_id: &self.config.client_id,
                nonce: &login.nonce,
            },
            algorithms: &algorithms,
            now,
            skew: i64::try_from(self.config.clock_skew.as_secs()).unwrap_or(60),
            access_token: Some(&tokens.access_token),
        };
        let kid = unverified.kid().map(str::to_owned);
        let verified = unverified.verify(&keys, &expect)?;
        let subject = verified.subject().to_owned();
        let mut evidence = keep_evidence.then(|| OidcEvidence {
            alg: verified.alg_name(),
            kid,
            id_token: verified.claims().clone(),
            userinfo: None,
        });
        let mut claims = verified.into_claims();
        if self.config.fetch_userinfo
            && let Some(endpoint) = &metadata.userinfo_endpoint
        {
            let info: Map<String, Value> = self
                .http
                .get_json(
                    Endpoint::Userinfo,
                    endpoint,
                    Some(&tokens.access_token),
                    "application/json",
                )
                .await?;
            // Core §5.3.4: the userinfo `sub` must be the ID token's.
            if info.get("sub").and_then(Value::as_str) != Some(subject.as_str()) {
                return Err(UpstreamError::UserinfoSubjectMismatch);
            }
            if let Some(e) = evidence.as_mut() {
                e.userinfo = Some(info.clone());
            }
            for (k, v) in info {
                claims.entry(k).or_insert(v);
            }
        }
        let identity = identity_from_claims(&self.id, &self.config, &claims, now)?;
        Ok((identity, evidence))
    }

    /// The identity this provider would make of `claims` had it verified them, its sign-in
    /// restrictions included: for the trust simulator, which has claims nobody verified.
    pub fn identity_of_untrusted(
        &self,
        claims: &Map<String, Value>,
        now: UnixTime,
    ) -> Result<ExternalIdentity, UpstreamError> {
        identity_from_claims(&self.id, &self.config, claims, now)
    }

    /// Whether a token claiming `iss` is this provider's: the configured issuer, compared
    /// without a trailing slash (an Entra ID multi-tenant template never matches here; a
    /// workload's token names its tenant's issuer, configured as such).
    pub fn is_issuer(&self, iss: &str) -> bool {
        let configured = self.config.issuer.as_str().trim_end_matches('/');
        !configured.contains(TENANT_PLACEHOLDER) && configured == iss.trim_end_matches('/')
    }

    /// Validates a web identity token (a JWT this provider issued to a workload, for
    /// example a CI job's OIDC token): signature with the provider's JWKS (refreshed once on
    /// an unknown `kid`), `iss` exactly the discovered issuer, `aud` among
    /// `web_identity_audiences`, and the time window with the configured skew. Returns the
    /// identity and the audience that matched.
    pub async fn verify_web_identity(
        &self,
        unverified: &UnverifiedIdToken<'_>,
        now: UnixTime,
    ) -> Result<(ExternalIdentity, String), UpstreamError> {
        let (metadata, algorithms) = self.metadata(now).await?;
        let mut keys = self.keys(&metadata.jwks_uri, now, false).await?;
        if !unverified.has_key_in(&keys) {
            tracing::info!(provider = %self.id, kid = ?unverified.kid(), "unknown signing key; refreshing the JWKS");
            keys = self.keys(&metadata.jwks_uri, now, true).await?;
        }
        let expect = Expectations {
            issuer: IssuerCheck::Exact(&metadata.issuer),
            token_use: TokenUse::WebIdentity {
                audiences: &self.config.web_identity_audiences,
            },
            algorithms: &algorithms,
            now,
            skew: i64::try_from(self.config.clock_skew.as_secs()).unwrap_or(60),
            access_token: None,
        };
        let verified = unverified.verify(&keys, &expect)?;
        let audience = match verified.claims().get("aud") {
            Some(Value::String(a)) => Some(a.clone()),
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(Value::as_str)
                .find(|a| self.config.web_identity_audiences.iter().any(|w| w == a))
                .map(str::to_owned),
            _ => None,
        }
        .unwrap_or_default();
        let identity = identity_from_claims(&self.id, &self.config, verified.claims(), now)?;
        Ok((identity, audience))
    }

    async fn redeem(
        &self,
        metadata: &ProviderMetadata,
        code: &Secret,
        login: &UpstreamLogin,
        now: UnixTime,
    ) -> Result<TokenResponse, UpstreamError> {
        let mut form: Params<'_> = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.expose_secret().to_owned()),
            ("redirect_uri", self.redirect_uri.to_string()),
            ("code_verifier", login.pkce_verifier.clone()),
        ];
        let mut basic = None;
        match &self.config.client_auth {
            UpstreamClientAuth::SecretBasic(secret) => {
                basic = Some((self.config.client_id.as_str(), secret))
            }
            UpstreamClientAuth::SecretPost(secret) => {
                form.push(("client_id", self.config.client_id.clone()));
                form.push(("client_secret", secret.expose_secret().to_owned()));
            }
            UpstreamClientAuth::None => form.push(("client_id", self.config.client_id.clone())),
            UpstreamClientAuth::PrivateKeyJwt { pem, key_id } => {
                form.push(("client_id", self.config.client_id.clone()));
                form.push((
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned(),
                ));
                form.push((
                    "client_assertion",
                    self.client_assertion(pem, key_id.as_deref(), &metadata.token_endpoint, now)?,
                ));
            }
        }
        let response = self
            .http
            .post_form::<TokenResponse>(Endpoint::Token, &metadata.token_endpoint, &form, basic)
            .await;
        // Scrub the form (it holds the code, the verifier and maybe the secret).
        for (_, v) in &mut form {
            zeroize::Zeroize::zeroize(v);
        }
        response
    }

    /// RFC 7523 §2.2 client assertion: `iss` = `sub` = client id, `aud` = token endpoint.
    fn client_assertion(
        &self,
        pem: &Secret,
        key_id: Option<&str>,
        token_endpoint: &Url,
        now: UnixTime,
    ) -> Result<String, UpstreamError> {
        let key = SigningKey::from_pem(pem, key_id)
            .map_err(|e| UpstreamError::Config(format!("client assertion key: {e}")))?;
        let claims = ClientAssertion {
            iss: &self.config.client_id,
            sub: &self.config.client_id,
            aud: token_endpoint.as_str(),
            jti: random_id().expose_secret().to_owned(),
            iat: now,
            exp: now + Duration::from_secs(60),
        };
        key.sign(&claims, "JWT")
            .map_err(|e| UpstreamError::Config(format!("client assertion: {e}")))
    }
}

fn claim_str<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn claim_bool(claims: &Map<String, Value>, name: &str) -> Option<bool> {
    match claims.get(name)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => Some(s.eq_ignore_ascii_case("true")),
        _ => None,
    }
}

fn claim_list(claims: &Map<String, Value>, name: &str) -> Vec<String> {
    match claims.get(name) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .take(MAX_GROUPS)
            .collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Maps verified claims (ID token, merged with userinfo) to an identity, enforcing the
/// provider's restrictions: verified email (Google), `allowed_domains` (Google `hd`,
/// otherwise the email's domain), `allowed_tenants` (Entra ID `tid`).
pub fn identity_from_claims(
    provider: &ProviderId,
    config: &OidcSettings,
    claims: &Map<String, Value>,
    now: UnixTime,
) -> Result<ExternalIdentity, UpstreamError> {
    require_sub(claims)?;
    let email = claim_str(claims, &config.claims.email).map(str::to_owned);
    let email_verified = claim_bool(claims, "email_verified");
    if config.require_verified_email && (email.is_none() || email_verified != Some(true)) {
        return Err(UpstreamError::NotAllowed(NotAllowed::UnverifiedEmail));
    }
    if !config.allowed_domains.is_empty() {
        let domain = match config.preset {
            // Google: `hd` names the Workspace domain; personal accounts have none.
            OidcPreset::Google => claim_str(claims, "hd").map(str::to_lowercase),
            _ if email_verified == Some(false) => None,
            _ => email
                .as_deref()
                .and_then(|e| e.rsplit_once('@'))
                .map(|(_, d)| d.to_lowercase()),
        };
        match domain {
            Some(d) if config.allowed_domains.contains(&d) => {}
            Some(d) => {
                return Err(UpstreamError::NotAllowed(NotAllowed::Domain(short(
                    &d, 100,
                ))));
            }
            None => {
                return Err(UpstreamError::NotAllowed(NotAllowed::NoAllowedDomain));
            }
        }
    }
    if !config.allowed_tenants.is_empty() {
        let tid = claim_str(claims, "tid").map(str::to_lowercase);
        if !tid.is_some_and(|t| config.allowed_tenants.contains(&t)) {
            return Err(UpstreamError::NotAllowed(NotAllowed::Tenant));
        }
    }
    Ok(map_identity(
        provider,
        &Mapping {
            kind: config.preset.kind(),
            claims: &config.claims,
            principal_tags: &config.principal_tags,
            mfa_acr_values: &config.mfa_acr_values,
        },
        claims,
        now,
    ))
}

/// How claims become an identity: the provider's kind and claim names.
struct Mapping<'a> {
    kind: ProviderKind,
    claims: &'a ClaimMapping,
    principal_tags: &'a BTreeMap<String, String>,
    mfa_acr_values: &'a [String],
}

/// Maps claims that an admin pasted or recorded (the trust simulator's claims source),
/// NOT verified by anyone, to the identity provider `provider` of `kind` would make of
/// them with the default claim names (`sub`, `email`, `preferred_username`, `groups`,
/// `amr`), without the provider's sign-in restrictions. Only `sub` is required.
pub fn identity_from_untrusted_claims(
    provider: &ProviderId,
    kind: ProviderKind,
    claims: &Map<String, Value>,
    now: UnixTime,
) -> Result<ExternalIdentity, UpstreamError> {
    require_sub(claims)?;
    Ok(map_identity(
        provider,
        &Mapping {
            kind,
            claims: &ClaimMapping::default(),
            principal_tags: &BTreeMap::new(),
            mfa_acr_values: &[],
        },
        claims,
        now,
    ))
}

/// `Ok` when `claims` hold a non-empty `sub`.
fn require_sub(claims: &Map<String, Value>) -> Result<(), UpstreamError> {
    match claim_str(claims, "sub") {
        Some(_) => Ok(()),
        None => Err(UpstreamError::InvalidIdToken(
            super::id_token::IdTokenError::MissingClaim("sub"),
        )),
    }
}

/// The identity of `claims` (which hold a `sub`) under `mapping`.
fn map_identity(
    provider: &ProviderId,
    mapping: &Mapping<'_>,
    claims: &Map<String, Value>,
    now: UnixTime,
) -> ExternalIdentity {
    let subject = claim_str(claims, "sub").unwrap_or_default().to_owned();
    let email = claim_str(claims, &mapping.claims.email).map(str::to_owned);
    let email_verified = claim_bool(claims, "email_verified");
    let username = claim_str(claims, &mapping.claims.username)
        .or(email.as_deref())
        .unwrap_or(&subject)
        .chars()
        .filter(|c| !c.is_control())
        .take(128)
        .collect::<String>();
    let amr = claim_list(claims, "amr");
    let acr = claim_str(claims, "acr");
    let mfa = amr.iter().any(|a| MFA_AMR_VALUES.contains(&a.as_str()))
        || acr.is_some_and(|a| mapping.mfa_acr_values.iter().any(|m| m == a));
    let auth_time = claims
        .get("auth_time")
        .and_then(Value::as_i64)
        .map(UnixTime::from_secs)
        .filter(|t| *t > UnixTime::EPOCH && *t <= now + Duration::from_secs(300))
        .unwrap_or(now);
    let mut tags = BTreeMap::new();
    for (tag, claim) in mapping.principal_tags {
        if let Some(v) = claims.get(claim).and_then(scalar) {
            tags.insert(tag.clone(), short(&v, 256));
        }
    }
    let mut raw = BTreeMap::new();
    for (k, v) in claims {
        let name_ok = k.len() <= 64
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.:/".contains(c))
            && !PROTOCOL_CLAIMS.contains(&k.as_str());
        if !name_ok {
            continue;
        }
        let value = match v {
            Value::Array(_) => ClaimValue::Many(claim_list(claims, k)),
            other => match scalar(other) {
                Some(s) if s.len() <= 1024 => ClaimValue::One(s),
                _ => continue,
            },
        };
        raw.insert(k.clone(), value);
    }
    ExternalIdentity {
        provider: provider.clone(),
        provider_kind: mapping.kind,
        subject,
        username,
        email_verified: email.is_some() && email_verified.unwrap_or(false),
        email,
        display_name: claim_str(claims, &mapping.claims.display_name).map(|s| short(s, 256)),
        groups: claim_list(claims, &mapping.claims.groups),
        amr,
        mfa,
        auth_time,
        tags,
        claims: raw,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::connectors::settings::ClaimMapping;

    fn config(preset: OidcPreset) -> OidcSettings {
        OidcSettings {
            preset,
            issuer: Url::parse("https://idp.example.com").unwrap(),
            client_id: "lanyard".into(),
            client_auth: UpstreamClientAuth::SecretBasic(Secret::new("s")),
            scopes: vec!["openid".into()],
            claims: ClaimMapping::default(),
            principal_tags: BTreeMap::from([("team".to_owned(), "department".to_owned())]),
            allowed_domains: vec![],
            allowed_tenants: vec![],
            prompt: None,
            acr_values: vec![],
            mfa_acr_values: vec!["urn:mfa".into()],
            fetch_userinfo: false,
            require_verified_email: preset == OidcPreset::Google,
            clock_skew: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
            web_identity_audiences: vec!["lanyard".into()],
            browser_sign_in: true,
        }
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    fn id() -> ProviderId {
        ProviderId::new("idp")
    }

    #[test]
    fn claims_map_to_the_normalized_identity() {
        let generic = config(OidcPreset::Generic);
        let map = |c| identity_from_claims(&id(), &generic, &c, UnixTime::from_secs(1000));
        let c = claims(
            json!({"sub": "s1", "preferred_username": "jane", "email": "jane@example.com",
            "email_verified": true, "name": "Jane", "groups": ["a", "b"], "amr": ["pwd", "otp"],
            "department": "platform", "nonce": "secret-ish", "auth_time": 100}),
        );
        let i = map(c).unwrap();
        assert_eq!(i.subject, "s1");
        assert_eq!(i.username, "jane");
        assert_eq!(i.email.as_deref(), Some("jane@example.com"));
        assert!(i.email_verified && i.mfa);
        assert_eq!(i.groups, ["a", "b"]);
        assert_eq!(i.auth_time, UnixTime::from_secs(100));
        assert_eq!(i.tags["team"], "platform");
        assert_eq!(i.claims["department"], ClaimValue::One("platform".into()));
        assert!(!i.claims.contains_key("nonce"));
        // Username falls back to email, then sub; a single group string is one group.
        let c = claims(json!({"sub": "s2", "groups": "solo", "acr": "urn:mfa"}));
        let i = map(c).unwrap();
        assert_eq!(i.username, "s2");
        assert_eq!(i.groups, ["solo"]);
        assert!(i.mfa, "a configured acr counts as MFA");
        assert!(!i.email_verified);
    }

    #[test]
    fn google_requires_a_verified_email_and_checks_hd() {
        let mut cfg = config(OidcPreset::Google);
        let unverified =
            claims(json!({"sub": "g", "email": "a@example.com", "email_verified": false}));
        assert!(matches!(
            identity_from_claims(&id(), &cfg, &unverified, UnixTime::EPOCH),
            Err(UpstreamError::NotAllowed(_))
        ));
        cfg.allowed_domains = vec!["example.com".into()];
        let personal = claims(json!({"sub": "g", "email": "a@gmail.com", "email_verified": true}));
        assert!(identity_from_claims(&id(), &cfg, &personal, UnixTime::EPOCH).is_err());
        // The email domain alone is not enough for Google: hd decides.
        let spoof = claims(json!({"sub": "g", "email": "a@example.com", "email_verified": true}));
        assert!(identity_from_claims(&id(), &cfg, &spoof, UnixTime::EPOCH).is_err());
        let member = claims(
            json!({"sub": "g", "email": "a@example.com", "email_verified": true, "hd": "example.com"}),
        );
        assert!(identity_from_claims(&id(), &cfg, &member, UnixTime::EPOCH).is_ok());
    }

    #[test]
    fn allowed_domains_and_tenants() {
        let mut cfg = config(OidcPreset::Generic);
        cfg.allowed_domains = vec!["example.com".into()];
        let ok = claims(json!({"sub": "x", "email": "x@Example.COM"}));
        assert!(identity_from_claims(&id(), &cfg, &ok, UnixTime::EPOCH).is_ok());
        let unverified =
            claims(json!({"sub": "x", "email": "x@example.com", "email_verified": false}));
        assert!(identity_from_claims(&id(), &cfg, &unverified, UnixTime::EPOCH).is_err());
        let other = claims(json!({"sub": "x", "email": "x@evil.example"}));
        assert!(identity_from_claims(&id(), &cfg, &other, UnixTime::EPOCH).is_err());
        let mut cfg = config(OidcPreset::Microsoft);
        cfg.allowed_tenants = vec!["t-1".into()];
        let tenant = |c| identity_from_claims(&id(), &cfg, &claims(c), UnixTime::EPOCH);
        assert!(tenant(json!({"sub": "m", "tid": "T-1"})).is_ok());
        assert!(tenant(json!({"sub": "m", "tid": "t-2"})).is_err());
        assert!(tenant(json!({"sub": "m"})).is_err());
    }
}
