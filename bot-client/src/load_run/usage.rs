//! The resources a run measures: this process's and the server's CPU and memory, and the
//! server's counters, read at both ends of the steady window ([`Probe`]); [`apply_usage`] puts
//! the difference in the [`Report`]. The server is read from `/proc/<pid>` when its pid is given,
//! else from its metrics endpoint.

use std::time::Duration;

use super::round;
use crate::load_config::LoadConfig;
use crate::process_usage::ProcessUsage;
use crate::report::Report;
use crate::server_metrics::{ScrapeError, ServerSample};

/// How long one metrics scrape may take.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(3);

/// Resource readings taken at one end of the steady window.
#[derive(Default)]
pub(super) struct Probe {
    bot: Option<ProcessUsage>,
    server_proc: Option<ProcessUsage>,
    metrics: Option<Result<ServerSample, String>>,
}

impl Probe {
    pub(super) async fn take(cfg: &LoadConfig) -> Probe {
        let bot = ProcessUsage::now();
        let server_proc = cfg.server_pid.and_then(ProcessUsage::of_pid);
        let metrics = match cfg.metrics_url.as_deref() {
            Some(url) => Some(scrape(url).await),
            None => None,
        };
        Probe {
            bot,
            server_proc,
            metrics,
        }
    }
}

async fn scrape(url: &str) -> Result<ServerSample, String> {
    ServerSample::scrape(url, SCRAPE_TIMEOUT)
        .await
        .map_err(|e: ScrapeError| e.to_string())
}

/// Bot and server CPU / memory over the window: the server from `/proc/<pid>` when given its
/// pid, else from its metrics endpoint.
pub(super) fn apply_usage(report: &mut Report, start: Probe, end: Probe) {
    let per_1000 = |v: f64, n: u32| (n > 0).then(|| round(v / f64::from(n) * 1000.0));
    let per_client = |v: f64, n: u32| (n > 0).then(|| (v / f64::from(n)).round());
    if let (Some(a), Some(b)) = (start.bot, end.bot) {
        let cores = b.cores_since(&a);
        report.bot_cpu_cores = Some(round(cores));
        report.bot_sys_cores = Some(round(b.sys_cores_since(&a)));
        report.bot_cpu_cores_per_1000_bots = per_1000(cores, report.connected);
        report.bot_rss_bytes = Some(b.rss_bytes);
    }
    let n = report.connected;
    match (start.metrics, end.metrics) {
        (Some(Ok(a)), Some(Ok(b))) => {
            report.server_counters = b.counter_deltas(&a);
            let c = &report.server_counters;
            if let (Some(enc), Some(offers)) = (
                c.get("tickcast_snapshot_encodings_total"),
                c.get("tickcast_snapshot_offers_total"),
            ) {
                report.encodings_per_offer = (*offers > 0.0).then(|| round(enc / offers));
            }
            if let Some(cores) = b.cores_since(&a) {
                report.server_cpu_cores = Some(round(cores));
                report.server_cpu_cores_per_1000_clients = per_1000(cores, n);
                report.server_usage_source = Some("metrics".into());
            }
            report.server_rss_bytes = b.rss_bytes;
            report.server_rss_per_client_bytes = b.rss_bytes.and_then(|r| per_client(r, n));
            if b.cpu_seconds.is_none() || b.rss_bytes.is_none() {
                report.server_metrics_error =
                    Some("process metrics missing from the metrics endpoint".into());
            }
        }
        (Some(Err(e)), _) | (_, Some(Err(e))) => report.server_metrics_error = Some(e),
        (None, None) if report.window_s > 0.0 => {
            report.server_metrics_error = Some("no metrics url".into())
        }
        _ => report.server_metrics_error = Some("run ended before the steady window".into()),
    }
    if report.server_usage_source.as_deref() == Some("metrics") && report.window_s < 60.0 {
        report.warnings.push(
            "server CPU comes from process_cpu_seconds_total, which may move in whole seconds: \
             use --server-pid for a local server or a window of a minute or more"
                .into(),
        );
    }
    if let (Some(a), Some(b)) = (start.server_proc, end.server_proc) {
        report
            .warnings
            .retain(|w| !w.starts_with("server CPU comes from"));
        let cores = b.cores_since(&a);
        report.server_cpu_cores = Some(round(cores));
        report.server_cpu_cores_per_1000_clients = per_1000(cores, n);
        report.server_rss_bytes = Some(b.rss_bytes as f64);
        report.server_rss_per_client_bytes = per_client(b.rss_bytes as f64, n);
        report.server_usage_source = Some("proc".into());
        report.server_metrics_error = None;
    }
}
