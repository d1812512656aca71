//! Where every argon2id verification of the process runs: local passwords, client secrets
//! and the decoy checks for unknown names and locked accounts.
//!
//! An argon2id check holds the hash's working memory while it runs (19 MiB at the default
//! cost), and the allocator keeps freed memory for the next allocation rather than giving
//! it back to the system at once. So the memory a server keeps after a burst of sign-ins is
//! about the number of checks that ran *at the same time*, times that working memory. One
//! process-wide bound on concurrent checks ([`PasswordHashing::new`], `[limits]
//! password_hashes`) therefore bounds both the CPU a burst of sign-ins can take from the rest
//! of the server and the memory it leaves behind.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use argon2::password_hash::PasswordVerifier;
use argon2::password_hash::phc::PasswordHash;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::Secret;

/// The process's argon2id checks. Cloning shares the bound.
#[derive(Debug, Clone)]
pub struct PasswordHashing {
    running: Arc<Semaphore>,
    started: Arc<AtomicU64>,
}

/// The checks stopped (the process is shutting down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("password checks stopped")]
pub struct HashingStopped;

impl Default for PasswordHashing {
    /// One check at a time.
    fn default() -> Self {
        Self::new(1)
    }
}

impl PasswordHashing {
    /// At most `at_once` checks run at a time (at least one); the others wait their turn.
    pub fn new(at_once: u32) -> Self {
        let at_once = usize::try_from(at_once).unwrap_or(usize::MAX).max(1);
        Self {
            running: Arc::new(Semaphore::new(at_once)),
            started: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Waits for a turn. The permit goes with the check to the blocking pool, so a request
    /// that gives up does not free its turn while its hash still runs.
    pub async fn turn(&self) -> Result<OwnedSemaphorePermit, HashingStopped> {
        Arc::clone(&self.running)
            .acquire_owned()
            .await
            .map_err(|_| HashingStopped)
    }

    /// Whether `password` matches the argon2id PHC string `phc`, checked on the blocking
    /// pool within the bound. A `phc` that does not parse matches nothing.
    pub async fn verify(&self, password: Secret, phc: Secret) -> Result<bool, HashingStopped> {
        let turn = self.turn().await?;
        self.verify_in_turn(turn, (), password, phc).await
    }

    /// [`PasswordHashing::verify`] with a turn already taken ([`PasswordHashing::turn`]);
    /// `held` (the caller's own permits) is released with the turn, when the hash is done.
    pub async fn verify_in_turn<H: Send + 'static>(
        &self,
        turn: OwnedSemaphorePermit,
        held: H,
        password: Secret,
        phc: Secret,
    ) -> Result<bool, HashingStopped> {
        self.started.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || {
            let ok = verify_now(&password, &phc);
            drop((turn, held));
            ok
        })
        .await
        .map_err(|_| HashingStopped)
    }

    /// How many checks have started since the start.
    pub fn started(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }
}

/// Whether `password` matches the argon2id PHC string `phc`, on this thread, unbounded:
/// for start-up and tools only; a server checks through [`PasswordHashing`].
pub fn verify_now(password: &Secret, phc: &Secret) -> bool {
    match PasswordHash::new(phc.expose_secret()) {
        Ok(parsed) => argon2::Argon2::default()
            .verify_password(password.expose_secret().as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordHasher;

    fn cheap(password: &str) -> Secret {
        let params = argon2::Params::new(64, 1, 1, None).unwrap();
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        Secret::new(
            argon
                .hash_password(password.as_bytes())
                .unwrap()
                .to_string(),
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn checks_run_within_the_bound_and_answer_right() {
        let hashing = PasswordHashing::new(1);
        let phc = cheap("right");
        // A turn held elsewhere keeps every check waiting.
        let held = hashing.turn().await.unwrap();
        let waiting = tokio::spawn({
            let (h, phc) = (hashing.clone(), phc.clone());
            async move { h.verify(Secret::new("right"), phc).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(
            hashing.started(),
            0,
            "no check starts while the only turn is held"
        );
        drop(held);
        assert_eq!(waiting.await.unwrap(), Ok(true));
        assert_eq!(hashing.verify(Secret::new("wrong"), phc).await, Ok(false));
        assert_eq!(
            hashing
                .verify(Secret::new("x"), Secret::new("not a hash"))
                .await,
            Ok(false)
        );
        assert_eq!(hashing.started(), 3);
    }
}
