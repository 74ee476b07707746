//! Admission: who may open a WebSocket session, decided on the upgrade request before anything
//! is upgraded or allocated.
//!
//! In order: the `Origin` allowlist (403), the signed join token (401), then the connection
//! limits — per client IP (429) and in total (503). An admitted request gets a
//! [`ConnectionSlot`]: an RAII guard the [`crate::session::Session`] holds for its whole life, so
//! the counts go down exactly when sessions stop (however they stop). Refusals are counted in
//! `tickcast_upgrades_refused_total{reason}`.
//!
//! The join token comes in the `Sec-WebSocket-Protocol` header, offered as the subprotocol
//! `tickcast.token.<TOKEN>` next to [`SUBPROTOCOL`] (browsers cannot set headers on a WebSocket,
//! but they can offer subprotocols, and unlike a `?token=` a header stays out of access logs), or
//! else as `Authorization: Bearer` (the browser's probe of a failed upgrade), else in the query
//! (`?token=`, for clients that cannot offer subprotocols). All get the same checks. The upgrade answers [`SUBPROTOCOL`] when, and only when, the client offered it (RFC
//! 6455 §4.1); the token protocol is never answered. Nothing here logs a token.
//!
//! IPv6 clients are counted per /64 network (one subscriber usually holds a whole /64).
//! Behind a reverse proxy every peer address is the proxy's: with `trust_proxy` the client IP is
//! the last `for=` of `Forwarded` or else the last address of `X-Forwarded-For` (the one the proxy
//! appended). Loopback peers are exempt from the per-IP limit unless `limit_loopback` is set
//! (local load tests open thousands of connections from 127.0.0.1).
//!
//! Talks to: [`crate::http`] (the upgrade route calls [`Admission::check`]), [`crate::token`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use parking_lot::Mutex;
use serde::Deserialize;

use crate::config::ServerConfig;
use crate::metrics::Metrics;
use crate::token::{unix_now, Claims, TokenError};

/// Why an upgrade was refused; each maps to one HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("origin not allowed")]
    Origin,
    #[error("unauthorized: {0}")]
    Unauthorized(TokenError),
    #[error("too many connections from your address")]
    PerIpLimit,
    #[error("server full: too many connections")]
    ServerFull,
}

impl Refusal {
    /// The metric label.
    pub fn label(&self) -> &'static str {
        match self {
            Refusal::Origin => "origin",
            Refusal::Unauthorized(_) => "auth",
            Refusal::PerIpLimit => "per_ip",
            Refusal::ServerFull => "total",
        }
    }

    /// The HTTP answer: status and a short plain-text body.
    pub fn response(&self) -> HttpResponse {
        let mut r = match self {
            Refusal::Origin => HttpResponse::Forbidden(),
            Refusal::Unauthorized(_) => HttpResponse::Unauthorized(),
            Refusal::PerIpLimit => HttpResponse::TooManyRequests(),
            Refusal::ServerFull => HttpResponse::ServiceUnavailable(),
        };
        if matches!(self, Refusal::PerIpLimit | Refusal::ServerFull) {
            r.insert_header((header::RETRY_AFTER, "5"));
        }
        r.content_type("text/plain; charset=utf-8")
            .body(format!("{self}\n"))
    }
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// The shared admission state (one per server).
pub struct Admission {
    config: Arc<ServerConfig>,
    metrics: Arc<Metrics>,
    counts: Arc<Mutex<Counts>>,
    /// Normalised allowed origins; empty = any origin.
    origins: Vec<String>,
}

/// Held by a session for its lifetime; releases its connection counts when dropped.
#[derive(Debug)]
pub struct ConnectionSlot {
    counts: Arc<Mutex<Counts>>,
    /// The IP counted against the per-IP limit (`None` when exempt).
    ip: Option<IpAddr>,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut c = self.counts.lock();
        c.total = c.total.saturating_sub(1);
        if let Some(ip) = self.ip {
            if let Some(n) = c.per_ip.get_mut(&ip) {
                *n -= 1;
                if *n == 0 {
                    c.per_ip.remove(&ip);
                }
            }
        }
    }
}

/// What an admitted upgrade carries into its session.
#[derive(Debug)]
pub struct Ticket {
    pub slot: ConnectionSlot,
    /// The verified token's claims when `--auth-secret` is set.
    pub claims: Option<Claims>,
    pub client_ip: Option<IpAddr>,
}

impl Ticket {
    /// The address the per-address limits count this client under (IPv6 by /64; `None` for
    /// loopback without `--limit-loopback`): the room-creation budget charges it too.
    pub fn limited_ip(&self) -> Option<IpAddr> {
        self.slot.ip
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// The subprotocol a tickcast client offers and the upgrade answers (PROTOCOL.md, Handshake).
pub const SUBPROTOCOL: &str = "tickcast.v1";

/// The prefix of the subprotocol that carries a join token: `tickcast.token.<TOKEN>`.
pub const TOKEN_SUBPROTOCOL_PREFIX: &str = "tickcast.token.";

/// The join token of an upgrade request: the first `tickcast.token.<TOKEN>` subprotocol offered
/// in `Sec-WebSocket-Protocol` (the header may repeat; values are comma-separated), else an
/// `Authorization: Bearer <TOKEN>`, else the `?token=` query parameter, else none.
fn request_token(req: &HttpRequest) -> Option<String> {
    let offered = req
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| p.trim().strip_prefix(TOKEN_SUBPROTOCOL_PREFIX));
    if let Some(token) = offered {
        return Some(token.to_owned());
    }
    // A browser cannot put the subprotocol on the plain GET with which it asks why an upgrade
    // failed (`fetch` may not set `Sec-` headers), so it sends the token as a bearer token.
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let Some(token) = bearer {
        return Some(token.trim().to_owned());
    }
    actix_web::web::Query::<TokenQuery>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.into_inner().token)
}

/// The address a per-IP count is kept for: IPv4 addresses as they are (IPv4-mapped IPv6 too);
/// IPv6 addresses by their /64 network, since one subscriber typically gets a whole /64 and
/// could otherwise open `limit` connections from each of 2^64 addresses.
fn limit_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// `scheme://host[:port]`, lower-cased, without a trailing slash.
fn normalise_origin(o: &str) -> String {
    o.trim().trim_end_matches('/').to_ascii_lowercase()
}

impl Admission {
    pub fn new(config: Arc<ServerConfig>, metrics: Arc<Metrics>) -> Self {
        let origins = config
            .allowed_origins
            .iter()
            .map(|o| normalise_origin(o))
            .collect();
        Admission {
            config,
            metrics,
            counts: Arc::default(),
            origins,
        }
    }

    /// Open sessions counted right now (total, distinct IPs) — for tests and debugging.
    pub fn counts(&self) -> (usize, usize) {
        let c = self.counts.lock();
        (c.total, c.per_ip.len())
    }

    /// The client's IP: the peer address, or with `trust_proxy` the last hop the proxy
    /// appended: the last `for=` of the standard `Forwarded` header (RFC 7239) if there is one,
    /// else the last `X-Forwarded-For` entry. Only the last is trusted: earlier entries come from
    /// the client and can say anything.
    pub fn client_ip(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr().map(|a| a.ip());
        if !self.config.trust_proxy {
            return peer;
        }
        let forwarded = req
            .headers()
            .get_all("forwarded")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(forwarded_for)
            .last();
        if forwarded.is_some() {
            return forwarded;
        }
        req.headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .last()
            .or(peer)
    }

    /// Decides on an upgrade request. On success the returned ticket's slot is already counted.
    pub fn check(&self, req: &HttpRequest) -> Result<Ticket, Refusal> {
        let res = self.decide(req);
        if let Err(r) = &res {
            self.metrics
                .upgrades_refused_total
                .with_label_values(&[r.label()])
                .inc();
            tracing::debug!(refusal = %r, peer = ?req.peer_addr(), "upgrade refused");
        }
        res
    }

    fn decide(&self, req: &HttpRequest) -> Result<Ticket, Refusal> {
        if !self.origins.is_empty() {
            // No Origin header: not a browser (browsers always send it on WebSocket upgrades).
            if let Some(origin) = req.headers().get(header::ORIGIN) {
                let origin = origin.to_str().map_err(|_| Refusal::Origin)?;
                if !self.origins.contains(&normalise_origin(origin)) {
                    return Err(Refusal::Origin);
                }
            }
        }
        let claims = match &self.config.auth {
            None => None,
            Some(key) => {
                let token = request_token(req).unwrap_or_default();
                Some(
                    key.verify(&token, unix_now())
                        .map_err(Refusal::Unauthorized)?,
                )
            }
        };
        let client_ip = self.client_ip(req);
        let counted_ip = client_ip
            .map(limit_key)
            .filter(|ip| self.config.limit_loopback || !ip.is_loopback());
        let mut c = self.counts.lock();
        if let Some(ip) = counted_ip {
            if c.per_ip.get(&ip).copied().unwrap_or(0) >= self.config.max_connections_per_ip {
                return Err(Refusal::PerIpLimit);
            }
        }
        if c.total >= self.config.max_connections {
            return Err(Refusal::ServerFull);
        }
        c.total += 1;
        if let Some(ip) = counted_ip {
            *c.per_ip.entry(ip).or_insert(0) += 1;
        }
        drop(c);
        Ok(Ticket {
            slot: ConnectionSlot {
                counts: self.counts.clone(),
                ip: counted_ip,
            },
            claims,
            client_ip,
        })
    }
}

/// The address in one element of a `Forwarded` header (`for=192.0.2.60;proto=http`,
/// `for="[2001:db8::17]:4711"`); none for `unknown`, obfuscated names or anything malformed.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    let value = element.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        k.trim().eq_ignore_ascii_case("for").then_some(v.trim())
    })?;
    let value = value.trim_matches('"');
    if let Some(rest) = value.strip_prefix('[') {
        // [IPv6] or [IPv6]:port
        return rest.split_once(']')?.0.parse().ok();
    }
    // IPv4 or IPv4:port
    value.split(':').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::TokenKey;
    use actix_web::test::TestRequest;

    fn admission(config: ServerConfig) -> Admission {
        Admission::new(Arc::new(config), Arc::new(Metrics::new()))
    }

    fn from(ip: &str) -> TestRequest {
        TestRequest::get()
            .uri("/ws")
            .peer_addr(format!("{ip}:5000").parse().unwrap())
    }

    #[test]
    fn per_ip_and_total_limits_count_live_slots() {
        let a = admission(ServerConfig {
            max_connections: 3,
            max_connections_per_ip: 2,
            ..ServerConfig::default()
        });
        let s1 = a.check(&from("10.0.0.1").to_http_request()).unwrap();
        let s2 = a.check(&from("10.0.0.1").to_http_request()).unwrap();
        assert_eq!(
            a.check(&from("10.0.0.1").to_http_request()).unwrap_err(),
            Refusal::PerIpLimit
        );
        let s3 = a.check(&from("10.0.0.2").to_http_request()).unwrap();
        assert_eq!(
            a.check(&from("10.0.0.3").to_http_request()).unwrap_err(),
            Refusal::ServerFull
        );
        drop(s1);
        assert_eq!(a.counts(), (2, 2));
        let _s4 = a.check(&from("10.0.0.1").to_http_request()).unwrap();
        drop((s2, s3));
        assert_eq!(a.counts(), (1, 1));
    }

    #[test]
    fn ipv6_clients_are_limited_per_64_network() {
        let a = admission(ServerConfig {
            max_connections_per_ip: 1,
            ..ServerConfig::default()
        });
        let v6 = |ip: &str| {
            TestRequest::get()
                .uri("/ws")
                .peer_addr(std::net::SocketAddr::new(ip.parse().unwrap(), 5000))
                .to_http_request()
        };
        let _x = a.check(&v6("2001:db8:1:2::1")).unwrap();
        assert_eq!(
            a.check(&v6("2001:db8:1:2:ffff::9")).unwrap_err(),
            Refusal::PerIpLimit,
            "same /64"
        );
        let _y = a.check(&v6("2001:db8:1:3::1")).unwrap();
        let _z = a.check(&v6("::ffff:10.0.0.1")).unwrap();
        assert_eq!(
            a.check(&from("10.0.0.1").to_http_request()).unwrap_err(),
            Refusal::PerIpLimit,
            "IPv4-mapped counts as the IPv4 address"
        );
    }

    #[test]
    fn loopback_is_exempt_from_the_per_ip_limit_unless_asked() {
        let cfg = ServerConfig {
            max_connections_per_ip: 1,
            ..ServerConfig::default()
        };
        let a = admission(cfg.clone());
        let _x = a.check(&from("127.0.0.1").to_http_request()).unwrap();
        let _y = a.check(&from("127.0.0.1").to_http_request()).unwrap();
        let a = admission(ServerConfig {
            limit_loopback: true,
            ..cfg
        });
        let _x = a.check(&from("127.0.0.1").to_http_request()).unwrap();
        assert_eq!(
            a.check(&from("127.0.0.1").to_http_request()).unwrap_err(),
            Refusal::PerIpLimit
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_forwarded_address_counts() {
        let a = admission(ServerConfig {
            max_connections_per_ip: 1,
            trust_proxy: true,
            ..ServerConfig::default()
        });
        let req = |xff: &str| {
            from("127.0.0.1")
                .insert_header(("x-forwarded-for", xff))
                .to_http_request()
        };
        let _a = a.check(&req("203.0.113.9, 198.51.100.7")).unwrap();
        assert_eq!(
            a.check(&req("1.2.3.4, 198.51.100.7")).unwrap_err(),
            Refusal::PerIpLimit,
            "the last hop is the one the proxy saw"
        );
        let _b = a.check(&req("198.51.100.8")).unwrap();
    }

    #[test]
    fn the_standard_forwarded_header_is_read_too_and_wins() {
        assert_eq!(
            forwarded_for("for=192.0.2.60;proto=http;by=203.0.113.43"),
            Some("192.0.2.60".parse().unwrap())
        );
        assert_eq!(
            forwarded_for(" For=\"[2001:db8:cafe::17]:4711\""),
            Some("2001:db8:cafe::17".parse().unwrap())
        );
        assert_eq!(
            forwarded_for("for=198.51.100.7:8080"),
            Some("198.51.100.7".parse().unwrap())
        );
        for bad in [
            "for=unknown",
            "for=_hidden",
            "proto=https",
            "for=\"[::1",
            "for=",
            "garbage",
        ] {
            assert_eq!(forwarded_for(bad), None, "{bad}");
        }
        let a = admission(ServerConfig {
            max_connections_per_ip: 1,
            trust_proxy: true,
            ..ServerConfig::default()
        });
        let req = |fwd: &str, xff: &str| {
            from("127.0.0.1")
                .insert_header(("forwarded", fwd))
                .insert_header(("x-forwarded-for", xff))
                .to_http_request()
        };
        let _a = a
            .check(&req("for=1.2.3.4, for=203.0.113.9", "198.51.100.1"))
            .unwrap();
        assert_eq!(
            a.check(&req("for=5.6.7.8, for=203.0.113.9", "198.51.100.2"))
                .unwrap_err(),
            Refusal::PerIpLimit,
            "the last Forwarded hop counts, not X-Forwarded-For"
        );
        let _b = a.check(&req("for=unknown", "198.51.100.2")).unwrap();
    }

    #[test]
    fn origins_are_checked_only_when_configured_and_present() {
        let a = admission(ServerConfig {
            allowed_origins: vec!["https://Game.example/".into()],
            ..ServerConfig::default()
        });
        let with = |o: &str| {
            from("10.0.0.1")
                .insert_header(("origin", o))
                .to_http_request()
        };
        assert!(a.check(&with("https://game.example")).is_ok());
        assert_eq!(
            a.check(&with("https://evil.example")).unwrap_err(),
            Refusal::Origin
        );
        assert!(a.check(&from("10.0.0.1").to_http_request()).is_ok());
        let open = admission(ServerConfig::default());
        assert!(open.check(&with("https://evil.example")).is_ok());
    }

    #[test]
    fn tokens_are_required_when_a_secret_is_set() {
        let key = TokenKey::new("k");
        let a = admission(ServerConfig {
            auth: Some(key.clone()),
            ..ServerConfig::default()
        });
        let token = key.mint(&Claims {
            name: "alice".into(),
            player_id: None,
            expires: unix_now() + 60,
        });
        let t = a
            .check(
                &from("10.0.0.1")
                    .uri(&format!("/ws?token={token}"))
                    .to_http_request(),
            )
            .unwrap();
        assert_eq!(t.claims.as_ref().unwrap().name, "alice");
        assert_eq!(a.counts(), (1, 1));
        drop(t);
        assert_eq!(
            a.check(&from("10.0.0.1").to_http_request()).unwrap_err(),
            Refusal::Unauthorized(TokenError::Missing)
        );
        assert_eq!(a.counts(), (0, 0), "refused requests hold no slot");
    }

    fn offering(protocols: &str) -> TestRequest {
        from("10.0.0.1").insert_header((header::SEC_WEBSOCKET_PROTOCOL, protocols))
    }

    #[test]
    fn a_token_offered_as_a_subprotocol_gets_the_same_checks_as_the_query() {
        let key = TokenKey::new("k");
        let a = admission(ServerConfig {
            auth: Some(key.clone()),
            ..ServerConfig::default()
        });
        let claims = |expires| Claims {
            name: "alice".into(),
            player_id: None,
            expires,
        };
        let token = key.mint(&claims(unix_now() + 60));
        let t = a
            .check(&offering(&format!("tickcast.v1, tickcast.token.{token}")).to_http_request())
            .unwrap();
        assert_eq!(t.claims.as_ref().unwrap().name, "alice");
        let expired = key.mint(&claims(unix_now() - 1));
        assert_eq!(
            a.check(&offering(&format!("tickcast.v1, tickcast.token.{expired}")).to_http_request())
                .unwrap_err(),
            Refusal::Unauthorized(TokenError::Expired)
        );
        assert!(matches!(
            a.check(&offering("tickcast.v1, tickcast.token.forged").to_http_request()),
            Err(Refusal::Unauthorized(_))
        ));
        assert_eq!(
            a.check(&offering("tickcast.v1").to_http_request())
                .unwrap_err(),
            Refusal::Unauthorized(TokenError::Missing),
            "offering only the protocol is no token"
        );
    }

    #[test]
    fn the_subprotocol_token_is_found_in_any_header_value_and_wins_over_bearer_and_query() {
        let req = from("10.0.0.1")
            .uri("/ws?token=from-query")
            .append_header((header::SEC_WEBSOCKET_PROTOCOL, "chat"))
            .append_header((
                header::SEC_WEBSOCKET_PROTOCOL,
                "tickcast.v1,tickcast.token.abc.def",
            ))
            .to_http_request();
        assert_eq!(request_token(&req).as_deref(), Some("abc.def"));
        let bearer = from("10.0.0.1")
            .uri("/ws?token=q")
            .insert_header((header::AUTHORIZATION, "Bearer b.c"))
            .to_http_request();
        assert_eq!(request_token(&bearer).as_deref(), Some("b.c"));
        let query_only = from("10.0.0.1").uri("/ws?token=q").to_http_request();
        assert_eq!(request_token(&query_only).as_deref(), Some("q"));
        assert_eq!(
            request_token(&offering("tickcast.v1").to_http_request()),
            None
        );
    }
}
