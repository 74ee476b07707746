//! Which room a join goes to: rooms are filled one after another, N players each, in the order
//! the joins arrive (what tickcast's quick play does for a load run of identical bots).
//!
//! Talks to: nobody. The connection tasks share one `Lobby` behind a mutex (`main.rs`); the room
//! handle type is generic so the rule is tested without a runtime.

/// The open room and how many more joins it takes. See the module docs.
#[derive(Debug)]
pub struct Lobby<H> {
    room_size: usize,
    rooms_opened: u64,
    open: Option<(H, usize)>,
}

impl<H: Clone> Lobby<H> {
    pub fn new(room_size: usize) -> Self {
        Lobby {
            room_size: room_size.max(1),
            rooms_opened: 0,
            open: None,
        }
    }

    /// The room for the next join: the open room while it has seats and `is_live` says it still
    /// runs (a room ends when its last player leaves), else a new one from `open_room(room_id)`.
    /// A seat given out is not given back when its player leaves.
    pub fn place(
        &mut self,
        is_live: impl Fn(&H) -> bool,
        open_room: impl FnOnce(String) -> H,
    ) -> H {
        match &mut self.open {
            Some((room, seats)) if *seats > 0 && is_live(room) => {
                *seats -= 1;
                room.clone()
            }
            _ => {
                self.rooms_opened += 1;
                let room = open_room(format!("ref-{}", self.rooms_opened));
                self.open = Some((room.clone(), self.room_size - 1));
                room
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(lobby: &mut Lobby<String>) -> String {
        lobby.place(|_| true, |id| id)
    }

    #[test]
    fn rooms_fill_up_one_after_another() {
        let mut lobby = Lobby::new(3);
        let rooms: Vec<String> = (0..7).map(|_| place(&mut lobby)).collect();
        assert_eq!(
            rooms,
            ["ref-1", "ref-1", "ref-1", "ref-2", "ref-2", "ref-2", "ref-3"]
        );
    }

    #[test]
    fn a_room_that_ended_takes_no_more_joins() {
        let mut lobby = Lobby::new(8);
        assert_eq!(place(&mut lobby), "ref-1");
        assert_eq!(lobby.place(|room| room != "ref-1", |id| id), "ref-2");
        assert_eq!(place(&mut lobby), "ref-2");
    }

    #[test]
    fn rooms_of_one_are_a_room_per_join() {
        let mut lobby = Lobby::new(0);
        assert_eq!(place(&mut lobby), "ref-1");
        assert_eq!(place(&mut lobby), "ref-2");
    }
}
