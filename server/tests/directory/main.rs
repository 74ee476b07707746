//! The directory's contract, checked against both implementations: the conformance suite runs
//! once on `MemoryDirectory` (a manual clock) and once on `RedisDirectory` (a real
//! `redis-server` started per test). Its leases are long and lapse only when a test lets one
//! TTL pass, so no assertion races the machine's speed. Redis-only tests cover what only a real
//! server has: key layout and TTLs, expiry on its own clock (300 ms leases), concurrent
//! connections, a server that dies and comes back.
//!
//! Needs `redis-server` on the PATH (`scripts/test.sh` installs it).

mod conformance;
mod fixture;
mod redis_only;
// Shared with the cluster e2e tests (`tests/tests/cluster_*.rs`).
#[path = "../../../tests/tests/common/redis_server.rs"]
mod redis_server;

/// The conformance suite, once per implementation.
mod memory {
    crate::conformance_suite!(crate::fixture::memory);
}

mod redis {
    crate::conformance_suite!(crate::fixture::redis);
}
