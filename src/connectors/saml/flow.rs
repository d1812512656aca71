//! The store-backed half of a SAML sign-in: after [`SamlConnector::verify`], the pending
//! AuthnRequest named by `InResponseTo` is taken atomically (single use), and the assertion ID
//! is recorded until it expires so that the same assertion is refused a second time.

use crate::identity::ExternalIdentity;
use crate::sso::{Sso, SsoError};

use super::{SamlConnector, SamlError};

/// A SAML sign-in that passed every check.
#[derive(Debug)]
pub struct Accepted {
    /// Who signed in.
    pub identity: ExternalIdentity,
    /// Where the SP-initiated sign-in wanted to go back to.
    pub return_to: Option<String>,
    /// Whether it was IdP-initiated.
    pub unsolicited: bool,
}

/// Who presents the response, which decides whether it must come from the browser that
/// started the sign-in.
#[derive(Debug, Clone, Copy)]
pub enum Presenter<'a> {
    /// A browser at the ACS, with the value of its SAML binding cookie, if it sent one. A
    /// pending request that was bound to a browser is answered only from that browser, so
    /// nobody can post their own valid response into someone else's browser (login CSRF).
    Browser(Option<&'a str>),
    /// A program at the STS API: the credentials go to the caller itself, so there is no
    /// browser to bind.
    Api,
}

/// Why a SAML sign-in was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    /// The response was refused.
    #[error(transparent)]
    Saml(#[from] SamlError),
    /// The session store failed.
    #[error(transparent)]
    Store(#[from] SsoError),
}

impl SamlConnector {
    /// Verifies a base64 `SAMLResponse` and consumes its request and assertion ID.
    pub async fn accept(
        &self,
        sso: &Sso,
        saml_response: &str,
        presenter: Presenter<'_>,
        now: i64,
    ) -> Result<Accepted, AcceptError> {
        let verified = self.verify(saml_response, now)?;
        if !sso
            .first_use_of_assertion(self.id(), verified.id(), verified.valid_until())
            .await?
        {
            return Err(SamlError::Replay.into());
        }
        let (return_to, unsolicited) = match verified.in_response_to() {
            Some(request_id) => {
                let txn = sso
                    .take_saml_login(self.id(), request_id)
                    .await?
                    .ok_or_else(|| {
                        SamlError::InResponseTo(
                            "no pending request with this ID (unknown, expired or already answered)"
                                .into(),
                        )
                    })?;
                if let (Presenter::Browser(cookie), Some(want)) =
                    (presenter, txn.browser_binding.as_deref())
                {
                    let got = cookie.map(crate::session::digest).unwrap_or_default();
                    let same = got.len() == want.len()
                        && bool::from(subtle::ConstantTimeEq::ct_eq(
                            got.as_bytes(),
                            want.as_bytes(),
                        ));
                    if !same {
                        return Err(SamlError::OtherBrowser.into());
                    }
                }
                (txn.return_to, false)
            }
            None => (None, true),
        };
        Ok(Accepted {
            identity: self.identity(&verified, now),
            return_to,
            unsolicited,
        })
    }
}
