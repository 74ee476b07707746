//! [`Report::table`]: the human summary of a [`Report`] that the `tickcast-bot` binary prints,
//! one row per measurement, and its text helpers (byte counts, percentiles, counts by kind).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::report::{Report, Thresholds};
use crate::summary::{Summary, TickSummary};

impl Report {
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
