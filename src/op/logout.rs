//! RP-initiated logout (RP-Initiated Logout 1.0 §2): which application asks, whether it
//! proves the session it ends, and where the browser goes afterwards.

use serde::Deserialize;
use url::Url;

use crate::sso::Sso;
use crate::tokens::Expectations;

use super::{ID_TOKEN_TYPE, OAuthError, OidcProvider};

/// The query of `/oauth2/logout` (RP-Initiated Logout 1.0 §2). Its `Debug` leaves the
/// `id_token_hint` out.
#[derive(Default, Deserialize)]
pub struct LogoutRequest {
    /// `id_token_hint`: an ID token Lanyard issued.
    pub id_token_hint: Option<String>,
    /// `post_logout_redirect_uri`.
    pub post_logout_redirect_uri: Option<String>,
    /// `state`, returned as given.
    pub state: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
}

impl std::fmt::Debug for LogoutRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogoutRequest")
            .field(
                "id_token_hint",
                &self.id_token_hint.as_ref().map(|_| "<redacted>"),
            )
            .field("post_logout_redirect_uri", &self.post_logout_redirect_uri)
            .field("state", &self.state)
            .field("client_id", &self.client_id)
            .finish()
    }
}

/// A logout request, checked: the application, the session its hint names, and where the
/// browser goes once signed out.
#[derive(Debug)]
pub struct LogoutPlan {
    /// The application asking (from the hint, else `client_id`).
    pub client_id: Option<String>,
    /// The `sid` of the hint's ID token.
    sid: Option<String>,
    /// The registered `post_logout_redirect_uri`, with `state`.
    pub redirect: Option<Url>,
}

impl LogoutPlan {
    /// Whether the hint proves the request comes from the application of this browser's
    /// session (`cookie`): only then is it ended without asking the person.
    pub fn proves(&self, cookie: &str) -> bool {
        self.sid
            .as_deref()
            .is_some_and(|sid| Sso::session_ref(cookie) == sid)
    }
}

impl OidcProvider {
    /// Checks a logout request: the hint's application and a given `client_id` agree, and
    /// a `post_logout_redirect_uri` is registered for that application.
    pub fn plan_logout(&self, q: &LogoutRequest) -> Result<LogoutPlan, OAuthError> {
        let bad = |why: &str| OAuthError::InvalidRequest(why.to_owned());
        let hint = q
            .id_token_hint
            .as_deref()
            .and_then(|h| self.check_id_token_hint(h));
        let (aud, sid) = hint.unzip();
        if let (Some(aud), Some(given)) = (&aud, &q.client_id)
            && aud != given
        {
            return Err(bad("client_id does not match the id_token_hint"));
        }
        let client_id = aud.or(q.client_id.clone());
        let redirect = match (&q.post_logout_redirect_uri, &client_id) {
            (Some(uri), Some(id)) => {
                Some(self.post_logout_redirect(id, uri, q.state.as_deref())?)
            }
            (Some(_), None) => {
                return Err(bad(
                    "post_logout_redirect_uri needs an id_token_hint or client_id",
                ));
            }
            _ => None,
        };
        Ok(LogoutPlan {
            client_id,
            sid: sid.flatten(),
            redirect,
        })
    }

    /// `uri` if registered for the application `id`, with `state` added.
    fn post_logout_redirect(
        &self,
        id: &str,
        uri: &str,
        state: Option<&str>,
    ) -> Result<Url, OAuthError> {
        let bad = |why: String| OAuthError::InvalidRequest(why);
        let client = self
            .clients
            .get(id)
            .ok_or_else(|| bad(format!("there is no application \"{id}\"")))?;
        let registered = &client.config.post_logout_redirect_uris;
        if !registered.iter().any(|u| u.as_str() == uri) {
            return Err(bad(
                "post_logout_redirect_uri is not registered for this application".into(),
            ));
        }
        let mut url = Url::parse(uri).map_err(|_| bad("bad URI".into()))?;
        if let Some(s) = state {
            url.query_pairs_mut().append_pair("state", s);
        }
        Ok(url)
    }

    /// Checks an `id_token_hint` (RP-Initiated Logout 1.0 §2): signed by Lanyard, issued by
    /// it; expiry is not required. Returns the client it was issued to and its `sid`.
    pub fn check_id_token_hint(&self, hint: &str) -> Option<(String, Option<String>)> {
        #[derive(Deserialize)]
        struct Hint {
            aud: String,
            sid: Option<String>,
        }
        let hint: Hint = self
            .issuer
            .tokens()
            .keys()
            .verify(
                hint,
                &Expectations {
                    issuer: self.issuer.tokens().issuer().to_owned(),
                    audience: None,
                    typ: Some(ID_TOKEN_TYPE.to_owned()),
                    now: self.clock.now(),
                    // An expired ID token is still a fine hint of who is logging out.
                    leeway_secs: 30 * 24 * 3600,
                },
            )
            .ok()?;
        Some((hint.aud, hint.sid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_debug_of_a_logout_request_leaves_the_hint_out() {
        let q = LogoutRequest {
            id_token_hint: Some("eyJhbGciOiJFUzI1NiJ9.secret-hint.sig".into()),
            client_id: Some("app".into()),
            ..LogoutRequest::default()
        };
        let shown = format!("{q:?}");
        assert!(!shown.contains("secret-hint"), "{shown}");
        assert!(shown.contains("app"), "{shown}");
    }
}
