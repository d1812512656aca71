//! What every token grant ends with: the person's trust decision, the tokens issued
//! through the one door, the ID token (OIDC Core §2) and the rotated refresh token.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::access::{Attempt, ClientBinding, Holder, IssueRequest};
use crate::identity::ExternalIdentity;
use crate::op::GrantType;
use crate::roles::{Caller, RequestFacts, TrustGrant};
use crate::session::{Step, keyspace};
use crate::sso::RoleSession;
use crate::tokens::Algorithm;

use super::{ACR_MFA, ACR_PASSWORD, Client, ID_TOKEN_TYPE, OAuthError, OidcProvider, issue_error};

/// The answer of the token endpoint (RFC 6749 §5.1). Its `Debug` leaves the tokens out.
#[derive(Serialize)]
pub struct TokenResponse {
    /// The access token (a JWT, DESIGN.md's claims).
    pub access_token: String,
    /// `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The ID token, when `openid` was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// A refresh token, when the client may refresh.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Granted scope.
    pub scope: String,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("id_token", &self.id_token.as_ref().map(|_| "<redacted>"))
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// What a token grant hands to [`OidcProvider::respond`] besides the trust grant.
pub(super) struct Exchange<'a> {
    pub(super) duration_secs: u64,
    pub(super) scope: &'a str,
    pub(super) nonce: Option<&'a str>,
    pub(super) sso_ref: Option<&'a str>,
    /// The token family (what a reused code or refresh token revokes), kept in the SSO
    /// session `sso_ref`; `None` for grants with neither (client credentials), which keep
    /// no family.
    pub(super) family: Option<&'a str>,
}

impl OidcProvider {
    /// The trust decision for a person's role at the token endpoint (code, device,
    /// refresh): the role's trust policy must still allow them — for a role that needs
    /// approval, within the window of their approved access request
    /// ([`crate::elevation::evaluate`]) — and the client must be allowed the role. A
    /// refusal is audited and answered `invalid_grant`; for want of an approved request,
    /// saying so and where to ask for one.
    pub(super) async fn person_grant(
        &self,
        client: &Client,
        identity: &ExternalIdentity,
        role: &str,
        facts: &RequestFacts,
        attempt: &Attempt,
    ) -> Result<TrustGrant, OAuthError> {
        let caller = Caller::Federated(identity.clone());
        let decided =
            crate::elevation::evaluate(self.elevation.as_deref(), &self.roles, role, caller, facts)
                .await
                .map_err(|e| {
                    tracing::warn!(error = %e, "access requests could not be read");
                    OAuthError::TemporarilyUnavailable(
                        "access requests cannot be read right now; try again shortly".into(),
                    )
                })?;
        let refusal = match decided {
            Ok(g) if client.config.allowed_roles.contains(&g.role().name) => return Ok(g),
            Ok(g) => g.refused("the role is not among the client's allowed_roles"),
            Err(refusal) => refusal,
        };
        self.issuer.refused(attempt, &refusal).await;
        let allowed = client.config.allowed_roles.iter().any(|r| r == role);
        if allowed && crate::elevation::awaits_approval(&self.roles, role, identity, facts) {
            return Err(OAuthError::InvalidGrant(approval_needed(
                role,
                self.issuer.tokens().issuer(),
            )));
        }
        Err(OAuthError::InvalidGrant(
            "the role is no longer available to this person".into(),
        ))
    }

    /// Issues the tokens of a grant through the one door, then what only the OpenID
    /// provider adds: the token family, the ID token and the rotated refresh token.
    pub(super) async fn respond(
        &self,
        client: &Client,
        grant: TrustGrant,
        x: Exchange<'_>,
        attempt: Attempt,
    ) -> Result<TokenResponse, OAuthError> {
        let identity = match grant.caller() {
            Caller::Federated(i) => Some(i.clone()),
            Caller::Client(_) => None,
        };
        let request = IssueRequest {
            attempt,
            duration: Duration::from_secs(x.duration_secs),
            session_name: None,
            client: Some(ClientBinding {
                client_id: client.config.id.clone(),
                audience: client.config.audience.clone(),
                scope: (!x.scope.is_empty()).then(|| x.scope.to_owned()),
            }),
            session_policy: None,
            holder: x.sso_ref.map_or(Holder::Alone, |sso_ref| Holder::SsoRef {
                sso_ref,
                family: x.family,
            }),
        };
        let role_session = self
            .issuer
            .issue(grant, request)
            .await
            .map_err(issue_error)?;
        let scopes: Vec<&str> = x.scope.split(' ').collect();
        let id_token = match &identity {
            Some(i) if scopes.contains(&"openid") => {
                Some(self.id_token(client, i, &role_session, x.nonce, x.sso_ref, &scopes)?)
            }
            _ => None,
        };
        let refresh = match (&identity, x.sso_ref, x.family) {
            (Some(i), Some(sso_ref), Some(family))
                if client.config.allows(GrantType::RefreshToken) =>
            {
                let role = &role_session.role;
                Some(self.refresh_token(client, i, role, (&x, family, sso_ref))?)
            }
            _ => None,
        };
        if let (Some(sso_ref), Some(family)) = (x.sso_ref, x.family)
            && self
                .record_then_check(client, (sso_ref, family), refresh.as_ref())
                .await?
        {
            let why = "a code or refresh token was used twice at once";
            self.revoke_family((family, Some(sso_ref)), why).await?;
            tracing::warn!(client = %client.config.id, "a code or refresh token was used twice at once: its tokens are revoked");
            return Err(OAuthError::InvalidGrant(
                "the code or refresh token was used more than once".into(),
            ));
        }
        let refresh_token = refresh.map(|(token, _)| token);
        Ok(TokenResponse {
            expires_in: self.clock.now().until(role_session.expires_at).as_secs(),
            access_token: role_session.access_token,
            token_type: "Bearer",
            id_token,
            refresh_token,
            scope: x.scope.to_owned(),
        })
    }

    /// Makes `refresh` (a new token and its digest), if any, the current refresh token
    /// of `family` in the SSO session `sso_ref`, then reads whether the family is marked
    /// revoked; one round trip. Recorded first, checked second: a revocation that began
    /// before this check is seen here, and one that begins after it finds what was just
    /// recorded. Answers whether the family is revoked.
    async fn record_then_check(
        &self,
        client: &Client,
        (sso_ref, family): (&str, &str),
        refresh: Option<&(String, String)>,
    ) -> Result<bool, OAuthError> {
        let issued = keyspace::SSO_ISSUED.key([sso_ref]);
        let field = keyspace::family_refresh_token_field(family);
        let revoked = keyspace::FAMILY_REVOKED.key([family]);
        let mut steps = Vec::with_capacity(2);
        if let Some((_, token_digest)) = refresh {
            steps.push(Step::HashSet {
                key: &issued,
                field: &field,
                value: token_digest,
                ttl: client.config.refresh_token_lifetime,
            });
        }
        steps.push(Step::Get { key: &revoked });
        let values = self.store.batch(&steps).await?;
        Ok(values.last().is_some_and(Option::is_some))
    }

    fn id_token(
        &self,
        client: &Client,
        identity: &ExternalIdentity,
        role_session: &RoleSession,
        nonce: Option<&str>,
        sso_ref: Option<&str>,
        scopes: &[&str],
    ) -> Result<String, OAuthError> {
        let now = self.clock.now();
        let alg = self.issuer.tokens().keys().algorithm();
        let mut claims = serde_json::json!({
            "iss": self.issuer.tokens().issuer(),
            "sub": identity.qualified_subject(),
            "aud": client.config.id,
            "azp": client.config.id,
            "exp": role_session.expires_at,
            "iat": now,
            "auth_time": identity.auth_time,
            "amr": identity.amr,
            "acr": if identity.mfa { ACR_MFA } else { ACR_PASSWORD },
            "at_hash": at_hash(&role_session.access_token, alg),
            "role": role_session.role,
        });
        if let Some(map) = claims.as_object_mut() {
            if let Some(n) = nonce {
                map.insert("nonce".into(), n.into());
            }
            if let Some(s) = sso_ref {
                map.insert("sid".into(), s.into());
            }
            if scopes.contains(&"email")
                && let Some(e) = &identity.email
            {
                map.insert("email".into(), e.clone().into());
                map.insert("email_verified".into(), identity.email_verified.into());
            }
            if scopes.contains(&"profile") {
                map.insert(
                    "preferred_username".into(),
                    identity.username.clone().into(),
                );
                if let Some(n) = &identity.display_name {
                    map.insert("name".into(), n.clone().into());
                }
            }
            if scopes.contains(&"groups") {
                map.insert("groups".into(), identity.groups.clone().into());
            }
        }
        self.issuer
            .tokens()
            .keys()
            .sign(&claims, ID_TOKEN_TYPE)
            .map_err(|e| OAuthError::ServerError(e.to_string()))
    }
}

/// The refusal of a role that needs an approved access request the person has no open
/// window of: what to do about it, with the page of requests at `issuer` (Lanyard's public
/// URL). `lanyard login` shows it as it is.
fn approval_needed(role: &str, issuer: &str) -> String {
    format!(
        "the role \"{role}\" needs an approved access request, and you have none open now: \
         request access at {issuer}/requests"
    )
}

/// `at_hash` (OIDC Core §3.1.3.6): the left half of the hash of the access token, with the
/// hash of the signing algorithm (SHA-512 for EdDSA/Ed25519).
fn at_hash(access_token: &str, alg: Algorithm) -> String {
    let algorithm = match alg {
        Algorithm::EdDsa => &aws_lc_rs::digest::SHA512,
        _ => &aws_lc_rs::digest::SHA256,
    };
    let d = aws_lc_rs::digest::digest(algorithm, access_token.as_bytes());
    let half = &d.as_ref()[..d.as_ref().len() / 2];
    URL_SAFE_NO_PAD.encode(half)
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::Arc;

    use crate::audit::Door;
    use crate::clock::{Clock, ManualClock, SharedClock, UnixTime};
    use crate::elevation::{Ask, Verdict};
    use crate::identity::{ProviderId, ProviderKind};

    const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);

    /// A broker whose role `prod` needs one approval by `lead` (with a fresh second factor,
    /// as every approver), for anyone of `corp` in `eng`; the client `app` may receive it.
    /// A database of its own (SQLite).
    fn broker(dir: &std::path::Path, clock: &ManualClock) -> crate::web::AppState {
        let text = format!(
            r#"
[server]
bind = "127.0.0.1:0"
public_url = "https://sso.example.com/"
[sessions]
store = "memory"
[tokens]
keys_dir = "{dir}/keys"
default_duration = "1h"
[audit]
database = "sqlite:{dir}/lanyard.db"
[[providers]]
id = "corp"
kind = "local"
[[roles]]
name = "prod"
max_session_duration = "2h"
trust_policy = {{ Version = "2012-10-17", Statement = [
  {{ Effect = "Allow", Principal = {{ Federated = "corp" }}, Action = "sts:AssumeRole",
    Condition = {{ "ForAnyValue:StringEquals" = {{ "idp:groups" = "eng" }} }} }},
] }}
[roles.approval]
approvers = {{ Version = "2012-10-17", Statement = [
  {{ Effect = "Allow", Principal = {{ Federated = "corp" }}, Action = "lanyard:ApproveAccessRequest",
    Condition = {{ StringEquals = {{ "idp:username" = "lead" }} }} }},
] }}
max_duration = "1h"
[[clients]]
id = "app"
public = true
redirect_uris = ["https://app.example.com/cb"]
allowed_roles = ["prod"]
"#,
            dir = dir.display()
        );
        let config = crate::config::Config::from_toml(&text, dir, &|_| None).unwrap();
        let shared: SharedClock = Arc::new(clock.clone());
        let store = Arc::new(crate::session::MemoryStore::new("t:", Arc::clone(&shared)));
        crate::server::build_state(config, store, shared).unwrap()
    }

    fn person(name: &str, groups: &[&str], mfa: bool, at: UnixTime) -> ExternalIdentity {
        ExternalIdentity {
            provider: ProviderId::new("corp"),
            provider_kind: ProviderKind::Local,
            subject: name.into(),
            username: name.into(),
            email: None,
            email_verified: false,
            display_name: None,
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            amr: vec!["pwd".into()],
            mfa,
            auth_time: at,
            tags: Default::default(),
            claims: Default::default(),
        }
    }

    fn facts(clock: &ManualClock) -> RequestFacts {
        RequestFacts {
            source_ip: None,
            now: clock.now(),
            secure_transport: true,
            user_agent: None,
        }
    }

    /// The code, device and refresh grants' trust decision for a role that needs approval:
    /// refused (saying where to ask) until approved, granted within the window with a
    /// token that ends with it (a refresh late in the window too), refused once it ends or
    /// is revoked.
    #[tokio::test]
    async fn an_approval_role_is_granted_at_the_token_endpoint_only_within_its_window() {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(NOW);
        let state = broker(dir.path(), &clock);
        let (oidc, elevation) = (&state.oidc, state.elevation.clone().unwrap());
        let client = oidc.clients().get("app").unwrap();
        let attempt = Attempt::new(&facts(&clock), Door::OidcRefresh, Some("app"));
        let alice = person("alice", &["eng"], false, NOW);
        let grant = |who: ExternalIdentity| {
            let (clock, attempt) = (clock.clone(), attempt.clone());
            async move {
                oidc.person_grant(client, &who, "prod", &facts(&clock), &attempt)
                    .await
            }
        };
        let exchange = |secs| Exchange {
            duration_secs: secs,
            scope: "openid",
            nonce: None,
            sso_ref: None,
            family: None,
        };

        // No request: refused, saying so and where to ask.
        match grant(alice.clone()).await {
            Err(OAuthError::InvalidGrant(why)) => {
                assert!(why.contains("needs an approved access request"), "{why}");
                assert!(why.contains("https://sso.example.com/requests"), "{why}");
            }
            other => panic!("{other:?}"),
        }
        // Someone the trust policy does not allow learns nothing about the role.
        match grant(person("olga", &["sales"], false, NOW)).await {
            Err(OAuthError::InvalidGrant(why)) => {
                assert_eq!(why, "the role is no longer available to this person");
            }
            other => panic!("{other:?}"),
        }

        let ask = Ask {
            role: "prod".into(),
            duration: Duration::from_secs(1800),
            reason: "deploy".into(),
            ticket: String::new(),
            break_glass: false,
        };
        let asked = elevation
            .request(&state.roles, &alice, &facts(&clock), ask.clone())
            .await
            .unwrap();
        assert!(
            grant(alice.clone()).await.is_err(),
            "pending grants nothing"
        );
        let lead = person("lead", &[], true, clock.now());
        elevation
            .decide(
                &state.roles,
                &asked.row.id,
                &lead,
                &facts(&clock),
                (Verdict::Approve, ""),
            )
            .await
            .unwrap();

        // Within the window: an hour asked, the 30-minute window given.
        let g = grant(alice.clone()).await.unwrap();
        assert_eq!(g.approved().map(|(id, _)| id), Some(asked.row.id.as_str()));
        let answer = oidc
            .respond(client, g, exchange(3600), attempt.clone())
            .await
            .unwrap();
        assert_eq!(answer.expires_in, 1800);
        // A refresh 25 minutes in gets five minutes, not another hour.
        clock.advance(Duration::from_secs(1500));
        let g = grant(alice.clone()).await.unwrap();
        let answer = oidc
            .respond(client, g, exchange(3600), attempt.clone())
            .await
            .unwrap();
        assert_eq!(answer.expires_in, 300);
        // The window's end ends it.
        clock.advance(Duration::from_secs(300));
        match grant(alice.clone()).await {
            Err(OAuthError::InvalidGrant(why)) => assert!(why.contains("/requests"), "{why}"),
            other => panic!("{other:?}"),
        }

        // Approved again, then revoked: refused at once.
        let again = elevation
            .request(&state.roles, &alice, &facts(&clock), ask)
            .await
            .unwrap();
        let lead = person("lead", &[], true, clock.now());
        elevation
            .decide(
                &state.roles,
                &again.row.id,
                &lead,
                &facts(&clock),
                (Verdict::Approve, ""),
            )
            .await
            .unwrap();
        assert!(grant(alice.clone()).await.is_ok());
        elevation
            .revoke(&again.row.id, "corp:lead", "done")
            .await
            .unwrap();
        assert!(grant(alice).await.is_err());
    }

    #[test]
    fn at_hash_is_the_left_half() {
        let h = at_hash("abc", Algorithm::Es256);
        assert_eq!(URL_SAFE_NO_PAD.decode(h).unwrap().len(), 16);
        let h = at_hash("abc", Algorithm::EdDsa);
        assert_eq!(URL_SAFE_NO_PAD.decode(h).unwrap().len(), 32);
    }

    #[test]
    fn the_debug_of_a_token_response_leaves_the_tokens_out() {
        let response = TokenResponse {
            access_token: "access-token-text".into(),
            token_type: "Bearer",
            expires_in: 900,
            id_token: Some("id-token-text".into()),
            refresh_token: Some("refresh-token-text".into()),
            scope: "openid".into(),
        };
        let shown = format!("{response:?}");
        for token in ["access-token-text", "id-token-text", "refresh-token-text"] {
            assert!(!shown.contains(token), "{shown}");
        }
        assert!(shown.contains("openid") && shown.contains("900"), "{shown}");
    }
}
