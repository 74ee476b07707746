//! Prometheus metrics (the `prometheus` crate), shared by every actor through an `Arc<Metrics>`
//! and rendered as text at `GET /metrics`. Names carry their unit; counters end in `_total`.
//! The standard `process_*` metrics (CPU seconds, resident memory, open fds) come from the
//! crate's process collector, so a load run can tell the server's cost from the bots'.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    pub connections: IntGauge,
    pub connections_total: IntCounter,
    pub rooms: IntGauge,
    pub players: IntGauge,
    pub ticks_total: IntCounter,
    pub tick_duration_seconds: Histogram,
    /// Size of each snapshot encoding, by kind (`full`, `delta`, `delta_full` = a delta against
    /// the empty state).
    pub snapshot_size_bytes: HistogramVec,
    pub tick_overruns_total: IntCounter,
    pub snapshot_encodings_total: IntCounter,
    pub snapshot_bytes_total: IntCounter,
    pub snapshot_offers_total: IntCounter,
    pub delta_offers_total: IntCounter,
    pub delta_rebaselines_total: IntCounter,
    pub delta_held_total: IntCounter,
    pub frames_sent_total: IntCounter,
    pub frame_bytes_sent_total: IntCounter,
    pub frames_dropped_total: IntCounter,
    pub decode_errors_total: IntCounter,
    pub protocol_closes_total: IntCounter,
    pub stalled_disconnects_total: IntCounter,
    pub inputs_total: IntCounter,
    pub inputs_dropped_total: IntCounter,
    pub room_panics_total: IntCounter,
    /// Rooms created, by `kind` (`named`: a join named a room that did not exist; `quick_play`:
    /// quick play found no public room with space).
    pub rooms_created_total: IntCounterVec,
    /// Room creations refused, by `reason` (`budget`: the address's creation budget, close
    /// 4008; `quick_play_reserve`: only quick play's share of --max-rooms is left; `full`:
    /// --max-rooms rooms are alive; both 4002).
    pub room_creations_refused_total: IntCounterVec,
    /// WebSocket upgrades refused before the upgrade, by `reason` (origin, auth, per_ip, total).
    pub upgrades_refused_total: IntCounterVec,
    /// Cluster mode: time of each directory operation, by `op` (claim, release, owner,
    /// heartbeat, rooms).
    pub directory_latency_seconds: HistogramVec,
    /// Cluster mode: rooms stopped because the directory reported their lease lost.
    pub lease_lost_total: IntCounter,
    /// Cluster mode: joins sent to another node, by `reason` (owner, quick_play, placement, resume).
    pub redirects_total: IntCounterVec,
    /// Cluster mode: directory operations that failed (Redis down, timing out, erroring).
    pub redis_errors_total: IntCounter,
    /// Cluster mode: live nodes in the cluster as of the last lobby read (this one included).
    pub cluster_nodes: IntGauge,
    /// Cluster mode: this node's state as its last heartbeat reported it, by `state` (`up`,
    /// `draining`): 1 for the current one, 0 for the other.
    pub node_state: IntGaugeVec,
    /// Cluster mode: directory operations that succeeded right after one or more failed — the
    /// Redis connection came back (the connection manager reconnects by itself).
    pub redis_reconnects_total: IntCounter,
    /// Live migration, on the source: rooms offered to another node, by `result` (`adopted`,
    /// `aborted`: no adoption in time, the room went on here; `failed`: the image or the offer
    /// could not be written).
    pub migrations_total: IntCounterVec,
    /// Live migration, on the source: how long a room stood frozen (freeze to hand-over, or to
    /// the unfreeze after an abort).
    pub migration_freeze_seconds: Histogram,
    /// Live migration, on the source: whole tick periods the room's game time stood still
    /// between its freeze and its adoption.
    pub migration_ticks_stalled: Histogram,
    /// Live migration, on the target: members of adopted rooms that came back (`resumed`) or
    /// whose held seat ran out first (`grace_expired`).
    pub migrated_players_total: IntCounterVec,
    /// How long each drain took, from its start to its last room moved or given up.
    pub drain_seconds: Histogram,
    /// Checkpoints (`--checkpoint-interval`): image bytes written to Redis.
    pub checkpoint_bytes_total: IntCounter,
    /// Checkpoints: rooms of a dead node restored here from their last image.
    pub rooms_recovered_total: IntCounter,
}

fn histogram(r: &Registry, name: &str, help: &str, buckets: Vec<f64>) -> Histogram {
    let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
        .expect("histogram options should be valid");
    r.register(Box::new(h.clone()))
        .expect("metric names should be unique");
    h
}

fn gauge_vec(r: &Registry, name: &str, help: &str, label: &str) -> IntGaugeVec {
    let g =
        IntGaugeVec::new(Opts::new(name, help), &[label]).expect("metric names should be valid");
    r.register(Box::new(g.clone()))
        .expect("metric names should be unique");
    g
}

fn counter_vec(r: &Registry, name: &str, help: &str, label: &str) -> IntCounterVec {
    let c =
        IntCounterVec::new(Opts::new(name, help), &[label]).expect("metric names should be valid");
    r.register(Box::new(c.clone()))
        .expect("metric names should be unique");
    c
}

fn counter(r: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::with_opts(Opts::new(name, help)).expect("metric names should be valid");
    r.register(Box::new(c.clone()))
        .expect("metric names should be unique");
    c
}

fn gauge(r: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::with_opts(Opts::new(name, help)).expect("metric names should be valid");
    r.register(Box::new(g.clone()))
        .expect("metric names should be unique");
    g
}

impl Metrics {
    pub fn new() -> Self {
        let r = Registry::new();
        #[cfg(target_os = "linux")]
        r.register(Box::new(process::PreciseProcessCollector::new()))
            .expect("the process collector should register once");
        let tick_duration_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "tickcast_tick_duration_seconds",
                "Time to run one room tick: inputs, step, encode, fan-out.",
            )
            .buckets(vec![
                0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1,
            ]),
        )
        .expect("histogram options should be valid");
        r.register(Box::new(tick_duration_seconds.clone()))
            .expect("metric names should be unique");
        let snapshot_size_bytes = HistogramVec::new(
            HistogramOpts::new(
                "tickcast_snapshot_size_bytes",
                "Bytes of each snapshot encoding, by kind: full (a Snapshot), delta (against an \
                 acknowledged baseline), delta_full (a Delta against the empty state), packed and \
                 packed_full (the same as packed deltas, \"d\").",
            )
            .buckets(vec![
                32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0, 8192.0, 16384.0,
            ]),
            &["kind"],
        )
        .expect("histogram options should be valid");
        r.register(Box::new(snapshot_size_bytes.clone()))
            .expect("metric names should be unique");
        let upgrades_refused_total = counter_vec(
            &r,
            "tickcast_upgrades_refused_total",
            "WebSocket upgrades refused before the upgrade (403 origin, 401 auth, 429 per_ip, 503 total).",
            "reason",
        );
        let directory_latency_seconds = HistogramVec::new(
            HistogramOpts::new(
                "tickcast_directory_latency_seconds",
                "Time of each cluster directory (Redis) operation, by op.",
            )
            .buckets(vec![
                0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.1, 0.5, 1.0, 2.5,
            ]),
            &["op"],
        )
        .expect("histogram options should be valid");
        r.register(Box::new(directory_latency_seconds.clone()))
            .expect("metric names should be unique");
        let metrics = Metrics {
            connections: gauge(&r, "tickcast_connections", "Open WebSocket sessions."),
            connections_total: counter(
                &r,
                "tickcast_connections_total",
                "WebSocket sessions opened.",
            ),
            rooms: gauge(&r, "tickcast_rooms", "Rooms alive."),
            players: gauge(&r, "tickcast_players", "Players seated in rooms."),
            ticks_total: counter(&r, "tickcast_ticks_total", "Room ticks run, all rooms."),
            tick_duration_seconds,
            snapshot_size_bytes,
            tick_overruns_total: counter(
                &r,
                "tickcast_tick_overruns_total",
                "Tick deadlines skipped because a tick ran past them.",
            ),
            snapshot_encodings_total: counter(
                &r,
                "tickcast_snapshot_encodings_total",
                "Snapshots encoded: per room and tick, one full snapshot (if any session takes \
                 full ones) plus one delta per distinct baseline, each shared by its sessions.",
            ),
            snapshot_offers_total: counter(
                &r,
                "tickcast_snapshot_offers_total",
                "Snapshots offered to sessions (one per session per tick); encodings / offers is \
                 the encoding sharing ratio.",
            ),
            delta_offers_total: counter(
                &r,
                "tickcast_delta_offers_total",
                "Delta snapshots offered to sessions that joined with deltas.",
            ),
            delta_held_total: counter(
                &r,
                "tickcast_delta_held_total",
                "Ticks a delta client was sent nothing because too much it had been sent was \
                 unacknowledged (ack clocking, --delta-ack-lag).",
            ),
            delta_rebaselines_total: counter(
                &r,
                "tickcast_delta_rebaselines_total",
                "Delta snapshots against the empty state: no usable acknowledged baseline \
                 (a new or resumed client, or an ack older than the delta window).",
            ),
            snapshot_bytes_total: counter(
                &r,
                "tickcast_snapshot_bytes_total",
                "Bytes of snapshots encoded (counted once per encoding).",
            ),
            frames_sent_total: counter(
                &r,
                "tickcast_frames_sent_total",
                "Snapshot frames written to sessions (each session adds its count every 64 frames and inputs, and when it ends).",
            ),
            frame_bytes_sent_total: counter(
                &r,
                "tickcast_frame_bytes_sent_total",
                "Snapshot payload bytes written to sessions (added with the frames, in batches).",
            ),
            frames_dropped_total: counter(
                &r,
                "tickcast_frames_dropped_total",
                "Stale snapshots replaced before a slow session could take them (backpressure).",
            ),
            decode_errors_total: counter(
                &r,
                "tickcast_decode_errors_total",
                "Client messages that were not valid tickcast MessagePack.",
            ),
            protocol_closes_total: counter(
                &r,
                "tickcast_protocol_closes_total",
                "Sessions closed for a protocol error (1002, 1003, 1007, 1008, 1009).",
            ),
            stalled_disconnects_total: counter(
                &r,
                "tickcast_stalled_disconnects_total",
                "Sessions disconnected for not reading snapshots within the stall timeout.",
            ),
            inputs_total: counter(
                &r,
                "tickcast_inputs_total",
                "Inputs accepted from clients (added per session in batches, like the frames).",
            ),
            inputs_dropped_total: counter(
                &r,
                "tickcast_inputs_dropped_total",
                "Inputs dropped: stale seq, queue overflow or rate limit.",
            ),
            room_panics_total: counter(
                &r,
                "tickcast_room_panics_total",
                "Rooms stopped because their game code panicked.",
            ),
            rooms_created_total: counter_vec(
                &r,
                "tickcast_rooms_created_total",
                "Rooms created, by kind (named, quick_play).",
                "kind",
            ),
            room_creations_refused_total: counter_vec(
                &r,
                "tickcast_room_creations_refused_total",
                "Joins refused because they would create a room, by reason (budget: the client \
                 address's creation budget, 4008; quick_play_reserve and full: 4002).",
                "reason",
            ),
            upgrades_refused_total,
            directory_latency_seconds,
            lease_lost_total: counter(
                &r,
                "tickcast_lease_lost_total",
                "Rooms stopped because the directory reported their lease lost.",
            ),
            redirects_total: counter_vec(
                &r,
                "tickcast_redirects_total",
                "Joins redirected to another node, by reason (owner, quick_play, placement, resume).",
                "reason",
            ),
            redis_errors_total: counter(
                &r,
                "tickcast_redis_errors_total",
                "Cluster directory operations that failed (Redis unreachable or erroring).",
            ),
            cluster_nodes: gauge(
                &r,
                "tickcast_cluster_nodes",
                "Live cluster nodes seen at the last lobby read (0 on a single node).",
            ),
            node_state: gauge_vec(
                &r,
                "tickcast_node_state",
                "This cluster node's state at its last heartbeat (1 for the current state).",
                "state",
            ),
            redis_reconnects_total: counter(
                &r,
                "tickcast_redis_reconnects_total",
                "Cluster directory operations that succeeded after one or more failed in a row.",
            ),
            migrations_total: counter_vec(
                &r,
                "tickcast_migrations_total",
                "Rooms this node offered to another node, by result (adopted, aborted, failed).",
                "result",
            ),
            migration_freeze_seconds: histogram(
                &r,
                "tickcast_migration_freeze_seconds",
                "How long a migrating room stood frozen on this node (freeze to hand-over or unfreeze).",
                vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0],
            ),
            migration_ticks_stalled: histogram(
                &r,
                "tickcast_migration_ticks_stalled",
                "Whole tick periods a migrated room's game time stood still (freeze to adoption).",
                vec![0.0, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 100.0],
            ),
            migrated_players_total: counter_vec(
                &r,
                "tickcast_migrated_players_total",
                "Members of rooms adopted by this node, by outcome (resumed, grace_expired).",
                "outcome",
            ),
            drain_seconds: histogram(
                &r,
                "tickcast_drain_seconds",
                "How long each drain of this node took to move (or give up on) its rooms.",
                vec![0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 60.0],
            ),
            checkpoint_bytes_total: counter(
                &r,
                "tickcast_checkpoint_bytes_total",
                "Room image bytes this node wrote to Redis as checkpoints.",
            ),
            rooms_recovered_total: counter(
                &r,
                "tickcast_rooms_recovered_total",
                "Rooms of a dead node this node restored from their last checkpoint.",
            ),
            registry: r,
        };
        // The migration outcomes that alerts watch exist at 0 from the start: `increase()` over a
        // series that first appears already at 1 is 0, so a node's first abort or first lost
        // player would otherwise never fire an alert.
        for result in ["adopted", "aborted", "failed"] {
            metrics.migrations_total.with_label_values(&[result]);
        }
        for outcome in ["resumed", "grace_expired"] {
            metrics.migrated_players_total.with_label_values(&[outcome]);
        }
        metrics
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::with_capacity(8192);
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding into a Vec should not fail");
        String::from_utf8(out).expect("the text encoder should write UTF-8")
    }
}

/// The `prometheus` crate's process collector, with `process_cpu_seconds_total` made exact.
#[cfg(target_os = "linux")]
mod process;

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_our_metrics_and_the_process_metrics() {
        let m = Metrics::new();
        m.frames_dropped_total.inc_by(3);
        let text = m.render();
        assert!(text.contains("tickcast_frames_dropped_total 3"), "{text}");
        assert!(text.contains("tickcast_tick_duration_seconds_bucket"));
        #[cfg(target_os = "linux")]
        assert!(text.contains("process_resident_memory_bytes"));
    }

    #[test]
    fn migration_outcomes_that_alerts_watch_are_exported_at_zero_before_the_first() {
        let text = Metrics::new().render();
        for line in [
            r#"tickcast_migrations_total{result="aborted"} 0"#,
            r#"tickcast_migrations_total{result="failed"} 0"#,
            r#"tickcast_migrated_players_total{outcome="grace_expired"} 0"#,
        ] {
            assert!(text.contains(line), "{line} missing in {text}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn process_cpu_seconds_has_sub_second_precision() {
        let m = Metrics::new();
        let collector = process::PreciseProcessCollector::new();
        // Burn a little CPU so the counter is well above zero.
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let before = collector
            .cpu_seconds()
            .expect("/proc/self/stat is readable");
        let text = m.render();
        let after = collector
            .cpu_seconds()
            .expect("/proc/self/stat is readable");
        let value: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("process_cpu_seconds_total "))
            .expect("the CPU metric is exported")
            .parse()
            .expect("it is a number");
        // A whole-second counter would read floor(before), below `before` unless it is integral.
        assert!(before > 0.0);
        assert!(
            (before..=after).contains(&value),
            "{before} <= {value} <= {after}"
        );
    }
}
