//! The join half of the session: validating a `Join`, asking the registry (a fresh join or a
//! resume), and what the session keeps of its room once joined ([`Membership`]). The actor in
//! `session.rs` calls [`Session::on_join`] for a `Join` message; the room and registry answer here.

use super::*;

/// The registry's answer to a join or a resume.
type JoinRequest<G> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Result<Joined<G>, JoinError>, MailboxError>>>,
>;

/// The session's place in a room while [`Phase::Joined`].
pub(super) struct Membership<G: Game> {
    pub(super) room: Addr<Room<G>>,
    pub(super) room_id: Arc<str>,
    pub(super) player_id: Uuid,
    pub(super) seat: Arc<Seat<G::Input>>,
}

impl<G: Game> Membership<G> {
    /// Leave the room for good (a close either side chose).
    pub(super) fn leave(self) {
        self.room.do_send(RemovePlayer {
            player_id: self.player_id,
            seat_id: self.seat.id(),
        });
    }

    /// The connection was lost without a close: the room holds the seat for a resume.
    pub(super) fn detach(self) {
        self.room.do_send(DetachPlayer {
            player_id: self.player_id,
            seat_id: self.seat.id(),
        });
    }
}

pub(super) type Phase<G> = phase::Phase<Membership<G>>;

impl<G: Game> Session<G> {
    pub(super) fn on_join(
        &mut self,
        join: tickcast_shared::Join,
        ctx: &mut ws::WebsocketContext<Self>,
    ) {
        if !self.phase.begin_join() {
            return self.send_error(ctx, error_code::ALREADY_JOINED, "already joined; ignored");
        }
        let name = match validate_join(&join) {
            Ok(n) => n,
            Err(refusal) => return self.close(ctx, refusal),
        };
        if let Some(claims) = self.ticket.as_ref().and_then(|t| t.claims.as_ref()) {
            if claims.name.trim() != name {
                return self.close(ctx, Close::NameNotInToken);
            }
            tracing::debug!(account = ?claims.player_id, %name, "token holder joining");
        }
        let deltas = join.deltas && self.env.config.deltas_enabled();
        let seat = Arc::new(
            Seat::new()
                .with_deltas(deltas)
                .with_packed(deltas && join.packed),
        );
        let wake = self.wake.clone();
        let registry = self.env.registry.clone();
        // A join with a resume token asks for that player back; any other join gets a new
        // player and a fresh token.
        let (request, resume_token): (JoinRequest<G>, Arc<str>) = match join.resume {
            Some(token) => {
                let token: Arc<str> = token.into();
                let request = registry.send(ResumeRoom::<G> {
                    resume_token: token.clone(),
                    room: join.room,
                    seat: seat.clone(),
                    wake,
                });
                (Box::pin(request), token)
            }
            None => {
                let token: Arc<str> = Uuid::new_v4().simple().to_string().into();
                let request = registry.send(JoinRoom::<G> {
                    room: join.room,
                    player_id: Uuid::new_v4(),
                    name,
                    resume_token: token.clone(),
                    seat: seat.clone(),
                    wake,
                    client: self.ticket.as_ref().and_then(Ticket::limited_ip),
                    home: Arbiter::try_current(),
                });
                (Box::pin(request), token)
            }
        };
        request
            .into_actor(self)
            .map(move |res, act, ctx| {
                // A session that closed meanwhile ignores the answer (a close is a no-op once
                // closing); the room frees a seat it gave it on its next tick.
                let refusal = match res {
                    Ok(Ok(joined)) => {
                        let a = joined.admitted;
                        let (room_id, player_id) = (joined.room_id.clone(), joined.player_id);
                        let membership = Membership {
                            room: joined.room,
                            room_id: joined.room_id,
                            player_id,
                            seat,
                        };
                        if act.phase.joined(membership).is_err() {
                            return;
                        }
                        tracing::debug!(%room_id, %player_id, "joined");
                        let welcome = ServerMsg::Welcome(Welcome {
                            player_id,
                            room_id: room_id.to_string(),
                            tick_rate: a.tick_rate,
                            tick: a.tick,
                            max_players: a.max_players,
                            game: a.info,
                            resume_token: Some(resume_token.to_string()),
                        });
                        return act.send(ctx, &welcome);
                    }
                    Ok(Err(JoinError::RoomFull)) => Close::RoomFull,
                    Ok(Err(JoinError::ServerFull)) => Close::ServerFull,
                    Ok(Err(JoinError::CreationLimited { retry_after })) => {
                        Close::RoomCreationLimited {
                            retry_after_secs: retry_after_secs(retry_after),
                        }
                    }
                    Ok(Err(JoinError::ResumeRefused)) => Close::ResumeRefused,
                    Ok(Err(JoinError::Redirect { url, room })) => {
                        // Cluster mode: the room is on another node; the client follows. (A
                        // session closing meanwhile sends nothing more.)
                        if !act.phase.is_closing() {
                            let redirect = Redirect { url, room_id: room };
                            act.send(ctx, &ServerMsg::Redirect(redirect));
                        }
                        Close::Redirected
                    }
                    Ok(Err(JoinError::RoomFailed | JoinError::DirectoryUnavailable)) | Err(_) => {
                        Close::JoinFailed
                    }
                };
                act.close(ctx, refusal);
            })
            .spawn(ctx);
    }
}
