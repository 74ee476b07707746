//! The registry's cluster half (only with a [`Cluster`], `--redis-url`): claims before creating,
//! redirects, lease releases and the heartbeat that keeps this node's rooms leased.
//!
//! Why the registry and not a separate actor: it is the one place that knows which rooms this
//! node runs, so claiming, creating and stopping a room stay one step of one actor, and a join
//! never sees a room that is half created or half stopped. Directory calls are futures spawned
//! into the registry's context: other joins go on while Redis answers.
//!
//! The rules:
//! - a named room that is not here is claimed first; joins for the same room that arrive while
//!   its claim is in flight wait for that one claim (one room, one claim, one epoch);
//!   `OwnedBy(other)` answers [`JoinError::Redirect`] to the owner's URL;
//! - quick play takes the fullest public room with space in the cluster's lobby (this node's
//!   rooms counted from its own seats), redirecting when it is on another node; with none it
//!   claims a new public room here;
//! - a resume token unknown here, naming a room another node owns, is redirected there;
//! - a disposed room's lease is released; a room whose lease the heartbeat reports lost is
//!   stopped at once (its players get 1001, "room closed": they rejoin through the entry URL);
//! - a directory failure never stops a room: joins that need the directory answer
//!   [`JoinError::DirectoryUnavailable`], and the next heartbeat tries again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use futures_util::future::{BoxFuture, FutureExt, Shared};

use super::{Entry, JoinError, JoinFuture, JoinRoom, Registry};
use crate::directory::{Claim, Epoch, Lease, ListedRoom};
use crate::game::Game;
use crate::node::{fullest_public, Cluster};

/// How long a shutting-down node waits for its leases to be released before it gives up (they
/// expire by themselves after the lease TTL anyway).
pub(super) const RELEASE_ON_SHUTDOWN: Duration = Duration::from_secs(1);

/// A claim in flight, shared by every join waiting for that room. `None`: the directory failed.
type SharedClaim = Shared<BoxFuture<'static, Option<Claim>>>;

/// The registry's cluster state.
pub(super) struct Part {
    cluster: Arc<Cluster>,
    claiming: HashMap<Arc<str>, SharedClaim>,
    /// A heartbeat is in flight: a slow Redis never piles them up.
    beating: bool,
}

impl Part {
    pub(super) fn new(cluster: Arc<Cluster>) -> Self {
        Part {
            cluster,
            claiming: HashMap::new(),
            beating: false,
        }
    }
}

impl<G: Game> Registry<G> {
    fn part(&mut self) -> &mut Part {
        self.cluster
            .as_mut()
            .expect("cluster paths should run only on a cluster node")
    }

    pub(super) fn join_in_cluster(
        &mut self,
        msg: JoinRoom<G>,
        _: &mut Context<Self>,
    ) -> JoinFuture<G> {
        let Some(name) = msg.room.clone() else {
            let lobby = self.part().cluster.rooms();
            return Box::pin(
                lobby
                    .into_actor(self)
                    .then(move |lobby, reg, ctx| reg.quick_play(lobby.ok(), msg, ctx)),
            );
        };
        let id: Arc<str> = name.into();
        if self.rooms.contains_key(&id) {
            return self.seat(id, msg);
        }
        if self.rooms.len() >= self.config.max_rooms {
            return Box::pin(fut::ready(Err(JoinError::ServerFull)));
        }
        self.claim_then_seat(id, false, msg)
    }

    fn quick_play(
        &mut self,
        lobby: Option<Arc<Vec<ListedRoom>>>,
        msg: JoinRoom<G>,
        _: &mut Context<Self>,
    ) -> JoinFuture<G> {
        let me = self.part().cluster.node().id.clone();
        let local = self.pick_public();
        let remote = lobby.as_deref().and_then(|rooms| {
            fullest_public(rooms.iter().filter(|r| r.node.id != me))
                .map(|r| (r.node.url.clone(), r.room.id.clone(), r.room.players))
        });
        match (local, remote) {
            (Some((_, here)), Some((url, room, there))) if there > here => {
                self.redirect("quick_play", url, room)
            }
            (Some((id, _)), _) => self.seat(id, msg),
            (None, Some((url, room, _))) => self.redirect("quick_play", url, room),
            (None, None) if self.rooms.len() >= self.config.max_rooms => {
                Box::pin(fut::ready(Err(JoinError::ServerFull)))
            }
            (None, None) => {
                let id = self.new_public_id();
                self.claim_then_seat(id, true, msg)
            }
        }
    }

    fn redirect(&self, reason: &str, url: String, room: String) -> JoinFuture<G> {
        self.metrics
            .redirects_total
            .with_label_values(&[reason])
            .inc();
        tracing::debug!(room_id = %room, %url, reason, "redirecting a join");
        Box::pin(fut::ready(Err(JoinError::Redirect { url, room })))
    }

    /// Claims `id` (or waits for the claim already in flight), creates the room if this node
    /// got it, then seats the player.
    fn claim_then_seat(&mut self, id: Arc<str>, public: bool, msg: JoinRoom<G>) -> JoinFuture<G> {
        let Part {
            cluster, claiming, ..
        } = self.part();
        let claim = claiming
            .entry(id.clone())
            .or_insert_with(|| cluster.claim(&id).map(Result::ok).boxed().shared())
            .clone();
        Box::pin(claim.into_actor(self).then(move |claim, reg, ctx| {
            match reg.claimed(&id, public, claim, ctx) {
                Ok(()) => reg.seat(id, msg),
                Err(e) => Box::pin(fut::ready(Err(e))),
            }
        }))
    }

    /// Applies a claim's answer: `Ok` once room `id` exists here.
    fn claimed(
        &mut self,
        id: &Arc<str>,
        public: bool,
        claim: Option<Claim>,
        ctx: &mut Context<Self>,
    ) -> Result<(), JoinError> {
        let cluster = self.part().cluster.clone();
        self.part().claiming.remove(id);
        if self.rooms.contains_key(id) {
            // Created by a join that shared this claim.
            return Ok(());
        }
        match claim {
            None => Err(JoinError::DirectoryUnavailable),
            Some(Claim::Owned { epoch }) if self.rooms.len() >= self.config.max_rooms => {
                actix::spawn(release(&cluster, id, epoch));
                Err(JoinError::ServerFull)
            }
            Some(Claim::Owned { epoch }) => {
                tracing::info!(room_id = %id, %epoch, public, "room claimed");
                self.create(id.clone(), public, Some(epoch), ctx);
                Ok(())
            }
            Some(Claim::OwnedBy(owner)) if owner.node.id == cluster.node().id => {
                // A lease from an earlier life of this node id (or a release still in flight):
                // give it up; the client's retry claims afresh.
                tracing::warn!(room_id = %id, epoch = %owner.epoch, "releasing a stale lease of this node id");
                actix::spawn(release(&cluster, id, owner.epoch));
                Err(JoinError::RoomFailed)
            }
            Some(Claim::OwnedBy(owner)) => {
                let reason = if public { "quick_play" } else { "owner" };
                self.metrics
                    .redirects_total
                    .with_label_values(&[reason])
                    .inc();
                Err(JoinError::Redirect {
                    url: owner.node.url,
                    room: id.to_string(),
                })
            }
        }
    }

    /// A resume token this node does not know: when `room` is owned by another node, the seat
    /// may be there.
    pub(super) fn resume_elsewhere(&mut self, room: Option<String>) -> JoinFuture<G> {
        let (Some(part), Some(room)) = (self.cluster.as_ref(), room) else {
            return Box::pin(fut::ready(Err(JoinError::ResumeRefused)));
        };
        let me = part.cluster.node().id.clone();
        Box::pin(
            part.cluster
                .owner(&room)
                .into_actor(self)
                .map(move |owner, reg, _| match owner {
                    Ok(Some(owner)) if owner.node.id != me => {
                        reg.metrics
                            .redirects_total
                            .with_label_values(&["resume"])
                            .inc();
                        Err(JoinError::Redirect {
                            url: owner.node.url,
                            room,
                        })
                    }
                    Ok(_) => Err(JoinError::ResumeRefused),
                    Err(_) => Err(JoinError::DirectoryUnavailable),
                }),
        )
    }

    /// The release of a disposed room's lease, if this is a cluster node.
    pub(super) fn release_lease(&self, e: &Entry<G>) -> Option<BoxFuture<'static, ()>> {
        let (part, epoch) = (self.cluster.as_ref()?, e.epoch?);
        Some(release(&part.cluster, &e.id, epoch).boxed())
    }

    /// Heartbeats now and every third of the lease TTL.
    pub(super) fn start_heartbeat(&mut self, ctx: &mut Context<Self>) {
        let Some(part) = &self.cluster else { return };
        let every = part.cluster.heartbeat_interval();
        self.beat(ctx);
        ctx.run_interval(every, |reg, ctx| reg.beat(ctx));
    }

    fn beat(&mut self, ctx: &mut Context<Self>) {
        let rooms = self.summaries();
        let leases: Vec<Lease> = self
            .rooms
            .values()
            .filter_map(|e| {
                Some(Lease {
                    room: e.id.clone(),
                    epoch: e.epoch?,
                })
            })
            .collect();
        let part = self.part();
        if part.beating {
            return;
        }
        part.beating = true;
        let sent: HashMap<Arc<str>, Epoch> =
            leases.iter().map(|l| (l.room.clone(), l.epoch)).collect();
        let beat = part.cluster.heartbeat(rooms, leases);
        ctx.spawn(beat.into_actor(self).map(move |res, reg, _| {
            reg.part().beating = false;
            // A failure is logged and counted by `Cluster`; the next beat retries.
            for room in res.unwrap_or_default() {
                reg.lose(&room, sent.get(&room).copied());
            }
        }));
    }

    /// Stops room `id`, whose lease at `epoch` is lost: another node may run it now.
    fn lose(&mut self, id: &Arc<str>, epoch: Option<Epoch>) {
        if self.rooms.get(id).is_none_or(|e| e.epoch != epoch) {
            // Gone already, or created again since under a new lease.
            return;
        }
        let Some(e) = self.rooms.remove(id) else {
            return;
        };
        tracing::warn!(room_id = %id, epoch = ?epoch, players = e.players, "room lease lost: stopping the room");
        self.metrics.lease_lost_total.inc();
        self.metrics.rooms.dec();
        self.resumable.retain(|_, room| room != id);
        e.addr.do_send(crate::room::Dispose);
    }
}

/// Releases this node's lease on `room` at `epoch`, ignoring the answer (a lease not released
/// expires by itself).
fn release(cluster: &Cluster, room: &str, epoch: Epoch) -> impl std::future::Future<Output = ()> {
    let release = cluster.release(room, epoch);
    async move {
        let _ = release.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServerConfig;
    use crate::directory::{Directory, DirectoryConfig, ManualClock, MemoryDirectory, Node};
    use crate::game::counter::Counter;
    use crate::game::GameFactory;
    use crate::metrics::Metrics;
    use crate::registry::ResumeRoom;
    use crate::seat::{Seat, Wake};

    /// Where rooms send their wake-ups: nobody reads snapshots in these tests.
    struct Sink;

    impl Actor for Sink {
        type Context = Context<Self>;
    }

    impl Handler<Wake> for Sink {
        type Result = ();

        fn handle(&mut self, _: Wake, _: &mut Context<Self>) {}
    }

    /// A registry as node `id` of the cluster on `dir`, with its own metrics.
    fn node(dir: &Arc<MemoryDirectory>, id: &str) -> (Addr<Registry<Counter>>, Arc<Metrics>) {
        node_with(dir, id, Duration::from_secs(3), ServerConfig::default())
    }

    fn node_with(
        dir: &Arc<MemoryDirectory>,
        id: &str,
        lease_ttl: Duration,
        config: ServerConfig,
    ) -> (Addr<Registry<Counter>>, Arc<Metrics>) {
        let metrics = Arc::new(Metrics::new());
        let node = Node {
            id: id.into(),
            url: format!("ws://{id}/ws"),
        };
        let cluster = Cluster::new(node, dir.clone(), lease_ttl, metrics.clone());
        let factory: Arc<dyn GameFactory<Game = Counter>> = Arc::new(|_: u64| Counter::default());
        let config = Arc::new(config);
        let registry = Registry::new(factory, vec![Arbiter::current()], config, metrics.clone())
            .with_cluster(Arc::new(cluster));
        (registry.start(), metrics)
    }

    fn join(room: &str, sink: &Addr<Sink>) -> JoinRoom<Counter> {
        JoinRoom {
            room: Some(room.into()),
            player_id: uuid::Uuid::new_v4(),
            name: "p".into(),
            resume_token: uuid::Uuid::new_v4().simple().to_string().into(),
            seat: Arc::new(Seat::new()),
            wake: sink.clone().recipient(),
        }
    }

    fn directory() -> Arc<MemoryDirectory> {
        Arc::new(MemoryDirectory::new(
            DirectoryConfig::default(),
            ManualClock::default(),
        ))
    }

    fn count(metrics: &Metrics, line: &str) -> bool {
        metrics.render().lines().any(|l| l == line)
    }

    #[actix_web::test]
    async fn joins_racing_for_a_new_room_on_one_node_share_one_claim_and_one_room() {
        let dir = directory();
        let (a, metrics) = node(&dir, "a");
        let sink = Sink.start();
        // Both are in the registry's mailbox before the first claim is answered.
        let (first, second) = (a.send(join("r", &sink)), a.send(join("r", &sink)));
        let (first, second) = (first.await, second.await);
        for joined in [first, second] {
            match joined.expect("the registry answers") {
                Ok(j) => assert_eq!(&*j.room_id, "r"),
                Err(e) => panic!("both join the one room: {e:?}"),
            }
        }
        assert!(count(
            &metrics,
            r#"tickcast_directory_latency_seconds_count{op="claim"} 1"#
        ));
        assert_eq!(metrics.rooms.get(), 1);
    }

    #[actix_web::test]
    async fn a_room_another_node_owns_is_a_redirect_to_that_node() {
        let dir = directory();
        let ((a, _), (b, b_metrics)) = (node(&dir, "a"), node(&dir, "b"));
        let sink = Sink.start();
        let on_a = a
            .send(join("r", &sink))
            .await
            .expect("the registry answers");
        assert!(on_a.is_ok(), "a creates the room");
        let on_b = b
            .send(join("r", &sink))
            .await
            .expect("the registry answers");
        match on_b {
            Err(e) => assert_eq!(
                e,
                JoinError::Redirect {
                    url: "ws://a/ws".into(),
                    room: "r".into()
                }
            ),
            Ok(_) => panic!("b must not run a's room"),
        }
        assert_eq!(b_metrics.rooms.get(), 0);
        assert!(count(
            &b_metrics,
            r#"tickcast_redirects_total{reason="owner"} 1"#
        ));
    }

    #[actix_web::test]
    async fn a_resume_for_a_room_another_node_owns_is_redirected_and_for_a_free_room_refused() {
        let dir = directory();
        let ((a, _), (b, _)) = (node(&dir, "a"), node(&dir, "b"));
        let sink = Sink.start();
        assert!(a.send(join("r", &sink)).await.expect("answers").is_ok());
        let resume = |room: &str| ResumeRoom::<Counter> {
            resume_token: "unknown-here".into(),
            room: Some(room.into()),
            seat: Arc::new(Seat::new()),
            wake: sink.clone().recipient(),
        };
        match b.send(resume("r")).await.expect("answers") {
            Err(JoinError::Redirect { url, room }) => {
                assert_eq!((&*url, &*room), ("ws://a/ws", "r"))
            }
            other => panic!("expected a redirect, got {:?}", other.err()),
        }
        match b.send(resume("nobody-owns-it")).await.expect("answers") {
            Err(e) => assert_eq!(e, JoinError::ResumeRefused),
            Ok(_) => panic!("an unknown token in a free room is refused"),
        }
    }

    /// Polls `check` every 10 ms until it holds, or panics with `what` after two seconds.
    async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while !check().await {
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for: {what}"
            );
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[actix_web::test]
    async fn a_disposed_room_releases_its_lease() {
        let dir = directory();
        let config = ServerConfig {
            empty_room_grace: Duration::from_millis(20),
            ..ServerConfig::default()
        };
        let (a, _) = node_with(&dir, "a", Duration::from_secs(3), config);
        let sink = Sink.start();
        let msg = join("r", &sink);
        let token = msg.resume_token.clone();
        assert!(a.send(msg).await.expect("answers").is_ok());
        assert!(dir.owner("r").await.expect("memory").is_some());
        a.do_send(crate::room::RoomEvent::PlayerLeft {
            room_id: "r".into(),
            resume_token: token,
        });
        until("the lease to be released", async || {
            dir.owner("r").await.expect("memory").is_none()
        })
        .await;
    }

    #[actix_web::test]
    async fn a_room_whose_lease_is_lost_is_stopped_at_the_next_heartbeat() {
        let dir = directory();
        let config = ServerConfig::default();
        let (a, metrics) = node_with(&dir, "a", Duration::from_millis(300), config);
        let sink = Sink.start();
        assert!(a.send(join("r", &sink)).await.expect("answers").is_ok());
        let owner = dir.owner("r").await.expect("memory").expect("a owns r");
        // Someone else ends a's lease (as a new owner would after a's long pause): its epoch
        // moves on, so a's renewal fails.
        assert!(dir.release("r", "a", owner.epoch).await.expect("memory"));
        until("the room to be stopped", async || metrics.rooms.get() == 0).await;
        assert_eq!(metrics.lease_lost_total.get(), 1);
    }
}
