//! The role a person chose last (30 days), preselected on the role picker. Keyed by the
//! digest of `{provider}:{subject}`, so the store names no person in clear.

use super::{Sso, SsoError, key_hash};
use crate::identity::ExternalIdentity;
use crate::session::keyspace::{LAST_ROLE, LAST_ROLE_TTL};

impl Sso {
    /// Remembers `role` as the one this person chose last.
    pub(super) async fn remember_last_role(
        &self,
        identity: &ExternalIdentity,
        role: &str,
    ) -> Result<(), SsoError> {
        let key = LAST_ROLE.key([&key_hash(&identity.qualified_subject())]);
        Ok(self.store.put(&key, role.as_bytes(), LAST_ROLE_TTL).await?)
    }

    /// The role this person chose last, for preselection.
    pub async fn last_role(&self, identity: &ExternalIdentity) -> Result<Option<String>, SsoError> {
        let key = LAST_ROLE.key([&key_hash(&identity.qualified_subject())]);
        Ok(self
            .store
            .get(&key)
            .await?
            .and_then(|b| String::from_utf8(b).ok()))
    }
}
