//! What the HTTP layer (and this node's heartbeat) asks the registry: the room list and one
//! room's detail.

use std::sync::atomic::Ordering::Relaxed;

use actix::prelude::*;

use super::{InspectRoom, ListRooms, Registry, RoomSummary};
use crate::game::Game;
use crate::room::{Inspect, RoomDetail};

impl<G: Game> Registry<G> {
    /// The room list as `GET /rooms` (and this node's heartbeat) shows it.
    pub(super) fn summaries(&self) -> Vec<RoomSummary> {
        self.rooms
            .values()
            .map(|e| RoomSummary {
                id: e.id.to_string(),
                players: e.players,
                capacity: self.config.max_players_per_room,
                tick: e.stats.tick.load(Relaxed),
                public: e.public,
            })
            .collect()
    }
}

impl<G: Game> Handler<ListRooms> for Registry<G> {
    type Result = MessageResult<ListRooms>;

    /// The rooms running here: a room frozen for its migration is left out (it runs nowhere
    /// until its adoption or its unfreeze).
    fn handle(&mut self, _: ListRooms, _: &mut Context<Self>) -> Self::Result {
        let mut rooms = self.summaries();
        rooms.retain(|r| !self.is_moving(&r.id));
        MessageResult(rooms)
    }
}

impl<G: Game> Handler<InspectRoom> for Registry<G> {
    type Result = ResponseFuture<Option<RoomDetail>>;

    fn handle(&mut self, msg: InspectRoom, _: &mut Context<Self>) -> Self::Result {
        let addr = self.rooms.get(msg.0.as_str()).map(|e| e.addr.clone());
        Box::pin(async move {
            match addr {
                Some(addr) => addr.send(Inspect).await.ok(),
                None => None,
            }
        })
    }
}
