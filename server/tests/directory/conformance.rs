//! The contract every `Directory` keeps. Each rule is one generic async test body;
//! [`conformance_suite!`] instantiates all of them for one fixture.

use std::collections::BTreeSet;
use std::sync::Arc;

use tickcast_server::directory::{Claim, Epoch, Lease, ListedRoom, NodeState, Owner};

use crate::fixture::{beat, node, owned, Fixture};

/// One `#[tokio::test]` per rule below, on the fixture `$fixture()` builds.
#[macro_export]
macro_rules! conformance_suite {
    ($fixture:path) => {
        $crate::conformance_suite!(@tests $fixture;
            a_claim_makes_one_owner_and_names_it_to_the_others,
            racing_claims_on_one_room_make_exactly_one_owner,
            a_claim_after_the_lease_lapsed_gets_a_greater_epoch_and_fences_the_old_owner,
            a_lapsed_lease_comes_back_at_its_epoch_when_nobody_claimed_it,
            release_is_for_the_owner_at_its_epoch_and_fences_a_late_renewal,
            a_lease_from_an_earlier_life_of_the_node_is_released_and_claimed_again,
            heartbeat_publishes_the_node_and_its_rooms,
            heartbeat_renews_leases_and_reports_the_lost_ones,
            placement_takes_the_emptiest_node_and_spreads_until_the_next_heartbeat,
            placement_never_picks_a_draining_node_or_an_empty_cluster,
            a_dead_nodes_rooms_leave_the_listing_and_placement,
            an_adopted_room_moves_under_a_new_epoch_and_its_source_loses_it,
            racing_adoptions_and_an_abort_have_exactly_one_winner,
            handoff_steps_are_refused_for_the_wrong_node_epoch_or_target,
            only_the_owner_at_its_epoch_writes_a_rooms_image,
            a_doorbell_rings_only_the_node_it_is_sent_to,
        );
    };
    (@tests $fixture:path; $($name:ident,)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                $crate::conformance::$name(&$fixture().await).await;
            }
        )*
    };
}

fn lease(room: &str, epoch: Epoch) -> Lease {
    Lease {
        room: room.into(),
        epoch,
    }
}

fn room_ids(rooms: &[ListedRoom]) -> BTreeSet<(String, String)> {
    rooms
        .iter()
        .map(|r| (r.room.id.clone(), r.node.id.clone()))
        .collect()
}

pub async fn a_claim_makes_one_owner_and_names_it_to_the_others(fx: &impl Fixture) {
    let d = fx.dir();
    let epoch = owned(d.claim("lobby", &node("a")).await.unwrap());
    let a = Owner {
        node: node("a"),
        epoch,
    };
    assert_eq!(
        d.claim("lobby", &node("b")).await.unwrap(),
        Claim::OwnedBy(a.clone())
    );
    assert_eq!(d.owner("lobby").await.unwrap(), Some(a));
    assert_eq!(d.owner("elsewhere").await.unwrap(), None);
    let other = owned(d.claim("elsewhere", &node("b")).await.unwrap());
    assert_eq!(other, Epoch(1), "each room counts its own epochs");
}

pub async fn racing_claims_on_one_room_make_exactly_one_owner(fx: &impl Fixture) {
    let d = fx.dir();
    let claims: Vec<_> = (0..16)
        .map(|i| tokio::spawn(d.claim("contested", &node(&format!("n{i}")))))
        .collect();
    let mut winners = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, claim) in claims.into_iter().enumerate() {
        match claim.await.unwrap().unwrap() {
            Claim::Owned { epoch } => winners.push((format!("n{i}"), epoch)),
            Claim::OwnedBy(owner) => {
                seen.insert((owner.node.id, owner.epoch));
            }
        }
    }
    assert_eq!(winners.len(), 1, "exactly one claim wins: {winners:?}");
    assert!(
        seen.iter().all(|s| *s == winners[0]),
        "every loser is told the winner: {seen:?} vs {winners:?}"
    );
}

pub async fn a_claim_after_the_lease_lapsed_gets_a_greater_epoch_and_fences_the_old_owner(
    fx: &impl Fixture,
) {
    let d = fx.dir();
    let old = owned(d.claim("r", &node("a")).await.unwrap());
    let won = std::sync::Mutex::new(None);
    fx.after_ttl("b can claim the room a stopped renewing", || async {
        let claim = d.claim("r", &node("b")).await.unwrap();
        let epoch = match claim {
            Claim::Owned { epoch } => epoch,
            Claim::OwnedBy(_) => return false,
        };
        *won.lock().unwrap() = Some(epoch);
        true
    })
    .await;
    let new = won.into_inner().unwrap().expect("b claimed");
    assert!(new > old, "{new} > {old}");
    assert!(!d.renew("r", &node("a"), old).await.unwrap(), "stale renew");
    let lost = d.heartbeat(beat("a", NodeState::Up, &[]), vec![lease("r", old)]);
    assert_eq!(lost.await.unwrap(), vec![Arc::<str>::from("r")]);
    let owner = d.owner("r").await.unwrap().expect("b owns r");
    assert_eq!((owner.node, owner.epoch), (node("b"), new));
}

pub async fn a_lapsed_lease_comes_back_at_its_epoch_when_nobody_claimed_it(fx: &impl Fixture) {
    let d = fx.dir();
    let epoch = owned(d.claim("r", &node("a")).await.unwrap());
    fx.after_ttl("the unrenewed lease lapses", || async {
        d.owner("r").await.unwrap().is_none()
    })
    .await;
    assert!(d.renew("r", &node("a"), epoch).await.unwrap());
    let owner = d.owner("r").await.unwrap().expect("a holds r again");
    assert_eq!((owner.node, owner.epoch), (node("a"), epoch));
}

pub async fn release_is_for_the_owner_at_its_epoch_and_fences_a_late_renewal(fx: &impl Fixture) {
    let d = fx.dir();
    let epoch = owned(d.claim("r", &node("a")).await.unwrap());
    assert!(!d.release("r", "b", epoch).await.unwrap(), "not the owner");
    assert!(
        !d.release("r", "a", Epoch(epoch.0 + 1)).await.unwrap(),
        "not its epoch"
    );
    assert!(
        d.owner("r").await.unwrap().is_some(),
        "refusals change nothing"
    );
    assert!(d.release("r", "a", epoch).await.unwrap());
    assert_eq!(d.owner("r").await.unwrap(), None);
    assert!(
        !d.renew("r", &node("a"), epoch).await.unwrap(),
        "a heartbeat in flight"
    );
    assert!(!d.release("r", "a", epoch).await.unwrap(), "released once");
    assert!(owned(d.claim("r", &node("b")).await.unwrap()) > epoch);
}

pub async fn a_lease_from_an_earlier_life_of_the_node_is_released_and_claimed_again(
    fx: &impl Fixture,
) {
    let d = fx.dir();
    let before = owned(d.claim("r", &node("a")).await.unwrap());
    // Node a restarts with the same id: its claim names itself.
    let Claim::OwnedBy(mine) = d.claim("r", &node("a")).await.unwrap() else {
        panic!("the old lease is live");
    };
    assert_eq!((mine.node, mine.epoch), (node("a"), before));
    assert!(d.release("r", "a", mine.epoch).await.unwrap());
    assert!(owned(d.claim("r", &node("a")).await.unwrap()) > before);
}

pub async fn heartbeat_publishes_the_node_and_its_rooms(fx: &impl Fixture) {
    let d = fx.dir();
    assert!(d.nodes().await.unwrap().is_empty());
    assert!(d.rooms().await.unwrap().is_empty());
    d.heartbeat(beat("a", NodeState::Up, &[2, 3]), vec![])
        .await
        .unwrap();
    d.heartbeat(beat("b", NodeState::Draining, &[1]), vec![])
        .await
        .unwrap();
    let nodes = d.nodes().await.unwrap();
    let summary: Vec<_> = nodes
        .iter()
        .map(|n| (n.node.clone(), n.state, n.rooms, n.players))
        .collect();
    assert_eq!(
        summary,
        [
            (node("a"), NodeState::Up, 2, 5),
            (node("b"), NodeState::Draining, 1, 1)
        ],
        "lowest placement score first, draining last"
    );
    let rooms = d.rooms().await.unwrap();
    let want = [("a-0", "a"), ("a-1", "a"), ("b-0", "b")];
    assert_eq!(
        room_ids(&rooms),
        want.map(|(r, n)| (r.to_string(), n.to_string())).into()
    );
    let b0 = rooms.iter().find(|r| r.room.id == "b-0").unwrap();
    assert_eq!(b0.node, node("b"), "each room carries its node's url");
    assert_eq!(b0.room, beat("b", NodeState::Up, &[1]).rooms[0]);
    // A heartbeat replaces the node's list.
    d.heartbeat(beat("a", NodeState::Up, &[2]), vec![])
        .await
        .unwrap();
    assert_eq!(d.rooms().await.unwrap().len(), 2);
}

pub async fn heartbeat_renews_leases_and_reports_the_lost_ones(fx: &impl Fixture) {
    let d = fx.dir();
    let kept = owned(d.claim("kept", &node("a")).await.unwrap());
    let taken = owned(d.claim("taken", &node("a")).await.unwrap());
    let leases = vec![lease("kept", kept), lease("taken", taken)];
    let a = beat("a", NodeState::Up, &[]);
    assert!(d
        .heartbeat(a.clone(), leases.clone())
        .await
        .unwrap()
        .is_empty());
    fx.after_ttl("b takes a room whose lease lapsed", || async {
        matches!(
            d.claim("taken", &node("b")).await.unwrap(),
            Claim::Owned { .. }
        )
    })
    .await;
    let lost = d.heartbeat(a, leases).await.unwrap();
    assert_eq!(lost, vec![Arc::<str>::from("taken")]);
    let owner = d.owner("kept").await.unwrap().expect("still a's");
    assert_eq!((owner.node, owner.epoch), (node("a"), kept));
}

pub async fn placement_takes_the_emptiest_node_and_spreads_until_the_next_heartbeat(
    fx: &impl Fixture,
) {
    let d = fx.dir();
    d.heartbeat(beat("a", NodeState::Up, &[3]), vec![])
        .await
        .unwrap();
    d.heartbeat(beat("b", NodeState::Up, &[1]), vec![])
        .await
        .unwrap();
    let mut picks = Vec::new();
    for _ in 0..4 {
        picks.push(d.place().await.unwrap().expect("a live node").node.id);
    }
    // b (1→2), b (2→3), a and b tie at 3: lowest id first, then b.
    assert_eq!(picks, ["b", "b", "a", "b"]);
    d.heartbeat(beat("b", NodeState::Up, &[1]), vec![])
        .await
        .unwrap();
    let placed = d.place().await.unwrap().expect("a live node");
    assert_eq!((placed.node, placed.players), (node("b"), 1));
}

pub async fn placement_never_picks_a_draining_node_or_an_empty_cluster(fx: &impl Fixture) {
    let d = fx.dir();
    assert_eq!(d.place().await.unwrap(), None);
    d.heartbeat(beat("a", NodeState::Draining, &[]), vec![])
        .await
        .unwrap();
    assert_eq!(d.place().await.unwrap(), None);
    d.heartbeat(beat("b", NodeState::Up, &[7]), vec![])
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(d.place().await.unwrap().map(|n| n.node), Some(node("b")));
    }
}

pub async fn a_dead_nodes_rooms_leave_the_listing_and_placement(fx: &impl Fixture) {
    let d = fx.dir();
    d.heartbeat(beat("dead", NodeState::Up, &[0, 1]), vec![])
        .await
        .unwrap();
    d.heartbeat(beat("live", NodeState::Up, &[5]), vec![])
        .await
        .unwrap();
    assert_eq!(d.rooms().await.unwrap().len(), 3);
    fx.after_ttl("only the node that keeps beating is listed", || async {
        d.heartbeat(beat("live", NodeState::Up, &[5]), vec![])
            .await
            .unwrap();
        let rooms = d.rooms().await.unwrap();
        room_ids(&rooms) == [("live-0".to_string(), "live".to_string())].into()
    })
    .await;
    let nodes: Vec<_> = d
        .nodes()
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.node)
        .collect();
    assert_eq!(nodes, [node("live")]);
    assert_eq!(d.place().await.unwrap().map(|n| n.node), Some(node("live")));
}

pub async fn an_adopted_room_moves_under_a_new_epoch_and_its_source_loses_it(fx: &impl Fixture) {
    let d = fx.dir();
    let e1 = owned(d.claim("r", &node("a")).await.unwrap());
    assert!(d.offer("r", "a", e1, "b").await.unwrap());
    assert!(
        d.renew("r", &node("a"), e1).await.unwrap(),
        "the source renews meanwhile"
    );
    let still_a = d.owner("r").await.unwrap().expect("owned while offered");
    assert_eq!((still_a.node, still_a.epoch), (node("a"), e1));
    let e2 = d.adopt("r", "a", e1, &node("b")).await.unwrap();
    let e2 = e2.expect("offered to b, and the renewal kept the offer");
    assert!(e2 > e1, "{e2} > {e1}");
    let owner = d.owner("r").await.unwrap().expect("b owns r");
    assert_eq!((owner.node, owner.epoch), (node("b"), e2));
    let lost = d.heartbeat(beat("a", NodeState::Up, &[]), vec![lease("r", e1)]);
    assert_eq!(lost.await.unwrap(), vec![Arc::<str>::from("r")]);
    assert!(d.renew("r", &node("b"), e2).await.unwrap());
}

pub async fn racing_adoptions_and_an_abort_have_exactly_one_winner(fx: &impl Fixture) {
    let d = fx.dir();
    for round in 0..10 {
        let room = format!("moving-{round}");
        let e1 = owned(d.claim(&room, &node("a")).await.unwrap());
        assert!(d.offer(&room, "a", e1, "b").await.unwrap());
        let adopts: Vec<_> = (0..3)
            .map(|_| tokio::spawn(d.adopt(&room, "a", e1, &node("b"))))
            .collect();
        let abort = tokio::spawn(d.abort(&room, "a", e1));
        let mut winners = usize::from(abort.await.unwrap().unwrap());
        for adopt in adopts {
            winners += usize::from(adopt.await.unwrap().unwrap().is_some());
        }
        assert_eq!(winners, 1, "{room}: one adoption or the abort");
        let owner = d.owner(&room).await.unwrap().expect("owned by a or b");
        assert_eq!(
            owner.node == node("b"),
            owner.epoch > e1,
            "{room}: {owner:?}"
        );
    }
}

pub async fn handoff_steps_are_refused_for_the_wrong_node_epoch_or_target(fx: &impl Fixture) {
    let d = fx.dir();
    let e1 = owned(d.claim("r", &node("a")).await.unwrap());
    let other = Epoch(e1.0 + 1);
    assert!(!d.offer("r", "b", e1, "c").await.unwrap(), "not the owner");
    assert!(
        !d.offer("r", "a", other, "c").await.unwrap(),
        "not its epoch"
    );
    assert!(
        !d.offer("nowhere", "a", e1, "c").await.unwrap(),
        "no such room"
    );
    assert_eq!(
        d.adopt("r", "a", e1, &node("b")).await.unwrap(),
        None,
        "never offered"
    );
    assert!(!d.abort("r", "a", e1).await.unwrap(), "never offered");
    assert!(d.offer("r", "a", e1, "b").await.unwrap());
    assert!(
        !d.offer("r", "a", e1, "c").await.unwrap(),
        "offered already"
    );
    assert_eq!(
        d.adopt("r", "a", e1, &node("c")).await.unwrap(),
        None,
        "not the target"
    );
    assert_eq!(
        d.adopt("r", "a", other, &node("b")).await.unwrap(),
        None,
        "not its epoch"
    );
    assert!(!d.abort("r", "a", other).await.unwrap(), "not its epoch");
    let owner = d.owner("r").await.unwrap().expect("a still owns r");
    assert_eq!(
        (owner.node, owner.epoch),
        (node("a"), e1),
        "refusals change nothing"
    );
}

pub async fn only_the_owner_at_its_epoch_writes_a_rooms_image(fx: &impl Fixture) {
    let d = fx.dir();
    assert_eq!(d.image("r").await.unwrap(), None, "no image yet");
    let e1 = owned(d.claim("r", &node("a")).await.unwrap());
    assert!(
        !d.put_image("r", "b", e1, vec![1]).await.unwrap(),
        "not the owner"
    );
    let other = Epoch(e1.0 + 1);
    assert!(
        !d.put_image("r", "a", other, vec![2]).await.unwrap(),
        "not its epoch"
    );
    assert_eq!(d.image("r").await.unwrap(), None, "refusals write nothing");
    assert!(d.put_image("r", "a", e1, vec![3, 4]).await.unwrap());
    assert_eq!(d.image("r").await.unwrap(), Some(vec![3, 4]));
    // Once the room moved on, its old owner cannot overwrite the image.
    assert!(d.offer("r", "a", e1, "b").await.unwrap());
    let e2 = d
        .adopt("r", "a", e1, &node("b"))
        .await
        .unwrap()
        .expect("adopted");
    assert!(!d.put_image("r", "a", e1, vec![5]).await.unwrap(), "fenced");
    assert!(d.put_image("r", "b", e2, vec![6]).await.unwrap());
    assert_eq!(d.image("r").await.unwrap(), Some(vec![6]));
}

/// Rings `node` with `message` until `inbox` hears it (pub/sub reaches only a listener that is
/// subscribed already), for at most 5 s.
async fn ring_until_heard(
    d: &dyn tickcast_server::directory::Directory,
    inbox: &mut tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>,
    node: &str,
    message: &[u8],
) {
    let wait = std::time::Duration::from_millis(50);
    tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            d.notify(node, message.to_vec()).await.unwrap();
            if let Ok(Some(heard)) = tokio::time::timeout(wait, inbox.recv()).await {
                assert_eq!(heard, message, "{node} hears what was sent to it");
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{node}'s doorbell did not ring within 5 s"));
}

pub async fn a_doorbell_rings_only_the_node_it_is_sent_to(fx: &impl Fixture) {
    let d = fx.dir();
    let (mut a, mut b) = (d.inbox("a"), d.inbox("b"));
    ring_until_heard(&*d, &mut a, "a", b"ring").await;
    ring_until_heard(&*d, &mut b, "b", b"other").await;
    while let Ok(extra) = a.try_recv() {
        assert_eq!(extra, b"ring", "a hears only its own rings");
    }
    while let Ok(extra) = b.try_recv() {
        assert_eq!(extra, b"other", "b hears only its own rings");
    }
}
