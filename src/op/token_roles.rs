//! The roles a token's person may take through the token's client (`GET /v1/roles`, for
//! `lanyard roles`): the client's `allowed_roles` that the trust policies grant the person
//! of the SSO session the token was issued in, evaluated now, plus the token's own role.
//!
//! The token must be live (its role session is there and holds this exact token, see
//! [`OidcProvider::live_access_token`]) and its SSO session too: a revoked, expired or
//! signed-out token is answered `invalid_token` (RFC 6750 §3.1), as is one issued outside a
//! sign-in (STS, machine clients), which has no person to list roles for.

use serde::Serialize;

use crate::access::CredentialIssuer;
use crate::identity::RoleName;
use crate::roles::RequestFacts;

use super::{OAuthError, OidcProvider};

/// One role on offer.
#[derive(Debug, Clone, Serialize)]
pub struct OfferedRole {
    /// The role's name.
    pub name: RoleName,
    /// Its description.
    pub description: String,
    /// Its group on the picker, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The longest credentials it grants, in seconds.
    pub max_duration_seconds: u64,
}

/// The answer of `GET /v1/roles`.
#[derive(Debug, Clone, Serialize)]
pub struct TokenRoles {
    /// The roles, in configuration order.
    pub roles: Vec<OfferedRole>,
    /// The token's own role.
    pub current: RoleName,
}

impl OidcProvider {
    /// The roles the person behind `token` may take through the client it was issued to
    /// (every eligible role for a token issued on the picker, without a client), with
    /// `facts` of this request for the trust evaluation.
    pub async fn token_roles(
        &self,
        token: &str,
        facts: &RequestFacts,
    ) -> Result<TokenRoles, OAuthError> {
        let (claims, rs) = self
            .live_access_token(token)
            .await?
            .ok_or_else(|| OAuthError::InvalidToken("the access token is not active".into()))?;
        let no_person =
            || OAuthError::InvalidToken("the access token was not issued in a sign-in".into());
        let sso_ref = rs.sso_ref.as_deref().ok_or_else(no_person)?;
        let session = self.sso.load_by_ref(sso_ref).await?.ok_or_else(|| {
            OAuthError::InvalidToken("the sign-in session of the access token has ended".into())
        })?;
        let allowed = match claims.client_id.as_deref() {
            None => None,
            Some(id) => Some(
                self.clients
                    .get(id)
                    .map(|c| c.config.allowed_roles.clone())
                    .ok_or_else(|| {
                        OAuthError::InvalidToken(
                            "the application of the access token is no longer registered".into(),
                        )
                    })?,
            ),
        };
        let roles = self
            .roles
            .eligible(&session.identity, facts)
            .iter()
            .map(|g| g.role())
            .filter(|r| allowed.as_ref().is_none_or(|a| a.contains(&r.name)))
            .map(|r| OfferedRole {
                name: r.name.clone(),
                description: r.description.clone(),
                group: r.group.clone(),
                max_duration_seconds: CredentialIssuer::max_duration(r),
            })
            .collect();
        Ok(TokenRoles {
            roles,
            current: claims.role,
        })
    }
}
