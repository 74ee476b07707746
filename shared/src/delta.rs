//! Delta snapshots: each client gets the newest state as a patch against the last snapshot *it*
//! acknowledged (the Quake 3 model), so a dropped or replaced frame never breaks the stream.
//!
//! The pieces, all pure data and arithmetic (no runtime), generic over the game:
//! - [`Diffable`]: a replicated state that can be diffed against a baseline and patched back.
//!   The arena's is [`crate::arena::QuantizedArena`]; a game can also choose "the patch is the
//!   whole state".
//! - [`Entity`] and [`EntityPatch`]: the generic diff of an id-sorted entity list — removed
//!   entries by baseline index, changed numeric fields as differences, added entities in full.
//! - [`History`]: the server's ring of recent states, which picks the baseline for an ack.
//! - [`Baselines`]: the client's store of received states, which applies what arrives.
//!
//! Each patch travels in one of two forms: the serde value of [`Diffable::Patch`] in a
//! [`crate::messages::DeltaSnapshot`] (`"delta"`), or the packed bytes of [`Diffable::pack`] in
//! a [`crate::messages::PackedDelta`] (`"d"`, for clients that join with `packed`), where a game
//! may predict fields from the baseline and send only the residuals ([`crate::packed`]).
//! [`History`] and [`Baselines`] live in `delta/store.rs`.
//!
//! The byte layout is specified in `shared/PROTOCOL.md` ("Delta snapshots", "Packed deltas").
//! This module uses the envelopes and knows no game; the arena's types use it, not the reverse.

use std::fmt::Debug;

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::EncodeError;

mod store;

pub use store::{Baselines, History, DEFAULT_WINDOW, MAX_WINDOW};

/// Why a patch could not be applied. A well-behaved server never causes one; a client that gets
/// one should drop the frame (its ack stays where it was, so the server's next patch is against
/// a baseline the client has, or is a full snapshot once that baseline ages out).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeltaError {
    #[error("the patch's baseline tick {0} is not held (too old, or never received)")]
    UnknownBaseline(u64),
    #[error("tick {tick} is not newer than the newest held tick {newest}")]
    NotNewer { tick: u64, newest: u64 },
    #[error("entity index {index} is out of range or out of order")]
    BadIndex { index: i64 },
    #[error("field mask {mask:#x} names fields this entity does not have")]
    BadMask { mask: i64 },
    #[error("the changed-fields list ends in the middle of an entry")]
    Truncated,
    #[error("field {field} leaves its range after the difference is applied")]
    FieldOutOfRange { field: usize },
    #[error("added entities are not sorted by id, or an id is present twice")]
    DuplicateOrUnsorted,
    #[error("the packed patch is malformed: {0}")]
    Malformed(&'static str),
}

impl From<crate::varint::Malformed> for DeltaError {
    fn from(m: crate::varint::Malformed) -> Self {
        DeltaError::Malformed(m.0)
    }
}

/// What a packed patch may predict from: how many ticks lie between the baseline and the new
/// state (`tick − base_tick`), at which tick rate. Both sides know it — the server from its room,
/// the client from the envelope and its `Welcome` — so it is never sent in the patch itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub ticks: u64,
    pub tick_rate: u16,
}

/// A replicated state that can be sent as a patch against an earlier one.
///
/// Laws (checked by the property tests): `base.apply(&base.diff(&next)) == Ok(next)` for every
/// `base` and `next`, and `Self::default()` is the baseline of a full snapshot.
pub trait Diffable: Clone + Default + PartialEq + Debug {
    /// What travels in [`crate::messages::DeltaSnapshot::patch`].
    type Patch: Serialize + DeserializeOwned + Clone + PartialEq + Debug;

    /// The patch that turns `self` (the baseline) into `next`.
    fn diff(&self, next: &Self) -> Self::Patch;

    /// `self` (the baseline) with `patch` applied.
    fn apply(&self, patch: &Self::Patch) -> Result<Self, DeltaError>;

    /// Appends the packed form of the patch from `self` to `next` (`PackedDelta::patch`), `step`
    /// after the baseline. By default the MessagePack of [`Diffable::diff`]; a game overrides it
    /// (with [`Diffable::unpack`]) to send less, e.g. residuals of a prediction
    /// ([`crate::packed`]).
    fn pack(&self, next: &Self, _step: Step, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        rmp_serde::encode::write(out, &self.diff(next))?;
        Ok(())
    }

    /// `self` (the baseline) with the packed patch `bytes` applied. Law:
    /// `base.unpack(&packed(base, next, step), step) == Ok(next)`.
    fn unpack(&self, bytes: &[u8], _step: Step) -> Result<Self, DeltaError> {
        let patch: Self::Patch = crate::decode(bytes)
            .map_err(|_| DeltaError::Malformed("not the MessagePack of a patch"))?;
        self.apply(&patch)
    }
}

/// An element of an id-sorted entity list whose numeric fields can change in place.
pub trait Entity: Clone {
    type Id: Ord + Copy;
    /// The number of patchable fields (at most 32; bit `i` of a field mask is field `i`).
    const FIELDS: usize;
    fn id(&self) -> Self::Id;
    /// Field `i` (`i < FIELDS`) as an integer.
    fn field(&self, i: usize) -> i64;
    /// Sets field `i`, refusing values outside the field's type.
    fn set_field(&mut self, i: usize, value: i64) -> Result<(), DeltaError>;
    /// Whether the parts a patch cannot change (besides the id) are equal; if not, the entity is
    /// sent as removed and added again.
    fn same_fixed_parts(&self, _other: &Self) -> bool {
        true
    }
}

/// The patch of an entity list sorted by id. Applying it: drop the baseline entries listed in
/// `removed`, add each difference in `changed` to its field, insert `added`, keep the id order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityPatch<E> {
    /// Indices into the baseline list, strictly ascending.
    pub removed: Vec<u32>,
    /// Flat integers, per changed entity: its baseline index (strictly ascending over entries),
    /// a field mask (bit `i` = field `i`), then `new - old` for each set bit, lowest bit first.
    pub changed: Vec<i64>,
    /// New entities in full, sorted by id.
    pub added: Vec<E>,
}

impl<E> Default for EntityPatch<E> {
    fn default() -> Self {
        EntityPatch {
            removed: Vec::new(),
            changed: Vec::new(),
            added: Vec::new(),
        }
    }
}

impl<E: Entity> EntityPatch<E> {
    /// The patch from `base` to `next`; both must be sorted by id with unique ids.
    pub fn diff(base: &[E], next: &[E]) -> Self {
        let mut patch = EntityPatch::default();
        pair_up(base, next, |pair| match pair {
            Pair::Kept(i, b, n) => patch.push_changes(i, b, n),
            Pair::Removed(i) => patch.removed.push(i as u32),
            Pair::Added(n) => patch.added.push(n.clone()),
        });
        patch
    }

    fn push_changes(&mut self, index: usize, old: &E, new: &E) {
        let mut mask = 0i64;
        let start = self.changed.len();
        self.changed.extend([index as i64, 0]);
        for f in 0..E::FIELDS {
            let d = new.field(f) - old.field(f);
            if d != 0 {
                mask |= 1 << f;
                self.changed.push(d);
            }
        }
        if mask == 0 {
            self.changed.truncate(start);
        } else {
            self.changed[start + 1] = mask;
        }
    }

    /// `base` with this patch applied. Every index, mask and value is checked: a malformed patch
    /// is an error, never a panic.
    pub fn apply(&self, base: &[E]) -> Result<Vec<E>, DeltaError> {
        let mut out = Vec::with_capacity(base.len() + self.added.len());
        let mut removed = self.removed.iter().map(|&r| r as i64).peekable();
        let mut changed = self.changed.iter().copied();
        let mut next_change = changed.next();
        for (idx, entity) in base.iter().enumerate() {
            let idx = idx as i64;
            if removed.peek() == Some(&idx) {
                removed.next();
                if next_change == Some(idx) {
                    return Err(DeltaError::BadIndex { index: idx });
                }
                continue;
            }
            let mut entity = entity.clone();
            if next_change == Some(idx) {
                let mask = changed.next().ok_or(DeltaError::Truncated)?;
                if mask <= 0 || (E::FIELDS < 63 && mask >> E::FIELDS != 0) {
                    return Err(DeltaError::BadMask { mask });
                }
                for f in 0..E::FIELDS {
                    if mask & (1 << f) != 0 {
                        let d = changed.next().ok_or(DeltaError::Truncated)?;
                        let v = entity
                            .field(f)
                            .checked_add(d)
                            .ok_or(DeltaError::FieldOutOfRange { field: f })?;
                        entity.set_field(f, v)?;
                    }
                }
                next_change = changed.next();
                if let Some(n) = next_change {
                    if n <= idx {
                        return Err(DeltaError::BadIndex { index: n });
                    }
                }
            }
            out.push(entity);
        }
        // Anything left over was out of range or out of order (a repeated or descending index
        // never matches the walk over the baseline).
        if let Some(index) = removed.next().or(next_change) {
            return Err(DeltaError::BadIndex { index });
        }
        let kept = out.len();
        out.extend(self.added.iter().cloned());
        merge_added(out, kept)
    }
}

/// How an entity of the baseline list relates to the next list (see [`pair_up`]).
pub(crate) enum Pair<'a, E> {
    /// At baseline index `.0`, in both lists with the same fixed parts.
    Kept(usize, &'a E, &'a E),
    /// The baseline entity at this index is gone (or is replaced: its fixed parts changed).
    Removed(usize),
    /// New (or the replacement of a removed one).
    Added(&'a E),
}

/// Walks two id-sorted lists with unique ids, in id order: removals in ascending baseline
/// index, additions in ascending id.
pub(crate) fn pair_up<'a, E: Entity>(
    base: &'a [E],
    next: &'a [E],
    mut visit: impl FnMut(Pair<'a, E>),
) {
    debug_assert!(base.windows(2).all(|w| w[0].id() < w[1].id()));
    debug_assert!(next.windows(2).all(|w| w[0].id() < w[1].id()));
    let (mut i, mut j) = (0, 0);
    loop {
        match (base.get(i), next.get(j)) {
            (Some(b), Some(n)) if b.id() == n.id() => {
                if b.same_fixed_parts(n) {
                    visit(Pair::Kept(i, b, n));
                } else {
                    visit(Pair::Removed(i));
                    visit(Pair::Added(n));
                }
                i += 1;
                j += 1;
            }
            (Some(b), Some(n)) if b.id() > n.id() => {
                visit(Pair::Added(n));
                j += 1;
            }
            (Some(_), _) => {
                visit(Pair::Removed(i));
                i += 1;
            }
            (None, Some(n)) => {
                visit(Pair::Added(n));
                j += 1;
            }
            (None, None) => return,
        }
    }
}

/// `out` with its added entities merged into place: `out[..kept]` are the kept ones (sorted by
/// id), `out[kept..]` the added ones as received, which must be sorted by id and share no id
/// with the kept ones. Sorts in place (no second list): additions are rare, and a sort is
/// O(n log n) however many a hostile patch carries.
pub(crate) fn merge_added<E: Entity>(mut out: Vec<E>, kept: usize) -> Result<Vec<E>, DeltaError> {
    let added = &out[kept..];
    if added.windows(2).any(|w| w[0].id() >= w[1].id()) {
        return Err(DeltaError::DuplicateOrUnsorted);
    }
    let (Some(last_kept), Some(first_added)) = (kept.checked_sub(1), added.first()) else {
        return Ok(out);
    };
    if out[last_kept].id() < first_added.id() {
        return Ok(out);
    }
    out.sort_unstable_by_key(E::id);
    if out.windows(2).any(|w| w[0].id() == w[1].id()) {
        return Err(DeltaError::DuplicateOrUnsorted);
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! A two-field entity for the generic rules (the arena's own are tested in `crate::arena`).
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    pub(crate) struct Dot {
        pub id: u16,
        pub x: i32,
        pub y: i32,
    }

    impl Entity for Dot {
        type Id = u16;
        const FIELDS: usize = 2;

        fn id(&self) -> u16 {
            self.id
        }

        fn field(&self, i: usize) -> i64 {
            [self.x, self.y][i].into()
        }

        fn set_field(&mut self, i: usize, v: i64) -> Result<(), DeltaError> {
            let v = i32::try_from(v).map_err(|_| DeltaError::FieldOutOfRange { field: i })?;
            *[&mut self.x, &mut self.y][i] = v;
            Ok(())
        }
    }

    /// A replicated state of one entity list.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub(crate) struct Dots(pub Vec<Dot>);

    impl Diffable for Dots {
        type Patch = EntityPatch<Dot>;

        fn diff(&self, next: &Self) -> EntityPatch<Dot> {
            EntityPatch::diff(&self.0, &next.0)
        }

        fn apply(&self, patch: &EntityPatch<Dot>) -> Result<Self, DeltaError> {
            patch.apply(&self.0).map(Dots)
        }
    }

    pub(crate) fn dot(id: u16, x: i32) -> Dot {
        Dot { id, x, y: 7 }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn malformed_patches_are_errors_not_panics() {
        let base = vec![dot(1, 1), dot(2, 2)];
        let bad = |removed: Vec<u32>, changed: Vec<i64>, added: Vec<Dot>| {
            EntityPatch {
                removed,
                changed,
                added,
            }
            .apply(&base)
        };
        assert!(matches!(
            bad(vec![2], vec![], vec![]),
            Err(DeltaError::BadIndex { .. })
        ));
        assert!(matches!(
            bad(vec![1, 0], vec![], vec![]),
            Err(DeltaError::BadIndex { .. })
        ));
        assert!(matches!(
            bad(vec![], vec![5, 1, 1], vec![]),
            Err(DeltaError::BadIndex { .. })
        ));
        assert!(matches!(
            bad(vec![], vec![-1, 1, 1], vec![]),
            Err(DeltaError::BadIndex { .. })
        ));
        assert!(matches!(
            bad(vec![], vec![0, 4, 1], vec![]),
            Err(DeltaError::BadMask { .. })
        ));
        assert!(matches!(
            bad(vec![], vec![0, 0], vec![]),
            Err(DeltaError::BadMask { .. })
        ));
        assert!(matches!(
            bad(vec![], vec![0, 3, 1], vec![]),
            Err(DeltaError::Truncated)
        ));
        assert!(matches!(
            bad(vec![], vec![1, 1, 1, 0, 1, 1], vec![]),
            Err(DeltaError::BadIndex { .. })
        ));
        assert!(matches!(
            bad(vec![0], vec![0, 1, 1], vec![]),
            Err(DeltaError::BadIndex { .. })
        ));
        assert!(matches!(
            bad(vec![], vec![0, 1, i64::from(i32::MAX)], vec![]),
            Err(DeltaError::FieldOutOfRange { field: 0 })
        ));
        assert!(matches!(
            bad(vec![], vec![0, 1, i64::MAX], vec![]),
            Err(DeltaError::FieldOutOfRange { field: 0 })
        ));
        assert!(matches!(
            bad(vec![], vec![], vec![dot(2, 0)]),
            Err(DeltaError::DuplicateOrUnsorted)
        ));
        assert!(matches!(
            bad(vec![], vec![], vec![dot(4, 0), dot(3, 0)]),
            Err(DeltaError::DuplicateOrUnsorted)
        ));
        assert_eq!(
            bad(vec![0], vec![], vec![dot(1, 9)]).unwrap(),
            vec![dot(1, 9), dot(2, 2)]
        );
    }
}
