//! The admin endpoint: `POST /admin/drain` starts a drain of this node (the same one SIGTERM
//! starts with `--redis-url`): it heartbeats `draining`, sends new rooms and quick play to other
//! nodes, answers `/healthz` with 503 "draining", and moves its rooms to the least-loaded other
//! nodes (see [`crate::migration`]). It answers `202 {"draining": true}` at once, or with
//! `?wait=true` `200 {"moved": n, "left": n}` once every room has moved or been left here. The
//! node keeps running, drained, until it is stopped (SIGTERM then exits at once: nothing is
//! left to move). On a single node there is nowhere to move rooms: it answers with every room
//! `left`.
//!
//! Who may call it: the route exists only when the server has `--admin-token` (then every call
//! needs `Authorization: Bearer <token>`, 401 otherwise) or is bound to a loopback address
//! (then only processes on the host reach it). Otherwise it is a 404 like any unknown path.
//!
//! Talks to: the registry ([`StartDrain`]); set up by [`crate::run`].

use std::net::IpAddr;

use actix_web::{http::header, web, HttpRequest, HttpResponse};

use crate::game::Game;
use crate::registry::StartDrain;
use crate::session::SessionEnv;

/// Who may call the admin routes; present only when they are routed.
#[derive(Debug, Clone)]
pub struct AdminAccess {
    token: Option<String>,
}

impl AdminAccess {
    /// The admin routes' access for a server with `token` bound to `bound`: `None` (no admin
    /// routes) without a token on an address other hosts may reach.
    pub fn new(token: Option<String>, bound: IpAddr) -> Option<Self> {
        (token.is_some() || bound.is_loopback()).then_some(AdminAccess { token })
    }

    /// Whether a request with this `Authorization` header may call the admin routes.
    pub fn allows(&self, authorization: Option<&str>) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        let given = authorization.and_then(|h| h.strip_prefix("Bearer "));
        given.is_some_and(|given| same(given.trim().as_bytes(), token.as_bytes()))
    }
}

/// Compares without an early exit, so the time taken does not tell how much of a guess matched.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

#[derive(serde::Deserialize)]
struct DrainQuery {
    #[serde(default)]
    wait: bool,
}

/// Registers the admin routes when `access` allows any.
pub fn routes<G: Game>(cfg: &mut web::ServiceConfig, access: Option<AdminAccess>) {
    if let Some(access) = access {
        cfg.app_data(web::Data::new(access))
            .route("/admin/drain", web::post().to(drain::<G>));
    }
}

async fn drain<G: Game>(
    req: HttpRequest,
    env: web::Data<SessionEnv<G>>,
    access: web::Data<AdminAccess>,
    query: web::Query<DrainQuery>,
) -> HttpResponse {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !access.allows(authorization) {
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
            .json(serde_json::json!({"error": "admin token required"}));
    }
    tracing::info!("drain requested through POST /admin/drain");
    let report = env.registry.send(StartDrain);
    if !query.wait {
        actix_web::rt::spawn(report);
        return HttpResponse::Accepted().json(serde_json::json!({"draining": true}));
    }
    match report.await {
        Ok(report) => HttpResponse::Ok().json(report),
        Err(_) => HttpResponse::ServiceUnavailable().finish(),
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    const PUBLIC: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn without_a_token_the_admin_routes_exist_only_on_a_loopback_bind() {
        assert!(AdminAccess::new(None, PUBLIC).is_none());
        assert!(AdminAccess::new(None, IpAddr::V4(Ipv4Addr::UNSPECIFIED)).is_none());
        let local = AdminAccess::new(None, IpAddr::V6(Ipv6Addr::LOCALHOST)).expect("loopback");
        assert!(local.allows(None), "the host's own processes need no token");
    }

    #[test]
    fn with_a_token_every_call_must_bear_it_even_on_loopback() {
        for bound in [PUBLIC, IpAddr::V4(Ipv4Addr::LOCALHOST)] {
            let access = AdminAccess::new(Some("s3cret".into()), bound).expect("token");
            assert!(access.allows(Some("Bearer s3cret")));
            assert!(!access.allows(None));
            assert!(!access.allows(Some("Bearer s3cre")));
            assert!(!access.allows(Some("Bearer s3cret2")));
            assert!(!access.allows(Some("Basic s3cret")));
            assert!(!access.allows(Some("s3cret")));
        }
    }
}
