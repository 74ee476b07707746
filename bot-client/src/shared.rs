//! [`Shared`]: what every task of one load run reads — the config, the clock origin, the steady
//! window once the ramp is over, and the [`Tally`] the bots record into.
//!
//! [`crate::LoadRun`] builds it and sets the window; each bot's session and play loop, the
//! progress line and the lag probe only read it (and record into the tally).

use std::sync::OnceLock;
use std::time::Instant;

use crate::delivery::Window;
use crate::load_config::LoadConfig;
use crate::tally::Tally;

/// State every session of a run shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: LoadConfig,
    /// Clock origin: ping `client_time` is milliseconds since this instant.
    pub t0: Instant,
    /// The steady window, set once the ramp is over.
    pub window: OnceLock<Window>,
    pub tally: Tally,
}
