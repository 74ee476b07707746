//! [`Progress`]: the live status line (indicatif) shown while a run is going — phase, bots
//! connected, snapshots/s, p50/p99 input→ack, drops, p99 RTT. Hidden unless asked for (the binary
//! asks only when stdout is a terminal).

use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::watch;

use crate::shared::Shared;
use crate::stop::stopped;
use crate::summary::Summary;
use crate::tally::Live;

/// How often the line is redrawn.
const REFRESH: Duration = Duration::from_millis(500);

/// The live status line of one run.
pub(crate) struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A visible line on stdout when `visible`, else a hidden one that costs nothing.
    pub fn new(visible: bool) -> Self {
        let bar = if visible {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout());
            let style = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar
        } else {
            ProgressBar::hidden()
        };
        Progress { bar }
    }

    /// Updates the line every [`REFRESH`] until `stop` turns true.
    pub async fn run(self, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
        if self.bar.is_hidden() {
            return;
        }
        let mut timer = tokio::time::interval(REFRESH);
        let mut last = (Instant::now(), 0u64, 0u64);
        let stopped = stopped(&mut stop);
        tokio::pin!(stopped);
        loop {
            tokio::select! {
                _ = &mut stopped => break,
                _ = timer.tick() => {}
            }
            let live = &shared.tally.live;
            let now = Instant::now();
            let snaps = Live::get(&live.snapshots);
            let dropped = Live::get(&live.dropped);
            let dt = now.duration_since(last.0).as_secs_f64().max(1e-3);
            let rate = (snaps - last.1) as f64 / dt;
            let new_drops = dropped - last.2;
            let drop_pct = if snaps > last.1 {
                100.0 * new_drops as f64 / (snaps - last.1 + new_drops) as f64
            } else {
                0.0
            };
            last = (now, snaps, dropped);
            let h = shared.tally.take_live();
            let ack = Summary::of(&h.ack);
            let rtt = Summary::of(&h.rtt);
            let phase = match shared.window.get() {
                None => "ramp".to_string(),
                Some(w) if now < w.start => "warmup".to_string(),
                Some(w) if now < w.end => format!(
                    "steady {:.0}/{:.0}s",
                    now.duration_since(w.start).as_secs_f64(),
                    w.len().as_secs_f64()
                ),
                Some(_) => "closing".to_string(),
            };
            let connected = Live::get(&live.connected) - Live::get(&live.disconnected);
            // Shown only once a connection was lost: most runs never see one.
            let (resumed, unresumed) = (Live::get(&live.resumes), Live::get(&live.resume_failures));
            let resumes = if resumed + unresumed > 0 {
                format!(" | resumed {resumed} ({unresumed} failed)")
            } else {
                String::new()
            };
            self.bar.set_message(format!(
                "{phase} | bots {connected}/{} ({} failed) | {rate:.0} snap/s | ack p50 {:.1} p99 {:.1} ms | drops {drop_pct:.2}% | rtt p99 {:.1} ms{resumes}",
                shared.config.bots,
                Live::get(&live.failed),
                ack.p50,
                ack.p99,
                rtt.p99,
            ));
            self.bar.tick();
        }
        self.bar.finish_and_clear();
    }
}
