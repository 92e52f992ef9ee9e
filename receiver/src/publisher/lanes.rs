//! Gathering a worker thread's requests into batches, and keeping a few batches in
//! flight on the thread's channel.
//!
//! actix-web runs each HTTP worker on its own thread. Every thread that publishes
//! gets a queue and a dispatcher task of its own (on that thread), so a request
//! hands its event over without waking another thread. The dispatcher takes a
//! channel (its own, one per thread, unless another thread holds it) and sends
//! everything queued (up to [`MAX_BATCH`]) as one batch, as long as fewer than
//! [`BATCHES_IN_FLIGHT`] batches wait for their confirms. Under light load a batch
//! is one event and goes out at once; under heavy load events gather while the
//! batches in flight are confirmed, so lapin's I/O thread is woken and RabbitMQ
//! confirms once per batch rather than once per event, and no batch waits for
//! another's confirms, so RabbitMQ sees a steady stream.
//!
//! The dispatcher polls every confirm in flight on its channel whenever one of them
//! wakes it, until a pass finds none newly resolved: that is what lets each confirm
//! decide its own message while no return has been seen (see [`super::ledger`]).

use std::{
    cell::{Cell, RefCell},
    collections::VecDeque,
    future::{poll_fn, Future},
    pin::Pin,
    rc::Rc,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    task::{Context, Poll, Wake, Waker},
    time::Instant,
};

use actix_web::web::Bytes;
use futures_util::task::AtomicWaker;
use lapin::{
    options::BasicPublishOptions, types::ShortString, BasicProperties, Channel, Confirmation,
};
use tokio::sync::{oneshot, OwnedMutexGuard};
use tracing::warn;

use super::{
    ledger::{Confirmed, Ledger},
    PublishError, Publisher, CONFIRM_TIMEOUT,
};

/// Batches a thread keeps in flight on its channel. While they wait for their
/// confirms, what is queued goes out as soon as one is free. One (each batch
/// waiting for the one before to be confirmed) gave batches of 16 at 64
/// connections but cost every event a confirm round trip of waiting: 56% of the
/// publish ceiling, p99 12 ms. Four, in runs paired with two on the same machine:
/// 75–77% against 65–73% of the ceiling, p99 6.5–8.4 against 7.4–9.3 ms, the same
/// CPU per webhook in the receiver and less in RabbitMQ (docs/speed.md).
pub const BATCHES_IN_FLIGHT: usize = 4;

/// The most events in one batch.
pub const MAX_BATCH: usize = 128;

/// One event, ready to go out.
pub struct Message {
    pub routing_key: ShortString,
    pub body: Bytes,
    pub properties: BasicProperties,
    /// The `message_id` in `properties`, by which a return names it.
    pub message_id: ShortString,
}

/// An event waiting for its batch, and where to say what became of it.
pub struct Pending {
    pub message: Message,
    pub reply: oneshot::Sender<Result<(), PublishError>>,
}

/// One thread's queue for one publisher.
struct Lanes {
    publisher: Publisher,
    queue: RefCell<VecDeque<Pending>>,
    /// The dispatcher's waker, woken when something is queued.
    waker: RefCell<Option<Waker>>,
    /// Set when the dispatcher has gone (its runtime stopped): the next request
    /// starts another.
    closed: Cell<bool>,
    /// The channel this thread prefers (each thread its own).
    channel: usize,
}

impl Lanes {
    fn wake(&self) {
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
    }

    fn register(&self, cx: &Context<'_>) {
        let mut slot = self.waker.borrow_mut();
        if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            *slot = Some(cx.waker().clone());
        }
    }

    /// Tells everything queued that there is no channel to publish it on.
    fn refuse_queued(&self) {
        for pending in self.queue.borrow_mut().drain(..) {
            let _ = pending.reply.send(Err(PublishError::Unavailable));
        }
    }
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
            waker: RefCell::new(None),
            closed: Cell::new(false),
            channel: publisher.next_channel(),
        });
        tokio::task::spawn_local(dispatch(lanes.clone()));
        all.push(lanes.clone());
        lanes
    });
    lanes.queue.borrow_mut().push_back(pending);
    lanes.wake();
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
    let lanes = &lanes.0;
    loop {
        poll_fn(|cx| {
            if lanes.queue.borrow().is_empty() {
                lanes.register(cx);
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await;
        let Some(pool) = lanes.publisher.current() else {
            lanes.refuse_queued();
            continue;
        };
        let (channel, turn) = lanes.publisher.take_turn(&pool, lanes.channel).await;
        let mut session = Session::new(lanes.publisher.clone(), channel, turn);
        poll_fn(|cx| session.poll(cx, lanes)).await;
    }
}

/// A message in flight: its reply, its batch and its confirm.
struct Outstanding {
    reply: oneshot::Sender<Result<(), PublishError>>,
    batch: u64,
    confirm: Pin<Box<dyn Future<Output = lapin::Result<Confirmation>>>>,
}

/// Wakes the dispatcher when a confirm resolves, and remembers that one did, so the
/// dispatcher polls the confirms only then (not for every queued request).
#[derive(Default)]
struct ConfirmWake {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for ConfirmWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

/// A batch whose messages are not all told yet.
struct InFlight {
    number: u64,
    /// Its messages not told yet.
    left: usize,
    sent: Instant,
}

/// The thread's use of one channel, from the first batch until nothing is queued
/// or in flight (or the channel can no longer be used).
struct Session {
    publisher: Publisher,
    /// Shared with each message's publish (a `Channel` clone is a dozen `Arc`s).
    channel: Rc<Channel>,
    ledger: Ledger<Outstanding>,
    /// The batches in flight, oldest first.
    batches: VecDeque<InFlight>,
    next_batch: u64,
    wake: Arc<ConfirmWake>,
    confirm_waker: Waker,
    deadline: Pin<Box<tokio::time::Sleep>>,
    _turn: OwnedMutexGuard<()>,
}

impl Session {
    fn new(publisher: Publisher, channel: Channel, turn: OwnedMutexGuard<()>) -> Self {
        let wake = Arc::new(ConfirmWake::default());
        Self {
            publisher,
            channel: Rc::new(channel),
            ledger: Ledger::default(),
            batches: VecDeque::new(),
            next_batch: 0,
            confirm_waker: Waker::from(wake.clone()),
            wake,
            deadline: Box::pin(tokio::time::sleep(CONFIRM_TIMEOUT)),
            _turn: turn,
        }
    }

    /// Whether new batches may go out on this channel.
    fn usable(&self) -> bool {
        self.channel.status().connected() && !self.publisher.inner.poisoned.load(Ordering::SeqCst)
    }

    /// Sends what is queued as one batch (what nobody waits for any more, its
    /// request having timed out, is dropped). Returns whether anything went out.
    fn launch(&mut self, lanes: &Lanes) -> bool {
        let batch: Vec<Pending> = {
            let mut queue = lanes.queue.borrow_mut();
            let n = queue.len().min(MAX_BATCH);
            queue.drain(..n).filter(|p| !p.reply.is_closed()).collect()
        };
        if batch.is_empty() {
            return false;
        }
        let number = self.next_batch;
        self.next_batch += 1;
        self.publisher
            .inner
            .metrics
            .batch_size
            .observe(batch.len() as f64);
        if self.batches.is_empty() {
            self.deadline
                .as_mut()
                .reset((Instant::now() + CONFIRM_TIMEOUT).into());
        }
        self.batches.push_back(InFlight {
            number,
            left: batch.len(),
            sent: Instant::now(),
        });
        for Pending { message, reply } in batch {
            let channel = self.channel.clone();
            let exchange = self.publisher.inner.exchange.clone();
            let id = message.message_id.clone();
            let confirm = Box::pin(async move {
                channel
                    .basic_publish(
                        exchange,
                        message.routing_key,
                        BasicPublishOptions {
                            mandatory: true,
                            ..Default::default()
                        },
                        &message.body,
                        message.properties,
                    )
                    .await?
                    .await
            });
            self.ledger.push(
                id,
                Outstanding {
                    reply,
                    batch: number,
                    confirm,
                },
            );
        }
        true
    }

    /// Polls every confirm in flight and tells each message that can be told.
    fn collect(&mut self) {
        let mut cx = Context::from_waker(&self.confirm_waker);
        let settled = self.ledger.collect(|o| poll_confirm(o, &mut cx));
        if !settled.strays.is_empty() {
            warn!(
                returned_message_ids = ?settled.strays,
                "the broker returned messages that were not in flight on this channel; \
                 replacing the connection"
            );
            self.publisher.poison();
        }
        let mut failed = false;
        for (outstanding, result) in settled.told {
            failed |= matches!(result, Err(PublishError::Channel(_)));
            if let Some(b) = self
                .batches
                .iter_mut()
                .find(|b| b.number == outstanding.batch)
            {
                b.left -= 1;
            }
            // The request may have timed out and gone: nothing to tell.
            let _ = outstanding.reply.send(result);
        }
        self.forget_settled_batches();
        if failed {
            // Let the supervisor check the channels now rather than at its next tick.
            self.publisher.inner.changed.notify_one();
        }
    }

    /// Drops the batches whose messages have all been told, and moves the deadline
    /// to the oldest batch still in flight.
    fn forget_settled_batches(&mut self) {
        let front = self.batches.front().map(|b| b.number);
        self.batches.retain(|b| b.left > 0);
        if let Some(oldest) = self.batches.front() {
            if Some(oldest.number) != front {
                self.deadline
                    .as_mut()
                    .reset((oldest.sent + CONFIRM_TIMEOUT).into());
            }
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>, lanes: &Lanes) -> Poll<()> {
        lanes.register(cx);
        self.wake.task.register(cx.waker());
        loop {
            let mut launched = false;
            while self.batches.len() < BATCHES_IN_FLIGHT
                && !self.ledger.tainted()
                && !lanes.queue.borrow().is_empty()
                && self.usable()
            {
                launched |= self.launch(lanes);
            }
            let woken = self.wake.woken.swap(false, Ordering::AcqRel);
            if !(launched || woken) {
                break;
            }
            let before = self.batches.len();
            self.collect();
            // A batch was settled: another may go out at once.
            if self.batches.len() == before || lanes.queue.borrow().is_empty() {
                break;
            }
        }
        if !self.usable() {
            // Broken or poisoned: the supervisor is replacing the connection, and
            // nothing more goes out on this channel.
            lanes.refuse_queued();
        }
        if self.ledger.is_empty() {
            return Poll::Ready(());
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            // A confirm is overdue: the channel may still deliver it later, so it
            // no longer carries only what this ledger knows of.
            self.publisher.poison();
            for outstanding in self.ledger.abandon() {
                let _ = outstanding
                    .reply
                    .send(Err(PublishError::Timeout(CONFIRM_TIMEOUT)));
            }
            self.batches.clear();
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

/// How `outstanding`'s confirm resolved, if it has.
fn poll_confirm(
    outstanding: &mut Outstanding,
    cx: &mut Context<'_>,
) -> Option<Result<Confirmed, lapin::Error>> {
    let Poll::Ready(confirmation) = outstanding.confirm.as_mut().poll(cx) else {
        return None;
    };
    Some(confirmation.map(|c| match c {
        Confirmation::Ack(r) => Confirmed {
            acked: true,
            returned: r.map(|r| id_of(&r.properties)),
        },
        Confirmation::Nack(r) => Confirmed {
            acked: false,
            returned: r.map(|r| id_of(&r.properties)),
        },
        // Only without confirm mode, which these channels never lack.
        Confirmation::NotRequested => Confirmed {
            acked: false,
            returned: None,
        },
    }))
}

fn id_of(properties: &BasicProperties) -> String {
    properties
        .message_id()
        .as_ref()
        .map_or_else(String::new, |id| id.as_str().to_owned())
}
