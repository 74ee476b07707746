//! HTTP routes: the WebSocket upgrade, the JSON/Prometheus endpoints and the static web client.
//!
//! - `GET /ws` — upgrade to a [`Session`] once [`Admission`] allows it (origin 403, token 401,
//!   connection limits 429/503), behind the [`FrameGuard`] size check;
//! - `GET /rooms` — JSON list of rooms (in cluster mode every room of the cluster, each with the
//!   `node` and `url` that runs it, read through [`Cluster::rooms`]; with `?totals=true` wrapped
//!   as `{rooms, totals: {nodes, rooms, players}}`, the cluster's totals; with `?local=true` only
//!   the rooms this node runs now, frozen ones left out); `GET /rooms/{id}` — one
//!   room of this node with per-player counters;
//! - `POST /matchmake` — quick play as `{url, room}`: the fullest public room with space
//!   (cluster-wide in cluster mode), else `room: null` at the node a new room should go to;
//! - `GET /healthz` — liveness (503 `"draining"` while a cluster node drains); `GET /metrics` —
//!   Prometheus text;
//! - everything else — the built web client (`--static-dir`), or a page saying how to build it.

use std::path::Path;
use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;

use crate::admission::Admission;
use crate::conn::ConnFd;
use crate::directory::ListedRoom;
use crate::drain::UntilClosed;
use crate::frame_guard::FrameGuard;
use crate::game::Game;
use crate::node::{fullest_public, Cluster};
use crate::registry::{InspectRoom, ListRooms, RoomSummary};
use crate::session::{Session, SessionEnv};

/// Registers every route for game `G`.
pub fn routes<G: Game>(cfg: &mut web::ServiceConfig, static_dir: Option<&Path>) {
    cfg.route("/ws", web::get().to(upgrade::<G>))
        .route("/rooms", web::get().to(list_rooms::<G>))
        .route("/rooms/{id}", web::get().to(inspect_room::<G>))
        .route("/matchmake", web::post().to(matchmake::<G>))
        .route("/healthz", web::get().to(healthz::<G>))
        .route("/metrics", web::get().to(metrics::<G>));
    match static_dir.filter(|d| d.join("index.html").is_file()) {
        Some(dir) => {
            cfg.service(actix_files::Files::new("/", dir).index_file("index.html"));
        }
        None => {
            cfg.route("/", web::get().to(no_client));
        }
    }
}

async fn upgrade<G: Game>(
    req: HttpRequest,
    payload: web::Payload,
    env: web::Data<SessionEnv<G>>,
    admission: web::Data<Admission>,
) -> Result<HttpResponse, actix_web::Error> {
    let ticket = match admission.check(&req) {
        Ok(t) => t,
        Err(refusal) => return Ok(refusal.response()),
    };
    let limit = env.config.max_message_bytes;
    let conn = req.conn_data::<ConnFd>().copied();
    let (guarded, cut) = FrameGuard::new(payload, limit);
    let session = Session::new(env.get_ref().clone(), conn, cut).with_ticket(ticket);
    let response = ws::WsResponseBuilder::new(session, &req, guarded)
        .frame_size(limit)
        .start()?;
    // A shutdown waits for this connection to close (see `drain.rs`).
    if let Some(slot) = req.conn_data::<UntilClosed>() {
        slot.hold(env.open.enter());
    }
    Ok(response)
}

/// A `GET /rooms` entry in cluster mode: the room and where it runs.
#[derive(serde::Serialize)]
struct ClusterRoom<'a> {
    #[serde(flatten)]
    room: &'a RoomSummary,
    node: &'a str,
    url: &'a str,
}

/// `POST /matchmake`'s answer: join `room` at `url` (`room: None`: quick play at `url`, which
/// creates a public room).
#[derive(serde::Serialize)]
struct Match<'a> {
    url: &'a str,
    room: Option<&'a str>,
}

/// This node's cluster handle, registered as app data in cluster mode only.
pub type ClusterData = web::Data<Cluster>;

fn directory_down() -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .json(serde_json::json!({"error": "the cluster directory is unavailable; retry"}))
}

/// `GET /rooms?totals=true`: the list wrapped with the totals of the cluster (of this node on a
/// single node). Without the query the answer stays a bare list, as clients read it.
#[derive(serde::Deserialize)]
struct RoomsQuery {
    #[serde(default)]
    totals: bool,
    /// Only the rooms running on this node now (not those frozen for a migration), whatever
    /// the cluster lists.
    #[serde(default)]
    local: bool,
}

/// The totals of `GET /rooms?totals=true`: live nodes (up or draining, with rooms or without),
/// and their rooms and players as of their last heartbeats.
#[derive(serde::Serialize)]
struct Totals {
    nodes: usize,
    rooms: usize,
    players: usize,
}

/// The answer with totals: `{"rooms": [...], "totals": {...}}`.
fn with_totals(rooms: impl serde::Serialize, totals: Totals) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "rooms": rooms, "totals": totals }))
}

async fn list_rooms<G: Game>(
    env: web::Data<SessionEnv<G>>,
    cluster: Option<ClusterData>,
    query: web::Query<RoomsQuery>,
) -> HttpResponse {
    if let Some(cluster) = cluster.filter(|_| !query.local) {
        let cluster: Arc<Cluster> = cluster.into_inner();
        let Ok(rooms) = cluster.rooms().await else {
            return directory_down();
        };
        let listed: Vec<ClusterRoom> = rooms
            .iter()
            .map(|r| ClusterRoom {
                room: &r.room,
                node: &r.node.id,
                url: &r.node.url,
            })
            .collect();
        if !query.totals {
            return HttpResponse::Ok().json(listed);
        }
        let Ok(nodes) = cluster.nodes().await else {
            return directory_down();
        };
        let totals = Totals {
            nodes: nodes.len(),
            rooms: nodes.iter().map(|n| n.rooms).sum(),
            players: nodes.iter().map(|n| n.players).sum(),
        };
        return with_totals(listed, totals);
    }
    match env.registry.send(ListRooms).await {
        Ok(rooms) if query.totals => {
            let totals = Totals {
                nodes: 1,
                rooms: rooms.len(),
                players: rooms.iter().map(|r| r.players).sum(),
            };
            with_totals(rooms, totals)
        }
        Ok(rooms) => HttpResponse::Ok().json(rooms),
        Err(_) => HttpResponse::ServiceUnavailable().finish(),
    }
}

async fn matchmake<G: Game>(
    req: HttpRequest,
    env: web::Data<SessionEnv<G>>,
    cluster: Option<ClusterData>,
) -> HttpResponse {
    let Some(cluster) = cluster else {
        // One node: this one, as the client reached it.
        let url = {
            let info = req.connection_info();
            let scheme = if info.scheme() == "https" {
                "wss"
            } else {
                "ws"
            };
            format!("{scheme}://{}/ws", info.host())
        };
        return match env.registry.send(ListRooms).await {
            Ok(rooms) => {
                let room = rooms
                    .iter()
                    .filter(|r| r.public && r.players < r.capacity)
                    .max_by_key(|r| r.players)
                    .map(|r| r.id.as_str());
                HttpResponse::Ok().json(Match { url: &url, room })
            }
            Err(_) => HttpResponse::ServiceUnavailable().finish(),
        };
    };
    let cluster: Arc<Cluster> = cluster.into_inner();
    let rooms: Arc<Vec<ListedRoom>> = match cluster.rooms().await {
        Ok(rooms) => rooms,
        Err(_) => return directory_down(),
    };
    if let Some(r) = fullest_public(rooms.iter()) {
        return HttpResponse::Ok().json(Match {
            url: &r.node.url,
            room: Some(&r.room.id),
        });
    }
    match cluster.place().await {
        Ok(Some(node)) => HttpResponse::Ok().json(Match {
            url: &node.node.url,
            room: None,
        }),
        Ok(None) => HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"error": "no node takes new rooms"})),
        Err(_) => directory_down(),
    }
}

async fn inspect_room<G: Game>(
    env: web::Data<SessionEnv<G>>,
    id: web::Path<String>,
) -> HttpResponse {
    match env.registry.send(InspectRoom(id.into_inner())).await {
        Ok(Some(detail)) => HttpResponse::Ok().json(detail),
        Ok(None) => HttpResponse::NotFound().json(serde_json::json!({"error": "no such room"})),
        Err(_) => HttpResponse::ServiceUnavailable().finish(),
    }
}

async fn healthz<G: Game>(
    env: web::Data<SessionEnv<G>>,
    cluster: Option<ClusterData>,
) -> HttpResponse {
    if cluster.is_some_and(|c| c.is_draining()) {
        // Load balancers stop sending new clients; the node's rooms are moving away.
        return HttpResponse::ServiceUnavailable().json(serde_json::json!({
            "status": "draining",
            "rooms": env.metrics.rooms.get(),
            "connections": env.metrics.connections.get(),
        }));
    }
    HttpResponse::Ok().json(serde_json::json!({
        "status": "ok",
        "rooms": env.metrics.rooms.get(),
        "connections": env.metrics.connections.get(),
    }))
}

async fn metrics<G: Game>(env: web::Data<SessionEnv<G>>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(env.metrics.render())
}

/// What `/` shows when the web client is not built.
const NO_CLIENT_PAGE: &str = "<!doctype html><meta charset=utf-8><title>tickcast</title>\
     <h1>tickcast is running</h1>\
     <p>The browser client is not built. Build it with \
     <code>cd web-client &amp;&amp; npm ci &amp;&amp; npm run build</code> and start the server \
     with <code>--static-dir web-client/dist</code> (or just run <code>scripts/demo.sh</code>).</p>\
     <p>Game clients connect to <code>/ws</code>; see <a href=/rooms>/rooms</a>, \
     <a href=/metrics>/metrics</a>, <a href=/healthz>/healthz</a>.</p>";

async fn no_client() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(NO_CLIENT_PAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_no_client_page_names_only_scripts_that_exist() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let scripts: Vec<&str> = NO_CLIENT_PAGE
            .split("<code>")
            .skip(1)
            .filter_map(|c| c.split_once("</code>"))
            .map(|(code, _)| code)
            .filter(|code| code.ends_with(".sh"))
            .collect();
        assert!(!scripts.is_empty(), "the page names a demo script");
        for script in scripts {
            assert!(repo.join(script).is_file(), "{script} does not exist");
        }
    }
}
