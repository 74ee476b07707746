//! [`MemoryDirectory`]: the directory in one process, for single-node mode and unit tests.
//!
//! The rules live in `State` (`state.rs`), whose methods take the current time as an argument
//! and mirror the Redis scripts one for one; this file only reads its [`Clock`] and locks the
//! state.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::mpsc;

use super::state::State;
use super::{
    Claim, Directory, DirectoryConfig, DirectoryFuture, Epoch, Lease, ListedRoom, Node, NodeBeat,
    NodeInfo, Owner,
};

/// Where the directory's time comes from.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Instant;
}

/// The real monotonic clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to, shared by its clones (tests).
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<Instant>>);

impl Default for ManualClock {
    fn default() -> Self {
        Self(Arc::new(Mutex::new(Instant::now())))
    }
}

impl ManualClock {
    pub fn advance(&self, by: Duration) {
        *self.0.lock() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        *self.0.lock()
    }
}

/// The directory in process memory. Clones share one state; every "node" of a test can use
/// the same instance, since the node is an argument of each call.
#[derive(Clone)]
pub struct MemoryDirectory {
    state: Arc<Mutex<State>>,
    clock: Arc<dyn Clock>,
    /// Migration's part: room images (with their expiry) and doorbells.
    handoff: Arc<Mutex<Handoff>>,
    image_ttl: Duration,
}

#[derive(Default)]
struct Handoff {
    images: HashMap<String, (Vec<u8>, Instant)>,
    inboxes: HashMap<String, Vec<mpsc::UnboundedSender<Vec<u8>>>>,
}

impl MemoryDirectory {
    pub fn new(config: DirectoryConfig, clock: impl Clock) -> Self {
        Self {
            image_ttl: config.image_ttl,
            state: Arc::new(Mutex::new(State::new(config))),
            clock: Arc::new(clock),
            handoff: Arc::default(),
        }
    }

    /// Runs one rule at the clock's current time; the answer is ready at once.
    fn with<T: Send + 'static>(
        &self,
        rule: impl FnOnce(&mut State, Instant) -> T,
    ) -> DirectoryFuture<T> {
        let answer = rule(&mut self.state.lock(), self.clock.now());
        Box::pin(std::future::ready(Ok(answer)))
    }
}

impl Directory for MemoryDirectory {
    fn claim(&self, room: &str, node: &Node) -> DirectoryFuture<Claim> {
        self.with(|s, now| s.claim(room, node, now))
    }

    fn renew(&self, room: &str, node: &Node, epoch: Epoch) -> DirectoryFuture<bool> {
        self.with(|s, now| s.renew(room, node, epoch, now))
    }

    fn release(&self, room: &str, node: &str, epoch: Epoch) -> DirectoryFuture<bool> {
        self.with(|s, now| s.release(room, node, epoch, now))
    }

    fn owner(&self, room: &str) -> DirectoryFuture<Option<Owner>> {
        self.with(|s, now| s.owner(room, now).cloned())
    }

    fn heartbeat(&self, beat: NodeBeat, leases: Vec<Lease>) -> DirectoryFuture<Vec<Arc<str>>> {
        self.with(|s, now| s.heartbeat(beat, &leases, now))
    }

    fn nodes(&self) -> DirectoryFuture<Vec<NodeInfo>> {
        self.with(|s, now| s.nodes(now))
    }

    fn rooms(&self) -> DirectoryFuture<Vec<ListedRoom>> {
        self.with(|s, now| s.rooms(now))
    }

    fn place(&self) -> DirectoryFuture<Option<NodeInfo>> {
        self.with(|s, now| s.place(now))
    }

    fn offer(&self, room: &str, source: &str, epoch: Epoch, target: &str) -> DirectoryFuture<bool> {
        self.with(|s, now| s.offer(room, source, epoch, target, now))
    }

    fn adopt(
        &self,
        room: &str,
        source: &str,
        epoch: Epoch,
        target: &Node,
    ) -> DirectoryFuture<Option<Epoch>> {
        self.with(|s, now| s.adopt(room, source, epoch, target, now))
    }

    fn abort(&self, room: &str, source: &str, epoch: Epoch) -> DirectoryFuture<bool> {
        self.with(|s, now| s.abort(room, source, epoch, now))
    }

    fn put_image(
        &self,
        room: &str,
        node: &str,
        epoch: Epoch,
        image: Vec<u8>,
    ) -> DirectoryFuture<bool> {
        let (handoff, ttl) = (self.handoff.clone(), self.image_ttl);
        self.with(|s, now| {
            if s.held_by(room, node, epoch, now).is_none() {
                return false;
            }
            let expires = now + ttl;
            handoff
                .lock()
                .images
                .insert(room.to_owned(), (image, expires));
            true
        })
    }

    fn image(&self, room: &str) -> DirectoryFuture<Option<Vec<u8>>> {
        let now = self.clock.now();
        let image = self
            .handoff
            .lock()
            .images
            .get(room)
            .filter(|(_, expires)| now < *expires)
            .map(|(image, _)| image.clone());
        Box::pin(std::future::ready(Ok(image)))
    }

    fn notify(&self, node: &str, message: Vec<u8>) -> DirectoryFuture<()> {
        if let Some(inboxes) = self.handoff.lock().inboxes.get_mut(node) {
            inboxes.retain(|inbox| inbox.send(message.clone()).is_ok());
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn inbox(&self, node: &str) -> mpsc::UnboundedReceiver<Vec<u8>> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.handoff
            .lock()
            .inboxes
            .entry(node.to_owned())
            .or_default()
            .push(tx);
        rx
    }
}
