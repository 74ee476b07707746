//! End-to-end: the bot client (`tickcast-bot`) gets its player back after a network cut.
//!
//! The bot connects through a small TCP proxy in this file. Cutting the proxy drops both
//! sockets without a close frame — what a lost connection looks like to both ends — so the server
//! holds the seat for its resume grace and the bot sees code 1006. Holding the proxy keeps the
//! bot's reconnection hanging (accepted, not forwarded), which is how a resume is made to arrive
//! after the grace. An observer in the same room, connected directly, records every snapshot it
//! gets, so "nobody saw the player leave" is checked on what another player really received.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use tickcast_bot::{
    Bot, CloseInfo, Event, LoadConfig, LoadRun, ResumeError, ResumePolicy, RoomChoice,
};
use tickcast_server::ServerConfig;
use tickcast_shared::arena::{ArenaInfo, ArenaSnapshot, Controls, PlayerState};
use tickcast_shared::{close, Join, PlayerId};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::{AbortHandle, JoinHandle};

/// A TCP proxy in front of the server: [`Proxy::cut`] drops every connection through it (both
/// sockets, no close frame), [`Proxy::hold`] makes new connections wait unforwarded.
struct Proxy {
    addr: SocketAddr,
    pipes: Arc<Mutex<Vec<AbortHandle>>>,
    accepted: Arc<AtomicUsize>,
    open: watch::Sender<bool>,
    acceptor: JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the proxy should work");
        let addr = listener.local_addr().expect("the proxy has an address");
        let (open, open_rx) = watch::channel(true);
        let pipes = Arc::new(Mutex::new(Vec::<AbortHandle>::new()));
        let accepted = Arc::new(AtomicUsize::new(0));
        let acceptor = tokio::spawn({
            let (pipes, accepted) = (Arc::clone(&pipes), Arc::clone(&accepted));
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    accepted.fetch_add(1, Ordering::SeqCst);
                    let mut open = open_rx.clone();
                    let pipe = tokio::spawn(async move {
                        if open.wait_for(|o| *o).await.is_err() {
                            return;
                        }
                        let Ok(mut server) = TcpStream::connect(upstream).await else {
                            return;
                        };
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    });
                    pipes.lock().expect("pipes lock").push(pipe.abort_handle());
                }
            }
        });
        Proxy {
            addr,
            pipes,
            accepted,
            open,
            acceptor,
        }
    }

    fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Drops every connection made so far: both sockets close, no WebSocket close frame.
    fn cut(&self) {
        for pipe in self.pipes.lock().expect("pipes lock").drain(..) {
            pipe.abort();
        }
    }

    /// New connections are accepted but not forwarded until [`Proxy::release`].
    fn hold(&self) {
        self.open.send_replace(false);
    }

    fn release(&self) {
        self.open.send_replace(true);
    }

    /// TCP connections accepted so far.
    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.acceptor.abort();
        self.cut();
    }
}

/// A player connected straight to the server that records every snapshot it receives.
struct Observer {
    id: PlayerId,
    info: ArenaInfo,
    latest: watch::Receiver<Option<ArenaSnapshot>>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<(Client, Vec<ArenaSnapshot>)>,
}

impl Observer {
    async fn join(addr: SocketAddr, room: &str) -> Observer {
        let mut client = Client::join(addr, Join::room(room, "observer")).await;
        let id = client.player_id();
        let info = client.welcome.as_ref().expect("joined").game;
        let (latest_tx, latest) = watch::channel(None);
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut seen = Vec::new();
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    s = client.next_snapshot() => {
                        latest_tx.send_replace(Some(s.clone()));
                        seen.push(s);
                    }
                }
            }
            (client, seen)
        });
        Observer {
            id,
            info,
            latest,
            stop,
            task,
        }
    }

    /// Waits (up to `timeout`) for a snapshot that `pred` accepts, and returns it.
    async fn wait_for(
        &mut self,
        timeout: Duration,
        what: &str,
        mut pred: impl FnMut(&ArenaSnapshot) -> bool,
    ) -> ArenaSnapshot {
        let found = tokio::time::timeout(
            timeout,
            self.latest.wait_for(|s| s.as_ref().is_some_and(&mut pred)),
        )
        .await
        .unwrap_or_else(|_| panic!("timed out after {timeout:?} waiting for: {what}"))
        .expect("the observer stopped early");
        found.clone().expect("checked by the predicate")
    }

    /// Stops recording; returns every snapshot received, oldest first.
    async fn finish(self) -> Recording {
        let _ = self.stop.send(());
        let (client, seen) = self.task.await.expect("the observer task should not panic");
        client.close().await;
        Recording {
            id: self.id,
            info: self.info,
            seen,
        }
    }
}

/// What an [`Observer`] received.
struct Recording {
    id: PlayerId,
    info: ArenaInfo,
    seen: Vec<ArenaSnapshot>,
}

impl Recording {
    /// The players other than the observer in `s`.
    fn others<'s>(&self, s: &'s ArenaSnapshot) -> BTreeMap<PlayerId, &'s PlayerState> {
        s.state
            .players
            .iter()
            .filter(|p| p.id != self.id)
            .map(|p| (p.id, p))
            .collect()
    }

    /// Asserts that in every snapshot from tick `since` to `until` the others are exactly `ids`
    /// (nobody left, nobody new), that each moved no farther between two snapshots than the
    /// arena's top speed allows (a respawn would jump), and that no score went down.
    fn assert_continuous(&self, since: u64, until: u64, ids: &BTreeSet<PlayerId>) {
        let step = self.info.max_speed * self.info.boost / f32::from(TICK_RATE);
        let from = self.seen.partition_point(|s| s.tick < since);
        let to = self.seen.partition_point(|s| s.tick <= until);
        let seen = &self.seen[from..to];
        assert!(
            seen.len() > 1,
            "the observer saw too little: {} snapshots",
            seen.len()
        );
        for s in seen {
            let present: BTreeSet<PlayerId> = self.others(s).keys().copied().collect();
            assert_eq!(&present, ids, "players at tick {}", s.tick);
        }
        for pair in seen.windows(2) {
            let (a, b) = (self.others(&pair[0]), self.others(&pair[1]));
            let ticks = pair[1].tick.saturating_sub(pair[0].tick) as f32;
            for (id, pa) in &a {
                let pb = b[id];
                let moved = ((pb.x - pa.x).powi(2) + (pb.y - pa.y).powi(2)).sqrt();
                assert!(
                    moved <= step * ticks + 1.0,
                    "player {id} jumped {moved:.1} units between ticks {} and {}",
                    pair[0].tick,
                    pair[1].tick
                );
                assert!(pb.score >= pa.score, "player {id}'s score went down");
                assert_eq!(pb.name, pa.name);
            }
        }
    }
}

/// Reads the bot's events until its connection ends; returns the close.
async fn wait_for_the_end(bot: &mut Bot) -> CloseInfo {
    match bot.wait_for(WAIT, |e| matches!(e, Event::Closed(_))).await {
        Ok(Event::Closed(c)) => c,
        other => panic!("expected the connection to end, got {other:?}"),
    }
}

#[tokio::test]
async fn a_bot_cut_off_by_the_network_resumes_as_the_same_player_with_its_state() {
    let server = start_arena(ServerConfig {
        resume_grace: Duration::from_secs(10),
        ..test_config()
    });
    let proxy = Proxy::start(server.addr()).await;
    let mut bot = Bot::connect(&proxy.url(), &Join::room("cut", "bot"))
        .await
        .expect("the bot joins through the proxy");
    let id = bot.player_id().expect("joined");
    // Joins after the bot, so the bot is in every snapshot it records.
    let mut observer = Observer::join(server.addr(), "cut").await;
    let token = bot
        .resume_token()
        .expect("the welcome carries a resume token")
        .to_string();

    // Move away from the spawn point, then come to rest, so position is comparable exactly.
    for _ in 0..10 {
        bot.send_input(Controls::new(1.0, 0.5, 0)).await.unwrap();
        bot.next_snapshot().await.unwrap();
    }
    let before = tokio::time::timeout(WAIT, async {
        loop {
            let seq = bot.send_input(Controls::default()).await.unwrap();
            let snap = bot.wait_for_ack(seq, WAIT).await.unwrap();
            let me = bot.own_state(&snap).expect("own player").clone();
            if me.vx.abs() < 0.01 && me.vy.abs() < 0.01 {
                return me;
            }
        }
    })
    .await
    .expect("the bot comes to rest");
    let (seq_before, tick_before) = (bot.last_seq(), bot.newest_tick());
    observer
        .wait_for(WAIT, "the observer to see the bot at rest", |s| {
            s.state
                .players
                .iter()
                .any(|p| p.id == id && p.last_input == seq_before)
        })
        .await;

    proxy.cut();
    let end = wait_for_the_end(&mut bot).await;
    assert!(end.is_lost(), "a cut is a lost connection (1006): {end}");

    let resumed = bot
        .resume(&ResumePolicy::default())
        .await
        .expect("the resume within the grace succeeds");
    assert!(resumed.attempts >= 1);
    assert_eq!(proxy.accepted(), 1 + resumed.attempts as usize);
    assert_eq!(bot.player_id(), Some(id), "the same player is back");
    assert_eq!(bot.resume_token(), Some(token.as_str()));
    assert_eq!(bot.welcome().room_id, "cut");
    assert!(bot.newest_tick() >= tick_before, "ticks never go backwards");

    // Same score and position; the ack is the one from before the cut.
    let snap = bot.next_snapshot().await.unwrap();
    let me = bot.own_state(&snap).expect("own player after the resume");
    assert_eq!((&*me.name, me.score), ("bot", before.score));
    assert!(
        (me.x - before.x).abs() < 1.0 && (me.y - before.y).abs() < 1.0,
        "position kept: {me:?} vs {before:?}"
    );
    assert_eq!(me.last_input, seq_before);

    // The input seq carries on, and the server acknowledges it for the same player.
    let seq = bot.send_input(Controls::new(-1.0, 0.0, 0)).await.unwrap();
    assert_eq!(seq, seq_before + 1);
    let acked = bot
        .wait_for_ack(seq, WAIT)
        .await
        .expect("acked after resume");
    assert!(bot.own_state(&acked).is_some_and(|p| p.last_input == seq));

    // The observer saw the player all along: before the cut, through it, after the resume.
    observer
        .wait_for(WAIT, "the observer to catch up", |s| s.tick >= acked.tick)
        .await;
    let rec = observer.finish().await;
    assert!(
        rec.seen.first().is_some_and(|s| s.tick <= tick_before)
            && rec.seen.last().is_some_and(|s| s.tick >= acked.tick),
        "the observer's snapshots span the cut"
    );
    rec.assert_continuous(0, acked.tick, &BTreeSet::from([id]));
    assert_eq!(bot.close().await.unwrap().code, 1000);
}

#[tokio::test]
async fn a_bot_whose_resume_comes_after_the_grace_is_refused_with_4005() {
    let server = start_arena(test_config()); // resume grace 1 s
    let proxy = Proxy::start(server.addr()).await;
    let mut bot = Bot::connect(&proxy.url(), &Join::room("late", "bot"))
        .await
        .expect("the bot joins through the proxy");
    let id = bot.player_id().expect("joined");
    let mut observer = Observer::join(server.addr(), "late").await;
    observer
        .wait_for(WAIT, "the observer to see the bot", |s| {
            s.state.players.iter().any(|p| p.id == id)
        })
        .await;

    // The network goes down and stays down past the grace.
    proxy.hold();
    proxy.cut();
    assert!(wait_for_the_end(&mut bot).await.is_lost());
    let policy = ResumePolicy {
        attempt_timeout: Duration::from_secs(10),
        budget: Duration::from_secs(15),
        ..ResumePolicy::default()
    };
    let resume = tokio::spawn(async move {
        let r = bot.resume(&policy).await;
        (bot, r)
    });
    observer
        .wait_for(WAIT, "the bot's player to leave after the 1 s grace", |s| {
            s.state.players.iter().all(|p| p.id != id)
        })
        .await;
    eventually(
        WAIT,
        "the bot's first resume attempt to reach the proxy",
        || {
            let n = proxy.accepted();
            async move { (n >= 2).then_some(()) }
        },
    )
    .await;
    proxy.release();

    let (bot, result) = tokio::time::timeout(Duration::from_secs(15), resume)
        .await
        .expect("the resume ends within its budget")
        .expect("the resume task should not panic");
    match result {
        Err(ResumeError::Refused(c)) => assert_eq!(c.code, close::RESUME_REFUSED, "{c}"),
        other => panic!("expected a 4005 refusal, got {other:?}"),
    }
    assert_eq!(proxy.accepted(), 2, "a 4005 is final: no further attempt");
    assert_eq!(
        bot.player_id(),
        Some(id),
        "a failed resume leaves the bot as it was"
    );

    // As documented, what follows is the caller's choice: a fresh join is a new player.
    let fresh = Bot::connect(&proxy.url(), &Join::room("late", "bot"))
        .await
        .expect("a fresh join works");
    assert_ne!(fresh.player_id(), Some(id));
    fresh.close().await.unwrap();
    observer.finish().await;
}

/// A load run over the proxy, in room `room`, that only stops when told (or when every bot is
/// gone).
fn load_run(proxy: &Proxy, bots: u32, room: &str) -> LoadConfig {
    let mut cfg = LoadConfig::new(proxy.url(), bots, Duration::from_secs(120));
    cfg.warmup = Duration::from_millis(500);
    cfg.room = RoomChoice::Named(room.into());
    cfg.metrics_url = None;
    cfg
}

#[tokio::test]
async fn a_load_run_resumes_its_bots_by_itself_after_a_network_cut() {
    let server = start_arena(ServerConfig {
        resume_grace: Duration::from_secs(10),
        ..test_config()
    });
    let mut observer = Observer::join(server.addr(), "load-cut").await;
    let proxy = Proxy::start(server.addr()).await;
    let run = LoadRun::new(load_run(&proxy, 3, "load-cut"));
    let stop = run.stop_handle();
    let run = tokio::spawn(run.run());

    let me = observer.id;
    let playing = observer
        .wait_for(WAIT, "three bots playing (inputs acknowledged)", |s| {
            let bots: Vec<_> = s.state.players.iter().filter(|p| p.id != me).collect();
            bots.len() == 3 && bots.iter().all(|p| p.last_input > 0)
        })
        .await;
    let ids: BTreeSet<PlayerId> = playing
        .state
        .players
        .iter()
        .map(|p| p.id)
        .filter(|id| *id != me)
        .collect();
    let acks_before: BTreeMap<PlayerId, u32> = playing
        .state
        .players
        .iter()
        .map(|p| (p.id, p.last_input))
        .collect();

    proxy.cut();
    // Every bot comes back on a new connection by itself, as the same player, and plays on:
    // acknowledged inputs run a second (30 inputs at 30 Hz) past where they were at the cut.
    let after = observer
        .wait_for(
            Duration::from_secs(10),
            "the bots' inputs acknowledged again after the cut",
            |s| {
                ids.iter().all(|id| {
                    s.state
                        .players
                        .iter()
                        .any(|p| p.id == *id && p.last_input >= acks_before[id] + 30)
                })
            },
        )
        .await;
    assert_eq!(proxy.accepted(), 6, "one new connection per bot");
    stop.stop();
    let report = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the run ends once stopped")
        .expect("the run task should not panic")
        .expect("the run starts");
    let table = report.table();
    assert_eq!(
        (report.connected, report.resumes, report.resume_failures),
        (3, 3, 0),
        "{table}"
    );
    assert_eq!(report.closes.get("1000"), Some(&3), "{table}");
    assert_eq!(report.error_kinds.get("closed_1006"), Some(&3), "{table}");
    assert!(
        table.contains("3 lost connections resumed, 0 not"),
        "{table}"
    );

    // The observer never saw a bot leave, a new one come, or a bot jump to a spawn point.
    let rec = observer.finish().await;
    assert!(rec.seen.last().is_some_and(|s| s.tick >= after.tick));
    rec.assert_continuous(playing.tick, after.tick, &ids);
}

#[tokio::test]
async fn a_load_run_bot_refused_after_the_grace_joins_again_as_a_new_player() {
    let server = start_arena(test_config()); // resume grace 1 s
    let mut observer = Observer::join(server.addr(), "load-late").await;
    let proxy = Proxy::start(server.addr()).await;
    let mut cfg = load_run(&proxy, 1, "load-late");
    cfg.resume.attempt_timeout = Duration::from_secs(10); // outlasts the held connection
    cfg.resume.budget = Duration::from_secs(15);
    let run = LoadRun::new(cfg);
    let stop = run.stop_handle();
    let run = tokio::spawn(run.run());

    let me = observer.id;
    let playing = observer
        .wait_for(WAIT, "the bot playing", |s| {
            s.state
                .players
                .iter()
                .any(|p| p.id != me && p.last_input > 0)
        })
        .await;
    let id = playing
        .state
        .players
        .iter()
        .find(|p| p.id != me)
        .expect("the bot")
        .id;

    proxy.hold();
    proxy.cut();
    observer
        .wait_for(WAIT, "the bot's player to leave after the 1 s grace", |s| {
            s.state.players.iter().all(|p| p.id != id)
        })
        .await;
    eventually(WAIT, "the bot's resume attempt to reach the proxy", || {
        let n = proxy.accepted();
        async move { (n >= 2).then_some(()) }
    })
    .await;
    proxy.release();

    // The 4005 says the seat is gone: the bot joins again, once, as a new player, and plays.
    observer
        .wait_for(WAIT, "a new player in the bot's place, playing", |s| {
            s.state
                .players
                .iter()
                .any(|p| p.id != me && p.id != id && p.last_input > 0)
        })
        .await;
    stop.stop();
    let report = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the run ends once stopped")
        .expect("the run task should not panic")
        .expect("the run starts");
    let table = report.table();
    assert_eq!(
        (report.resumes, report.resume_failures, report.rejoins),
        (0, 1, 1),
        "{table}"
    );
    assert_eq!(report.closes.get("1000"), Some(&1), "{table}");
    assert_eq!(
        report.error_kinds.get("resume_refused"),
        Some(&1),
        "{table}"
    );
    assert_eq!(
        proxy.accepted(),
        3,
        "no retry after 4005, then one fresh join"
    );
    observer.finish().await;
}

/// A bot that falls silent (reads nothing, so answers no ping) past the server's client timeout
/// is timed out with its seat held, and resuming with its token gets the same player back. The
/// server closes with 4006; whether the bot still gets that frame depends on its socket: having
/// read nothing, its buffers are full, and the server gives up on writing the close frame after
/// 100 ms and drops the connection (1006). Either way the bot must resume, not give up.
#[tokio::test]
async fn a_bot_timed_out_by_the_heartbeat_resumes_as_the_same_player() {
    let server = start_arena(ServerConfig {
        heartbeat_interval: Duration::from_millis(200),
        client_timeout: Duration::from_millis(800),
        resume_grace: Duration::from_secs(5),
        ..test_config()
    });
    let mut bot = Bot::connect(&server.ws_url(), &Join::room("hb", "quiet"))
        .await
        .expect("the bot should join");
    let me = bot.player_id().expect("joined");
    let seq = bot
        .send_input(Controls::new(1.0, 0.0, 0))
        .await
        .expect("send");
    bot.wait_for_ack(seq, WAIT).await.expect("acknowledged");
    // Silent on purpose: no reads, so no pongs, for longer than the client timeout.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let close = loop {
        match bot.next_event().await.expect("the server should close") {
            Event::Closed(c) => break c,
            _ => continue,
        }
    };
    assert!(
        [close::TIMED_OUT, CloseInfo::ABNORMAL].contains(&close.code),
        "{close:?}"
    );
    assert!(close.is_lost(), "a timed-out seat is held: resumable");
    let resumed = bot
        .resume(&ResumePolicy::default())
        .await
        .expect("the held seat should be resumed");
    assert_eq!(resumed.attempts, 1);
    assert_eq!(bot.player_id(), Some(me), "the same player");
    let seq = bot
        .send_input(Controls::new(0.0, 1.0, 0))
        .await
        .expect("send");
    let snap = bot
        .wait_for_ack(seq, WAIT)
        .await
        .expect("acknowledged after the resume");
    assert!(bot.own_state(&snap).is_some());
}
