//! # tickcast-bot — headless players and a load generator for tickcast servers
//!
//! Built on [`tickcast_shared`] alone for the protocol. Two levels:
//!
//! - [`Bot`] (module `bot`): one scripted player on one WebSocket — `connect`, `send_input`,
//!   `send_ping`, `next_snapshot`, `wait_for_ack`, `close` … — for end-to-end tests (the waits
//!   in `waits`, the resume in `resume`, the WebSocket under it in `socket`).
//! - [`LoadRun`] (module `load_run`) with a [`LoadConfig`] (module `load_config`): thousands of
//!   bots as tasks on one tokio runtime, measured into a [`Report`] (module `report`).
//!
//! The measurement parts, each in its own module:
//!
//! | module | noun |
//! |---|---|
//! | `ack` | [`AckTracker`] — input→ack latency matching |
//! | `delivery` | [`DeliveryTracker`] — tick gaps as drops, inter-arrival jitter, the steady [`Window`] |
//! | `snapshot_view` | [`SnapshotView`] — allocation-free reading of snapshot frames |
//! | `behaviour` | [`Behaviour`] and [`Steering`] — wander, chase, idle |
//! | `summary` | [`Summary`] — p50/p90/p99/max of an HDR histogram, in ms |
//! | `server_metrics` | [`ServerSample`] — the server's CPU and RSS from `/metrics` |
//! | `process_usage` | [`ProcessUsage`] — this process's CPU and RSS |
//! | `duration` | [`parse_duration`] — `30`, `30s`, `2m` |
//! | `join_token` | [`join_token()`] — signed tokens for servers run with `--auth-secret` |
//! | `resume` | [`ResumePolicy`], [`ResumeError`] — getting the player back after a lost connection |
//! | `matchmake` | [`Match`] — `--matchmake`: where `POST /matchmake` on the entry node sends a bot |
//! | `redirect` | [`redirect::Hops`] — following a server's redirect to the room's node |
//! | `report_table` | [`Report::table`] — the summary table the binary prints |
//! | `migration` | `Migrations` — the room hand-overs a bot followed: how many, the gap in ticks and ms, player id changes |
//! | `socket` | [`Traffic`] — the WebSocket under a [`Bot`]: binary frames, bytes counted, its close |
//! | `error` | [`BotError`] |
//! | `close` | [`CloseInfo`] — how a connection ended (1006 when without a close frame) |
//! | `stop` | [`StopHandle`] — the run's stop signal, which every task of a run waits on |
//! | `session`, `play`, `outcome`, `held_seats` | internals of a run: one bot's life (join, play loop, lost connections), its handlers for each event, what it hands back, the held seats it saw |
//! | `shared`, `tally`, `progress`, `cadence` | internals of a run: what all its tasks share, shared histograms, the live line, the ping schedule |
//!
//! Every figure in a [`Report`] covers the steady window only (after the ramp and `warmup`).

pub mod ack;
pub mod behaviour;
pub mod bot;
mod cadence;
pub mod close;
pub mod delivery;
pub mod duration;
pub mod error;
mod held_seats;
pub mod join_token;
pub mod load_config;
pub mod load_run;
pub mod matchmake;
mod migration;
mod outcome;
mod play;
pub mod process_usage;
mod progress;
pub mod redirect;
pub mod report;
mod report_table;
pub mod resume;
pub mod server_metrics;
mod session;
mod shared;
pub mod snapshot_view;
mod socket;
pub mod stop;
pub mod summary;
mod tally;
mod waits;

pub use ack::AckTracker;
pub use behaviour::{Behaviour, Steering};
pub use bot::{Bot, Event, Frame, Message};
pub use close::CloseInfo;
pub use delivery::{Arrival, DeliveryTracker, Window};
pub use duration::{parse_duration, DurationError};
pub use error::BotError;
pub use join_token::{join_token, with_token};
pub use load_config::{ConfigError, LoadConfig, RoomChoice, SnapshotMode};
pub use load_run::{LoadError, LoadRun};
pub use matchmake::{Match, MatchmakeError};
pub use process_usage::ProcessUsage;
pub use report::{Report, Thresholds};
pub use resume::{ResumeError, ResumePolicy, Resumed};
pub use server_metrics::{metrics_url_for, ServerSample};
pub use snapshot_view::{OwnPlayer, ScanError, SnapshotView};
pub use socket::Traffic;
pub use stop::StopHandle;
pub use summary::{Summary, TickSummary};
