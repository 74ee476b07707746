//! [`SnapshotView`]: an allocation-free reading of a snapshot frame that keeps only what a bot needs.
//!
//! A load run receives tens of thousands of snapshots per second. Fully deserialising each one
//! into a [`tickcast_shared::Snapshot`] allocates a `Vec` of players, a `String` per name and a
//! `Vec` of orbs — work a bot throws away immediately. [`SnapshotView::scan`] walks the same
//! MessagePack bytes in place (following `shared/PROTOCOL.md`) and extracts the tick, the server
//! time, this bot's own entity and the orb nearest to it. Anything that is not a snapshot is left
//! to the full decoder ([`tickcast_shared::decode`]).
//!
//! The scanner is tested against the shared crate's encoder (see the tests below), so it reads
//! exactly what [`tickcast_shared::encode`] writes, including unknown trailing fields that a newer
//! server may append.

use tickcast_shared::arena::{dequantize, QuantizedArena};

/// Why a frame could not be scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    /// The bytes ended in the middle of a value.
    #[error("truncated message")]
    Truncated,
    /// A value had a MessagePack type the protocol does not allow at that position.
    #[error("unexpected MessagePack type 0x{0:02x}")]
    UnexpectedType(u8),
    /// An array was shorter than the protocol requires.
    #[error("array too short")]
    TooShort,
    /// A valid message was followed by extra bytes.
    #[error("{0} trailing bytes after the message")]
    TrailingBytes(usize),
}

/// This bot's own entity in a snapshot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OwnPlayer {
    pub x: f32,
    pub y: f32,
    pub score: u32,
    /// The seq of the last input of this player the server applied.
    pub last_input: u32,
}

/// What a bot needs from one snapshot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SnapshotView {
    pub tick: u64,
    pub server_time_ms: u64,
    /// Number of players in the room.
    pub players: u32,
    /// Number of orbs in the room.
    pub orbs: u32,
    /// Number of players whose connection is lost and whose seat is held for a resume (the
    /// trailing `held` flag of `PlayerState`, PROTOCOL.md "Held seats").
    pub held: u32,
    /// The entity whose id matched, if it is in the snapshot.
    pub me: Option<OwnPlayer>,
    /// Position of the orb nearest to `me` (none without `me` or without orbs).
    pub nearest_orb: Option<(f32, f32)>,
}

impl SnapshotView {
    /// Scans one server frame. `Ok(None)` means it is a well-formed map whose variant is not a
    /// snapshot (a welcome, pong or error: decode those with [`tickcast_shared::decode`]).
    /// `me` is the raw 16-byte player id from the welcome.
    pub fn scan(bytes: &[u8], me: &[u8; 16]) -> Result<Option<SnapshotView>, ScanError> {
        let mut r = Reader { buf: bytes, pos: 0 };
        if r.map_len()? != 1 {
            return Ok(None);
        }
        if r.str()? != b"snap" {
            return Ok(None);
        }
        let snap_len = r.array_len()?;
        if snap_len < 3 {
            return Err(ScanError::TooShort);
        }
        let tick = r.uint()?;
        let server_time_ms = r.uint()?;
        let state_len = r.array_len()?;
        if state_len < 2 {
            return Err(ScanError::TooShort);
        }
        let players = r.array_len()?;
        let mut own = None;
        let mut held = 0u32;
        for _ in 0..players {
            let n = r.array_len()?;
            if n < 8 {
                return Err(ScanError::TooShort);
            }
            let id = r.bin()?;
            r.skip()?; // name
            let x = r.float()?;
            let y = r.float()?;
            r.float()?; // vx
            r.float()?; // vy
            let score = r.uint()?;
            let last_input = r.uint()?;
            if n > 8 && r.flag()? {
                held = held.saturating_add(1);
            }
            r.skip_n(n.saturating_sub(9))?;
            if id == me {
                own = Some(OwnPlayer {
                    x,
                    y,
                    score: u32::try_from(score).unwrap_or(u32::MAX),
                    last_input: u32::try_from(last_input).unwrap_or(u32::MAX),
                });
            }
        }
        let orbs = r.array_len()?;
        let mut nearest: Option<(f32, f32, f32)> = None;
        for _ in 0..orbs {
            let n = r.array_len()?;
            if n < 3 {
                return Err(ScanError::TooShort);
            }
            r.uint()?; // id
            let x = r.float()?;
            let y = r.float()?;
            r.skip_n(n - 3)?;
            if let Some(p) = own {
                let d = (x - p.x) * (x - p.x) + (y - p.y) * (y - p.y);
                if !matches!(nearest, Some((_, _, best)) if best <= d) {
                    nearest = Some((x, y, d));
                }
            }
        }
        r.skip_n(state_len - 2)?;
        r.skip_n(snap_len - 3)?;
        let rest = bytes.len() - r.pos;
        if rest != 0 {
            return Err(ScanError::TrailingBytes(rest));
        }
        Ok(Some(SnapshotView {
            tick,
            server_time_ms,
            players: u32::try_from(players).unwrap_or(u32::MAX),
            orbs: u32::try_from(orbs).unwrap_or(u32::MAX),
            held,
            me: own,
            nearest_orb: nearest.map(|(x, y, _)| (x, y)),
        }))
    }
}

impl SnapshotView {
    /// The view of a state rebuilt from a delta of `tick` stepped at `server_time_ms` (`me`: the
    /// raw player id).
    pub fn of_state(
        tick: u64,
        server_time_ms: u64,
        state: &QuantizedArena,
        me: &[u8; 16],
    ) -> SnapshotView {
        let me = state
            .players
            .binary_search_by(|p| p.id.as_bytes().cmp(me))
            .ok()
            .map(|i| {
                let p = &state.players[i];
                OwnPlayer {
                    x: dequantize(p.x),
                    y: dequantize(p.y),
                    score: p.score,
                    last_input: p.last_input,
                }
            });
        let nearest_orb = me.and_then(|p| {
            state
                .orbs
                .iter()
                .map(|o| (dequantize(o.x), dequantize(o.y)))
                .min_by(|a, b| {
                    let d = |(x, y): (f32, f32)| (x - p.x) * (x - p.x) + (y - p.y) * (y - p.y);
                    d(*a).total_cmp(&d(*b))
                })
        });
        SnapshotView {
            tick,
            server_time_ms,
            players: u32::try_from(state.players.len()).unwrap_or(u32::MAX),
            orbs: u32::try_from(state.orbs.len()).unwrap_or(u32::MAX),
            held: state.players.iter().filter(|p| p.held).count() as u32,
            me,
            nearest_orb,
        }
    }
}

/// A cursor over MessagePack bytes. Every read is bounds-checked.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, ScanError> {
        let b = *self.buf.get(self.pos).ok_or(ScanError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8], ScanError> {
        let end = self.pos.checked_add(n).ok_or(ScanError::Truncated)?;
        let s = self.buf.get(self.pos..end).ok_or(ScanError::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    /// A big-endian unsigned integer of `n` bytes (1, 2, 4 or 8).
    #[inline]
    fn be(&mut self, n: usize) -> Result<u64, ScanError> {
        let s = self.take(n)?;
        Ok(match *s {
            [a] => u64::from(a),
            [a, b] => u64::from(u16::from_be_bytes([a, b])),
            [a, b, c, d] => u64::from(u32::from_be_bytes([a, b, c, d])),
            [a, b, c, d, e, f, g, h] => u64::from_be_bytes([a, b, c, d, e, f, g, h]),
            _ => s.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
        })
    }

    fn len_of(&mut self, n: usize) -> Result<usize, ScanError> {
        usize::try_from(self.be(n)?).map_err(|_| ScanError::Truncated)
    }

    fn map_len(&mut self) -> Result<usize, ScanError> {
        match self.byte()? {
            b @ 0x80..=0x8f => Ok(usize::from(b & 0x0f)),
            0xde => self.len_of(2),
            0xdf => self.len_of(4),
            b => Err(ScanError::UnexpectedType(b)),
        }
    }

    fn array_len(&mut self) -> Result<usize, ScanError> {
        match self.byte()? {
            b @ 0x90..=0x9f => Ok(usize::from(b & 0x0f)),
            0xdc => self.len_of(2),
            0xdd => self.len_of(4),
            b => Err(ScanError::UnexpectedType(b)),
        }
    }

    fn str(&mut self) -> Result<&'a [u8], ScanError> {
        let n = match self.byte()? {
            b @ 0xa0..=0xbf => usize::from(b & 0x1f),
            0xd9 => self.len_of(1)?,
            0xda => self.len_of(2)?,
            0xdb => self.len_of(4)?,
            b => return Err(ScanError::UnexpectedType(b)),
        };
        self.take(n)
    }

    fn bin(&mut self) -> Result<&'a [u8], ScanError> {
        let n = match self.byte()? {
            0xc4 => self.len_of(1)?,
            0xc5 => self.len_of(2)?,
            0xc6 => self.len_of(4)?,
            b => return Err(ScanError::UnexpectedType(b)),
        };
        self.take(n)
    }

    /// A non-negative integer of any width (signed encodings included, as rmp accepts them).
    fn uint(&mut self) -> Result<u64, ScanError> {
        match self.byte()? {
            b @ 0x00..=0x7f => Ok(u64::from(b)),
            0xcc => self.be(1),
            0xcd => self.be(2),
            0xce => self.be(4),
            0xcf => self.be(8),
            b @ 0xd0..=0xd3 => {
                let n = 1usize << (b - 0xd0);
                let raw = self.be(n)?;
                let shift = 64 - 8 * n as u32;
                let v = ((raw << shift) as i64) >> shift;
                u64::try_from(v).map_err(|_| ScanError::UnexpectedType(b))
            }
            b => Err(ScanError::UnexpectedType(b)),
        }
    }

    /// A float: float 32 as the protocol writes it, float 64 or any integer as it allows.
    fn float(&mut self) -> Result<f32, ScanError> {
        let b = *self.buf.get(self.pos).ok_or(ScanError::Truncated)?;
        match b {
            0xca => {
                self.pos += 1;
                Ok(f32::from_bits(self.be(4)? as u32))
            }
            0xcb => {
                self.pos += 1;
                Ok(f64::from_bits(self.be(8)?) as f32)
            }
            0xe0..=0xff => {
                self.pos += 1;
                Ok(f32::from(b as i8))
            }
            0xd0..=0xd3 => {
                self.pos += 1;
                let n = 1usize << (b - 0xd0);
                let raw = self.be(n)?;
                let shift = 64 - 8 * n as u32;
                Ok((((raw << shift) as i64) >> shift) as f32)
            }
            _ => Ok(self.uint()? as f32),
        }
    }

    /// A MessagePack bool (`nil` reads as false, as an absent flag does).
    fn flag(&mut self) -> Result<bool, ScanError> {
        match self.byte()? {
            0xc3 => Ok(true),
            0xc2 | 0xc0 => Ok(false),
            b => Err(ScanError::UnexpectedType(b)),
        }
    }

    fn skip_n(&mut self, n: usize) -> Result<(), ScanError> {
        for _ in 0..n {
            self.skip()?;
        }
        Ok(())
    }

    /// Skips one value of any type, without recursion.
    fn skip(&mut self) -> Result<(), ScanError> {
        let mut pending: u64 = 1;
        while pending > 0 {
            pending -= 1;
            let b = self.byte()?;
            let data = match b {
                0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => 0,
                0x80..=0x8f => {
                    pending = pending.saturating_add(2 * u64::from(b & 0x0f));
                    0
                }
                0x90..=0x9f => {
                    pending = pending.saturating_add(u64::from(b & 0x0f));
                    0
                }
                0xa0..=0xbf => usize::from(b & 0x1f),
                0xc4 | 0xd9 => self.len_of(1)?,
                0xc5 | 0xda => self.len_of(2)?,
                0xc6 | 0xdb => self.len_of(4)?,
                0xc7 => 1 + self.len_of(1)?,
                0xc8 => 1 + self.len_of(2)?,
                0xc9 => 1 + self.len_of(4)?,
                0xca => 4,
                0xcb => 8,
                0xcc | 0xd0 => 1,
                0xcd | 0xd1 => 2,
                0xce | 0xd2 => 4,
                0xcf | 0xd3 => 8,
                0xd4 => 2,
                0xd5 => 3,
                0xd6 => 5,
                0xd7 => 9,
                0xd8 => 17,
                0xdc => {
                    pending = pending.saturating_add(self.be(2)?);
                    0
                }
                0xdd => {
                    pending = pending.saturating_add(self.be(4)?);
                    0
                }
                0xde => {
                    pending = pending.saturating_add(2 * self.be(2)?);
                    0
                }
                0xdf => {
                    pending = pending.saturating_add(2 * self.be(4)?);
                    0
                }
                // 0xc1 is "never used" in MessagePack.
                _ => return Err(ScanError::UnexpectedType(b)),
            };
            self.take(data)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, Rng, SeedableRng};
    use tickcast_shared::arena::{ArenaServerMsg, ArenaState, Orb, PlayerState};
    use tickcast_shared::{encode, ErrorMsg, Pong, Snapshot};

    fn id(n: u8) -> [u8; 16] {
        [n; 16]
    }

    fn player(n: u8, x: f32, y: f32, last_input: u32) -> PlayerState {
        PlayerState {
            id: tickcast_shared::PlayerId::from_bytes(id(n)),
            name: format!("bot-{n}").into(),
            x,
            y,
            vx: 1.5,
            vy: -2.5,
            score: u32::from(n) * 3,
            last_input,
            held: n % 4 == 1,
        }
    }

    fn snap(tick: u64, players: Vec<PlayerState>, orbs: Vec<Orb>) -> Vec<u8> {
        encode(&ArenaServerMsg::Snapshot(Snapshot {
            tick,
            server_time_ms: 1_764_000_000_123,
            state: ArenaState {
                players,
                orbs,
                round: None,
            },
        }))
        .expect("encodes")
    }

    #[test]
    fn finds_own_player_and_nearest_orb() {
        let bytes = snap(
            5_000_000_000,
            vec![player(1, 0.0, 0.0, 9), player(2, 100.0, 100.0, 70_000)],
            vec![
                Orb {
                    id: 1,
                    x: 0.0,
                    y: 0.0,
                },
                Orb {
                    id: 2,
                    x: 110.0,
                    y: 90.0,
                },
                Orb {
                    id: 300,
                    x: 500.0,
                    y: 500.0,
                },
            ],
        );
        let v = SnapshotView::scan(&bytes, &id(2)).unwrap().unwrap();
        assert_eq!(v.tick, 5_000_000_000);
        assert_eq!(v.server_time_ms, 1_764_000_000_123);
        assert_eq!((v.players, v.orbs), (2, 3));
        let me = v.me.unwrap();
        assert_eq!(
            (me.x, me.y, me.score, me.last_input),
            (100.0, 100.0, 6, 70_000)
        );
        assert_eq!(v.nearest_orb, Some((110.0, 90.0)));

        let v = SnapshotView::scan(&bytes, &id(7)).unwrap().unwrap();
        assert_eq!((v.me, v.nearest_orb), (None, None));
    }

    #[test]
    fn a_snapshot_with_a_round_scans_like_one_without() {
        use tickcast_shared::arena::{Round, RoundPhase};
        let players = vec![player(1, 0.0, 0.0, 9), player(2, 100.0, 100.0, 70)];
        let plain = snap(7, players.clone(), vec![]);
        let with_round = encode(&ArenaServerMsg::Snapshot(Snapshot {
            tick: 7,
            server_time_ms: 1_764_000_000_123,
            state: ArenaState {
                players,
                orbs: vec![],
                round: Some(Round {
                    number: 2,
                    phase: RoundPhase::Over,
                    ends_at: 3750,
                    winner: Some(tickcast_shared::PlayerId::from_bytes(id(2))),
                }),
            },
        }))
        .expect("encodes");
        assert_ne!(plain, with_round);
        assert_eq!(
            SnapshotView::scan(&with_round, &id(2)),
            SnapshotView::scan(&plain, &id(2))
        );
    }

    #[test]
    fn other_messages_are_not_snapshots() {
        let pong = encode(&ArenaServerMsg::Pong(Pong {
            client_time: 1.5,
            server_time_ms: 2,
        }))
        .unwrap();
        assert_eq!(SnapshotView::scan(&pong, &id(1)), Ok(None));
        let err = encode(&ArenaServerMsg::Error(ErrorMsg {
            code: 4102,
            message: "stale".into(),
        }))
        .unwrap();
        assert_eq!(SnapshotView::scan(&err, &id(1)), Ok(None));
    }

    #[test]
    fn malformed_input_is_an_error_never_a_panic() {
        let bytes = snap(
            7,
            vec![player(1, 1.0, 2.0, 3)],
            vec![Orb {
                id: 1,
                x: 1.0,
                y: 1.0,
            }],
        );
        for cut in 0..bytes.len() {
            assert!(
                SnapshotView::scan(&bytes[..cut], &id(1)).is_err(),
                "cut at {cut}"
            );
        }
        let mut long = bytes.clone();
        long.push(0xc0);
        assert_eq!(
            SnapshotView::scan(&long, &id(1)),
            Err(ScanError::TrailingBytes(1))
        );
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..2000 {
            let mut b = bytes.clone();
            let i = rng.gen_range(0..b.len());
            b[i] = rng.gen();
            let _ = SnapshotView::scan(&b, &id(1));
        }
        // A 4-billion-element array header over a tiny buffer must fail fast, not loop forever.
        let _ = SnapshotView::scan(
            &[
                0x81, 0xa4, b's', b'n', b'a', b'p', 0xdd, 0xff, 0xff, 0xff, 0xff,
            ],
            &id(1),
        );
    }

    #[test]
    fn agrees_with_the_full_decoder_on_random_snapshots() {
        let mut rng = StdRng::seed_from_u64(42);
        for round in 0..300 {
            let n = rng.gen_range(0..40u8);
            let players: Vec<_> = (0..n)
                .map(|i| {
                    player(
                        i,
                        rng.gen_range(0.0..1600.0),
                        rng.gen_range(0.0..900.0),
                        rng.gen(),
                    )
                })
                .collect();
            let orbs: Vec<_> = (0..rng.gen_range(0..20u16))
                .map(|i| Orb {
                    id: i * 1000,
                    x: rng.gen_range(0.0..1600.0),
                    y: rng.gen_range(0.0..900.0),
                })
                .collect();
            let tick: u64 = rng.gen::<u64>() >> rng.gen_range(0..64);
            let bytes = snap(tick, players.clone(), orbs.clone());
            let who = rng.gen_range(0..n.max(1));
            let v = SnapshotView::scan(&bytes, &id(who)).unwrap().unwrap();
            assert_eq!(v.tick, tick, "round {round}");
            let expect = players.iter().find(|p| p.id.as_bytes() == &id(who));
            assert_eq!(v.me.map(|m| m.last_input), expect.map(|p| p.last_input));
            assert_eq!(v.me.map(|m| (m.x, m.y)), expect.map(|p| (p.x, p.y)));
            let held = players.iter().filter(|p| p.held).count() as u32;
            assert_eq!(v.held, held, "round {round}");
        }
    }

    #[test]
    fn accepts_float64_and_integer_coordinates_and_extra_fields() {
        // {"snap": [3, 4, [[[bin16, "n", 1.0f64, 2, 0, 0, 5, 6, true, "extra"]], [[1, 7, 8.5f32]], "x"], nil]}
        let mut b = vec![
            0x81, 0xa4, b's', b'n', b'a', b'p', 0x94, 0x03, 0x04, 0x93, 0x91, 0x9a, 0xc4, 16,
        ];
        b.extend_from_slice(&id(9));
        b.extend_from_slice(&[0xa1, b'n', 0xcb]);
        b.extend_from_slice(&1.0f64.to_be_bytes());
        b.extend_from_slice(&[0x02, 0x00, 0xff, 0x05, 0x06, 0xc3, 0xa5]);
        b.extend_from_slice(b"extra");
        b.extend_from_slice(&[0x91, 0x93, 0x01, 0x07, 0xca]);
        b.extend_from_slice(&8.5f32.to_be_bytes());
        b.extend_from_slice(&[0xa1, b'x', 0xc0]);
        let v = SnapshotView::scan(&b, &id(9)).unwrap().unwrap();
        assert_eq!(v.tick, 3);
        assert_eq!(
            v.me,
            Some(OwnPlayer {
                x: 1.0,
                y: 2.0,
                score: 5,
                last_input: 6
            })
        );
        assert_eq!(v.nearest_orb, Some((7.0, 8.5)));
        assert_eq!(v.held, 1, "the ninth field is the held flag");
    }

    #[test]
    fn counts_the_held_seats_of_a_snapshot() {
        let players = vec![
            player(1, 0.0, 0.0, 1),
            player(2, 5.0, 5.0, 2),
            player(5, 9.0, 9.0, 3),
        ];
        let v = SnapshotView::scan(&snap(4, players, vec![]), &id(2))
            .unwrap()
            .unwrap();
        assert_eq!((v.players, v.held), (3, 2), "players 1 and 5 are held");
        let v = SnapshotView::scan(&snap(5, vec![player(2, 0.0, 0.0, 1)], vec![]), &id(2));
        assert_eq!(v.unwrap().unwrap().held, 0);
    }

    #[test]
    fn a_state_rebuilt_from_a_delta_reads_like_the_full_snapshot() {
        let players = vec![
            player(9, 100.0, 100.0, 4),
            player(2, 500.25, 300.5, 7),
            player(5, 0.0, 0.0, 1),
        ];
        let orbs = vec![
            Orb {
                id: 3,
                x: 490.0,
                y: 290.0,
            },
            Orb {
                id: 1,
                x: 10.0,
                y: 10.0,
            },
        ];
        let full = SnapshotView::scan(&snap(12, players.clone(), orbs.clone()), &id(2))
            .unwrap()
            .unwrap();
        let state = QuantizedArena::from_state(&ArenaState {
            players,
            orbs,
            round: None,
        });
        let view = SnapshotView::of_state(12, 1_764_000_000_123, &state, &id(2));
        assert_eq!(
            view, full,
            "same tick, time, counts, own player and nearest orb"
        );
        assert_eq!(
            SnapshotView::of_state(12, 1_764_000_000_123, &state, &id(7)).me,
            None
        );
    }
}
