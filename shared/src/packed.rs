//! Packed entity lists: the generic part of packed delta patches (`PROTOCOL.md`, "Packed
//! deltas"). A game's [`crate::delta::Diffable::pack`] writes one section per entity list with
//! [`pack_entities`]; its `unpack` reads it back with [`unpack_entities`].
//!
//! The idea: every entity that stays predicts its own next fields from the baseline (an
//! [`Packable::drift`]: a moving player goes on moving at its new velocity, its input seq goes
//! up by one a tick), and the section carries only the **residuals** `new − baseline − drift`,
//! as zigzag varints ([`crate::varint`]), for the entities whose residuals are not all zero. A
//! player running straight costs nothing; a turning one a few bytes. Integers make it exact: the
//! client rebuilds bit for bit the list the server diffed.
//!
//! A section: `removed` (count, then baseline indices as gaps), `changed` (count, then per entry
//! the index as a gap, a field mask, one residual per set bit, lowest bit first), `added`
//! (count, then each entity in full, [`Packable::write`]). An index gap is the index itself for
//! the first entry and `index − previous − 1` after it, so indices are ascending by construction.

use crate::delta::{merge_added, pair_up, DeltaError, Entity, Pair, Step};
use crate::varint::{put_i, put_u, Reader};

/// The most fields a packed entity may have (mask bits 0..32).
const MAX_FIELDS: usize = 32;

/// An entity that can travel in a packed section.
pub trait Packable: Entity + Sized {
    /// How far field `i` is predicted to move between the baseline (`self`, whose fixed parts
    /// it may read) and the new state over `step`, given the **new** field values `fields`.
    /// It may read only fields whose own drift is always 0 (a position may follow the new
    /// velocity; a velocity may not follow anything): then the server, which knows the new
    /// values, and the client, which knows them once it has added the residuals of those
    /// fields, compute the same drift. The default predicts no change.
    fn drift(&self, _fields: &[i64], _i: usize, _step: Step) -> i64 {
        0
    }

    /// Appends the entity in full (an added entity).
    fn write(&self, out: &mut Vec<u8>);

    /// Reads an entity written by [`Packable::write`].
    fn read(r: &mut Reader<'_>) -> Result<Self, DeltaError>;
}

fn fields_of<E: Entity>(e: &E) -> [i64; MAX_FIELDS] {
    let mut f = [0; MAX_FIELDS];
    for (i, v) in f.iter_mut().enumerate().take(E::FIELDS) {
        *v = e.field(i);
    }
    f
}

/// Appends the section that turns `base` into `next` (both sorted by id, unique ids), `step`
/// after the baseline.
pub fn pack_entities<E: Packable>(base: &[E], next: &[E], step: Step, out: &mut Vec<u8>) {
    debug_assert!(E::FIELDS <= MAX_FIELDS);
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    let (mut changed, mut n_changed, mut last) = (Vec::new(), 0u64, None);
    pair_up(base, next, |pair| match pair {
        Pair::Kept(i, b, n) => {
            let (old, new) = (fields_of(b), fields_of(n));
            let mut residuals = [0i64; MAX_FIELDS];
            let mut mask = 0u64;
            for f in 0..E::FIELDS {
                residuals[f] = new[f] - old[f] - b.drift(&new[..E::FIELDS], f, step);
                if residuals[f] != 0 {
                    mask |= 1 << f;
                }
            }
            if mask != 0 {
                put_u(&mut changed, gap(i, last));
                last = Some(i);
                put_u(&mut changed, mask);
                for r in residuals.iter().take(E::FIELDS).filter(|r| **r != 0) {
                    put_i(&mut changed, *r);
                }
                n_changed += 1;
            }
        }
        Pair::Removed(i) => removed.push(i),
        Pair::Added(n) => added.push(n),
    });
    put_u(out, removed.len() as u64);
    let mut prev = None;
    for &i in &removed {
        put_u(out, gap(i, prev));
        prev = Some(i);
    }
    put_u(out, n_changed);
    out.extend_from_slice(&changed);
    put_u(out, added.len() as u64);
    for e in added {
        e.write(out);
    }
}

fn gap(index: usize, previous: Option<usize>) -> u64 {
    match previous {
        None => index as u64,
        Some(p) => (index - p - 1) as u64,
    }
}

/// Reads gap-coded indices: ascending by construction, each checked to be below `len`.
fn read_index(
    r: &mut Reader<'_>,
    previous: Option<usize>,
    len: usize,
) -> Result<usize, DeltaError> {
    let g = r.u()?;
    let index = match previous {
        None => Some(g),
        Some(p) => g.checked_add(p as u64 + 1),
    }
    .filter(|&i| i < len as u64)
    .ok_or(DeltaError::BadIndex {
        index: i64::try_from(g).unwrap_or(i64::MAX),
    })?;
    Ok(index as usize)
}

/// `base` with the section at the reader's position applied, `step` after the baseline. Every
/// index, mask and value is checked: a malformed section is an error, never a panic.
///
/// One pass, one output list: the removed indices are held only when there are any, each
/// changed entry is applied as it is read (indices ascend, so the baseline is walked once), and
/// the added entities are read onto the end of the output, then merged into place.
pub fn unpack_entities<E: Packable>(
    base: &[E],
    r: &mut Reader<'_>,
    step: Step,
) -> Result<Vec<E>, DeltaError> {
    let mut removed = Vec::new();
    let mut prev = None;
    for _ in 0..r.count()? {
        let i = read_index(r, prev, base.len())?;
        removed.push(i);
        prev = Some(i);
    }
    let mut out = Vec::with_capacity(base.len() - removed.len());
    let mut walk = Walk {
        base,
        removed: removed.iter().copied().peekable(),
        next: 0,
        step,
    };
    let mut prev = None;
    for _ in 0..r.count()? {
        let i = read_index(r, prev, base.len())?;
        prev = Some(i);
        let b = walk.changed(i, &mut out)?;
        let mask = r.u()?;
        if mask == 0 || mask >> E::FIELDS != 0 {
            return Err(DeltaError::BadMask {
                mask: i64::try_from(mask).unwrap_or(i64::MAX),
            });
        }
        let mut fields = fields_of(b);
        for (f, v) in fields.iter_mut().enumerate().take(E::FIELDS) {
            if mask & (1 << f) != 0 {
                *v = v
                    .checked_add(r.i()?)
                    .ok_or(DeltaError::FieldOutOfRange { field: f })?;
            }
        }
        out.push(predicted(b, &fields, step)?);
    }
    walk.keep_until(base.len(), &mut out)?;
    let kept = out.len();
    let n_added = r.count()?;
    out.reserve_exact(n_added);
    for _ in 0..n_added {
        out.push(E::read(r)?);
    }
    merge_added(out, kept)
}

/// The walk over the baseline: entries without residuals are kept (predicted) up to the next
/// changed index, removed ones skipped.
struct Walk<'a, E, R: Iterator<Item = usize>> {
    base: &'a [E],
    removed: std::iter::Peekable<R>,
    /// The first baseline index not yet walked.
    next: usize,
    step: Step,
}

impl<'a, E: Packable, R: Iterator<Item = usize>> Walk<'a, E, R> {
    /// Keeps the baseline entries from `self.next` up to (not including) `end`; indices only
    /// ascend, so `end >= self.next`.
    fn keep_until(&mut self, end: usize, out: &mut Vec<E>) -> Result<(), DeltaError> {
        debug_assert!(end >= self.next, "changed indices should ascend");
        for i in self.next..end {
            if self.removed.next_if_eq(&i).is_none() {
                let b = &self.base[i];
                out.push(predicted(b, &fields_of(b), self.step)?);
            }
        }
        self.next = end;
        Ok(())
    }

    /// Keeps the entries before `i`, then hands out entry `i` for its residuals: a changed
    /// entry that the section also removed is a bad index.
    fn changed(&mut self, i: usize, out: &mut Vec<E>) -> Result<&'a E, DeltaError> {
        self.keep_until(i, out)?;
        if self.removed.next_if_eq(&i).is_some() {
            return Err(DeltaError::BadIndex { index: i as i64 });
        }
        self.next = i + 1;
        Ok(&self.base[i])
    }
}

/// `b` with `fields` (its fields plus any residuals) and then its drift: the new entity.
fn predicted<E: Packable>(b: &E, fields: &[i64; MAX_FIELDS], step: Step) -> Result<E, DeltaError> {
    let mut e = b.clone();
    for f in 0..E::FIELDS {
        let v = fields[f]
            .checked_add(b.drift(&fields[..E::FIELDS], f, step))
            .ok_or(DeltaError::FieldOutOfRange { field: f })?;
        if v != b.field(f) {
            e.set_field(f, v)?;
        }
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A two-field entity predicted to drift by `drift` per field (the arena's own rules are
    /// tested in `crate::arena`).
    #[derive(Debug, Clone, PartialEq)]
    struct Dot {
        id: u16,
        xy: [i32; 2],
        drift: i64,
    }

    impl Entity for Dot {
        type Id = u16;
        const FIELDS: usize = 2;

        fn id(&self) -> u16 {
            self.id
        }

        fn field(&self, i: usize) -> i64 {
            self.xy[i].into()
        }

        fn set_field(&mut self, i: usize, v: i64) -> Result<(), DeltaError> {
            self.xy[i] = i32::try_from(v).map_err(|_| DeltaError::FieldOutOfRange { field: i })?;
            Ok(())
        }
    }

    impl Packable for Dot {
        fn drift(&self, _fields: &[i64], _i: usize, _step: Step) -> i64 {
            self.drift
        }

        fn write(&self, out: &mut Vec<u8>) {
            put_u(out, self.id.into());
            put_i(out, self.xy[0].into());
            put_i(out, self.xy[1].into());
            put_i(out, self.drift);
        }

        fn read(r: &mut Reader<'_>) -> Result<Self, DeltaError> {
            Ok(Dot {
                id: r.u_as()?,
                xy: [r.i_as()?, r.i_as()?],
                drift: r.i()?,
            })
        }
    }

    const STEP: Step = Step {
        ticks: 1,
        tick_rate: 30,
    };

    fn dot(id: u16, x: i32, drift: i64) -> Dot {
        Dot {
            id,
            xy: [x, 0],
            drift,
        }
    }

    fn base() -> Vec<Dot> {
        vec![dot(1, 10, 0), dot(3, 30, 1), dot(5, 50, 0)]
    }

    fn unpack(bytes: &[u8]) -> Result<Vec<Dot>, DeltaError> {
        unpack_entities(&base(), &mut Reader::new(bytes), STEP)
    }

    #[test]
    fn a_section_round_trips_removals_changes_drift_and_additions() {
        let next = vec![dot(2, 20, 0), dot(3, 35, 1), dot(5, 50, 0), dot(6, 60, 0)];
        let mut bytes = Vec::new();
        pack_entities(&base(), &next, STEP, &mut bytes);
        assert_eq!(unpack(&bytes), Ok(next));
    }

    #[test]
    fn an_entity_without_residuals_follows_its_drift() {
        // Nothing removed, nothing changed, nothing added: dot 3 drifts by 1 per field.
        let out = unpack(&[0, 0, 0]).expect("an empty section applies");
        let drifted = Dot {
            id: 3,
            xy: [31, 1],
            drift: 1,
        };
        assert_eq!(out, vec![dot(1, 10, 0), drifted, dot(5, 50, 0)]);
    }

    /// A section from its three lists: removed gaps, changed entries as (gap, mask, residuals),
    /// added dots.
    fn section(removed: &[u64], changed: &[(u64, u64, &[i64])], added: &[Dot]) -> Vec<u8> {
        let mut out = Vec::new();
        put_u(&mut out, removed.len() as u64);
        for &g in removed {
            put_u(&mut out, g);
        }
        put_u(&mut out, changed.len() as u64);
        for (g, mask, residuals) in changed {
            put_u(&mut out, *g);
            put_u(&mut out, *mask);
            for &r in *residuals {
                put_i(&mut out, r);
            }
        }
        put_u(&mut out, added.len() as u64);
        for d in added {
            d.write(&mut out);
        }
        out
    }

    #[test]
    fn indices_out_of_range_or_not_ascending_are_bad_indices() {
        let bad = |removed: &[u64], changed: &[(u64, u64, &[i64])]| {
            let out = unpack(&section(removed, changed, &[]));
            assert!(
                matches!(out, Err(DeltaError::BadIndex { .. })),
                "{removed:?} {changed:?}: {out:?}"
            );
        };
        bad(&[3], &[]);
        bad(&[2, 0], &[]);
        bad(&[0, u64::MAX], &[]);
        bad(&[], &[(3, 1, &[1])]);
        bad(&[], &[(1, 1, &[1]), (1, 1, &[1])]);
        bad(&[], &[(0, 1, &[1]), (u64::MAX, 1, &[1])]);
        bad(&[1], &[(1, 1, &[1])]);
        bad(&[0, 1], &[(2, 1, &[1])]);
        assert_eq!(
            unpack(&section(&[0, 1], &[(1, 1, &[-1])], &[])),
            Ok(vec![Dot {
                id: 3,
                xy: [30, 1],
                drift: 1
            }]),
            "removes 0 and 2, changes 1 (x: 30 − 1 + a drift of 1)"
        );
    }

    #[test]
    fn masks_must_be_non_zero_and_name_only_existing_fields() {
        for mask in [0, 0b100, 1 << 40, u64::MAX] {
            let out = unpack(&section(&[], &[(0, mask, &[1, 1, 1])], &[]));
            assert!(
                matches!(out, Err(DeltaError::BadMask { .. })),
                "{mask:#x}: {out:?}"
            );
        }
    }

    #[test]
    fn a_value_leaving_its_range_is_refused() {
        for r in [i64::from(i32::MAX), i64::MAX, i64::MIN] {
            assert_eq!(
                unpack(&section(&[], &[(0, 0b01, &[r])], &[])),
                Err(DeltaError::FieldOutOfRange { field: 0 }),
                "{r}"
            );
        }
        let drifting = [dot(1, 0, i64::MAX)];
        let bytes = section(&[], &[(0, 1, &[1])], &[]);
        assert_eq!(
            unpack_entities(&drifting, &mut Reader::new(&bytes), STEP),
            Err(DeltaError::FieldOutOfRange { field: 0 }),
            "the drift overflows"
        );
    }

    #[test]
    fn added_entities_must_be_sorted_and_new() {
        let out = |added: &[Dot]| unpack(&section(&[], &[], added));
        let dup = Err(DeltaError::DuplicateOrUnsorted);
        assert_eq!(out(&[dot(3, 0, 0)]), dup, "3 is kept");
        assert_eq!(out(&[dot(6, 0, 0), dot(4, 0, 0)]), dup);
        assert_eq!(out(&[dot(4, 0, 0), dot(4, 0, 0)]), dup);
        assert_eq!(
            unpack(&section(
                &[1],
                &[],
                &[dot(0, 0, 0), dot(3, 9, 0), dot(9, 0, 0)]
            )),
            Ok(vec![
                dot(0, 0, 0),
                dot(1, 10, 0),
                dot(3, 9, 0),
                dot(5, 50, 0),
                dot(9, 0, 0)
            ]),
            "a removed id may come back"
        );
    }

    #[test]
    fn a_cut_section_is_malformed() {
        let whole = section(&[1], &[(0, 0b11, &[300, -300])], &[dot(7, 1, 0)]);
        for len in 0..whole.len() {
            let out = unpack(&whole[..len]);
            assert!(
                matches!(out, Err(DeltaError::Malformed(_))),
                "{len}: {out:?}"
            );
        }
        assert!(unpack(&whole).is_ok());
    }
}
