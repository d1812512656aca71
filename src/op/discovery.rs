//! The OpenID provider's metadata document (OpenID Connect Discovery 1.0 §3, with RFC 8628
//! §4's `device_authorization_endpoint`).

use crate::op::{DEVICE_CODE_GRANT, TOKEN_EXCHANGE_GRANT};

use super::{ACR_MFA, ACR_PASSWORD, OidcProvider};

impl OidcProvider {
    /// The document served at `/.well-known/openid-configuration`: endpoints under
    /// Lanyard's issuer, and what this provider supports.
    pub fn discovery(&self) -> serde_json::Value {
        let tokens = self.issuer.tokens();
        let issuer = tokens.issuer();
        let alg = tokens.keys().algorithm().to_string();
        serde_json::json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/oauth2/authorize"),
            "token_endpoint": format!("{issuer}/oauth2/token"),
            "device_authorization_endpoint": format!("{issuer}/oauth2/device_authorization"),
            "userinfo_endpoint": format!("{issuer}/oauth2/userinfo"),
            "introspection_endpoint": format!("{issuer}/oauth2/introspect"),
            "revocation_endpoint": format!("{issuer}/oauth2/revoke"),
            "end_session_endpoint": format!("{issuer}/oauth2/logout"),
            "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials", TOKEN_EXCHANGE_GRANT, DEVICE_CODE_GRANT],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
            "token_endpoint_auth_signing_alg_values_supported": ["ES256", "ES384", "EdDSA", "RS256", "PS256"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
            "scopes_supported": ["openid", "profile", "email", "groups", "offline_access"],
            "prompt_values_supported": ["none", "login"],
            "acr_values_supported": [ACR_PASSWORD, ACR_MFA],
            "authorization_response_iss_parameter_supported": true,
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [alg],
            "userinfo_signing_alg_values_supported": ["none"],
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "claims_parameter_supported": false,
            "claims_supported": [
                "iss", "sub", "aud", "exp", "iat", "nbf", "jti", "sid", "role",
                "session_name", "idp", "amr", "acr", "auth_time", "groups", "tags",
                "nonce", "at_hash", "azp", "email", "email_verified", "name",
                "preferred_username"
            ],
        })
    }
}
