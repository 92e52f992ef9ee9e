//! The change feed under concurrent writers: a reader paging `changes_since` as
//! fast as it can sees every change exactly once, in an order consistent with how
//! the rows were written.
//!
//! The hazard: a writer takes seq 10, another takes 11 and commits first; a reader
//! that reads 11 then moves its cursor past 10 for good. The feed rules it out by
//! numbering under the `change_sequence` row lock, held to the commit. To make the
//! window wide, the test delays every commit after its numbering (a deferred
//! trigger of its own on `changes` that sleeps up to 4 ms): without the lock this
//! test loses changes at once (checked by hand when the feed was written: numbered
//! from a plain sequence instead, the reader missed 4 of 294).

use std::{
    collections::{BTreeMap, HashSet},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use integration::{
    database::connect,
    webhooks::{membership_event, prepared, user_event},
    TestDb,
};
use rand::{rngs::StdRng, Rng, SeedableRng};
use shared::feed::FeedChange;
use worker::{
    apply::{apply_batch, EventToApply, Outcome},
    feed::read,
};

use crate::{feed::all_changes, T0};

const WRITERS: usize = 6;
const BATCHES: usize = 40;
const USERS: usize = 24;

/// One writer's batches: updates of a shared set of users at random versions
/// (many stale, many racing for the same row), and memberships.
fn batches(writer: usize) -> Vec<Vec<EventToApply>> {
    let mut rng = StdRng::seed_from_u64(writer as u64);
    (0..BATCHES)
        .map(|b| {
            (0..rng.gen_range(1..8))
                .map(|k| {
                    let svix = format!("msg_w{writer}_{b}_{k}");
                    if rng.gen_bool(0.2) {
                        let id = format!("orgmem_o_{writer}_{b}_{k}");
                        prepared(&svix, &membership_event(&id, "org_o", T0))
                    } else {
                        let user = format!("user_o_{}", rng.gen_range(0..USERS));
                        let version = T0 + rng.gen_range(0..10_000);
                        prepared(&svix, &user_event("user.updated", &user, version, "Name"))
                    }
                })
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_and_a_fast_reader_see_every_change_once_in_commit_order() {
    shared::telemetry::init_for_tests();
    let db = TestDb::new().await;
    db.execute(
        "CREATE FUNCTION test_slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN \
             IF current_setting('test.slept', true) IS DISTINCT FROM pg_current_xact_id()::text THEN \
                 PERFORM set_config('test.slept', pg_current_xact_id()::text, true); \
                 PERFORM pg_sleep(random() * 0.004); \
             END IF; \
             RETURN NULL; \
         END $$; \
         CREATE CONSTRAINT TRIGGER test_slow_commit AFTER INSERT ON changes \
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_slow_commit();",
    )
    .await;

    let url = db.url.clone();
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (url, done) = (url.clone(), done.clone());
        std::thread::spawn(move || {
            let mut conn = connect(&url);
            let mut seen: Vec<FeedChange> = Vec::new();
            let mut cursor = 0;
            let mut empty_after_done = false;
            let deadline = Instant::now() + Duration::from_secs(120);
            while !empty_after_done {
                assert!(Instant::now() < deadline, "the reader did not finish");
                let finished = done.load(Ordering::SeqCst);
                let page = read::since(&mut conn, cursor, 7).expect("the feed reads");
                if let Some(last) = page.last() {
                    cursor = last.seq;
                }
                empty_after_done = finished && page.is_empty();
                seen.extend(page);
            }
            seen
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut conn = connect(&url);
                let mut applied = Vec::new();
                for batch in batches(w) {
                    let outcomes = loop {
                        match apply_batch(&mut conn, &batch) {
                            Ok(outcomes) => break outcomes,
                            // A lost race (the batch is run again, as the worker does).
                            Err(e) => eprintln!("writer {w}: batch again after {e}"),
                        }
                    };
                    for (event, outcome) in batch.iter().zip(outcomes) {
                        if outcome.expect("each event applies") == Outcome::Applied {
                            applied.push(event.svix_id.clone());
                        }
                    }
                }
                applied
            })
        })
        .collect();
    let mut applied = Vec::new();
    for w in writers {
        applied.extend(w.join().expect("writer"));
    }
    done.store(true, Ordering::SeqCst);
    let seen = tokio::task::spawn_blocking(move || reader.join().expect("reader"))
        .await
        .expect("join");

    let all = db.with(all_changes).await;
    let seen_seqs: Vec<i64> = seen.iter().map(|c| c.seq).collect();
    let all_seqs: Vec<i64> = all.iter().map(|c| c.seq).collect();
    // No gap, no duplicate: what the reader saw is the whole feed, 1, 2, 3, ...
    assert_eq!(
        seen_seqs.len(),
        all_seqs.len(),
        "the reader saw {} of {} changes; missed: {:?}",
        seen_seqs.len(),
        all_seqs.len(),
        all_seqs
            .iter()
            .filter(|s| !seen_seqs.contains(s))
            .collect::<Vec<_>>()
    );
    assert_eq!(seen_seqs, all_seqs);
    assert_eq!(all_seqs, (1..=all.len() as i64).collect::<Vec<_>>());
    assert_eq!(seen, all, "the reader saw each change as it is stored");

    // Every applied event is in the feed once, named; no other event is.
    let named: Vec<&str> = all.iter().filter_map(|c| c.svix_id.as_deref()).collect();
    let unique: HashSet<&str> = named.iter().copied().collect();
    assert_eq!(named.len(), unique.len(), "an event named twice");
    let applied: HashSet<&str> = applied.iter().map(String::as_str).collect();
    assert_eq!(unique, applied);
    assert!(
        applied.len() > 100,
        "the writers applied {} events",
        applied.len()
    );

    // Commit order is the order the rows were written: a user's versions only grow
    // along the feed.
    let mut versions: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for c in all.iter().filter(|c| c.kind == "user") {
        versions
            .entry(c.object_id.as_str())
            .or_default()
            .push(c.version.as_deref().expect("a version"));
    }
    for (user, v) in &versions {
        assert!(v.windows(2).all(|w| w[0] < w[1]), "{user}: {v:?}");
    }
}
