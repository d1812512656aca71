//! `client_credentials` (RFC 6749 §4.4) for machine clients with a `machine_role`.

use crate::access::Attempt;
use crate::audit::Door;
use crate::op::{ClientAuth, GrantType};
use crate::roles::RequestFacts;
use crate::roles::{Caller, MachineClient};

use super::issue::Exchange;
use super::{Client, OAuthError, OidcProvider, TokenResponse};

impl OidcProvider {
    /// `grant_type=client_credentials` for a machine client with a `machine_role`: the
    /// role's trust policy is evaluated for the client's principal
    /// (`{"AWS": "arn:lanyard:iam:::client/<id>"}`, action `sts:AssumeRole`).
    pub async fn client_credentials(
        &self,
        client: &Client,
        origin: &RequestFacts,
    ) -> Result<TokenResponse, OAuthError> {
        let role_name = match (
            &client.config.machine_role,
            client.config.allows(GrantType::ClientCredentials),
        ) {
            (Some(r), true) if !client.is_public() => r.clone(),
            _ => {
                return Err(OAuthError::UnauthorizedClient(
                    "this client may not use client_credentials".into(),
                ));
            }
        };
        let method = match client.config.auth {
            ClientAuth::PrivateKeyJwt(_) => "private_key_jwt",
            _ => "client_secret",
        };
        let caller = Caller::Client(MachineClient::new(&client.config.id, method));
        let attempt = Attempt::new(origin, Door::ClientCredentials, Some(&client.config.id));
        let grant = match self.roles.evaluate(&role_name, caller, origin) {
            Ok(g) => g,
            Err(refusal) => {
                self.issuer.refused(&attempt, &refusal).await;
                return Err(OAuthError::UnauthorizedClient(
                    "the trust policy of this client's role does not allow it".into(),
                ));
            }
        };
        let duration_secs = self
            .default_duration(&client.config.id, grant.role())
            .as_secs();
        // No family: no code or refresh token can come back to revoke these tokens.
        let exchange = Exchange {
            duration_secs,
            scope: "",
            nonce: None,
            sso_ref: None,
            family: None,
        };
        let mut response = self.respond(client, grant, exchange, attempt).await?;
        response.refresh_token = None;
        Ok(response)
    }
}
