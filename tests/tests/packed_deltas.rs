//! Packed delta snapshots (`"d"`, issue 15) end to end: a real server on port 0 with a full
//! snapshot client, a client from before packed deltas (`"delta"`) and a packed client in one
//! room, each applying what it receives with the shared crate's `Baselines`, as a game client
//! would. The packed client must rebuild exactly what the others see, in fewer bytes, and the
//! old client must be served exactly as before.

mod common;

use std::collections::BTreeMap;

use common::*;
use futures_util::StreamExt;
use tickcast_shared::arena::{ArenaServerMsg, Controls, QuantizedArena};
use tickcast_shared::delta::Baselines;
use tickcast_shared::{decode, ClientMsg, Input, Join, ServerMsg};
use tokio_tungstenite::tungstenite::Message;

/// What one client rebuilt: state, base tick and bytes on the wire, by tick.
type Got = BTreeMap<u64, (QuantizedArena, u64, usize)>;

/// Reads `frames` snapshots of any form, applying deltas to `store`; after each one, sends an
/// input holding `stick` and acknowledging the newest state held (the newest full snapshot for a
/// full client). Panics on a delta that does not apply, or a form this client did not ask for.
async fn play(c: &mut Client, join: &Join, stick: Controls, frames: usize) -> Got {
    let mut store: Baselines<QuantizedArena> = Baselines::default();
    let tick_rate = c.welcome.as_ref().expect("joined").tick_rate;
    let mut got = Got::new();
    while got.len() < frames {
        let item = tokio::time::timeout(WAIT, c.ws.next())
            .await
            .expect("a snapshot should arrive in time");
        let Some(Ok(Message::Binary(bytes))) = item else {
            match item {
                Some(Ok(_)) => continue,
                other => panic!("connection ended: {other:?}"),
            }
        };
        let (tick, base, state) = match decode::<ArenaServerMsg>(&bytes).expect("decodes") {
            ServerMsg::Snapshot(s) if !join.deltas => {
                (s.tick, 0, QuantizedArena::from_state(&s.state))
            }
            ServerMsg::Delta(d) if join.deltas && !join.packed => {
                let state = store.receive(&d).expect("a delta applies").clone();
                (d.tick, d.base_tick, state)
            }
            ServerMsg::Packed(d) if join.packed => {
                let state = store
                    .receive_packed(&d, tick_rate)
                    .unwrap_or_else(|e| panic!("packed delta of tick {} failed: {e}", d.tick))
                    .clone();
                (d.tick, d.base_tick, state)
            }
            ServerMsg::Pong(_) | ServerMsg::Error(_) => continue,
            other => panic!("{join:?} was sent {other:?}"),
        };
        got.insert(tick, (state, base, bytes.len()));
        c.seq += 1;
        let ack_tick = if join.deltas { store.ack_tick() } else { tick };
        let input = Input {
            seq: c.seq,
            ack_tick,
            controls: stick,
        };
        c.send(&ClientMsg::Input(input)).await;
    }
    got
}

/// Mean wire size of the deltas against a baseline (not the full patches).
fn mean_patch_bytes(got: &Got) -> f64 {
    let sizes: Vec<usize> = got
        .values()
        .filter(|(_, base, _)| *base != 0)
        .map(|g| g.2)
        .collect();
    assert!(
        sizes.len() >= 30,
        "only {} deltas used a baseline",
        sizes.len()
    );
    sizes.iter().sum::<usize>() as f64 / sizes.len() as f64
}

#[tokio::test]
async fn packed_clients_rebuild_what_everyone_sees_in_fewer_bytes_and_old_clients_are_unchanged() {
    let server = start_arena(test_config());
    let joins = [
        Join::room("p1", "full"),
        Join::room("p1", "plain").with_deltas(),
        Join::room("p1", "packed").with_packed_deltas(),
    ];
    let mut clients = Vec::new();
    for j in &joins {
        clients.push(Client::join(server.addr(), j.clone()).await);
    }
    // Everyone runs one way, as players mostly do: the packed patches predict it.
    let sticks = [
        Controls::new(1.0, 0.0, 0),
        Controls::new(0.0, 1.0, 0),
        Controls::new(-0.6, -0.8, 0),
    ];
    // All three play at once (spawned before any is awaited).
    let plays: Vec<_> = clients
        .into_iter()
        .zip(joins.iter().cloned())
        .zip(sticks)
        .map(|((mut c, j), stick)| tokio::spawn(async move { play(&mut c, &j, stick, 90).await }))
        .collect();
    let mut got = Vec::new();
    for p in plays {
        got.push(p.await.expect("a client should not panic"));
    }
    let [full, plain, packed] = <[Got; 3]>::try_from(got).expect("three clients");

    let mut compared = 0;
    for (tick, (state, _, _)) in &packed {
        if let Some((expected, _, _)) = full.get(tick) {
            assert_eq!(
                state, expected,
                "tick {tick}: the packed client's state differs"
            );
            compared += 1;
        }
        if let Some((expected, _, _)) = plain.get(tick) {
            assert_eq!(
                state, expected,
                "tick {tick}: packed and plain deltas differ"
            );
        }
    }
    assert!(compared >= 45, "only {compared} ticks seen by both clients");
    let (plain_mean, packed_mean) = (mean_patch_bytes(&plain), mean_patch_bytes(&packed));
    assert!(
        packed_mean < 0.7 * plain_mean,
        "packed deltas average {packed_mean:.1} bytes, plain ones {plain_mean:.1}"
    );
    // The operator sees the two forms apart.
    let m = metrics(
        &server,
        &[
            "tickcast_snapshot_size_bytes_count{kind=\"delta\"}",
            "tickcast_snapshot_size_bytes_count{kind=\"packed\"}",
        ],
    )
    .await;
    assert!(m[0] > 0.0 && m[1] > 0.0, "{m:?}");
}
