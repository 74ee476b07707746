//! [`Report`]: the result of a load run — the JSON document `--json` writes and the pass/fail
//! check against [`Thresholds`]. Its summary table is `report_table`'s ([`Report::table`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::summary::{Summary, TickSummary};

/// Pass/fail limits for a run (`--max-p99-ack-ms`, `--min-delivery`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Thresholds {
    /// Highest acceptable p99 input→ack latency, ms.
    pub max_p99_ack_ms: Option<f64>,
    /// Lowest acceptable delivery ratio (0..1).
    pub min_delivery: Option<f64>,
}

/// Everything a load run measured. Rates and percentiles cover the steady window only.
/// Deserialises too (missing keys take defaults), so tools and tests can read `--json` output back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Report {
    /// Bots asked for.
    pub bots: u32,
    /// Bots that received a welcome.
    pub connected: u32,
    /// Failed connects + unexpected closes + decode/protocol errors (see `error_kinds`).
    pub errors: u64,
    pub error_kinds: BTreeMap<String, u64>,
    /// Received ÷ expected snapshots over the steady window (0..1; 0 with no connected bot).
    pub delivery: f64,
    /// The lowest delivery of any single bot (fairness: one starved room or socket shows here).
    pub delivery_worst_bot: f64,
    pub snapshots_received: u64,
    pub snapshots_expected: u64,
    pub snapshots_dropped: u64,
    /// Snapshots whose tick was not newer than the previous one (should be 0).
    pub snapshots_stale: u64,
    pub input_ack_ms: Summary,
    pub rtt_ms: Summary,
    /// `|Δarrival − Δtick·period|` between consecutive snapshots of one bot.
    pub jitter_ms: Summary,
    /// Local wall clock at arrival − the snapshot's `server_time_ms`: how long after the server
    /// stepped a tick the bots had it (tick → fan-out → socket → bot). Meaningful only when bot
    /// and server share a clock (same machine); server_time_ms has millisecond resolution.
    pub snapshot_age_ms: Summary,
    /// TCP connect + WebSocket handshake + join → welcome.
    pub join_ms: Summary,
    /// How late the bot process's own timers fire: high values mean the bot, not the server, is
    /// the bottleneck.
    pub bot_loop_lag_ms: Summary,
    /// Aggregate snapshots per second received by all bots.
    pub snapshots_per_s: f64,
    /// WebSocket frame bytes per second (payload + frame headers).
    pub bytes_in_per_s: f64,
    pub bytes_out_per_s: f64,
    /// `bytes_in_per_s` ÷ connected bots: what one player downloads per second.
    pub bytes_in_per_client_per_s: f64,
    /// Server snapshot encodings ÷ snapshots offered to sessions over the window (from the
    /// server's counters): 1/players-per-room with full snapshots; with deltas, how well
    /// sessions sharing a baseline share an encoding.
    pub encodings_per_offer: Option<f64>,
    /// Inputs sent in the window that were still unacknowledged more than 1 s later, plus those
    /// in flight when a connection was lost (abandoned at the resume rather than matched to a
    /// snapshot after the outage).
    pub inputs_unacked: u64,
    /// Connections lost without a close frame (reset, EOF) after which the bot got its player
    /// back with its resume token and played on. The loss itself is also in `error_kinds`
    /// (`closed_1006` …), and the snapshots missed meanwhile count as dropped.
    pub resumes: u64,
    /// Lost connections the bot could not resume (refused with 4005 after the server's grace,
    /// or no answer within the resume policy, as when the room's node died): see
    /// `error_kinds` `resume_*`. The bot then joins again (`rejoins`) or ends there.
    pub resume_failures: u64,
    /// Failed resumes after which the bot joined again through the entry URL, as a new player
    /// (with the run's first join: a quick play or the named room). Its snapshots missed in
    /// between count as dropped.
    #[serde(default)]
    pub rejoins: u64,
    /// Room hand-overs the bots followed while playing (a node draining its rooms: `Redirect`
    /// + close 4007, then a resume on the room's new node, same player), over the whole run.
    #[serde(default)]
    pub migrations: u64,
    /// Of `migrations`, those no redirect announced: the connection was lost (a reset beat the
    /// server's `Redirect` + 4007) and the resume through the entry found the seat on another
    /// node. The loss is also in `error_kinds` (`closed_1006`).
    #[serde(default)]
    pub migrations_unannounced: u64,
    /// Hand-overs whose resume on the new node failed: players lost to a move (also in
    /// `resume_failures`).
    #[serde(default)]
    pub migrations_failed: u64,
    /// Per hand-over followed: the new node's first snapshot tick − the old node's last one
    /// (1 = no tick missed). Game time pauses while a room is frozen, so a stall shows in
    /// `migration_gap_ms`, not here.
    #[serde(default)]
    pub migration_gap_ticks: TickSummary,
    /// Per hand-over followed: the wall-clock gap between those two snapshots' arrivals (the
    /// freeze the player sees).
    #[serde(default)]
    pub migration_gap_ms: Summary,
    /// Resumes (of any kind) that came back as another player. Must be 0.
    #[serde(default)]
    pub player_id_changes: u64,
    /// Seats the bots saw become held in snapshots (a player whose connection was lost, its
    /// seat kept for a resume), summed over bots: bots of one room each count the same seat.
    pub held_seats_seen: u64,
    /// Server CPU cores used over the steady window (from `process_cpu_seconds_total`).
    pub server_cpu_cores: Option<f64>,
    pub server_cpu_cores_per_1000_clients: Option<f64>,
    /// Server RSS at the end of the steady window (`process_resident_memory_bytes`).
    pub server_rss_bytes: Option<f64>,
    /// Server RSS ÷ connected bots.
    pub server_rss_per_client_bytes: Option<f64>,
    /// Where the server CPU/RSS figures come from: `"proc"` (`/proc/<server pid>`) or
    /// `"metrics"` (the Prometheus endpoint).
    pub server_usage_source: Option<String>,
    /// Why server figures are missing, when they are.
    pub server_metrics_error: Option<String>,
    /// Growth of the server's unlabelled `*_total` counters over the window (e.g.
    /// `tickcast_snapshot_encodings_total` against `tickcast_ticks_total`).
    pub server_counters: BTreeMap<String, f64>,
    /// This process's CPU cores over the steady window.
    pub bot_cpu_cores: Option<f64>,
    pub bot_cpu_cores_per_1000_bots: Option<f64>,
    /// The kernel (system) part of `bot_cpu_cores` — on loopback mostly TCP for both ends.
    pub bot_sys_cores: Option<f64>,
    pub bot_rss_bytes: Option<u64>,
    /// The machine's 1-minute load average at the end of the window, and its CPU count: a load
    /// well above the CPU count means other work competed with the server and the bots.
    pub host_load_1m: Option<f64>,
    pub host_cpus: Option<usize>,
    /// Close codes the bots received, by code ("1000" for the normal end, "1006" for none).
    pub closes: BTreeMap<String, u64>,
    /// Non-fatal server error messages, by code.
    pub server_errors: BTreeMap<String, u64>,
    /// Rooms the bots were put in.
    pub rooms: u64,
    /// Delivery (received / expected over the window) of the bots in each room, by the room
    /// each bot was in at the end: a room's own figure, apart from rooms that had trouble.
    #[serde(default)]
    pub delivery_by_room: BTreeMap<String, f64>,
    /// Snapshot rate the server announced.
    pub tick_rate: Option<u16>,
    pub url: String,
    pub room: String,
    pub behaviour: String,
    /// `delta` or `full` (what the bots joined with).
    pub snapshots: String,
    pub input_hz: f64,
    pub duration_s: f64,
    pub warmup_s: f64,
    /// How long the ramp (all connection attempts) took.
    pub ramp_s: f64,
    /// Length of the steady window.
    pub window_s: f64,
    /// The run was stopped before its planned end.
    pub stopped_early: bool,
    pub thresholds: Thresholds,
    /// Thresholds missed (empty = pass).
    pub failures: Vec<String>,
    /// Reasons to read the figures with care (a saturated bot process, coarse server counters …).
    pub warnings: Vec<String>,
}

impl Report {
    /// Checks the report against `t`, stores the verdict in `thresholds`/`failures` and returns
    /// whether it passed.
    pub fn check(&mut self, t: Thresholds) -> bool {
        self.thresholds = t;
        self.failures.clear();
        if let Some(max) = t.max_p99_ack_ms {
            if self.input_ack_ms.count == 0 {
                self.failures
                    .push(format!("no input was acknowledged (limit p99 ≤ {max} ms)"));
            } else if self.input_ack_ms.p99 > max {
                self.failures.push(format!(
                    "p99 input→ack {:.1} ms > {max} ms",
                    self.input_ack_ms.p99
                ));
            }
        }
        if let Some(min) = t.min_delivery {
            if self.delivery < min {
                self.failures.push(format!(
                    "delivery {:.4} < {min} ({} of {} snapshots)",
                    self.delivery, self.snapshots_received, self.snapshots_expected
                ));
            }
        }
        self.failures.is_empty()
    }

    /// Whether every threshold checked by [`Report::check`] was met.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_pass_and_fail() {
        let mut r = Report {
            delivery: 0.99,
            snapshots_received: 99,
            snapshots_expected: 100,
            input_ack_ms: Summary {
                p50: 30.0,
                p90: 50.0,
                p99: 70.0,
                max: 90.0,
                mean: 35.0,
                count: 10,
            },
            ..Report::default()
        };
        assert!(r.check(Thresholds {
            max_p99_ack_ms: Some(80.0),
            min_delivery: Some(0.98)
        }));
        assert!(!r.check(Thresholds {
            max_p99_ack_ms: Some(60.0),
            min_delivery: Some(0.995)
        }));
        assert_eq!(r.failures.len(), 2);
        assert!(r.table().contains("FAIL"));
        r.input_ack_ms = Summary::default();
        assert!(!r.check(Thresholds {
            max_p99_ack_ms: Some(60.0),
            min_delivery: None
        }));
    }

    #[test]
    fn json_has_the_documented_keys() {
        let v = serde_json::to_value(Report::default()).unwrap();
        for key in [
            "bots",
            "connected",
            "errors",
            "delivery",
            "input_ack_ms",
            "rtt_ms",
            "snapshots_per_s",
            "bytes_in_per_s",
            "bytes_out_per_s",
            "bytes_in_per_client_per_s",
            "encodings_per_offer",
            "snapshots",
            "server_cpu_cores",
            "server_rss_bytes",
            "bot_cpu_cores_per_1000_bots",
            "jitter_ms",
            "join_ms",
            "closes",
            "resumes",
            "resume_failures",
            "held_seats_seen",
            "migrations",
            "migrations_unannounced",
            "migrations_failed",
            "migration_gap_ticks",
            "migration_gap_ms",
            "player_id_changes",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        for key in ["p50", "p90", "p99", "max"] {
            assert!(v["input_ack_ms"].get(key).is_some());
            assert!(v["rtt_ms"].get(key).is_some());
            assert!(v["migration_gap_ticks"].get(key).is_some());
        }
    }

    #[test]
    fn reads_its_own_json_back() {
        let mut r = Report {
            bots: 3,
            delivery: 0.5,
            ..Report::default()
        };
        r.closes.insert("1000".into(), 3);
        let back: Report = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        let partial: Report = serde_json::from_str(r#"{"bots": 7}"#).unwrap();
        assert_eq!(partial.bots, 7);
    }
}
