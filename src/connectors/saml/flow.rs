//! The store-backed half of a SAML sign-in: a sent AuthnRequest is recorded (10 minutes,
//! single use) and, after [`SamlConnector::verify`], the pending request named by
//! `InResponseTo` is taken atomically, and the assertion ID is recorded until it expires so
//! that the same assertion is refused a second time. Both are this connector's records on
//! the session store (keyspace kinds `SAML_REQUEST` and `SAML_SEEN`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::identity::{ExternalIdentity, ProviderId, SamlEvidence, StepUpMark};
use crate::session::keyspace::{LOGIN_TRANSACTION_TTL, SAML_REQUEST, SAML_SEEN};
use crate::session::{SessionStore, StoreError, digest, put_json, take_json};

use super::{SamlConnector, SamlError};

/// A pending SAML AuthnRequest. The IdP posts its answer cross-site, where the SameSite=Lax
/// login cookie is not sent, so the record is keyed by the request ID (random, 128 bits) and
/// taken back by the `InResponseTo` of the verified assertion. Its JSON is that of the login
/// transaction it used to be (`csrf` empty), so records survive an upgrade either way.
#[derive(Serialize, Deserialize)]
struct PendingRequest {
    provider: ProviderId,
    #[serde(default)]
    csrf: String,
    return_to: Option<String>,
    #[serde(default)]
    created_at: UnixTime,
    #[serde(default)]
    saml_request_id: Option<String>,
    /// SHA-256 of the `SameSite=None` cookie set in the browser that started the sign-in
    /// (https deployments); the ACS then requires that cookie.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    browser_binding: Option<String>,
    /// The admin's test sign-in this request is for (see [`Accepted::test_for`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    test_for: Option<String>,
    /// The step-up this request is for (see [`Accepted::step_up`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    step_up: Option<StepUpMark>,
}

impl std::fmt::Debug for PendingRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingRequest")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

/// A SAML sign-in that passed every check.
#[derive(Debug)]
pub struct Accepted {
    /// Who signed in.
    pub identity: ExternalIdentity,
    /// Where the SP-initiated sign-in wanted to go back to.
    pub return_to: Option<String>,
    /// Whether it was IdP-initiated.
    pub unsolicited: bool,
    /// For an admin's test sign-in: the digest of the admin's SSO session that started it
    /// (an IdP-initiated response is never one).
    pub test_for: Option<String>,
    /// For a test sign-in: what the assertion said, and which certificate signed it.
    pub evidence: Option<SamlEvidence>,
    /// For a step-up (issue 17): the choice it continues (an IdP-initiated response is
    /// never one).
    pub step_up: Option<StepUpMark>,
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
    Store(#[from] StoreError),
}

impl SamlConnector {
    /// Records the AuthnRequest `request_id` as sent at `now`, for [`SamlConnector::accept`]
    /// to take back once. `browser_binding` is the digest of a `SameSite=None` cookie set in
    /// the browser that started the sign-in; the ACS then requires that cookie.
    pub async fn remember_request(
        &self,
        store: &dyn SessionStore,
        request_id: &str,
        return_to: Option<String>,
        (browser_binding, test_for): (Option<String>, Option<String>),
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let pending = PendingRequest {
            provider: self.id().clone(),
            csrf: String::new(),
            return_to,
            created_at: now,
            saml_request_id: Some(request_id.to_owned()),
            browser_binding,
            test_for,
            step_up: None,
        };
        let key = SAML_REQUEST.key([self.id().as_str(), &digest(request_id)]);
        put_json(store, &key, &pending, LOGIN_TRANSACTION_TTL).await
    }

    /// Records the step-up AuthnRequest `request_id` ([`SamlConnector::step_up_request`])
    /// for `mark`, as [`SamlConnector::remember_request`] records a sign-in's.
    pub async fn remember_step_up(
        &self,
        store: &dyn SessionStore,
        request_id: &str,
        mark: StepUpMark,
        browser_binding: Option<String>,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let pending = PendingRequest {
            provider: self.id().clone(),
            csrf: String::new(),
            return_to: None,
            created_at: now,
            saml_request_id: Some(request_id.to_owned()),
            browser_binding,
            test_for: None,
            step_up: Some(mark),
        };
        let key = SAML_REQUEST.key([self.id().as_str(), &digest(request_id)]);
        put_json(store, &key, &pending, LOGIN_TRANSACTION_TTL).await
    }

    /// Takes the pending request `request_id` (atomic GETDEL): `None` when unknown, expired
    /// or already answered.
    async fn take_request(
        &self,
        store: &dyn SessionStore,
        request_id: &str,
    ) -> Result<Option<PendingRequest>, StoreError> {
        let key = SAML_REQUEST.key([self.id().as_str(), &digest(request_id)]);
        let pending: Option<PendingRequest> = take_json(store, &key).await?;
        Ok(pending.filter(|p| {
            &p.provider == self.id() && p.saml_request_id.as_deref() == Some(request_id)
        }))
    }

    /// Records an assertion ID until `valid_until` (SET NX); `false` when it was seen
    /// before (a replay).
    async fn first_use_of_assertion(
        &self,
        store: &dyn SessionStore,
        assertion_id: &str,
        valid_until: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let ttl = now.until(valid_until).max(Duration::from_secs(1));
        let key = SAML_SEEN.key([self.id().as_str(), &digest(assertion_id)]);
        store.put_if_absent(&key, b"1", ttl).await
    }

    /// Verifies a base64 `SAMLResponse` and consumes its request and assertion ID.
    pub async fn accept(
        &self,
        store: &dyn SessionStore,
        saml_response: &str,
        presenter: Presenter<'_>,
        now: UnixTime,
    ) -> Result<Accepted, AcceptError> {
        let verified = self.verify(saml_response, now)?;
        if !self
            .first_use_of_assertion(store, verified.id(), verified.valid_until(), now)
            .await?
        {
            return Err(SamlError::Replay.into());
        }
        let (return_to, unsolicited, (test_for, step_up)) = match verified.in_response_to() {
            Some(request_id) => {
                let txn = self.take_request(store, request_id).await?.ok_or_else(|| {
                    SamlError::InResponseTo(
                        "no pending request with this ID (unknown, expired or already answered)"
                            .into(),
                    )
                })?;
                if let (Presenter::Browser(cookie), Some(want)) =
                    (presenter, txn.browser_binding.as_deref())
                {
                    let got = cookie.map(digest).unwrap_or_default();
                    let same = got.len() == want.len()
                        && bool::from(subtle::ConstantTimeEq::ct_eq(
                            got.as_bytes(),
                            want.as_bytes(),
                        ));
                    if !same {
                        return Err(SamlError::OtherBrowser.into());
                    }
                }
                (txn.return_to, false, (txn.test_for, txn.step_up))
            }
            None => (None, true, (None, None)),
        };
        let evidence = test_for
            .is_some()
            .then(|| self.evidence(&verified, saml_response, now));
        Ok(Accepted {
            identity: self.identity(&verified, now),
            return_to,
            unsolicited,
            test_for,
            evidence,
            step_up,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pending request is stored exactly as the login transaction it used to be, so a
    /// record written by either version is taken by the other.
    #[test]
    fn a_pending_request_keeps_the_json_of_a_login_transaction() {
        let pending = PendingRequest {
            provider: ProviderId::new("corp"),
            csrf: String::new(),
            return_to: Some("/roles".into()),
            created_at: UnixTime::from_secs(5),
            saml_request_id: Some("id-1".into()),
            browser_binding: Some("b".into()),
            test_for: None,
            step_up: None,
        };
        let json = serde_json::to_string(&pending).unwrap();
        assert_eq!(
            json,
            r#"{"provider":"corp","csrf":"","return_to":"/roles","created_at":5,"saml_request_id":"id-1","browser_binding":"b"}"#
        );
        let back: PendingRequest = serde_json::from_str(
            r#"{"provider":"corp","csrf":"","return_to":null,"created_at":5,"saml_request_id":"id-1"}"#,
        )
        .unwrap();
        assert_eq!(back.saml_request_id.as_deref(), Some("id-1"));
        assert_eq!(back.browser_binding, None);
        assert!(!format!("{back:?}").contains("id-1"));
    }
}
