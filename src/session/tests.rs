//! The one session-store test suite, written once and run against [`MemoryStore`] and
//! against [`RedisStore`] on a real Redis (`LANYARD_TEST_REDIS_URL`, by default
//! `redis://127.0.0.1:6379`).
//!
//! Every test gets a store with a unique random prefix, so tests run in parallel against
//! one Redis; each purges its prefix at the end, and every key it writes has a TTL of at
//! most a minute, so a failed test leaves nothing behind for long.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::*;
use crate::clock::{ManualClock, UnixTime};

const TTL: Duration = Duration::from_secs(60);

/// One store under test, and how to let a short TTL pass on it.
struct Fixture {
    store: Arc<dyn SessionStore>,
    /// A TTL short enough to wait out in a test.
    short_ttl: Duration,
    /// The memory store's clock; `None` for Redis, where time really passes.
    clock: Option<ManualClock>,
    redis: Option<RedisStore>,
}

impl Fixture {
    fn memory() -> Self {
        let clock = ManualClock::new(UnixTime::from_secs(1_764_350_000));
        let prefix = format!("test:{}:", random_id().expose_secret());
        Self {
            store: Arc::new(MemoryStore::new(&prefix, Arc::new(clock.clone()))),
            short_ttl: Duration::from_secs(2),
            clock: Some(clock),
            redis: None,
        }
    }

    fn redis() -> Self {
        let url = std::env::var("LANYARD_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
        let prefix = format!("lanyard-test:{}:", random_id().expose_secret());
        let store = RedisStore::connect(&url, &prefix, RedisTimeouts::default()).unwrap();
        Self {
            store: Arc::new(store.clone()),
            // Long enough that a loaded machine does not expire it early (the tests only
            // let a fifth of it pass where it must still be there).
            short_ttl: Duration::from_millis(500),
            clock: None,
            redis: Some(store),
        }
    }

    /// Lets `short_ttl` (and a margin) pass: the memory store's clock moves, Redis waits.
    async fn let_short_ttl_pass(&self) {
        match &self.clock {
            Some(clock) => clock.advance(self.short_ttl * 2),
            None => tokio::time::sleep(self.short_ttl * 2 + Duration::from_millis(100)).await,
        }
    }

    /// Lets some, but well under all, of `short_ttl` pass.
    async fn let_part_of_short_ttl_pass(&self) {
        match &self.clock {
            Some(clock) => clock.advance(self.short_ttl / 2),
            None => tokio::time::sleep(self.short_ttl / 5).await,
        }
    }

    async fn finish(self) {
        if let Some(redis) = &self.redis {
            redis.purge_prefix().await.unwrap();
        }
    }
}

/// Instantiates every test of the suite for one store.
macro_rules! store_suite {
    ($name:ident, $fixture:expr) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn put_get_delete() {
                super::put_get_delete($fixture).await;
            }
            #[tokio::test]
            async fn put_replaces_value_and_ttl() {
                super::put_replaces_value_and_ttl($fixture).await;
            }
            #[tokio::test]
            async fn values_expire() {
                super::values_expire($fixture).await;
            }
            #[tokio::test]
            async fn put_if_absent_stores_once() {
                super::put_if_absent_stores_once($fixture).await;
            }
            #[tokio::test]
            async fn put_if_absent_after_expiry() {
                super::put_if_absent_after_expiry($fixture).await;
            }
            #[tokio::test]
            async fn take_is_single_use() {
                super::take_is_single_use($fixture).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn take_has_exactly_one_winner_under_concurrency() {
                super::take_has_exactly_one_winner_under_concurrency($fixture).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn put_if_absent_has_exactly_one_winner_under_concurrency() {
                super::put_if_absent_has_exactly_one_winner_under_concurrency($fixture).await;
            }
            #[tokio::test]
            async fn take_leaving_leaves_a_tombstone() {
                super::take_leaving_leaves_a_tombstone($fixture).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn take_leaving_losers_always_find_the_tombstone() {
                super::take_leaving_losers_always_find_the_tombstone($fixture).await;
            }
            #[tokio::test]
            async fn take_if_equal_deletes_only_the_expected_value() {
                super::take_if_equal_deletes_only_the_expected_value($fixture).await;
            }
            #[tokio::test]
            async fn take_of_expired_is_none() {
                super::take_of_expired_is_none($fixture).await;
            }
            #[tokio::test]
            async fn touch_extends_and_reports_absence() {
                super::touch_extends_and_reports_absence($fixture).await;
            }
            #[tokio::test]
            async fn incr_counts_and_keeps_its_window() {
                super::incr_counts_and_keeps_its_window($fixture).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn incr_is_atomic_under_concurrency() {
                super::incr_is_atomic_under_concurrency($fixture).await;
            }
            #[tokio::test]
            async fn reservations_stop_at_the_allowance_under_concurrency() {
                super::reservations_stop_at_the_allowance_under_concurrency($fixture).await;
            }
            #[tokio::test]
            async fn reservations_lock_back_off_and_release() {
                super::reservations_lock_back_off_and_release($fixture).await;
            }
            #[tokio::test]
            async fn counting_within_caps_stops_at_the_first_refusal() {
                super::counting_within_caps_stops_at_the_first_refusal($fixture).await;
            }
            #[tokio::test]
            async fn counting_within_caps_fails_on_a_non_counter() {
                super::counting_within_caps_fails_on_a_non_counter($fixture).await;
            }
            #[tokio::test]
            async fn parking_caps_admit_in_turn_and_name_the_refusing_one() {
                super::parking_caps_admit_in_turn_and_name_the_refusing_one($fixture).await;
            }
            #[tokio::test]
            async fn incr_of_non_integer_is_an_error() {
                super::incr_of_non_integer_is_an_error($fixture).await;
            }
            #[tokio::test]
            async fn sets_collect_members_and_refresh_ttl() {
                super::sets_collect_members_and_refresh_ttl($fixture).await;
            }
            #[tokio::test]
            async fn take_leaving_head_leaves_the_head() {
                super::take_leaving_head_leaves_the_head($fixture).await;
            }
            #[tokio::test]
            async fn replace_keeps_a_longer_ttl() {
                super::replace_keeps_a_longer_ttl($fixture).await;
            }
            #[tokio::test]
            async fn extend_only_lengthens() {
                super::extend_only_lengthens($fixture).await;
            }
            #[tokio::test]
            async fn hashes_collect_fields_and_refresh_ttl() {
                super::hashes_collect_fields_and_refresh_ttl($fixture).await;
            }
            #[tokio::test]
            async fn hash_swap_compares_and_sets_one_field() {
                super::hash_swap_compares_and_sets_one_field($fixture).await;
            }
            #[tokio::test]
            async fn hash_swap_has_exactly_one_winner_under_concurrency() {
                super::hash_swap_has_exactly_one_winner_under_concurrency($fixture).await;
            }
            #[tokio::test]
            async fn wrong_type_is_an_error_not_a_panic() {
                super::wrong_type_is_an_error_not_a_panic($fixture).await;
            }
            #[tokio::test]
            async fn prefixes_keep_stores_apart() {
                super::prefixes_keep_stores_apart($fixture, $fixture).await;
            }
            #[tokio::test]
            async fn json_helpers_roundtrip() {
                super::json_helpers_roundtrip($fixture).await;
            }
            #[tokio::test]
            async fn binary_values_survive() {
                super::binary_values_survive($fixture).await;
            }
            #[tokio::test]
            async fn get_with_fields_reads_a_value_and_a_hash_together() {
                super::get_with_fields_reads_a_value_and_a_hash_together($fixture).await;
            }
            #[tokio::test]
            async fn scan_walks_every_key_under_a_prefix() {
                super::scan_walks_every_key_under_a_prefix($fixture).await;
            }
            #[tokio::test]
            async fn ping_and_kind() {
                super::ping_and_kind($fixture).await;
            }
            #[tokio::test]
            async fn batch_runs_its_steps_in_order() {
                super::batch_runs_its_steps_in_order($fixture).await;
            }
            #[tokio::test]
            async fn batch_fails_on_a_wrong_type_without_panicking() {
                super::batch_fails_on_a_wrong_type_without_panicking($fixture).await;
            }
        }
    };
}

store_suite!(memory, Fixture::memory());
store_suite!(redis, Fixture::redis());

async fn get_with_fields_reads_a_value_and_a_hash_together(f: Fixture) {
    let s = &f.store;
    assert_eq!(
        s.get_with_fields("gwf:v", "gwf:h").await.unwrap(),
        (None, vec![])
    );
    s.put("gwf:v", b"record", TTL).await.unwrap();
    assert_eq!(
        s.get_with_fields("gwf:v", "gwf:h").await.unwrap(),
        (Some(b"record".to_vec()), vec![])
    );
    s.hash_set("gwf:h", "role:b", "2", TTL).await.unwrap();
    s.hash_set("gwf:h", "person:a", "1", TTL).await.unwrap();
    let (value, fields) = s.get_with_fields("gwf:gone", "gwf:h").await.unwrap();
    assert_eq!(value, None);
    assert_eq!(
        fields,
        vec![
            ("person:a".to_owned(), "1".to_owned()),
            ("role:b".to_owned(), "2".to_owned())
        ]
    );
    f.finish().await;
}

/// A batch does what its steps would do one by one, in order (a later step sees an earlier
/// one's write), and answers what its reads found.
async fn batch_runs_its_steps_in_order(f: Fixture) {
    let s = &f.store;
    assert!(s.batch(&[]).await.unwrap().is_empty());
    s.put("b:short", b"v", f.short_ttl).await.unwrap();
    s.put("b:long", b"v", TTL).await.unwrap();
    let parked = PendingPut::json("b:json".to_owned(), &vec!["x"], TTL).unwrap();
    let steps = [
        parked.step(),
        Step::Put {
            key: "b:new",
            value: b"record",
            ttl: f.short_ttl,
        },
        Step::Extend {
            key: "b:short",
            ttl: TTL,
        },
        Step::Extend {
            key: "b:long",
            ttl: f.short_ttl,
        },
        Step::Extend {
            key: "b:absent",
            ttl: TTL,
        },
        Step::HashSet {
            key: "b:h",
            field: "rs-1",
            value: "fam",
            ttl: f.short_ttl,
        },
        Step::HashSet {
            key: "b:h",
            field: "rt:fam",
            value: "digest",
            ttl: TTL,
        },
        Step::Get { key: "b:new" },
        Step::Get { key: "b:absent" },
    ];
    let answers = s.batch(&steps).await.unwrap();
    assert_eq!(
        answers,
        [
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            Some(b"record".to_vec()),
            None
        ]
    );
    let json: Option<Vec<String>> = get_json(&**s, "b:json").await.unwrap();
    assert_eq!(json, Some(vec!["x".to_owned()]));
    let pair = |f: &str, v: &str| (f.to_owned(), v.to_owned());
    assert_eq!(
        s.hash_fields("b:h").await.unwrap(),
        [pair("rs-1", "fam"), pair("rt:fam", "digest")]
    );
    f.let_short_ttl_pass().await;
    // Extended, never shortened; an absent key is not created; the hash got the longer TTL.
    assert!(s.get("b:short").await.unwrap().is_some());
    assert!(s.get("b:long").await.unwrap().is_some());
    assert_eq!(s.get("b:absent").await.unwrap(), None);
    assert_eq!(s.get("b:new").await.unwrap(), None);
    assert_eq!(s.hash_fields("b:h").await.unwrap().len(), 2);
    f.finish().await;
}

/// A step against a key holding another kind of value fails the batch with an error.
async fn batch_fails_on_a_wrong_type_without_panicking(f: Fixture) {
    let s = &f.store;
    s.put("bw:bytes", b"v", TTL).await.unwrap();
    let steps = [
        Step::Put {
            key: "bw:first",
            value: b"1",
            ttl: TTL,
        },
        Step::HashSet {
            key: "bw:bytes",
            field: "f",
            value: "v",
            ttl: TTL,
        },
    ];
    assert!(s.batch(&steps).await.is_err());
    f.finish().await;
}

async fn scan_walks_every_key_under_a_prefix(f: Fixture) {
    let s = &f.store;
    let mut wanted: Vec<String> = (0..25).map(|i| format!("scan-a:{{k{i:02}}}")).collect();
    for key in &wanted {
        s.put(key, b"v", TTL).await.unwrap();
    }
    // Neighbours the walk must leave out: another prefix, and one that only starts alike.
    s.put("scan-b:{k}", b"v", TTL).await.unwrap();
    s.put("scan-a-more:x", b"v", TTL).await.unwrap();
    // A glob character in the prefix is matched literally.
    s.put("scan*:x", b"v", TTL).await.unwrap();
    // Redis walks the whole (shared) database, whatever the prefix: bigger pages there.
    let count = if f.redis.is_some() { 1_000 } else { 4 };
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = s.scan("scan-a:", cursor.as_deref(), count).await.unwrap();
        seen.extend(page.keys);
        pages += 1;
        assert!(pages < 100_000, "the walk does not end");
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    if f.redis.is_none() {
        assert!(pages > 1, "25 keys at 4 a page take several pages");
    }
    // Redis may give a key twice during a walk; every key is seen at least once.
    seen.sort_unstable();
    seen.dedup();
    wanted.sort_unstable();
    assert_eq!(seen, wanted);
    let glob = s.scan("scan*:", None, count).await.unwrap();
    let mut keys = glob.keys;
    let mut next = glob.next;
    while let Some(c) = next {
        let page = s.scan("scan*:", Some(&c), count).await.unwrap();
        keys.extend(page.keys);
        next = page.next;
    }
    assert_eq!(keys, vec!["scan*:x".to_owned()]);
    // An expired key is not listed.
    s.put("scan-c:gone", b"v", f.short_ttl).await.unwrap();
    f.let_short_ttl_pass().await;
    let mut next = None;
    loop {
        let page = s.scan("scan-c:", next.as_deref(), count).await.unwrap();
        assert!(page.keys.is_empty(), "{:?}", page.keys);
        match page.next {
            Some(c) => next = Some(c),
            None => break,
        }
    }
    assert!(s.scan("scan-a:", Some("not a cursor"), 4).await.is_err() || f.redis.is_none());
    f.finish().await;
}

async fn put_get_delete(f: Fixture) {
    let s = &f.store;
    assert_eq!(s.get("a").await.unwrap(), None);
    s.put("a", b"one", TTL).await.unwrap();
    assert_eq!(s.get("a").await.unwrap().as_deref(), Some(&b"one"[..]));
    // Reading does not consume.
    assert_eq!(s.get("a").await.unwrap().as_deref(), Some(&b"one"[..]));
    s.delete("a").await.unwrap();
    assert_eq!(s.get("a").await.unwrap(), None);
    // Deleting what is not there is fine.
    s.delete("a").await.unwrap();
    f.finish().await;
}

async fn put_replaces_value_and_ttl(f: Fixture) {
    let s = &f.store;
    s.put("a", b"one", f.short_ttl).await.unwrap();
    s.put("a", b"two", TTL).await.unwrap();
    f.let_short_ttl_pass().await;
    assert_eq!(s.get("a").await.unwrap().as_deref(), Some(&b"two"[..]));
    f.finish().await;
}

async fn values_expire(f: Fixture) {
    let s = &f.store;
    s.put("short", b"v", f.short_ttl).await.unwrap();
    s.put("long", b"v", TTL).await.unwrap();
    f.let_part_of_short_ttl_pass().await;
    assert!(s.get("short").await.unwrap().is_some());
    f.let_short_ttl_pass().await;
    assert_eq!(s.get("short").await.unwrap(), None);
    assert!(s.get("long").await.unwrap().is_some());
    f.finish().await;
}

async fn put_if_absent_stores_once(f: Fixture) {
    let s = &f.store;
    assert!(s.put_if_absent("assertion", b"first", TTL).await.unwrap());
    assert!(!s.put_if_absent("assertion", b"second", TTL).await.unwrap());
    assert_eq!(
        s.get("assertion").await.unwrap().as_deref(),
        Some(&b"first"[..])
    );
    f.finish().await;
}

async fn put_if_absent_after_expiry(f: Fixture) {
    let s = &f.store;
    assert!(s.put_if_absent("id", b"first", f.short_ttl).await.unwrap());
    f.let_short_ttl_pass().await;
    assert!(s.put_if_absent("id", b"second", TTL).await.unwrap());
    assert_eq!(s.get("id").await.unwrap().as_deref(), Some(&b"second"[..]));
    f.finish().await;
}

async fn take_is_single_use(f: Fixture) {
    let s = &f.store;
    s.put("tx", b"state", TTL).await.unwrap();
    assert_eq!(s.take("tx").await.unwrap().as_deref(), Some(&b"state"[..]));
    assert_eq!(s.take("tx").await.unwrap(), None);
    assert_eq!(s.get("tx").await.unwrap(), None);
    f.finish().await;
}

async fn take_has_exactly_one_winner_under_concurrency(f: Fixture) {
    for round in 0..5 {
        let key = format!("code{round}");
        f.store.put(&key, b"secret-code", TTL).await.unwrap();
        let start = Arc::new(tokio::sync::Barrier::new(32));
        let mut takers = tokio::task::JoinSet::new();
        for _ in 0..32 {
            let store = Arc::clone(&f.store);
            let start = Arc::clone(&start);
            let key = key.clone();
            takers.spawn(async move {
                start.wait().await;
                store.take(&key).await.unwrap()
            });
        }
        let mut winners = 0;
        while let Some(result) = takers.join_next().await {
            if let Some(value) = result.unwrap() {
                assert_eq!(value, b"secret-code");
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "round {round}");
    }
    f.finish().await;
}

async fn take_leaving_leaves_a_tombstone(f: Fixture) {
    let s = &f.store;
    // Nothing to take: nothing is written.
    assert_eq!(s.take_leaving("rt", "rt-used", TTL).await.unwrap(), None);
    assert_eq!(s.get("rt-used").await.unwrap(), None);
    s.put("rt", b"family-1", TTL).await.unwrap();
    assert_eq!(
        s.take_leaving("rt", "rt-used", f.short_ttl)
            .await
            .unwrap()
            .as_deref(),
        Some(&b"family-1"[..])
    );
    assert_eq!(s.get("rt").await.unwrap(), None);
    assert_eq!(
        s.get("rt-used").await.unwrap().as_deref(),
        Some(&b"family-1"[..])
    );
    // Taken once only; the tombstone has its own TTL.
    assert_eq!(s.take_leaving("rt", "rt-used", TTL).await.unwrap(), None);
    f.let_short_ttl_pass().await;
    assert_eq!(s.get("rt-used").await.unwrap(), None);
    // A set cannot be taken and is left alone.
    s.set_add("set", "m", TTL).await.unwrap();
    assert!(s.take_leaving("set", "set-used", TTL).await.is_err());
    assert_eq!(s.set_members("set").await.unwrap(), vec!["m".to_owned()]);
    assert_eq!(s.get("set-used").await.unwrap(), None);
    f.finish().await;
}

/// The property reuse detection rests on: whoever does not win the take finds the
/// tombstone, however the two calls interleave (a separate "mark used" write after the
/// take would leave a window where a loser finds neither).
async fn take_leaving_losers_always_find_the_tombstone(f: Fixture) {
    for round in 0..20 {
        let key = format!("code{round}");
        let used = format!("code-used{round}");
        f.store.put(&key, b"record", TTL).await.unwrap();
        let start = Arc::new(tokio::sync::Barrier::new(8));
        let mut takers = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let store = Arc::clone(&f.store);
            let start = Arc::clone(&start);
            let (key, used) = (key.clone(), used.clone());
            takers.spawn(async move {
                start.wait().await;
                match store.take_leaving(&key, &used, TTL).await.unwrap() {
                    Some(v) => (true, Some(v)),
                    None => (false, store.get(&used).await.unwrap()),
                }
            });
        }
        let mut winners = 0;
        while let Some(result) = takers.join_next().await {
            let (won, seen) = result.unwrap();
            winners += usize::from(won);
            assert_eq!(seen.as_deref(), Some(&b"record"[..]), "round {round}");
        }
        assert_eq!(winners, 1, "round {round}");
    }
    f.finish().await;
}

async fn put_if_absent_has_exactly_one_winner_under_concurrency(f: Fixture) {
    let start = Arc::new(tokio::sync::Barrier::new(32));
    let mut writers = tokio::task::JoinSet::new();
    for i in 0..32 {
        let store = Arc::clone(&f.store);
        let start = Arc::clone(&start);
        writers.spawn(async move {
            start.wait().await;
            let value = format!("writer{i}");
            store
                .put_if_absent("assertion", value.as_bytes(), TTL)
                .await
                .unwrap()
                .then_some(value)
        });
    }
    let mut winners = Vec::new();
    while let Some(result) = writers.join_next().await {
        winners.extend(result.unwrap());
    }
    assert_eq!(winners.len(), 1);
    let stored = f.store.get("assertion").await.unwrap().unwrap();
    assert_eq!(stored, winners[0].as_bytes());
    f.finish().await;
}

async fn take_if_equal_deletes_only_the_expected_value(f: Fixture) {
    let s = &f.store;
    s.put("txn", b"first", TTL).await.unwrap();
    assert!(!s.take_if_equal("txn", b"other").await.unwrap());
    assert_eq!(s.get("txn").await.unwrap().as_deref(), Some(&b"first"[..]));
    // Replaced between the read and the take: the take does nothing.
    s.put("txn", b"second", TTL).await.unwrap();
    assert!(!s.take_if_equal("txn", b"first").await.unwrap());
    assert!(s.take_if_equal("txn", b"second").await.unwrap());
    assert_eq!(s.get("txn").await.unwrap(), None);
    assert!(!s.take_if_equal("txn", b"second").await.unwrap());
    // Of concurrent takers exactly one wins.
    s.put("race", b"v", TTL).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let store = Arc::clone(&f.store);
        tasks.spawn(async move { store.take_if_equal("race", b"v").await.unwrap() });
    }
    let mut wins = 0;
    while let Some(won) = tasks.join_next().await {
        wins += usize::from(won.unwrap());
    }
    assert_eq!(wins, 1);
    f.finish().await;
}

async fn take_of_expired_is_none(f: Fixture) {
    let s = &f.store;
    s.put("tx", b"state", f.short_ttl).await.unwrap();
    f.let_short_ttl_pass().await;
    assert_eq!(s.take("tx").await.unwrap(), None);
    f.finish().await;
}

async fn touch_extends_and_reports_absence(f: Fixture) {
    let s = &f.store;
    assert!(!s.touch("missing", TTL).await.unwrap());
    s.put("session", b"v", f.short_ttl).await.unwrap();
    assert!(s.touch("session", TTL).await.unwrap());
    f.let_short_ttl_pass().await;
    assert!(s.get("session").await.unwrap().is_some());
    // Touch can also shorten.
    assert!(s.touch("session", f.short_ttl).await.unwrap());
    f.let_short_ttl_pass().await;
    assert_eq!(s.get("session").await.unwrap(), None);
    assert!(!s.touch("session", TTL).await.unwrap());
    f.finish().await;
}

async fn incr_counts_and_keeps_its_window(f: Fixture) {
    let s = &f.store;
    assert_eq!(s.incr("login:alice", f.short_ttl).await.unwrap(), 1);
    assert_eq!(s.incr("login:alice", TTL).await.unwrap(), 2);
    assert_eq!(s.incr("login:alice", TTL).await.unwrap(), 3);
    // The counter is readable like any value.
    assert_eq!(
        s.get("login:alice").await.unwrap().as_deref(),
        Some(&b"3"[..])
    );
    // The window was set by the first increment; later ones do not extend it.
    f.let_short_ttl_pass().await;
    assert_eq!(s.incr("login:alice", f.short_ttl).await.unwrap(), 1);
    f.finish().await;
}

async fn incr_is_atomic_under_concurrency(f: Fixture) {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let store = Arc::clone(&f.store);
        tasks.spawn(async move { store.incr("hits", TTL).await.unwrap() });
    }
    let mut seen = Vec::new();
    while let Some(result) = tasks.join_next().await {
        seen.push(result.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=50).collect::<Vec<i64>>());
    f.finish().await;
}

fn attempt_limit(who: &str, allowed: u32, lockout: Duration) -> AttemptLimit {
    AttemptLimit {
        counter: format!("n:{who}"),
        lock: format!("lock:{who}"),
        allowed,
        window: TTL,
        lockout,
        max_lockout: lockout * 4,
    }
}

async fn reservations_stop_at_the_allowance_under_concurrency(f: Fixture) {
    let limits = Arc::new(vec![
        attempt_limit("acct", 5, TTL),
        attempt_limit("ip", 7, TTL),
    ]);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (store, limits) = (Arc::clone(&f.store), Arc::clone(&limits));
        tasks.spawn(async move {
            let token = random_id();
            store
                .reserve_attempt(&limits, token.expose_secret())
                .await
                .unwrap()
        });
    }
    let mut granted = Vec::new();
    let mut locked = 0;
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Reservation::Granted(r) => granted.push(r[0].count),
            Reservation::Locked(i) => {
                assert_eq!(i, 0, "the account's lock holds first");
                locked += 1;
            }
        }
    }
    granted.sort_unstable();
    assert_eq!(granted, vec![1, 2, 3, 4, 5], "exactly the allowance passes");
    assert_eq!(locked, 45);
    // The address's count went to 5 with them; two more reach its allowance of 7 and
    // lock it, and then a second limit locked alone refuses too, and says which one.
    let other = vec![attempt_limit("other", 5, TTL), attempt_limit("ip", 7, TTL)];
    for count in [6, 7] {
        match f.store.reserve_attempt(&other, "t").await.unwrap() {
            Reservation::Granted(r) => assert_eq!(r[1].count, count),
            Reservation::Locked(i) => panic!("locked at {i}"),
        }
    }
    assert_eq!(
        f.store.reserve_attempt(&other, "t").await.unwrap(),
        Reservation::Locked(1)
    );
    f.finish().await;
}

async fn reservations_lock_back_off_and_release(f: Fixture) {
    let s = &f.store;
    let limit = attempt_limit("acct", 2, f.short_ttl);
    let one = std::slice::from_ref(&limit);
    let granted = |count: i64, lock: Option<u32>| {
        Reservation::Granted(vec![Reserved {
            count,
            lock: lock.map(|n| f.short_ttl * n),
        }])
    };
    assert_eq!(s.reserve_attempt(one, "a").await.unwrap(), granted(1, None));
    // The second reaches the allowance: granted, and it sets the lock.
    assert_eq!(
        s.reserve_attempt(one, "b").await.unwrap(),
        granted(2, Some(1))
    );
    assert_eq!(
        s.reserve_attempt(one, "c").await.unwrap(),
        Reservation::Locked(0)
    );
    // Given back (a success): count down, and its own lock is gone.
    s.release_attempt(&limit, "b", false).await.unwrap();
    assert_eq!(s.get("n:acct").await.unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(s.get("lock:acct").await.unwrap(), None);
    assert_eq!(
        s.reserve_attempt(one, "d").await.unwrap(),
        granted(2, Some(1))
    );
    assert_eq!(
        s.reserve_attempt(one, "e").await.unwrap(),
        Reservation::Locked(0)
    );
    // After the lock, the next attempt doubles it.
    f.let_short_ttl_pass().await;
    assert_eq!(
        s.reserve_attempt(one, "f").await.unwrap(),
        granted(3, Some(2))
    );
    // Another reservation's token does not open the lock.
    s.release_attempt(&limit, "x", false).await.unwrap();
    assert_eq!(
        s.reserve_attempt(one, "g").await.unwrap(),
        Reservation::Locked(0)
    );
    // A reset forgets the count, and the lock this attempt set.
    s.release_attempt(&limit, "f", true).await.unwrap();
    assert_eq!(s.get("n:acct").await.unwrap(), None);
    assert_eq!(s.reserve_attempt(one, "h").await.unwrap(), granted(1, None));
    f.finish().await;
}

fn capped(key: &str, cap: i64, ttl: Duration) -> CappedCounter {
    CappedCounter {
        key: key.to_owned(),
        cap,
        ttl,
    }
}

async fn counting_within_caps_stops_at_the_first_refusal(f: Fixture) {
    let s = &f.store;
    let counters = [
        capped("cap:a", 2, f.short_ttl),
        capped("cap:b", 1, TTL),
        capped("cap:c", 5, TTL),
    ];
    assert_eq!(s.count_within(&counters).await.unwrap(), 3);
    // `b` goes above its cap of 1: `c` is not counted.
    assert_eq!(s.count_within(&counters).await.unwrap(), 1);
    assert_eq!(s.get("cap:a").await.unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(s.get("cap:b").await.unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(s.get("cap:c").await.unwrap().as_deref(), Some(&b"1"[..]));
    // `a` above its cap: nothing after it is counted.
    assert_eq!(s.count_within(&counters).await.unwrap(), 0);
    assert_eq!(s.get("cap:b").await.unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(s.count_within(&[]).await.unwrap(), 0);
    // Each counter got its own window from its first count, as `incr` gives it.
    f.let_short_ttl_pass().await;
    assert_eq!(s.get("cap:a").await.unwrap(), None);
    assert_eq!(s.get("cap:c").await.unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(s.incr("cap:a", TTL).await.unwrap(), 1);
    f.finish().await;
}

async fn counting_within_caps_fails_on_a_non_counter(f: Fixture) {
    let s = &f.store;
    s.put("text", b"not a number", TTL).await.unwrap();
    let counters = [capped("first", 10, TTL), capped("text", 10, TTL)];
    let err = s.count_within(&counters).await.unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    assert!(!err.to_string().contains("not a number"));
    // What a failure half-way leaves: the counters before it counted (as separate `incr`s
    // would), the bad value untouched; the next count goes on from there.
    assert_eq!(s.get("first").await.unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(
        s.get("text").await.unwrap().as_deref(),
        Some(&b"not a number"[..])
    );
    assert_eq!(s.incr("first", TTL).await.unwrap(), 2);
    f.finish().await;
}

async fn parking_caps_admit_in_turn_and_name_the_refusing_one(f: Fixture) {
    let s = &*f.store;
    let authz = ParkingCap {
        kind: "authz",
        per_address: 2,
        total: 100,
        window: TTL,
    };
    let login = ParkingCap {
        kind: "login",
        per_address: 1,
        total: 100,
        window: TTL,
    };
    let ip: IpAddr = "192.0.2.7".parse().unwrap();
    let both = [&authz, &login];
    assert_eq!(
        ParkingCap::admit_all(&both, s, Some(ip)).await.unwrap(),
        None
    );
    // The login cap refuses the second: the authorization cap counted it.
    let refused = ParkingCap::admit_all(&both, s, Some(ip)).await.unwrap();
    assert_eq!(refused, Some(&login));
    // The authorization cap refuses the third: the login cap does not count it.
    let refused = ParkingCap::admit_all(&both, s, Some(ip)).await.unwrap();
    assert_eq!(refused, Some(&authz));
    let count = |key: String| async move { s.get(&key).await.unwrap() };
    assert_eq!(
        count(keyspace::PARKING_CAP.key(["login", "all"]))
            .await
            .as_deref(),
        Some(&b"1"[..])
    );
    assert_eq!(
        count(keyspace::PARKING_CAP.key(["authz", "all"]))
            .await
            .as_deref(),
        Some(&b"2"[..])
    );
    // Another address is counted on its own; one without an address only in total.
    let other: IpAddr = "192.0.2.8".parse().unwrap();
    assert!(authz.admit(s, Some(other)).await.unwrap());
    assert!(login.admit(s, None).await.unwrap());
    assert_eq!(
        count(keyspace::PARKING_CAP.key(["login", "all"]))
            .await
            .as_deref(),
        Some(&b"2"[..])
    );
    f.finish().await;
}

async fn incr_of_non_integer_is_an_error(f: Fixture) {
    let s = &f.store;
    s.put("text", b"not a number", TTL).await.unwrap();
    let err = s.incr("text", TTL).await.unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    assert!(!err.to_string().contains("not a number"));
    s.put("numeric", b"41", TTL).await.unwrap();
    assert_eq!(s.incr("numeric", TTL).await.unwrap(), 42);
    f.finish().await;
}

async fn sets_collect_members_and_refresh_ttl(f: Fixture) {
    let s = &f.store;
    assert!(s.set_members("roles").await.unwrap().is_empty());
    s.set_add("roles", "rs-b", f.short_ttl).await.unwrap();
    s.set_add("roles", "rs-a", f.short_ttl).await.unwrap();
    s.set_add("roles", "rs-b", f.short_ttl).await.unwrap();
    assert_eq!(s.set_members("roles").await.unwrap(), ["rs-a", "rs-b"]);
    // Each add refreshes the TTL.
    f.let_part_of_short_ttl_pass().await;
    s.set_add("roles", "rs-c", TTL).await.unwrap();
    f.let_short_ttl_pass().await;
    assert_eq!(
        s.set_members("roles").await.unwrap(),
        ["rs-a", "rs-b", "rs-c"]
    );
    s.set_add("other", "x", f.short_ttl).await.unwrap();
    f.let_short_ttl_pass().await;
    assert!(s.set_members("other").await.unwrap().is_empty());
    s.delete("roles").await.unwrap();
    assert!(s.set_members("roles").await.unwrap().is_empty());
    f.finish().await;
}

async fn take_leaving_head_leaves_the_head(f: Fixture) {
    let s = &f.store;
    assert_eq!(
        s.take_leaving_head("code", "code-used", 5, TTL)
            .await
            .unwrap(),
        None
    );
    assert_eq!(s.get("code-used").await.unwrap(), None);
    s.put("code", b"sso-1 the whole record", TTL).await.unwrap();
    assert_eq!(
        s.take_leaving_head("code", "code-used", 5, f.short_ttl)
            .await
            .unwrap()
            .as_deref(),
        Some(&b"sso-1 the whole record"[..])
    );
    assert_eq!(s.get("code").await.unwrap(), None);
    assert_eq!(
        s.get("code-used").await.unwrap().as_deref(),
        Some(&b"sso-1"[..])
    );
    assert_eq!(
        s.take_leaving_head("code", "code-used", 5, TTL)
            .await
            .unwrap(),
        None
    );
    f.let_short_ttl_pass().await;
    assert_eq!(s.get("code-used").await.unwrap(), None);
    // A head longer than the value leaves all of it.
    s.put("short", b"abc", TTL).await.unwrap();
    s.take_leaving_head("short", "short-used", 10, TTL)
        .await
        .unwrap();
    assert_eq!(
        s.get("short-used").await.unwrap().as_deref(),
        Some(&b"abc"[..])
    );
    f.finish().await;
}

async fn replace_keeps_a_longer_ttl(f: Fixture) {
    let s = &f.store;
    // A new key gets the TTL given.
    s.replace("short", b"1", f.short_ttl).await.unwrap();
    // A key with longer left keeps it, with the new value.
    s.put("long", b"1", TTL).await.unwrap();
    s.replace("long", b"2", f.short_ttl).await.unwrap();
    // A key with less left gets the longer TTL given.
    s.put("grows", b"1", f.short_ttl).await.unwrap();
    s.replace("grows", b"2", TTL).await.unwrap();
    f.let_short_ttl_pass().await;
    assert_eq!(s.get("short").await.unwrap(), None);
    assert_eq!(s.get("long").await.unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(s.get("grows").await.unwrap().as_deref(), Some(&b"2"[..]));
    f.finish().await;
}

async fn extend_only_lengthens(f: Fixture) {
    let s = &f.store;
    assert!(!s.extend("missing", TTL).await.unwrap());
    assert_eq!(s.get("missing").await.unwrap(), None);
    s.put("a", b"v", f.short_ttl).await.unwrap();
    assert!(s.extend("a", TTL).await.unwrap());
    s.put("b", b"v", TTL).await.unwrap();
    assert!(s.extend("b", f.short_ttl).await.unwrap());
    s.put("c", b"v", f.short_ttl).await.unwrap();
    f.let_short_ttl_pass().await;
    assert!(s.get("a").await.unwrap().is_some());
    assert!(s.get("b").await.unwrap().is_some());
    assert_eq!(s.get("c").await.unwrap(), None);
    f.finish().await;
}

async fn hashes_collect_fields_and_refresh_ttl(f: Fixture) {
    let s = &f.store;
    assert!(s.hash_fields("h").await.unwrap().is_empty());
    s.hash_set("h", "rs-b", "f1", f.short_ttl).await.unwrap();
    s.hash_set("h", "rs-a", "", f.short_ttl).await.unwrap();
    s.hash_set("h", "rs-b", "f2", f.short_ttl).await.unwrap();
    let pair = |f: &str, v: &str| (f.to_owned(), v.to_owned());
    assert_eq!(
        s.hash_fields("h").await.unwrap(),
        [pair("rs-a", ""), pair("rs-b", "f2")]
    );
    // A set lengthens the TTL, and never shortens it.
    f.let_part_of_short_ttl_pass().await;
    s.hash_set("h", "rs-c", "f3", TTL).await.unwrap();
    s.hash_set("h", "rs-d", "f4", f.short_ttl).await.unwrap();
    f.let_short_ttl_pass().await;
    assert_eq!(s.hash_fields("h").await.unwrap().len(), 4);
    s.hash_set("other", "x", "y", f.short_ttl).await.unwrap();
    f.let_short_ttl_pass().await;
    assert!(s.hash_fields("other").await.unwrap().is_empty());
    // Not a hash: an error, and a hash is not a string either.
    s.put("bytes", b"v", TTL).await.unwrap();
    assert!(matches!(
        s.hash_set("bytes", "f", "v", TTL).await,
        Err(StoreError::Backend(_))
    ));
    assert!(matches!(
        s.hash_fields("bytes").await,
        Err(StoreError::Backend(_))
    ));
    assert!(matches!(s.get("h").await, Err(StoreError::Backend(_))));
    s.delete("h").await.unwrap();
    assert!(s.hash_fields("h").await.unwrap().is_empty());
    f.finish().await;
}

async fn hash_swap_compares_and_sets_one_field(f: Fixture) {
    let s = &f.store;
    let pair = |f: &str, v: &str| (f.to_owned(), v.to_owned());
    // Absent hash, absent field: nothing to swap, nothing created.
    assert_eq!(s.hash_swap("h", "rt", Some("a"), "b").await.unwrap(), None);
    assert_eq!(s.hash_swap("h", "rt", None, "b").await.unwrap(), None);
    assert!(s.hash_fields("h").await.unwrap().is_empty());
    s.hash_set("h", "other", "x", f.short_ttl).await.unwrap();
    assert_eq!(s.hash_swap("h", "rt", None, "b").await.unwrap(), None);
    assert_eq!(s.hash_fields("h").await.unwrap(), [pair("other", "x")]);
    // The expected value: swapped, and the answer is what was there.
    s.hash_set("h", "rt", "a", f.short_ttl).await.unwrap();
    assert_eq!(
        s.hash_swap("h", "rt", Some("a"), "b")
            .await
            .unwrap()
            .as_deref(),
        Some("a")
    );
    // Another value: left alone, and the answer says what it holds.
    assert_eq!(
        s.hash_swap("h", "rt", Some("a"), "c")
            .await
            .unwrap()
            .as_deref(),
        Some("b")
    );
    // Any value.
    assert_eq!(
        s.hash_swap("h", "rt", None, "d").await.unwrap().as_deref(),
        Some("b")
    );
    assert_eq!(
        s.hash_fields("h").await.unwrap(),
        [pair("other", "x"), pair("rt", "d")]
    );
    // The hash's TTL is not touched: it ends as set.
    f.let_short_ttl_pass().await;
    assert!(s.hash_fields("h").await.unwrap().is_empty());
    // Not a hash: an error.
    s.put("bytes", b"v", TTL).await.unwrap();
    assert!(matches!(
        s.hash_swap("bytes", "f", None, "v").await,
        Err(StoreError::Backend(_))
    ));
    f.finish().await;
}

async fn hash_swap_has_exactly_one_winner_under_concurrency(f: Fixture) {
    for round in 0..5 {
        let key = format!("issued{round}");
        f.store
            .hash_set(&key, "rt:f", "current", TTL)
            .await
            .unwrap();
        let start = Arc::new(tokio::sync::Barrier::new(32));
        let mut swappers = tokio::task::JoinSet::new();
        for i in 0..32 {
            let store = Arc::clone(&f.store);
            let start = Arc::clone(&start);
            let key = key.clone();
            swappers.spawn(async move {
                start.wait().await;
                let mine = format!("next{i}");
                let held = store.hash_swap(&key, "rt:f", Some("current"), &mine).await;
                (held.unwrap(), mine)
            });
        }
        let mut winners = Vec::new();
        while let Some(result) = swappers.join_next().await {
            let (held, mine) = result.unwrap();
            if held.as_deref() == Some("current") {
                winners.push(mine);
            }
        }
        assert_eq!(winners.len(), 1, "round {round}");
        let fields = f.store.hash_fields(&key).await.unwrap();
        assert_eq!(fields, [("rt:f".to_owned(), winners[0].clone())]);
    }
    f.finish().await;
}

async fn wrong_type_is_an_error_not_a_panic(f: Fixture) {
    let s = &f.store;
    s.set_add("set", "m", TTL).await.unwrap();
    s.put("bytes", b"v", TTL).await.unwrap();
    assert!(matches!(s.get("set").await, Err(StoreError::Backend(_))));
    assert!(matches!(s.take("set").await, Err(StoreError::Backend(_))));
    assert!(matches!(
        s.incr("set", TTL).await,
        Err(StoreError::Backend(_))
    ));
    assert!(matches!(
        s.set_add("bytes", "m", TTL).await,
        Err(StoreError::Backend(_))
    ));
    assert!(matches!(
        s.set_members("bytes").await,
        Err(StoreError::Backend(_))
    ));
    // A failed take leaves the set alone.
    assert_eq!(s.set_members("set").await.unwrap(), ["m"]);
    f.finish().await;
}

async fn prefixes_keep_stores_apart(a: Fixture, b: Fixture) {
    a.store.put("k", b"from a", TTL).await.unwrap();
    assert_eq!(b.store.get("k").await.unwrap(), None);
    b.store.put("k", b"from b", TTL).await.unwrap();
    assert_eq!(
        a.store.get("k").await.unwrap().as_deref(),
        Some(&b"from a"[..])
    );
    a.finish().await;
    b.finish().await;
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct LoginTx {
    provider: String,
    nonce: String,
    created: i64,
}

async fn json_helpers_roundtrip(f: Fixture) {
    let s = f.store.as_ref();
    let tx = LoginTx {
        provider: "corp".to_owned(),
        nonce: random_id().expose_secret().to_owned(),
        created: 1_764_350_000,
    };
    put_json(s, "tx", &tx, TTL).await.unwrap();
    assert_eq!(
        get_json::<_, LoginTx>(s, "tx").await.unwrap().as_ref(),
        Some(&tx)
    );
    assert_eq!(take_json::<_, LoginTx>(s, "tx").await.unwrap(), Some(tx));
    assert_eq!(take_json::<_, LoginTx>(s, "tx").await.unwrap(), None);

    assert!(put_json_if_absent(s, "once", &1_u32, TTL).await.unwrap());
    assert!(!put_json_if_absent(s, "once", &2_u32, TTL).await.unwrap());
    assert_eq!(get_json::<_, u32>(s, "once").await.unwrap(), Some(1));

    // A value of another shape is a codec error that does not quote the value.
    s.put("bad", br#"{"provider":"hunter2"}"#, TTL)
        .await
        .unwrap();
    let err = get_json::<_, LoginTx>(s, "bad").await.unwrap_err();
    assert!(matches!(err, StoreError::Codec(_)), "{err:?}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    f.finish().await;
}

async fn binary_values_survive(f: Fixture) {
    let s = &f.store;
    let value: Vec<u8> = (0..=255).collect();
    s.put("bin", &value, TTL).await.unwrap();
    assert_eq!(s.get("bin").await.unwrap(), Some(value.clone()));
    assert_eq!(s.take("bin").await.unwrap(), Some(value));
    f.finish().await;
}

async fn ping_and_kind(f: Fixture) {
    f.store.ping().await.unwrap();
    let expected = if f.clock.is_some() { "memory" } else { "redis" };
    assert_eq!(f.store.kind(), expected);
    f.finish().await;
}

// ---- Outside the shared suite -------------------------------------------------------

/// A loopback port with nothing listening on it.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

#[tokio::test]
async fn redis_outage_is_unavailable_fast() {
    let url = format!("redis://127.0.0.1:{}", closed_port());
    // Constructible while Redis is down.
    let store = RedisStore::connect(&url, "lanyard-test:", RedisTimeouts::default()).unwrap();
    let started = Instant::now();
    let err = store.get("k").await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let err = store.ping().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let err = store.take("k").await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// Takes reuse a recent reading of Redis's clock, and read it again once that reading is
/// older than [`CLOCK_REUSE`]: single use holds either way.
#[tokio::test]
async fn redis_takes_reuse_a_recent_clock_reading() {
    let f = Fixture::redis();
    let Some(redis) = &f.redis else {
        unreachable!()
    };
    let s = &f.store;
    s.put("clk:a", b"1", TTL).await.unwrap();
    assert_eq!(s.take("clk:a").await.unwrap().as_deref(), Some(&b"1"[..]));
    let first = redis.kept_reading().unwrap();
    s.put("clk:b", b"2", TTL).await.unwrap();
    assert_eq!(s.take("clk:b").await.unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(s.take("clk:b").await.unwrap(), None);
    let second = redis.kept_reading().unwrap();
    // Reused, unless this machine took longer than CLOCK_REUSE between the two takes.
    assert!(second == first || second.1 > first.1);
    tokio::time::sleep(CLOCK_REUSE + Duration::from_millis(20)).await;
    s.put("clk:c", b"3", TTL).await.unwrap();
    assert!(s.take_if_equal("clk:c", b"3").await.unwrap());
    let third = redis.kept_reading().unwrap();
    assert!(third.1 > second.1, "an old reading is read again");
    assert!(third.0 >= second.0);
    f.finish().await;
}

#[tokio::test]
async fn redis_unresponsive_server_times_out() {
    // Accepts connections but never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let timeouts = RedisTimeouts {
        connect: Duration::from_millis(300),
        response: Duration::from_millis(300),
    };
    let url = format!("redis://127.0.0.1:{port}");
    let store = RedisStore::connect(&url, "lanyard-test:", timeouts).unwrap();
    let started = Instant::now();
    let err = store.ping().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(started.elapsed() <= timeouts.operation() + Duration::from_millis(500));
    silent.abort();
}

#[tokio::test]
async fn redis_store_reconnects_when_redis_comes_back() {
    // Start a TCP relay to the real Redis only after the first failure.
    let port = closed_port();
    let url = format!("redis://127.0.0.1:{port}");
    let prefix = format!("lanyard-test:{}:", random_id().expose_secret());
    let store = RedisStore::connect(&url, &prefix, RedisTimeouts::default()).unwrap();
    assert!(matches!(
        store.ping().await,
        Err(StoreError::Unavailable(_))
    ));

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let relay = tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect("127.0.0.1:6379").await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match store.ping().await {
            Ok(()) => break,
            Err(StoreError::Unavailable(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("no reconnection: {e:?}"),
        }
    }
    store.put("k", b"v", TTL).await.unwrap();
    assert_eq!(store.take("k").await.unwrap().as_deref(), Some(&b"v"[..]));
    relay.abort();
}

#[tokio::test]
async fn redis_bad_url_does_not_echo_it() {
    let err = RedisStore::connect("redis://user:hunter2@[::1", "p:", RedisTimeouts::default())
        .unwrap_err();
    assert!(!err.to_string().contains("hunter2"));
    assert!(!format!("{err:?}").contains("hunter2"));
}

#[test]
fn redis_store_outside_a_runtime_is_an_error() {
    let err =
        RedisStore::connect("redis://127.0.0.1:6379", "p:", RedisTimeouts::default()).unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)));
}

#[test]
fn random_ids_are_256_bit_base64url_and_distinct() {
    let a = random_id();
    let b = random_id();
    assert_eq!(a.expose_secret().len(), 43);
    assert!(
        a.expose_secret()
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    );
    let decoded = URL_SAFE_NO_PAD.decode(a.expose_secret()).unwrap();
    assert_eq!(decoded.len(), 32);
    assert_ne!(a, b);
    assert_eq!(format!("{a:?}"), "Secret([redacted])");
}

#[test]
fn stores_are_shareable_across_tasks() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<MemoryStore>();
    assert_send_sync::<RedisStore>();
    assert_send_sync::<Arc<dyn SessionStore>>();
    assert_send_sync::<StoreError>();
}

#[test]
fn ttl_rounding() {
    assert_eq!(ttl_millis(Duration::ZERO), 1);
    assert_eq!(ttl_millis(Duration::from_micros(10)), 1);
    assert_eq!(ttl_millis(Duration::from_millis(1500)), 1500);
    assert_eq!(ttl_millis(Duration::MAX), u64::MAX);
}
