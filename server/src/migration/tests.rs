//! The migration rules, step by step with instants as arguments.

use super::*;

const PERIOD: Duration = Duration::from_millis(33);

fn node(id: &str) -> Node {
    Node {
        id: id.into(),
        url: format!("ws://{id}/ws"),
    }
}

fn info(id: &str, players: usize, state: NodeState) -> NodeInfo {
    NodeInfo {
        node: node(id),
        state,
        rooms: 0,
        players,
    }
}

fn moving(t0: Instant) -> Move {
    Move::new("r".into(), Epoch(4), node("b"), t0, PERIOD)
}

#[test]
fn an_offer_rings_at_once_then_every_half_second_until_its_deadline_then_aborts() {
    let t0 = Instant::now();
    let mut m = moving(t0);
    assert_eq!(
        m.poll(t0),
        Step::Wait,
        "nothing to ring before the offer stands"
    );
    let offered = t0 + Duration::from_millis(5);
    m.offered(offered);
    assert_eq!(m.poll(offered), Step::Ring);
    assert_eq!(m.poll(offered + Duration::from_millis(100)), Step::Wait);
    assert_eq!(m.poll(offered + RING_EVERY), Step::Ring);
    assert_eq!(m.poll(offered + ADOPT_DEADLINE), Step::Abort);
    assert_eq!(
        m.poll(offered + ADOPT_DEADLINE * 2),
        Step::Wait,
        "one abort"
    );
}

#[test]
fn an_adoption_hands_over_once_counting_the_ticks_the_game_stood_still() {
    let t0 = Instant::now();
    let mut m = moving(t0);
    m.offered(t0);
    let adopted = t0 + PERIOD * 2 + Duration::from_millis(1);
    assert_eq!(
        m.adopted(adopted),
        Some(Outcome::HandOver {
            frozen: PERIOD * 2 + Duration::from_millis(1),
            ticks_stalled: 2
        })
    );
    assert_eq!(
        m.adopted(adopted),
        None,
        "a second ring back changes nothing"
    );
    assert_eq!(
        m.poll(adopted + ADOPT_DEADLINE),
        Step::Wait,
        "no abort after it"
    );
}

#[test]
fn a_quick_adoption_stalls_no_tick() {
    let t0 = Instant::now();
    let mut m = moving(t0);
    m.offered(t0);
    let Some(Outcome::HandOver { ticks_stalled, .. }) = m.adopted(t0 + PERIOD / 2) else {
        panic!("adopted");
    };
    assert_eq!(ticks_stalled, 0);
}

#[test]
fn an_abort_that_wins_unfreezes_the_room_and_one_that_loses_hands_it_over() {
    let t0 = Instant::now();
    let mut won = moving(t0);
    won.offered(t0);
    assert_eq!(won.poll(t0 + ADOPT_DEADLINE), Step::Abort);
    assert_eq!(
        won.abort_answered(true, t0 + ADOPT_DEADLINE),
        Some(Outcome::Unfreeze {
            frozen: ADOPT_DEADLINE
        })
    );
    assert_eq!(won.adopted(t0 + ADOPT_DEADLINE), None, "too late");

    let mut lost = moving(t0);
    lost.offered(t0);
    assert_eq!(lost.poll(t0 + ADOPT_DEADLINE), Step::Abort);
    assert!(
        matches!(
            lost.abort_answered(false, t0 + ADOPT_DEADLINE),
            Some(Outcome::HandOver { .. })
        ),
        "the target adopted it and its ring back was lost"
    );
}

#[test]
fn a_ring_back_that_beats_the_abort_answer_leaves_nothing_for_the_answer() {
    let t0 = Instant::now();
    let mut m = moving(t0);
    m.offered(t0);
    assert_eq!(m.poll(t0 + ADOPT_DEADLINE), Step::Abort);
    assert!(matches!(
        m.adopted(t0 + ADOPT_DEADLINE),
        Some(Outcome::HandOver { .. })
    ));
    assert_eq!(m.abort_answered(false, t0 + ADOPT_DEADLINE), None);
}

#[test]
fn a_failed_offer_unfreezes_the_room() {
    let t0 = Instant::now();
    let mut m = moving(t0);
    assert_eq!(
        m.failed(t0 + Duration::from_millis(7)),
        Outcome::Unfreeze {
            frozen: Duration::from_millis(7)
        }
    );
    assert_eq!(m.adopted(t0), None);
}

#[test]
fn the_target_is_the_least_loaded_other_node_that_is_up() {
    let nodes = [
        info("a", 0, NodeState::Up),
        info("b", 10, NodeState::Up),
        info("c", 4, NodeState::Up),
        info("d", 1, NodeState::Draining),
    ];
    let none = HashMap::new();
    let pick = |me, sent| pick_target(&nodes, me, sent).map(|n| n.node.id.as_str());
    assert_eq!(
        pick("a", &none),
        Some("c"),
        "not itself, not a draining node"
    );
    let sent = HashMap::from([("c".to_string(), 8)]);
    assert_eq!(pick("a", &sent), Some("b"), "what this drain sent counts");
    assert_eq!(pick_target(&nodes[..1], "a", &none), None, "alone");
}

#[test]
fn equal_loads_pick_the_lowest_id() {
    let nodes = [info("c", 2, NodeState::Up), info("b", 2, NodeState::Up)];
    assert_eq!(
        pick_target(&nodes, "a", &HashMap::new()).map(|n| n.node.id.as_str()),
        Some("b")
    );
}

fn rooms(n: usize) -> Vec<Arc<str>> {
    (0..n).map(|i| Arc::from(format!("r{i}"))).collect()
}

#[test]
fn a_drain_moves_eight_rooms_at_a_time_spreading_them_by_players() {
    let t0 = Instant::now();
    let mut d = Drain::new(rooms(10), t0);
    let nodes = [
        info("a", 0, NodeState::Draining),
        info("b", 0, NodeState::Up),
        info("c", 0, NodeState::Up),
    ];
    assert!(d.wants_batch());
    let batch = d.next_batch(&nodes, "a", |_| Some(8));
    assert_eq!(batch.len(), MAX_PARALLEL);
    let to_b = batch.iter().filter(|(_, n)| n.id == "b").count();
    assert_eq!(to_b, 4, "alternating between the two idle nodes");
    assert!(!d.wants_batch(), "eight in flight");
    for (room, _) in &batch[..3] {
        d.finished(room, Finished::Moved);
    }
    assert_eq!(d.next_batch(&nodes, "a", |_| Some(8)).len(), 2, "the rest");
    assert!(!d.is_done());
}

#[test]
fn an_aborted_room_is_tried_again_then_left_here() {
    let t0 = Instant::now();
    let mut d = Drain::new(rooms(1), t0);
    let nodes = [info("b", 0, NodeState::Up)];
    for attempt in 1..=MAX_ATTEMPTS {
        let batch = d.next_batch(&nodes, "a", |_| Some(1));
        assert_eq!(batch.len(), 1, "attempt {attempt}");
        d.finished(&batch[0].0, Finished::Retry);
    }
    assert!(d.is_done());
    assert_eq!(d.left.len(), 1);
    assert_eq!(d.moved, 0);
}

#[test]
fn with_no_node_to_go_to_every_room_is_left_here_and_the_drain_is_done() {
    let mut d = Drain::new(rooms(3), Instant::now());
    let nodes = [info("a", 0, NodeState::Draining)];
    assert!(d.next_batch(&nodes, "a", |_| Some(1)).is_empty());
    assert!(d.is_done());
    assert_eq!(d.left.len(), 3);
}

#[test]
fn rooms_gone_before_their_turn_are_skipped() {
    let mut d = Drain::new(rooms(2), Instant::now());
    let nodes = [info("b", 0, NodeState::Up)];
    let batch = d.next_batch(&nodes, "a", |r| (r == "r1").then_some(1));
    assert_eq!(batch.len(), 1);
    assert_eq!(&*batch[0].0, "r1");
    d.finished(&batch[0].0, Finished::Gone);
    assert!(d.is_done());
    assert!(d.left.is_empty());
}

#[test]
fn doorbells_round_trip_and_garbage_is_ignored() {
    let ring = Doorbell::Adopt {
        room: "r".into(),
        source: "node a".into(),
        epoch: Epoch(7),
    };
    assert_eq!(Doorbell::decode(&ring.encode()), Some(ring));
    let back = Doorbell::Adopted {
        room: "r".into(),
        epoch: Epoch(7),
    };
    assert_eq!(Doorbell::decode(&back.encode()), Some(back));
    assert_eq!(Doorbell::decode(b"hello"), None);
}
