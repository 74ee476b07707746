//! Joins that reach a node while it drains, or for a room on its way out: the registry answers
//! them with a redirect to where the room goes (or to another node for a new room), never with a
//! seat here. Called by the registry's join handler before it seats anyone.

use std::collections::HashMap;

use actix::prelude::*;

use crate::game::Game;
use crate::migration::pick_target;
use crate::registry::{JoinError, JoinFuture, JoinRoom, Registry};

impl<G: Game> Registry<G> {
    /// Joins while draining, or for a room on its way out: routed elsewhere. `None`: the join
    /// goes on as usual (a room that is still here and not moving takes its players along).
    pub(in crate::registry) fn drain_route(&mut self, msg: &JoinRoom<G>) -> Option<JoinFuture<G>> {
        let cluster = self.migration.cluster.clone()?;
        if let Some(name) = &msg.room {
            if let Some(mv) = self.migration.moves.get(name.as_str()) {
                self.metrics
                    .redirects_total
                    .with_label_values(&["migrating"])
                    .inc();
                let (url, room) = (mv.target.url.clone(), name.clone());
                return Some(Box::pin(fut::ready(Err(JoinError::Redirect { url, room }))));
            }
            if self.rooms.contains_key(name.as_str()) {
                return None;
            }
        }
        if !cluster.is_draining() {
            return None;
        }
        let me = cluster.node().id.clone();
        let named = msg.room.clone();
        let fresh = self.new_public_id().to_string();
        let capacity = self.config.max_players_per_room;
        let route = async move {
            if named.is_none() {
                // Quick play: a seat the directory promises (c.f. `POST /matchmake`), unless
                // the directory has not seen this node's draining beat yet and answers here.
                if let Ok(Some(p)) = cluster.matchmake(&fresh, capacity, None).await {
                    if p.node.node.id != me {
                        return Some((p.node.node.url, p.room));
                    }
                }
            }
            // Not `place`: other nodes may not have read this node's draining heartbeat yet.
            let nodes = cluster.nodes().await.ok()?;
            let placed = pick_target(&nodes, &me, &HashMap::new())?;
            Some((placed.node.url.clone(), named.unwrap_or(fresh)))
        };
        Some(Box::pin(route.into_actor(self).map(
            |route, reg, _| match route {
                Some((url, room)) => {
                    reg.metrics
                        .redirects_total
                        .with_label_values(&["draining"])
                        .inc();
                    Err(JoinError::Redirect { url, room })
                }
                None => Err(JoinError::ServerFull),
            },
        )))
    }
}
