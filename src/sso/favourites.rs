//! The roles a person starred on the role picker, listed first there: at most
//! [`MAX_FAVOURITES`], kept 400 days from the last change. Keyed like the last role by the
//! digest of `{provider}:{subject}`, so the store names no person in clear.
//!
//! A star is a read, a change and a write: two stars given at the same instant in two tabs
//! may keep only one of them. That costs a click, never access: favourites only order the
//! picker, and the roles shown are always the ones the trust policies allow.

use super::{Sso, SsoError, key_hash};
use crate::identity::{ExternalIdentity, RoleName};
use crate::session::keyspace::{FAVOURITES, FAVOURITES_TTL};

/// The most roles one person keeps as favourites; starring one more forgets the one
/// starred longest ago.
pub const MAX_FAVOURITES: usize = 50;

impl Sso {
    /// The roles this person starred, oldest first (none when the record is unreadable:
    /// favourites are a convenience, never a reason to fail the picker).
    pub async fn favourites(&self, identity: &ExternalIdentity) -> Result<Vec<RoleName>, SsoError> {
        let key = FAVOURITES.key([&key_hash(&identity.qualified_subject())]);
        Ok(self
            .store
            .get(&key)
            .await?
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default())
    }

    /// Stars `role` for this person (`on`), or takes its star away.
    pub async fn set_favourite(
        &self,
        identity: &ExternalIdentity,
        role: &RoleName,
        on: bool,
    ) -> Result<(), SsoError> {
        let key = FAVOURITES.key([&key_hash(&identity.qualified_subject())]);
        let list = starred(self.favourites(identity).await?, role, on);
        if list.is_empty() {
            return Ok(self.store.delete(&key).await?);
        }
        let bytes = serde_json::to_vec(&list).map_err(|_| SsoError::Corrupt)?;
        Ok(self.store.put(&key, &bytes, FAVOURITES_TTL).await?)
    }
}

/// `list` with `role` starred (last, as the newest) or not, at most [`MAX_FAVOURITES`].
fn starred(mut list: Vec<RoleName>, role: &RoleName, on: bool) -> Vec<RoleName> {
    list.retain(|r| r != role);
    if on {
        list.push(role.clone());
    }
    let over = list.len().saturating_sub(MAX_FAVOURITES);
    list.drain(..over);
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[RoleName]) -> Vec<&str> {
        list.iter().map(RoleName::as_str).collect()
    }

    #[test]
    fn a_star_is_added_once_and_taken_away() {
        let (a, b) = (RoleName::new("a"), RoleName::new("b"));
        let list = starred(Vec::new(), &a, true);
        let list = starred(list, &b, true);
        let list = starred(list, &a, true);
        assert_eq!(names(&list), ["b", "a"], "starred again: newest, not twice");
        let list = starred(list, &b, false);
        assert_eq!(names(&list), ["a"]);
        assert_eq!(
            names(&starred(list, &b, false)),
            ["a"],
            "unstarring twice is fine"
        );
    }

    #[test]
    fn the_oldest_star_goes_beyond_the_bound() {
        let mut list = Vec::new();
        for i in 0..=MAX_FAVOURITES {
            list = starred(list, &RoleName::new(format!("r{i}")), true);
        }
        assert_eq!(list.len(), MAX_FAVOURITES);
        assert_eq!(list[0].as_str(), "r1", "r0 was starred longest ago");
        assert_eq!(
            list[MAX_FAVOURITES - 1].as_str(),
            format!("r{MAX_FAVOURITES}")
        );
    }
}
