//! The cluster flags: `--redis-url` turns a server into a cluster node, and the flags that only
//! mean something then. [`ClusterArgs::config`] is their one validating conversion; the
//! server's [`super::ServerArgs`] flattens them and calls it from `ServerConfig::try_from`.

use std::path::PathBuf;
use std::time::Duration;

use super::{at_least, seconds, ConfigError};
use crate::config::ClusterConfig;

/// The shortest lease TTL accepted; shorter ones are raised to it (heartbeats come every third
/// of it, and one Redis round trip must fit well inside that).
pub const MIN_LEASE_TTL: Duration = Duration::from_millis(300);

/// The flags of a cluster node.
#[derive(Debug, Clone, clap::Args)]
pub struct ClusterArgs {
    /// Run as a cluster node on this Redis (`redis://…`, `rediss://…` for TLS,
    /// `redis+unix:///path?…`); without it the server is a single node and needs no Redis.
    #[arg(long, env = "TICKCAST_REDIS_URL")]
    pub redis_url: Option<String>,
    /// PEM file of the CA certificate(s) to trust for a `rediss://` Redis, instead of the
    /// system's roots (a private CA).
    #[arg(long, env = "TICKCAST_REDIS_CA")]
    pub redis_ca: Option<PathBuf>,
    /// This node's id in the cluster (a fresh uuid when absent).
    #[arg(long, env = "TICKCAST_NODE_ID")]
    pub node_id: Option<String>,
    /// The WebSocket URL clients reach this node at (`ws://…/ws` or `wss://…/ws`); the bound
    /// address when absent.
    #[arg(long, env = "TICKCAST_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Seconds a node's records and room leases live without a heartbeat (one every third).
    #[arg(long, env = "TICKCAST_LEASE_TTL",
        default_value_t = ClusterConfig::new("").lease_ttl.as_secs_f64())]
    pub lease_ttl: f64,
    /// Seconds start-up keeps retrying a Redis that cannot be reached before it fails.
    #[arg(long, env = "TICKCAST_REDIS_CONNECT_TIMEOUT",
        default_value_t = ClusterConfig::new("").connect_timeout.as_secs_f64())]
    pub redis_connect_timeout: f64,
    /// Seconds a drain (SIGTERM with --redis-url, `POST /admin/drain`) may take to move this
    /// node's rooms to other nodes; rooms still here then close with 1001.
    #[arg(long, env = "TICKCAST_DRAIN_TIMEOUT",
        default_value_t = ClusterConfig::new("").drain_timeout.as_secs_f64())]
    pub drain_timeout: f64,
    /// Seconds between the fenced images each room writes to Redis for crash recovery (0: off,
    /// a dead node's rooms are lost). Costs about one image per room per interval.
    #[arg(long, env = "TICKCAST_CHECKPOINT_INTERVAL", default_value_t = 0.0)]
    pub checkpoint_interval: f64,
}

impl ClusterArgs {
    /// The cluster settings, when `--redis-url` is given; `None` for a single node.
    pub fn config(&self) -> Result<Option<ClusterConfig>, ConfigError> {
        let Some(url) = self
            .redis_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        else {
            if self.node_id.is_some() {
                return Err(ConfigError::NeedsRedis("node-id"));
            }
            if self.public_url.is_some() {
                return Err(ConfigError::NeedsRedis("public-url"));
            }
            if self.redis_ca.is_some() {
                return Err(ConfigError::NeedsRedis("redis-ca"));
            }
            return Ok(None);
        };
        let tls = url.starts_with("rediss://");
        if !(tls || url.starts_with("redis://") || url.starts_with("redis+unix://")) {
            return Err(ConfigError::RedisUrl(url.to_string()));
        }
        let mut cluster = ClusterConfig::new(url);
        if let Some(path) = &self.redis_ca {
            let refuse = |reason: String| ConfigError::RedisCa {
                path: path.clone(),
                reason,
            };
            if !tls {
                return Err(refuse("only a rediss:// --redis-url uses a CA".into()));
            }
            cluster.redis_ca = Some(std::fs::read(path).map_err(|e| refuse(e.to_string()))?);
        }
        if let Some(id) = self
            .node_id
            .as_deref()
            .map(str::trim)
            .filter(|i| !i.is_empty())
        {
            cluster.node_id = id.to_string();
        }
        if let Some(public) = &self.public_url {
            let public = public.trim();
            let host = public
                .strip_prefix("ws://")
                .or_else(|| public.strip_prefix("wss://"))
                .map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
            if host.is_none_or(str::is_empty) {
                return Err(ConfigError::PublicUrl(public.to_string()));
            }
            cluster.public_url = Some(public.to_string());
        }
        cluster.lease_ttl = at_least(
            "lease-ttl",
            seconds("lease-ttl", self.lease_ttl)?,
            MIN_LEASE_TTL,
        );
        cluster.connect_timeout = seconds("redis-connect-timeout", self.redis_connect_timeout)?;
        cluster.drain_timeout = seconds("drain-timeout", self.drain_timeout)?;
        let every = seconds("checkpoint-interval", self.checkpoint_interval)?;
        cluster.checkpoint_interval = (!every.is_zero()).then_some(every);
        Ok(Some(cluster))
    }
}
