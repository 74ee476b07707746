//! [`LoadRun`]: many bots against one server, measured — the engine behind the `tickcast-bot`
//! binary, usable from tests:
//!
//! ```no_run
//! # async fn demo() -> Result<(), tickcast_bot::LoadError> {
//! use std::time::Duration;
//! use tickcast_bot::{LoadConfig, LoadRun};
//!
//! let report = LoadRun::new(LoadConfig::new("ws://127.0.0.1:8080/ws", 200, Duration::from_secs(5)))
//!     .run()
//!     .await?;
//! assert_eq!(report.connected, 200);
//! assert!(report.delivery > 0.99, "{}", report.table());
//! # Ok(()) }
//! ```
//!
//! All bots are tasks on the caller's tokio runtime (a current-thread runtime is enough for
//! thousands). The run: spawn bots (ramp) → every attempt answered → `warmup` → steady window
//! (server metrics and this process's CPU read at both ends) → stop → every bot closes with 1000 →
//! [`Report`].

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use crate::bot::CLOSE_TIMEOUT;
use crate::delivery::Window;
use crate::load_config::{ConfigError, LoadConfig};
use crate::migration::MigrationTally;
use crate::outcome::Outcome;
use crate::progress::Progress;
use crate::report::Report;
use crate::session::Session;
use crate::shared::Shared;
use crate::stop::{stopped, StopHandle};
use crate::summary::{micros_histogram, record, Summary};
use crate::tally::{Live, Tally};

mod usage;

use self::usage::{apply_usage, Probe};

/// How often the bot process checks its own scheduling lag.
const LAG_PROBE: Duration = Duration::from_millis(20);

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// One load run. See the module docs.
#[derive(Debug)]
pub struct LoadRun {
    config: LoadConfig,
    stop: Arc<watch::Sender<bool>>,
}

impl LoadRun {
    pub fn new(config: LoadConfig) -> Self {
        LoadRun {
            config,
            stop: Arc::new(watch::channel(false).0),
        }
    }

    /// A handle that ends the run early.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle::new(Arc::clone(&self.stop))
    }

    /// Runs the bots and measures. Bounded: ramp + `duration` + connect and close timeouts.
    pub async fn run(self) -> Result<Report, LoadError> {
        self.config.validate()?;
        let cfg = self.config.clone();
        let t0 = Instant::now();
        let shared = Arc::new(Shared {
            config: cfg.clone(),
            t0,
            window: OnceLock::new(),
            tally: Tally::new(cfg.shards),
        });
        let mut stop = self.stop.subscribe();
        let progress = tokio::spawn(
            Progress::new(cfg.progress).run(Arc::clone(&shared), self.stop.subscribe()),
        );
        let lag = tokio::spawn(lag_probe(Arc::clone(&shared), self.stop.subscribe()));

        // Ramp: spawn bots, at most `max_connecting` attempts in flight.
        let slots = Arc::new(Semaphore::new(cfg.max_connecting));
        let mut sessions = JoinSet::new();
        for i in 0..cfg.bots as usize {
            if let Some(rate) = cfg.ramp_per_second {
                let at = t0 + Duration::from_secs_f64(i as f64 / rate);
                tokio::select! {
                    _ = tokio::time::sleep_until(at.into()) => {}
                    _ = stopped(&mut stop) => break,
                }
            }
            let permit = tokio::select! {
                p = Arc::clone(&slots).acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break, // never closed
                },
                _ = stopped(&mut stop) => break,
            };
            sessions.spawn(Session::new(i, Arc::clone(&shared)).run(self.stop.subscribe(), permit));
        }
        // The ramp is over when every attempt has been answered (all slots free again).
        tokio::select! {
            _ = slots.acquire_many(cfg.max_connecting as u32) => {}
            _ = stopped(&mut stop) => {}
        }
        let ramp_end = Instant::now();
        if Live::get(&shared.tally.live.connected) == 0 {
            // Nobody joined: there is nothing to measure, do not wait out the duration.
            self.stop.send_replace(true);
        }
        let planned = Window {
            start: ramp_end + cfg.warmup,
            end: ramp_end + cfg.duration,
        };
        let _ = shared.window.set(planned);
        let watcher = tokio::spawn(stop_when_all_gone(
            Arc::clone(&shared),
            Arc::clone(&self.stop),
        ));

        let mut start_sample = Probe::default();
        let mut end_sample = Probe::default();
        let stopped_early = *stop.borrow();
        if !stopped_early {
            tokio::select! {
                _ = tokio::time::sleep_until(planned.start.into()) => {}
                _ = stopped(&mut stop) => {}
            }
        }
        let stopped_early = *stop.borrow();
        if !stopped_early {
            start_sample = Probe::take(&cfg).await;
            tokio::select! {
                _ = tokio::time::sleep_until(planned.end.into()) => {}
                _ = stopped(&mut stop) => {}
            }
            end_sample = Probe::take(&cfg).await;
        }
        let stopped_early = *stop.borrow();
        let effective = Window {
            start: planned.start,
            end: Instant::now().clamp(planned.start, planned.end),
        };
        self.stop.send_replace(true);
        let all_gone = watcher.await.unwrap_or(false);

        // Collect every bot's outcome; they close within CLOSE_TIMEOUT, connects time out too.
        let deadline =
            Instant::now() + CLOSE_TIMEOUT + cfg.connect_timeout * 2 + Duration::from_secs(2);
        let mut outcomes = Vec::with_capacity(cfg.bots as usize);
        let mut lost = 0u64;
        loop {
            match tokio::time::timeout_at(deadline.into(), sessions.join_next()).await {
                Ok(Some(Ok(o))) => outcomes.push(o),
                Ok(Some(Err(e))) => {
                    tracing::warn!(error = %e, "bot task failed");
                    lost += 1;
                }
                Ok(None) => break,
                Err(_) => {
                    lost += sessions.len() as u64;
                    sessions.abort_all();
                    break;
                }
            }
        }
        let _ = progress.await;
        let lag = lag.await.unwrap_or_else(|_| micros_histogram());

        let mut report = aggregate(&cfg, &shared, outcomes, effective);
        if lost > 0 {
            report.error_kinds.insert("bot_task_lost".into(), lost);
            report.errors += lost;
        }
        report.bot_loop_lag_ms = Summary::of(&lag);
        report.ramp_s = round(ramp_end.duration_since(t0).as_secs_f64());
        report.stopped_early = stopped_early;
        if all_gone {
            report
                .warnings
                .push("every bot was disconnected by the server before the end".into());
        }
        apply_usage(&mut report, start_sample, end_sample);
        report.host_load_1m = crate::process_usage::load_average();
        report.host_cpus = crate::process_usage::cpus();
        add_warnings(&mut report);
        Ok(report)
    }
}

/// Ends the run when every bot that joined has been disconnected (nothing left to measure).
/// Returns whether that happened.
async fn stop_when_all_gone(shared: Arc<Shared>, stop: Arc<watch::Sender<bool>>) -> bool {
    let mut rx = stop.subscribe();
    let mut timer = tokio::time::interval(Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = stopped(&mut rx) => return false,
            _ = timer.tick() => {}
        }
        let live = &shared.tally.live;
        let joined = Live::get(&live.connected);
        if joined > 0 && Live::get(&live.disconnected) >= joined {
            stop.send_replace(true);
            return true;
        }
    }
}

/// Flags figures that do not mean what they seem to.
fn add_warnings(r: &mut Report) {
    let period_ms = 1000.0 / f64::from(r.tick_rate.unwrap_or(30).max(1));
    if r.bot_loop_lag_ms.p99 > period_ms {
        r.warnings.push(format!(
            "bot loop lag p99 {:.1} ms exceeds a tick period ({period_ms:.1} ms): the bot process or \
             the machine is saturated, so latency and delivery are pessimistic for the server",
            r.bot_loop_lag_ms.p99
        ));
    }
    if let (Some(load), Some(cpus)) = (r.host_load_1m, r.host_cpus) {
        if load > 1.5 * cpus as f64 {
            r.warnings.push(format!(
                "the machine was busy (load {load:.1} on {cpus} CPUs): other processes competed with \
                 the server and the bots"
            ));
        }
    }
    if r.connected < r.bots {
        r.warnings.push(format!(
            "{} of {} bots did not join",
            r.bots - r.connected,
            r.bots
        ));
    }
    if let Some(limit) = crate::process_usage::open_files_limit() {
        if limit < u64::from(r.bots) + 64 {
            r.warnings.push(format!(
                "the open-file limit ({limit}) is below the bot count plus headroom: raise `ulimit -n`"
            ));
        }
    }
    if r.player_id_changes > 0 {
        r.warnings.push(format!(
            "{} resume(s) came back as another player: a resume must keep the player",
            r.player_id_changes
        ));
    }
    if r.stopped_early {
        r.warnings
            .push("the run was stopped before its planned end".into());
    }
}

fn aggregate(cfg: &LoadConfig, shared: &Shared, outcomes: Vec<Outcome>, window: Window) -> Report {
    let window_s = window.len().as_secs_f64();
    let per_s = |n: u64| {
        if window_s > 0.0 {
            round(n as f64 / window_s)
        } else {
            0.0
        }
    };
    let mut r = Report {
        bots: cfg.bots,
        url: cfg.url.clone(),
        room: cfg.room.to_string(),
        behaviour: cfg.behaviour.to_string(),
        snapshots: cfg.snapshots.to_string(),
        input_hz: cfg.input_hz,
        duration_s: cfg.duration.as_secs_f64(),
        warmup_s: cfg.warmup.as_secs_f64(),
        window_s: round(window_s),
        ..Report::default()
    };
    let mut rooms = HashSet::new();
    let mut worst: Option<f64> = None;
    let (mut bytes_in, mut bytes_out) = (0, 0);
    let mut closes: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_room: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut migrations = MigrationTally::default();
    for o in outcomes {
        migrations.add(&o.migrations);
        if o.joined {
            r.connected += 1;
        }
        r.tick_rate = r.tick_rate.or(o.tick_rate);
        if let Some(mut d) = o.delivery {
            d.set_window(window);
            d.finish();
            if d.expected() > 0 {
                let ratio = d.received() as f64 / d.expected() as f64;
                worst = Some(worst.map_or(ratio, |w: f64| w.min(ratio)));
            }
            if let Some(room) = &o.room {
                let (got, of) = by_room.entry(room.clone()).or_insert((0, 0));
                (*got, *of) = (*got + d.received(), *of + d.expected());
            }
            r.snapshots_received += d.received();
            r.snapshots_dropped += d.dropped();
            r.snapshots_stale += d.stale();
        }
        bytes_in += o.window_traffic.bytes_in;
        bytes_out += o.window_traffic.bytes_out;
        for (k, v) in o.errors {
            *r.error_kinds.entry(k).or_default() += v;
        }
        if let Some(c) = o.close {
            *closes.entry(c.to_string()).or_default() += 1;
        }
        for (k, v) in o.server_errors {
            *r.server_errors.entry(k.to_string()).or_default() += v;
        }
        r.inputs_unacked += o.inputs_unacked;
        r.resumes += o.resumes;
        r.resume_failures += o.resume_failures;
        r.rejoins += o.rejoins;
        if let Some(room) = o.room {
            rooms.insert(room);
        }
        r.held_seats_seen += o.held_seats_seen;
    }
    r.migrations = migrations.followed;
    r.migrations_unannounced = migrations.unannounced;
    r.migrations_failed = migrations.failed;
    r.player_id_changes = migrations.player_id_changes;
    r.migration_gap_ticks = migrations.gap_ticks();
    r.migration_gap_ms = migrations.gap_ms();
    r.closes = closes;
    r.delivery_worst_bot = worst.unwrap_or(0.0);
    r.rooms = rooms.len() as u64;
    r.delivery_by_room = by_room
        .into_iter()
        .filter(|(_, (_, of))| *of > 0)
        .map(|(room, (got, of))| (room, got as f64 / of as f64))
        .collect();
    r.errors = r.error_kinds.values().sum();
    r.snapshots_expected = r.snapshots_received + r.snapshots_dropped;
    r.delivery = if r.snapshots_expected > 0 {
        r.snapshots_received as f64 / r.snapshots_expected as f64
    } else {
        0.0
    };
    r.snapshots_per_s = per_s(r.snapshots_received);
    r.bytes_in_per_s = per_s(bytes_in);
    r.bytes_out_per_s = per_s(bytes_out);
    if r.connected > 0 {
        r.bytes_in_per_client_per_s = round(r.bytes_in_per_s / f64::from(r.connected));
    }
    let (h, join) = shared.tally.window();
    r.input_ack_ms = Summary::of(&h.ack);
    r.rtt_ms = Summary::of(&h.rtt);
    r.jitter_ms = Summary::of(&h.jitter);
    r.snapshot_age_ms = Summary::of(&h.age);
    r.join_ms = Summary::of(&join);
    r
}

fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Measures how late this process's timers fire during the steady window: the bot's own
/// saturation, reported next to the server's figures.
async fn lag_probe(
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) -> hdrhistogram::Histogram<u64> {
    let mut h = micros_histogram();
    let mut timer = tokio::time::interval(LAG_PROBE);
    timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let stopped = stopped(&mut stop);
    tokio::pin!(stopped);
    loop {
        let scheduled = tokio::select! {
            _ = &mut stopped => break,
            t = timer.tick() => t.into_std(),
        };
        let now = Instant::now();
        if shared.window.get().is_some_and(|w| w.contains(now)) {
            record(&mut h, now.saturating_duration_since(scheduled));
        }
    }
    h
}
