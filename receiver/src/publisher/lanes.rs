//! Gathering a worker thread's requests into batches.
//!
//! actix-web runs each HTTP worker on its own thread. Every thread that publishes
//! gets a queue and a dispatcher task of its own (on that thread), so a request
//! hands its event over without waking another thread. The dispatcher keeps at most
//! [`LANES_PER_THREAD`] batches in flight: when a lane is free it takes everything
//! queued (up to [`MAX_BATCH`]) as one batch, on a channel of its own (see
//! [`super::batch`]). Under light load a batch is one event and goes out at once;
//! under heavy load events wait while the lanes are busy and then go out together,
//! so lapin's I/O thread is woken and RabbitMQ confirms once per batch rather than
//! once per event.

use std::{
    cell::{Cell, RefCell},
    collections::VecDeque,
    rc::Rc,
    sync::Arc,
};

use tokio::sync::{oneshot, Notify, OwnedSemaphorePermit, Semaphore};

use super::{batch, PublishError, Publisher};

/// Batches a worker thread keeps in flight. One: while a batch waits for its
/// confirms the next one gathers, and goes out as soon as the first is settled.
/// Two per thread (smaller batches, 10 events on average instead of 16 at 64
/// connections) cost the receiver about 10% more CPU per webhook and RabbitMQ
/// about as much, for a p99 about 1 ms lower (docs/speed.md).
pub const LANES_PER_THREAD: usize = 1;

/// The most events in one batch.
pub const MAX_BATCH: usize = 128;

/// An event waiting for its batch, and where to say what became of it.
pub struct Pending {
    pub message: batch::Message,
    pub reply: oneshot::Sender<Result<(), PublishError>>,
}

/// One thread's queue for one publisher.
struct Lanes {
    publisher: Publisher,
    queue: RefCell<VecDeque<Pending>>,
    ready: Notify,
    /// Set when the dispatcher has gone (its runtime stopped): the next request
    /// starts another.
    closed: Cell<bool>,
}

thread_local! {
    static LANES: RefCell<Vec<Rc<Lanes>>> = const { RefCell::new(Vec::new()) };
}

/// Queues `pending` on this thread's lanes for `publisher`, starting them on first
/// use. Must be called from within a `LocalSet` (every actix-web handler is).
pub fn submit(publisher: &Publisher, pending: Pending) {
    let lanes = LANES.with(|all| {
        let mut all = all.borrow_mut();
        all.retain(|l| !l.closed.get());
        if let Some(lanes) = all.iter().find(|l| l.publisher.same_as(publisher)) {
            return lanes.clone();
        }
        let lanes = Rc::new(Lanes {
            publisher: publisher.clone(),
            queue: RefCell::new(VecDeque::new()),
            ready: Notify::new(),
            closed: Cell::new(false),
        });
        tokio::task::spawn_local(dispatch(lanes.clone()));
        all.push(lanes.clone());
        lanes
    });
    lanes.queue.borrow_mut().push_back(pending);
    lanes.ready.notify_one();
}

/// Marks the lanes closed when the dispatcher goes, and lets go of what waits: each
/// waiting request then answers 503.
struct CloseOnDrop(Rc<Lanes>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.closed.set(true);
        self.0.queue.borrow_mut().clear();
    }
}

async fn dispatch(lanes: Rc<Lanes>) {
    let lanes = CloseOnDrop(lanes);
    let free = Arc::new(Semaphore::new(LANES_PER_THREAD));
    loop {
        lanes.0.ready.notified().await;
        while !lanes.0.queue.borrow().is_empty() {
            let Ok(lane) = free.clone().acquire_owned().await else {
                return;
            };
            let batch: Vec<Pending> = {
                let mut queue = lanes.0.queue.borrow_mut();
                let n = queue.len().min(MAX_BATCH);
                queue.drain(..n).collect()
            };
            tokio::task::spawn_local(run(lanes.0.publisher.clone(), batch, lane));
        }
    }
}

/// Publishes one batch and answers each of its requests.
async fn run(publisher: Publisher, batch: Vec<Pending>, _lane: OwnedSemaphorePermit) {
    let (messages, replies): (Vec<_>, Vec<_>) =
        batch.into_iter().map(|p| (p.message, p.reply)).unzip();
    let results = publisher.publish_batch(messages).await;
    for (reply, result) in replies.into_iter().zip(results) {
        // The request may have timed out and gone: nothing to tell.
        let _ = reply.send(result);
    }
}
