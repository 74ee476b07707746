//! `State`'s rules tick by tick: leases, epochs, heartbeats, listings and placement.

use super::*;
use crate::directory::NodeState;
use std::time::Duration;

const TTL: Duration = Duration::from_millis(300);

fn state() -> State {
    State::new(DirectoryConfig {
        lease_ttl: TTL,
        ..DirectoryConfig::default()
    })
}

fn node(id: &str) -> Node {
    Node {
        id: id.into(),
        url: format!("ws://{id}"),
    }
}

fn beat(id: &str, state: NodeState, players: &[usize]) -> NodeBeat {
    let rooms = players
        .iter()
        .enumerate()
        .map(|(i, &players)| RoomSummary {
            id: format!("{id}-r{i}"),
            players,
            capacity: 8,
            tick: 1,
            public: true,
        })
        .collect();
    NodeBeat {
        node: node(id),
        state,
        rooms,
    }
}

fn owned(c: Claim) -> Epoch {
    match c {
        Claim::Owned { epoch } => epoch,
        other => panic!("expected Owned, got {other:?}"),
    }
}

#[test]
fn a_lease_lives_exactly_its_ttl_unless_renewed() {
    let (mut s, t0) = (state(), Instant::now());
    let e = owned(s.claim("r", &node("a"), t0));
    assert!(s.owner("r", t0 + TTL - Duration::from_millis(1)).is_some());
    assert!(s.owner("r", t0 + TTL).is_none());
    assert!(s.renew("r", &node("a"), e, t0 + TTL / 2));
    assert!(
        s.owner("r", t0 + TTL).is_some(),
        "renewal extends from its own time"
    );
}

#[test]
fn a_second_claim_sees_the_owner_and_changes_nothing() {
    let (mut s, t0) = (state(), Instant::now());
    let e = owned(s.claim("r", &node("a"), t0));
    let seen = s.claim("r", &node("b"), t0);
    let want = Owner {
        node: node("a"),
        epoch: e,
    };
    assert_eq!(seen, Claim::OwnedBy(want));
    assert_eq!(s.counter("r", t0), e.0);
}

#[test]
fn a_claim_after_the_lease_lapsed_gets_a_greater_epoch_and_fences_the_old_owner() {
    let (mut s, t0) = (state(), Instant::now());
    let old = owned(s.claim("r", &node("a"), t0));
    let new = owned(s.claim("r", &node("b"), t0 + TTL));
    assert!(new > old);
    assert!(!s.renew("r", &node("a"), old, t0 + TTL), "stale renew");
    assert_eq!(s.owner("r", t0 + TTL).map(|o| o.epoch), Some(new));
}

#[test]
fn a_lapsed_lease_comes_back_at_the_same_epoch_when_nobody_claimed_meanwhile() {
    let (mut s, t0) = (state(), Instant::now());
    let e = owned(s.claim("r", &node("a"), t0));
    assert!(s.renew("r", &node("a"), e, t0 + TTL * 2));
    assert_eq!(s.owner("r", t0 + TTL * 2).map(|o| o.epoch), Some(e));
}

#[test]
fn an_emptied_directory_takes_the_leases_back_at_their_epochs() {
    let (mut s, t0) = (state(), Instant::now());
    let e = owned(s.claim("r", &node("a"), t0));
    s = state(); // Redis restarted without persistence
    assert!(s.renew("r", &node("a"), e, t0));
    let next = owned(s.claim("x", &node("b"), t0));
    assert_eq!(next, Epoch(1), "other rooms count afresh");
    s.release("r", "a", e, t0);
    assert!(
        owned(s.claim("r", &node("b"), t0)) > e,
        "epochs never go back"
    );
}

#[test]
fn after_a_restart_the_newest_epoch_wins_the_room() {
    let (mut s, t0) = (state(), Instant::now());
    let stale = owned(s.claim("r", &node("a"), t0));
    let current = owned(s.claim("r", &node("b"), t0 + TTL));
    s = state();
    assert!(s.renew("r", &node("a"), stale, t0), "nobody else known yet");
    assert!(s.renew("r", &node("b"), current, t0));
    assert!(!s.renew("r", &node("a"), stale, t0));
}

#[test]
fn release_by_the_owner_frees_the_room_and_refuses_a_late_renewal() {
    let (mut s, t0) = (state(), Instant::now());
    let e = owned(s.claim("r", &node("a"), t0));
    assert!(!s.release("r", "b", e, t0), "not the owner");
    assert!(!s.release("r", "a", Epoch(e.0 + 1), t0), "not the epoch");
    assert!(s.release("r", "a", e, t0));
    assert!(s.owner("r", t0).is_none());
    assert!(!s.renew("r", &node("a"), e, t0), "a heartbeat in flight");
    assert!(owned(s.claim("r", &node("b"), t0)) > e);
}

#[test]
fn releasing_a_lapsed_lease_fences_it_too() {
    let (mut s, t0) = (state(), Instant::now());
    let e = owned(s.claim("r", &node("a"), t0));
    assert!(s.release("r", "a", e, t0 + TTL));
    assert!(!s.renew("r", &node("a"), e, t0 + TTL));
}

#[test]
fn heartbeats_sweep_what_has_expired() {
    let (mut s, t0) = (state(), Instant::now());
    let e = owned(s.claim("r", &node("a"), t0));
    s.release("r", "a", e, t0);
    s.claim("lapsed", &node("a"), t0);
    s.heartbeat(beat("a", NodeState::Up, &[]), &[], t0 + TTL);
    assert_eq!(
        (s.owners.len(), s.epochs.len()),
        (0, 2),
        "counters outlive leases"
    );
    s.heartbeat(
        beat("a", NodeState::Up, &[]),
        &[],
        t0 + DirectoryConfig::default().epoch_ttl,
    );
    assert_eq!(s.epochs.len(), 0);
}

#[test]
fn heartbeat_reports_only_the_lost_leases() {
    let (mut s, t0) = (state(), Instant::now());
    let kept = owned(s.claim("kept", &node("a"), t0));
    let lost = owned(s.claim("lost", &node("a"), t0));
    s.claim("lost", &node("b"), t0 + TTL);
    let leases = [("kept", kept), ("lost", lost)].map(|(room, epoch)| Lease {
        room: room.into(),
        epoch,
    });
    let gone = s.heartbeat(beat("a", NodeState::Up, &[]), &leases, t0 + TTL);
    assert_eq!(gone, vec![Arc::<str>::from("lost")]);
}

#[test]
fn placement_takes_the_emptiest_node_and_spreads_until_the_next_heartbeat() {
    let (mut s, t0) = (state(), Instant::now());
    s.heartbeat(beat("a", NodeState::Up, &[3]), &[], t0);
    s.heartbeat(beat("b", NodeState::Up, &[1]), &[], t0);
    let picks: Vec<_> = (0..4).map(|_| s.place(t0).map(|n| n.node.id)).collect();
    assert_eq!(picks, ["b", "b", "a", "b"].map(|id| Some(id.to_string())));
    s.heartbeat(beat("b", NodeState::Up, &[1]), &[], t0);
    assert_eq!(s.place(t0).map(|n| n.node.id), Some("b".into()));
}

#[test]
fn placement_skips_draining_and_dead_nodes() {
    let (mut s, t0) = (state(), Instant::now());
    s.heartbeat(beat("dead", NodeState::Up, &[]), &[], t0);
    s.heartbeat(beat("draining", NodeState::Draining, &[]), &[], t0 + TTL);
    assert_eq!(s.place(t0 + TTL), None);
    assert_eq!(
        s.nodes(t0 + TTL).len(),
        1,
        "the draining node is still listed"
    );
}

#[test]
fn a_dead_nodes_rooms_leave_the_listing_with_its_lease() {
    let (mut s, t0) = (state(), Instant::now());
    s.heartbeat(beat("a", NodeState::Up, &[1, 2]), &[], t0);
    s.heartbeat(beat("b", NodeState::Draining, &[4]), &[], t0 + TTL / 2);
    assert_eq!(s.rooms(t0 + TTL / 2).len(), 3);
    let left: Vec<_> = s.rooms(t0 + TTL).into_iter().map(|r| r.room.id).collect();
    assert_eq!(left, ["b-r0"]);
}
