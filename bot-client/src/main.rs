//! `tickcast-bot`: a load generator for tickcast servers. See `tickcast-bot --help`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use tickcast_bot::{
    parse_duration, Behaviour, LoadConfig, LoadRun, RoomChoice, SnapshotMode, Thresholds,
};

/// Drive N headless players against a tickcast server and measure what they feel:
/// input→ack latency, RTT, snapshot delivery and jitter, plus the server's and the bot's own CPU
/// and memory. Exit code 0 = ran (and met the thresholds), 2 = a threshold was missed, 1 = error.
#[derive(Debug, Parser)]
#[command(name = "tickcast-bot", version)]
struct Cli {
    /// The server's WebSocket URL.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    url: String,
    /// Number of bots (one WebSocket each).
    #[arg(long, value_name = "N", default_value_t = 100)]
    bots: u32,
    /// Play time after the ramp, warmup included: `30`, `30s`, `2m`.
    #[arg(long, value_name = "SECONDS", default_value = "30s", value_parser = parse_duration)]
    duration: Duration,
    /// Start of the play time excluded from the measurements: `5`, `5s`
    /// [default: 2s, or a quarter of --duration when that is shorter].
    #[arg(long, value_name = "SECONDS", value_parser = parse_duration)]
    warmup: Option<Duration>,
    /// Write the JSON report to this file (`-` for stdout).
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// `any` (matchmaking) or a room id every bot joins.
    #[arg(long, value_name = "any|ID", default_value = "any")]
    room: RoomChoice,
    /// Each bot asks `POST /matchmake` on the --url node (the entry node) where to play, then
    /// joins that room at that node (quick play there when it answers no room); --room is unused.
    #[arg(long)]
    matchmake: bool,
    /// New connections per second (default: as fast as --max-connecting allows).
    #[arg(long, value_name = "PER_SECOND")]
    ramp: Option<f64>,
    /// Connection attempts in flight at once.
    #[arg(long, default_value_t = 256)]
    max_connecting: usize,
    /// Inputs per second per bot (0 = none).
    #[arg(long, default_value_t = 30.0)]
    input_hz: f64,
    /// Packed delta snapshots (`"d"`) against each bot's acknowledged baseline, the older
    /// `"delta"` form of them, or full snapshots.
    #[arg(long, value_name = "packed|delta|full", default_value = "packed")]
    snapshots: SnapshotMode,
    /// How the bots move: wander, chase or idle.
    #[arg(long, value_name = "wander|chase|idle", default_value = "wander")]
    behaviour: Behaviour,
    /// Prometheus endpoint for server CPU/RSS (default: same host/port as --url, path /metrics;
    /// `none` to skip).
    #[arg(long)]
    metrics_url: Option<String>,
    /// The server's pid, when it runs on this machine: read its CPU and RSS from /proc/PID
    /// (finer than the metrics endpoint's whole-second CPU counter).
    #[arg(long)]
    server_pid: Option<u32>,
    /// The server's --auth-secret: each bot connects with a signed join token for its name.
    #[arg(long, env = "TICKCAST_AUTH_SECRET", hide_env_values = true)]
    auth_secret: Option<String>,
    /// Fail (exit 2) if p99 input→ack latency exceeds this many milliseconds.
    #[arg(long)]
    max_p99_ack_ms: Option<f64>,
    /// Fail (exit 2) if the delivery ratio (0..1) is below this.
    #[arg(long)]
    min_delivery: Option<f64>,
    /// Worker threads for the bots (1 = a single-threaded runtime).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Seed for the bots' movement.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Bot name prefix (names are PREFIX + index, at most 20 characters).
    #[arg(long, default_value = "bot-")]
    name_prefix: String,
    /// Timeout for connecting and for the welcome, e.g. `10s`.
    #[arg(long, value_name = "SECONDS", default_value = "10s", value_parser = parse_duration)]
    connect_timeout: Duration,
    /// Attempts to resume a bot whose connection is lost without a close frame (reset, EOF),
    /// with its resume token, as the same player, through the entry URL; 0 = never. When the seat
    /// is gone (a refused 4005, or no answer: its node died) the bot joins again as a new player
    /// through the entry URL (counted in the report's resume_failures and rejoins).
    #[arg(long, value_name = "N", default_value_t = 3)]
    resume_attempts: u32,
    /// No progress line and no summary table (the JSON report is still written).
    #[arg(long, short)]
    quiet: bool,
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tickcast-bot: error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn real_main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let mut config = LoadConfig::new(cli.url.clone(), cli.bots, cli.duration);
    config.warmup = cli
        .warmup
        .unwrap_or_else(|| Duration::from_secs(2).min(cli.duration / 4));
    config.room = cli.room.clone();
    config.matchmake = cli.matchmake;
    config.ramp_per_second = cli.ramp;
    config.max_connecting = cli.max_connecting;
    config.input_hz = cli.input_hz;
    config.behaviour = cli.behaviour;
    config.snapshots = cli.snapshots;
    config.seed = cli.seed;
    config.server_pid = cli.server_pid;
    config.auth_secret = cli.auth_secret.clone();
    config.name_prefix = cli.name_prefix.clone();
    config.connect_timeout = cli.connect_timeout;
    config.resume.attempts = cli.resume_attempts;
    config.shards = cli.threads.max(1) * 2;
    let json_to_stdout = cli.json.as_deref().is_some_and(|p| p.as_os_str() == "-");
    config.progress = !cli.quiet && !json_to_stdout && std::io::stdout().is_terminal();
    match cli.metrics_url.as_deref() {
        Some("none") => config.metrics_url = None,
        Some(u) => config.metrics_url = Some(u.to_string()),
        None => {}
    }
    config.validate()?;
    if let Some(d) = cli.min_delivery {
        anyhow::ensure!(
            (0.0..=1.0).contains(&d),
            "--min-delivery must be within 0..1, got {d}"
        );
    }

    let runtime = if cli.threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cli.threads)
            .enable_all()
            .build()
    }
    .context("could not start the tokio runtime")?;

    let mut report = runtime.block_on(async {
        let run = LoadRun::new(config);
        let stop = run.stop_handle();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.stop();
            }
        });
        run.run().await
    })?;
    let passed = report.check(Thresholds {
        max_p99_ack_ms: cli.max_p99_ack_ms,
        min_delivery: cli.min_delivery,
    });

    let json = serde_json::to_string_pretty(&report).context("could not serialise the report")?;
    match cli.json.as_deref() {
        Some(p) if p.as_os_str() == "-" => println!("{json}"),
        Some(p) => std::fs::write(p, json + "\n")
            .with_context(|| format!("could not write the report to {}", p.display()))?,
        None => {}
    }
    if !cli.quiet {
        let table = report.table();
        if json_to_stdout {
            eprint!("{table}");
        } else {
            print!("{table}");
        }
    }
    if report.connected == 0 {
        eprintln!("tickcast-bot: no bot could join {}", report.url);
        return Ok(ExitCode::from(1));
    }
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchmake_is_an_opt_in_flag() {
        let cli = Cli::try_parse_from([
            "tickcast-bot",
            "--url",
            "ws://127.0.0.1:8081/ws",
            "--matchmake",
        ])
        .expect("--matchmake should parse");
        assert!(cli.matchmake);
        let cli = Cli::try_parse_from(["tickcast-bot"]).expect("no flags should parse");
        assert!(!cli.matchmake);
    }
}
