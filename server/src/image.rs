//! The room image: everything a room is, as bytes another node can start it from — for a live
//! migration (the source freezes the room after a tick and writes its image; the target adopts
//! it) and for a crash checkpoint (`shared/design/cluster.md` §6–7).
//!
//! An image holds the room's id and settings, its tick, the game's own saved bytes
//! ([`Game::save`](crate::game::Game::save), opaque here) and, per member, what a resume needs:
//! the player, its name, its resume token and the last input seq the game applied for it (the
//! resumed client's seqs must go on increasing from there). It holds nothing of the network —
//! no connections, queued inputs or delta history: every member starts on the new node with its
//! seat held for a resume, and a resumed client gets a full snapshot first, as today.
//!
//! Layout ([`ROOM_IMAGE_VERSION`], then a positional MessagePack body, see
//! [`crate::game::saved`]):
//!
//! ```text
//! [ room_id, public, epoch, tick, tick_rate, max_players, game: bin,
//!   members: [ [player_id: bin(16), name, resume_token, last_input_seq, held_ms | nil] … ] ]
//! ```
//!
//! [`RoomImage::decode`] refuses, as a typed [`RestoreError`] and never a panic, anything too
//! large, of another version, truncated, followed by trailing bytes, of the wrong shape, or
//! inconsistent (an invalid room id or name, a zero tick rate, more members than seats, a
//! player or a resume token twice).
//!
//! Talks to: nobody. Built from plain values by the room; written to and read from the
//! directory's store by the migration and checkpoint code.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use tickcast_shared::limits::MAX_RESUME_TOKEN_BYTES;
use tickcast_shared::{validate, PlayerId};

use crate::directory::Epoch;
use crate::game::saved::{bin, decode_versioned, encode_versioned};
use crate::game::RestoreError;

/// The layout version of a room image (see the module docs). A change to [`RoomImage`] or
/// [`MemberImage`] — a field added, removed, reordered or retyped — needs a new version.
pub const ROOM_IMAGE_VERSION: u8 = 1;

/// One room, as it moves between nodes. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomImage {
    pub room_id: String,
    /// Whether quick-play may put players in it (a named room is private).
    pub public: bool,
    /// The directory epoch under which the image was written: the adopting node checks it is the
    /// epoch it adopted from, so it never starts an image a stale owner left behind.
    pub epoch: Epoch,
    /// The last tick the room ran; the restored room runs `tick + 1` next.
    pub tick: u64,
    /// Ticks per second. Carried because the game steps by `1 / tick_rate` seconds: a room run at
    /// another rate would not go on as it was.
    pub tick_rate: u16,
    /// Seats in the room (held seats count).
    pub max_players: u16,
    /// [`Game::save`](crate::game::Game::save)'s bytes.
    #[serde(with = "bin")]
    pub game: Vec<u8>,
    /// In the room's join order.
    pub members: Vec<MemberImage>,
}

/// One member of a room image: what its player's resume needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberImage {
    pub player_id: PlayerId,
    pub name: String,
    /// The token its client resumes with; it stays valid across the move.
    pub resume_token: String,
    /// The newest input seq applied for this player (its seat's last seq): the resumed seat
    /// refuses older ones, and the game's ack goes on from it.
    pub last_input_seq: u32,
    /// How long, in ms, the player's seat had already been held for a resume when the image was
    /// taken (`None`: it was connected). The new node holds it for what is left of the grace, so
    /// a move does not lengthen the grace of a player who had already gone.
    pub held_ms: Option<u32>,
}

impl RoomImage {
    /// The image's bytes: [`ROOM_IMAGE_VERSION`], then the body.
    pub fn encode(&self) -> Vec<u8> {
        encode_versioned(ROOM_IMAGE_VERSION, self)
    }

    /// The image `bytes` hold, checked (see the module docs).
    pub fn decode(bytes: &[u8]) -> Result<RoomImage, RestoreError> {
        let image: RoomImage = decode_versioned(ROOM_IMAGE_VERSION, bytes)?;
        image.check()?;
        Ok(image)
    }

    /// What a room that wrote this image always satisfies.
    fn check(&self) -> Result<(), RestoreError> {
        let invalid = |why| Err(RestoreError::Invalid(why));
        if validate::room_id(&self.room_id).is_err() {
            return invalid("the room id is not a valid room id");
        }
        if self.tick_rate == 0 {
            return invalid("the tick rate must be at least 1");
        }
        if self.members.len() > usize::from(self.max_players) {
            return invalid("the room holds more members than seats");
        }
        let mut players = HashSet::with_capacity(self.members.len());
        let mut tokens = HashSet::with_capacity(self.members.len());
        for m in &self.members {
            if validate::player_name(&m.name).as_deref() != Ok(m.name.as_str()) {
                return invalid("a member's name is not a valid player name");
            }
            if m.resume_token.is_empty() || m.resume_token.len() > MAX_RESUME_TOKEN_BYTES {
                return invalid("a member's resume token is empty or too long");
            }
            if !players.insert(m.player_id) {
                return invalid("a player is a member twice");
            }
            if !tokens.insert(m.resume_token.as_str()) {
                return invalid("two members share a resume token");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use uuid::Uuid;

    use super::*;
    use crate::game::saved::MAX_SAVED_BYTES;

    fn image() -> RoomImage {
        RoomImage {
            room_id: "lobby".into(),
            public: true,
            epoch: Epoch(3),
            tick: 1000,
            tick_rate: 30,
            max_players: 16,
            game: vec![0xde, 0xad],
            members: vec![
                MemberImage {
                    player_id: Uuid::from_bytes([1; 16]),
                    name: "Ada".into(),
                    resume_token: "t1".into(),
                    last_input_seq: 300,
                    held_ms: None,
                },
                MemberImage {
                    player_id: Uuid::from_bytes([2; 16]),
                    name: "Bo".into(),
                    resume_token: "t2".into(),
                    last_input_seq: 0,
                    held_ms: Some(1500),
                },
            ],
        }
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn an_image_round_trips() {
        assert_eq!(RoomImage::decode(&image().encode()).unwrap(), image());
    }

    /// Version 1, then the 8-field body.
    const PINNED_IMAGE: &str = concat!(
        "01",
        "98",
        // "lobby", public, epoch 3, tick 1000, 30 ticks/s, 16 seats, game bin [de ad]
        "a56c6f626279c303cd03e81e10c402dead",
        // two members
        "92",
        "95c41001010101010101010101010101010101a3416461a27431cd012cc0",
        "95c41002020202020202020202020202020202a2426fa2743200cd05dc",
    );

    #[test]
    fn the_image_layout_is_pinned() {
        assert_eq!(
            hex(&image().encode()),
            PINNED_IMAGE,
            "a layout change needs a new ROOM_IMAGE_VERSION"
        );
    }

    #[test]
    fn every_truncation_of_an_image_is_refused_as_truncated() {
        let bytes = image().encode();
        for len in 0..bytes.len() {
            let e = RoomImage::decode(&bytes[..len]).unwrap_err();
            assert!(matches!(e, RestoreError::Truncated), "at {len}: {e}");
        }
    }

    #[test]
    fn an_image_of_another_version_or_with_trailing_bytes_is_refused() {
        let mut bytes = image().encode();
        bytes[0] = ROOM_IMAGE_VERSION + 1;
        assert!(matches!(
            RoomImage::decode(&bytes),
            Err(RestoreError::UnknownVersion {
                found: 2,
                expected: 1
            })
        ));
        let mut bytes = image().encode();
        bytes.extend([0xc0, 0xc0]);
        assert!(matches!(
            RoomImage::decode(&bytes),
            Err(RestoreError::TrailingBytes(2))
        ));
        assert!(matches!(
            RoomImage::decode(&vec![1; MAX_SAVED_BYTES + 1]),
            Err(RestoreError::TooLarge { .. })
        ));
    }

    /// A change to an image that a test makes.
    type Edit = fn(&mut RoomImage);

    #[test]
    fn an_image_no_room_could_have_written_is_refused() {
        let cases: [(&str, Edit); 8] = [
            ("room id", |i| i.room_id = "no spaces".into()),
            ("tick rate", |i| i.tick_rate = 0),
            ("more members than seats", |i| i.max_players = 1),
            ("name", |i| i.members[0].name = " Ada".into()),
            ("token is empty", |i| i.members[0].resume_token.clear()),
            ("too long", |i| i.members[0].resume_token = "x".repeat(65)),
            ("twice", |i| i.members[1].player_id = i.members[0].player_id),
            ("share", |i| i.members[1].resume_token = "t1".into()),
        ];
        for (why, edit) in cases {
            let mut i = image();
            edit(&mut i);
            match RoomImage::decode(&i.encode()) {
                Err(e @ RestoreError::Invalid(_)) => assert!(e.to_string().contains(why), "{e}"),
                other => panic!("{why}: {other:?}"),
            }
        }
    }

    proptest! {
        #[test]
        fn no_corruption_of_an_image_panics_the_decoder(
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        ) {
            let mut bytes = image().encode();
            for (at, xor) in flips {
                let i = at.index(bytes.len());
                bytes[i] ^= xor;
            }
            // Either the image still reads (a flip inside a string or a number) or it is refused.
            let _ = RoomImage::decode(&bytes);
        }

        #[test]
        fn random_bytes_never_panic_the_decoder(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = RoomImage::decode(&bytes);
        }
    }
}
