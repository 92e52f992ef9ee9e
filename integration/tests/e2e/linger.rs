//! `WORKER_BATCH_LINGER`: a batch that is not full waits, from its first delivery,
//! for more, so events that arrive one after another share one transaction.

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use integration::{unique, webhooks::user_event, Options, TestApp};

use crate::T0;

#[tokio::test]
async fn events_posted_within_the_linger_are_applied_in_one_transaction() {
    let app = TestApp::spawn(Options {
        batch_linger: Duration::from_secs(1),
        ..Default::default()
    })
    .await;
    // One after another: each POST returns only once RabbitMQ has confirmed it, a
    // few milliseconds apart, so without a linger each would be a batch of its own.
    let mut ids = Vec::new();
    let posting = Instant::now();
    for n in 0..5 {
        let user = format!("user_linger_{n}_{}", unique());
        ids.push(app.post(&user_event("user.created", &user, T0, "v0")).await);
    }
    let took = posting.elapsed();
    assert!(
        took < Duration::from_millis(900),
        "the five posts took {took:?}, longer than the linger leaves room for: the \
         machine is too loaded for this test to say anything"
    );
    for id in &ids {
        assert_eq!(app.wait_recorded(id).await, "applied");
    }
    // `processed_at` is the start of the transaction that applied the event.
    let rows = app.db.events().await;
    let ours: Vec<_> = rows.iter().filter(|r| ids.contains(&r.svix_id)).collect();
    assert_eq!(ours.len(), 5, "every event recorded: {rows:?}");
    let transactions: HashSet<_> = ours.iter().map(|r| r.processed_at).collect();
    assert_eq!(
        transactions.len(),
        1,
        "five events posted within the linger, applied in {} transactions: {ours:?}",
        transactions.len()
    );
}
