//! [`Report`]: the result of a load run — the JSON document `--json` writes, the summary table,
//! and the pass/fail check against [`Thresholds`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

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

    /// A human-readable summary table.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let opt = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map_or("n/a".to_string(), f);
        let lat = |x: &Summary| {
            if x.count == 0 {
                "n/a".to_string()
            } else {
                format!(
                    "p50 {:>7.2}  p90 {:>7.2}  p99 {:>7.2}  max {:>8.2} ms  (n={})",
                    x.p50, x.p90, x.p99, x.max, x.count
                )
            }
        };
        let rows: Vec<(&str, String)> = vec![
            ("url", self.url.clone()),
            (
                "bots",
                format!(
                    "{} connected of {} asked, {} rooms, {} errors",
                    self.connected, self.bots, self.rooms, self.errors
                ),
            ),
            (
                "window",
                format!(
                    "{:.1} s steady (ramp {:.1} s, warmup {:.1} s){}",
                    self.window_s,
                    self.ramp_s,
                    self.warmup_s,
                    if self.stopped_early {
                        ", stopped early"
                    } else {
                        ""
                    }
                ),
            ),
            (
                "delivery",
                format!(
                    "{:.3}%, worst bot {:.1}%  ({} received, {} dropped, {} stale)",
                    self.delivery * 100.0,
                    self.delivery_worst_bot * 100.0,
                    self.snapshots_received,
                    self.snapshots_dropped,
                    self.snapshots_stale
                ),
            ),
            ("input→ack", lat(&self.input_ack_ms)),
            ("rtt", lat(&self.rtt_ms)),
            ("jitter", lat(&self.jitter_ms)),
            ("snapshot age", lat(&self.snapshot_age_ms)),
            ("join", lat(&self.join_ms)),
            ("bot loop lag", lat(&self.bot_loop_lag_ms)),
            (
                "throughput",
                format!(
                    "{:.0} {} snapshots/s, in {}/s ({}/s per client), out {}/s{}",
                    self.snapshots_per_s,
                    self.snapshots,
                    human_bytes(self.bytes_in_per_s),
                    human_bytes(self.bytes_in_per_client_per_s),
                    human_bytes(self.bytes_out_per_s),
                    self.encodings_per_offer
                        .map(|e| format!(", server encodings/offer {e:.3}"))
                        .unwrap_or_default()
                ),
            ),
            (
                "server",
                match &self.server_metrics_error {
                    Some(e) if self.server_cpu_cores.is_none() => format!("n/a ({e})"),
                    _ => format!(
                        "cpu {} cores ({} per 1000 clients), rss {} ({} per client)",
                        opt(self.server_cpu_cores, &|v| format!("{v:.3}")),
                        opt(self.server_cpu_cores_per_1000_clients, &|v| format!(
                            "{v:.3}"
                        )),
                        opt(self.server_rss_bytes, &human_bytes),
                        opt(self.server_rss_per_client_bytes, &human_bytes),
                    ),
                },
            ),
            (
                "bot process",
                format!(
                    "cpu {} cores ({} system; {} per 1000 bots), rss {}",
                    opt(self.bot_cpu_cores, &|v| format!("{v:.3}")),
                    opt(self.bot_sys_cores, &|v| format!("{v:.3}")),
                    opt(self.bot_cpu_cores_per_1000_bots, &|v| format!("{v:.3}")),
                    opt(self.bot_rss_bytes.map(|b| b as f64), &human_bytes),
                ),
            ),
            (
                "host",
                format!(
                    "load {} on {} CPUs",
                    opt(self.host_load_1m, &|v| format!("{v:.2}")),
                    self.host_cpus.map_or("?".into(), |n| n.to_string())
                ),
            ),
            (
                "resumes",
                format!(
                    "{} lost connections resumed, {} not ({} rejoined as new players)",
                    self.resumes, self.resume_failures, self.rejoins
                ),
            ),
            (
                "migrations",
                format!(
                    "{} hand-overs followed ({} unannounced), {} lost; gap {} ticks{}; {} player id changes",
                    self.migrations,
                    self.migrations_unannounced,
                    self.migrations_failed,
                    tick_text(&self.migration_gap_ticks),
                    if self.migration_gap_ms.count == 0 {
                        String::new()
                    } else {
                        format!(
                            ", p50 {:.1}  p99 {:.1}  max {:.1} ms",
                            self.migration_gap_ms.p50,
                            self.migration_gap_ms.p99,
                            self.migration_gap_ms.max
                        )
                    },
                    self.player_id_changes
                ),
            ),
            (
                "held seats",
                format!(
                    "{} seen becoming held (summed over bots)",
                    self.held_seats_seen
                ),
            ),
            ("closes", map_text(&self.closes)),
            ("error kinds", map_text(&self.error_kinds)),
            ("server errors", map_text(&self.server_errors)),
        ];
        for (k, v) in rows {
            let _ = writeln!(s, "{k:>14}  {v}");
        }
        for w in &self.warnings {
            let _ = writeln!(s, "{:>14}  {w}", "warning");
        }
        if self.thresholds != Thresholds::default() {
            let verdict = if self.passed() {
                "PASS".to_string()
            } else {
                format!("FAIL: {}", self.failures.join("; "))
            };
            let _ = writeln!(s, "{:>14}  {verdict}", "thresholds");
        }
        s
    }
}

/// `p50 1  p99 3  max 4` (or `n/a` without samples).
fn tick_text(t: &TickSummary) -> String {
    if t.count == 0 {
        return "n/a".into();
    }
    format!("p50 {}  p99 {}  max {}", t.p50, t.p99, t.max)
}

fn map_text(m: &BTreeMap<String, u64>) -> String {
    if m.is_empty() {
        return "none".into();
    }
    m.iter()
        .map(|(k, v)| format!("{k}×{v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `12.3 KiB`-style byte counts.
pub(crate) fn human_bytes(b: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
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

    #[test]
    fn the_table_shows_hand_overs_with_their_gap_in_ticks_and_ms() {
        let r = Report {
            migrations: 16,
            migrations_failed: 1,
            migration_gap_ticks: TickSummary {
                p50: 2,
                p90: 3,
                p99: 5,
                max: 6,
                mean: 2.2,
                count: 16,
            },
            migration_gap_ms: Summary {
                p50: 70.0,
                p99: 160.0,
                max: 190.0,
                count: 16,
                ..Summary::default()
            },
            ..Report::default()
        };
        let table = r.table();
        assert!(
            table.contains(
                "16 hand-overs followed (0 unannounced), 1 lost; gap p50 2  p99 5  max 6 ticks, \
                 p50 70.0  p99 160.0  max 190.0 ms; 0 player id changes"
            ),
            "{table}"
        );
        assert!(Report::default().table().contains(
            "0 hand-overs followed (0 unannounced), 0 lost; gap n/a ticks; 0 player id changes"
        ));
    }

    #[test]
    fn bytes_are_human() {
        assert_eq!(human_bytes(512.0), "512 B");
        assert_eq!(human_bytes(1536.0), "1.5 KiB");
        assert_eq!(human_bytes(3.0 * 1024.0 * 1024.0), "3.0 MiB");
    }
}
