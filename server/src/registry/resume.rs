//! Resumes: a `Join` with a resume token gets its held seat back. A token this node knows is
//! resumed in its room ([`Reattach`]); an unknown one, on a cluster node, is routed to the
//! room's owner (`registry/cluster.rs`) or, with checkpoints on, may recover the room of a dead
//! node (`registry/recover.rs`).

use actix::prelude::*;

use super::{JoinError, JoinFuture, Joined, Registry, ResumeRoom};
use crate::game::Game;
use crate::room::{Reattach, RoomError};

impl<G: Game> Handler<ResumeRoom<G>> for Registry<G> {
    type Result = JoinFuture<G>;

    fn handle(&mut self, msg: ResumeRoom<G>, ctx: &mut Context<Self>) -> Self::Result {
        if self.resumable.contains_key(&msg.resume_token) || self.cluster.is_none() {
            return self.resume_here(msg);
        }
        if self.checkpoints_on() {
            // The seat may be in a room recovered from its checkpoint (`registry/recover.rs`).
            return self.resume_or_recover(msg, ctx);
        }
        self.resume_elsewhere(msg.room)
    }
}

impl<G: Game> Registry<G> {
    /// A resume for a seat held here (refused when the token is unknown here).
    pub(super) fn resume_here(&mut self, msg: ResumeRoom<G>) -> JoinFuture<G> {
        let Some((room_id, room)) = self
            .resumable
            .get(&msg.resume_token)
            .and_then(|id| self.rooms.get(id))
            .map(|e| (e.id.clone(), e.addr.clone()))
        else {
            return Box::pin(fut::ready(Err(JoinError::ResumeRefused)));
        };
        let reattach = Reattach::<G> {
            resume_token: msg.resume_token,
            seat: msg.seat,
            wake: msg.wake,
        };
        Box::pin(
            room.send(reattach)
                .into_actor(self)
                .map(move |res, _, _| match res {
                    Ok(Ok((player_id, admitted))) => Ok(Joined {
                        player_id,
                        room,
                        room_id,
                        admitted,
                    }),
                    Ok(Err(RoomError::UnknownToken)) => Err(JoinError::ResumeRefused),
                    Ok(Err(_)) | Err(_) => Err(JoinError::RoomFailed),
                }),
        )
    }
}
