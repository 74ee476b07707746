//! The arena's configuration: the parameters loaded from `assets/arena.toml`, and the checks
//! that refuse an arena that could not run (also applied to a restored arena's own config, see
//! [`super::save`]).
//!
//! Talks to: nobody. Read by the binary at start-up; owned by each [`super::Arena`].

use serde::Deserialize;
use tickcast_shared::arena::ArenaInfo;

use super::RoundRules;

/// The arena's parameters, as loaded from `assets/arena.toml`: the [`ArenaInfo`] every client
/// gets in its welcome (the file's keys `width` … `boost`), plus what only the server needs.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArenaConfig {
    /// What clients need for rendering and prediction, sent as `Welcome.game`.
    #[serde(flatten)]
    pub info: ArenaInfo,
    /// Orbs on the field at any time; a collected orb respawns at a random place.
    pub orb_count: u16,
    /// How long rounds last; `None` plays one endless game. Not in the file: the server's
    /// `--round-secs` and `--round-over-secs` set it (see `ServerArgs::arena`).
    #[serde(skip)]
    pub rounds: Option<RoundRules>,
}

/// Why an arena configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ArenaConfigError {
    #[error("cannot read arena config: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid arena config: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("invalid arena config: {0}")]
    Invalid(&'static str),
}

impl Default for ArenaConfig {
    fn default() -> Self {
        ArenaConfig {
            info: ArenaInfo::default(),
            orb_count: 24,
            rounds: None,
        }
    }
}

impl ArenaConfig {
    /// Parses and checks a TOML arena description.
    pub fn from_toml(text: &str) -> Result<Self, ArenaConfigError> {
        let c: ArenaConfig = toml::from_str(text)?;
        c.validate()?;
        Ok(c)
    }

    /// Loads and checks `path`.
    pub fn load(path: &std::path::Path) -> Result<Self, ArenaConfigError> {
        Self::from_toml(&std::fs::read_to_string(path)?)
    }

    pub(super) fn validate(&self) -> Result<(), ArenaConfigError> {
        let i = &self.info;
        let all = [
            i.width,
            i.height,
            i.player_radius,
            i.orb_radius,
            i.accel,
            i.max_speed,
            i.drag,
            i.boost,
        ];
        if all.iter().any(|v| !v.is_finite() || *v <= 0.0) {
            return Err(ArenaConfigError::Invalid(
                "every number must be finite and > 0",
            ));
        }
        // Players and orbs are placed at random at least a radius from each wall.
        let widest = i.player_radius.max(i.orb_radius);
        if i.width <= 2.0 * widest || i.height <= 2.0 * widest {
            return Err(ArenaConfigError::Invalid(
                "the arena must be wider than a player and an orb",
            ));
        }
        if i.drag > 1.0 {
            return Err(ArenaConfigError::Invalid(
                "drag is a fraction kept per second (0..=1)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_config_file_loads() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/arena.toml");
        let c = ArenaConfig::load(std::path::Path::new(path)).unwrap();
        assert_eq!(c, ArenaConfig::default());
    }

    #[test]
    fn bad_configs_are_refused() {
        let ok =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/arena.toml"))
                .unwrap();
        assert!(ArenaConfig::from_toml(&ok.replace("width = 1600.0", "width = -1.0")).is_err());
        assert!(ArenaConfig::from_toml(&ok.replace("drag = 0.02", "drag = 2.0")).is_err());
        assert!(ArenaConfig::from_toml(&format!("{ok}\nbogus = 1\n")).is_err());
        // An orb that cannot fit would make placing it at random panic.
        assert!(
            ArenaConfig::from_toml(&ok.replace("orb_radius = 8.0", "orb_radius = 450.0")).is_err()
        );
    }

    #[test]
    fn a_config_error_names_the_unknown_or_missing_key() {
        let ok =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/arena.toml"))
                .unwrap();
        let error = |text: &str| match ArenaConfig::from_toml(text) {
            Err(e) => e.to_string(),
            Ok(c) => panic!("{c:?} should have been refused"),
        };
        assert!(error(&format!("{ok}\nbogus = 1\n")).contains("unknown field `bogus`"));
        assert!(error(&ok.replace("width = 1600.0\n", "")).contains("missing field `width`"));
        assert!(error(&ok.replace("orb_count = 24\n", "")).contains("missing field `orb_count`"));
        assert!(error(&ok.replace("drag = 0.02", "drag = 2.0")).contains("drag is a fraction"));
    }
}
