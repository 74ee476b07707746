//! Probes a running tickcast server against `shared/PROTOCOL.md` with the [`Bot`] API and prints
//! one line per check. Every check is bounded by a timeout; traffic goes only to the given URL.
//!
//! ```text
//! cargo run -p tickcast-bot --example conformance -- ws://127.0.0.1:8080/ws
//! ```
//!
//! The server must allow at least 9 players per room for the room-full check to be meaningful
//! (it fills a fresh named room up to `max_players` from the welcome, then asks for one more).

use std::time::Duration;

use tickcast_bot::{Bot, BotError, Event, Message, SnapshotView};
use tickcast_shared::arena::Controls;
use tickcast_shared::{close, error_code, Join, PROTOCOL_VERSION};

const T: Duration = Duration::from_secs(5);

fn closed_with(r: Result<Event, BotError>, code: u16) -> Result<String, String> {
    match r {
        Err(BotError::Closed(c)) | Ok(Event::Closed(c)) if c.code == code => Ok(c.to_string()),
        other => Err(format!("expected close {code}, got {other:?}")),
    }
}

async fn check(name: &str, f: impl std::future::Future<Output = Result<String, String>>) -> bool {
    let r = tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .unwrap_or_else(|_| Err("check timed out".into()));
    match &r {
        Ok(detail) => println!("PASS  {name}: {detail}"),
        Err(e) => println!("FAIL  {name}: {e}"),
    }
    r.is_ok()
}

fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("conf-{tag}-{nanos}")
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:8080/ws".into());
    let e = |e: BotError| e.to_string();
    let mut ok = true;

    ok &= check("join, welcome, snapshots with consecutive ticks", async {
        let mut bot = Bot::connect(&url, &Join::any_room("conf"))
            .await
            .map_err(e)?;
        let w = bot.welcome().clone();
        let a = bot.next_snapshot().await.map_err(e)?;
        let b = bot.next_snapshot().await.map_err(e)?;
        bot.close().await.map_err(e)?;
        if a.tick <= w.tick.saturating_sub(1) || b.tick != a.tick + 1 {
            return Err(format!(
                "welcome tick {}, then snapshots {} and {}",
                w.tick, a.tick, b.tick
            ));
        }
        Ok(format!(
            "room {} at {} Hz, ticks {} → {}",
            w.room_id, w.tick_rate, a.tick, b.tick
        ))
    })
    .await;

    ok &= check("input is acknowledged through last_input", async {
        let mut bot = Bot::connect(&url, &Join::any_room("conf"))
            .await
            .map_err(e)?;
        bot.next_snapshot().await.map_err(e)?;
        let seq = bot
            .send_input(Controls::new(1.0, 0.0, 0))
            .await
            .map_err(e)?;
        let snap = bot.wait_for_ack(seq, T).await.map_err(e)?;
        bot.close().await.map_err(e)?;
        Ok(format!("seq {seq} acknowledged at tick {}", snap.tick))
    })
    .await;

    ok &= check("ping is answered with the same client_time", async {
        let mut bot = Bot::connect(&url, &Join::any_room("conf"))
            .await
            .map_err(e)?;
        bot.send_ping(1234.5).await.map_err(e)?;
        let ev = bot
            .wait_for(T, |ev| matches!(ev, Event::Pong(_)))
            .await
            .map_err(e)?;
        bot.close().await.map_err(e)?;
        match ev {
            Event::Pong(p) if p.client_time == 1234.5 => {
                Ok(format!("server_time_ms {}", p.server_time_ms))
            }
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    ok &= check("close 1000 is echoed", async {
        let bot = Bot::connect(&url, &Join::any_room("conf"))
            .await
            .map_err(e)?;
        let c = bot.close().await.map_err(e)?;
        (c.code == close::NORMAL)
            .then(|| c.to_string())
            .ok_or(format!("got {c}"))
    })
    .await;

    ok &= check(
        "wrong version is closed with 4000 naming both versions",
        async {
            let mut bot = Bot::open(&url).await.map_err(e)?;
            let join = Join {
                version: PROTOCOL_VERSION + 1,
                ..Join::any_room("conf")
            };
            match bot.join_timeout(&join, T).await {
                Err(BotError::Closed(c)) if c.code == close::VERSION_MISMATCH => {
                    let both = c.reason.contains(&PROTOCOL_VERSION.to_string())
                        && c.reason.contains(&(PROTOCOL_VERSION + 1).to_string());
                    if both {
                        Ok(c.to_string())
                    } else {
                        Err(format!("reason does not name both versions: {c}"))
                    }
                }
                other => Err(format!(
                    "expected 4000, got {:?}",
                    other.map(|w| w.room_id.clone())
                )),
            }
        },
    )
    .await;

    ok &= check("invalid name is closed with 4003", async {
        let mut bot = Bot::open(&url).await.map_err(e)?;
        match bot.join_timeout(&Join::any_room("a\u{202e}b"), T).await {
            Err(BotError::Closed(c)) if c.code == close::INVALID_JOIN => Ok(c.to_string()),
            other => Err(format!(
                "expected 4003, got {:?}",
                other.map(|w| w.room_id.clone())
            )),
        }
    })
    .await;

    ok &= check("text frame is closed with 1003", async {
        let mut bot = Bot::open(&url).await.map_err(e)?;
        bot.send_raw(Message::Text("hello".into()))
            .await
            .map_err(e)?;
        closed_with(
            bot.wait_for(T, |ev| matches!(ev, Event::Closed(_))).await,
            close::UNSUPPORTED_DATA,
        )
    })
    .await;

    ok &= check("garbage is closed with 1007", async {
        let mut bot = Bot::open(&url).await.map_err(e)?;
        bot.send_raw(Message::Binary(vec![0xc1, 0x00, 0xff]))
            .await
            .map_err(e)?;
        closed_with(
            bot.wait_for(T, |ev| matches!(ev, Event::Closed(_))).await,
            close::INVALID_PAYLOAD,
        )
    })
    .await;

    ok &= check("message over 1024 bytes is closed with 1009", async {
        let mut bot = Bot::connect(&url, &Join::any_room("conf"))
            .await
            .map_err(e)?;
        bot.send_raw(Message::Binary(vec![0x90; 2000]))
            .await
            .map_err(e)?;
        closed_with(
            bot.wait_for(T, |ev| matches!(ev, Event::Closed(_))).await,
            close::MESSAGE_TOO_BIG,
        )
    })
    .await;

    ok &= check("input before join is error 4100", async {
        let mut bot = Bot::open(&url).await.map_err(e)?;
        bot.send_input(Controls::default()).await.map_err(e)?;
        let ev = bot
            .wait_for(T, |ev| matches!(ev, Event::Error(_)))
            .await
            .map_err(e)?;
        match ev {
            Event::Error(m) if m.code == error_code::NOT_JOINED => Ok(m.message),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    ok &= check("second join is error 4101", async {
        let mut bot = Bot::connect(&url, &Join::any_room("conf"))
            .await
            .map_err(e)?;
        bot.send(&tickcast_shared::ClientMsg::Join(Join::any_room("again")))
            .await
            .map_err(e)?;
        let ev = bot
            .wait_for(T, |ev| matches!(ev, Event::Error(_)))
            .await
            .map_err(e)?;
        bot.close().await.map_err(e)?;
        match ev {
            Event::Error(m) if m.code == error_code::ALREADY_JOINED => Ok(m.message),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    ok &= check("repeated seq is error 4102, sent once", async {
        let mut bot = Bot::connect(&url, &Join::any_room("conf"))
            .await
            .map_err(e)?;
        bot.send_input_with_seq(5, Controls::default())
            .await
            .map_err(e)?;
        bot.wait_for_ack(5, T).await.map_err(e)?;
        bot.send_input_with_seq(5, Controls::default())
            .await
            .map_err(e)?;
        bot.send_input_with_seq(3, Controls::default())
            .await
            .map_err(e)?;
        let ev = bot
            .wait_for(T, |ev| matches!(ev, Event::Error(_)))
            .await
            .map_err(e)?;
        // A second 4102 within the next half second would break "sent at most once".
        let again = bot
            .wait_for(Duration::from_millis(500), |ev| {
                matches!(ev, Event::Error(_))
            })
            .await;
        bot.close().await.map_err(e)?;
        match (ev, again) {
            (Event::Error(m), Err(BotError::Timeout { .. }))
                if m.code == error_code::STALE_INPUT =>
            {
                Ok(m.message)
            }
            (first, again) => Err(format!("{first:?}, then {again:?}")),
        }
    })
    .await;

    ok &= check("named room full is closed with 4001", async {
        let room = unique("full");
        let first = Bot::connect(&url, &Join::room(room.clone(), "p0"))
            .await
            .map_err(e)?;
        let max = first.welcome().max_players;
        let mut bots = vec![first];
        for i in 1..max {
            bots.push(
                Bot::connect(&url, &Join::room(room.clone(), format!("p{i}")))
                    .await
                    .map_err(e)?,
            );
        }
        let extra = Bot::connect(&url, &Join::room(room.clone(), "extra")).await;
        for b in bots {
            let _ = b.close().await;
        }
        match extra {
            Err(BotError::Closed(c)) if c.code == close::ROOM_FULL => {
                Ok(format!("after {max} players: {c}"))
            }
            Err(other) => Err(format!("expected 4001, got {other}")),
            Ok(_) => Err(format!("player {} joined a room of {max}", max + 1)),
        }
    })
    .await;

    ok &= check(
        "players of one room get the same snapshot bytes for a tick",
        async {
            let room = unique("same");
            let mut a = Bot::connect(&url, &Join::room(room.clone(), "a"))
                .await
                .map_err(e)?;
            let mut b = Bot::connect(&url, &Join::room(room.clone(), "b"))
                .await
                .map_err(e)?;
            // Raw frames, so the check is on bytes as PROTOCOL.md says; ticks read by scanning.
            async fn next_snap(bot: &mut Bot) -> Result<(u64, Vec<u8>), String> {
                for _ in 0..50 {
                    let bytes = bot.next_bytes().await.map_err(|e| e.to_string())?;
                    if let Ok(Some(v)) = SnapshotView::scan(&bytes, &[0; 16]) {
                        return Ok((v.tick, bytes));
                    }
                }
                Err("no snapshot in 50 messages".into())
            }
            let mut sa = next_snap(&mut a).await?;
            let mut sb = next_snap(&mut b).await?;
            // Line the two streams up on one tick (bounded: a few ticks apart at most).
            for _ in 0..20 {
                if sa.0 < sb.0 {
                    sa = next_snap(&mut a).await?;
                } else if sb.0 < sa.0 {
                    sb = next_snap(&mut b).await?;
                } else {
                    break;
                }
            }
            let _ = a.close().await;
            let _ = b.close().await;
            if sa.0 != sb.0 {
                return Err(format!("could not line up ticks {} and {}", sa.0, sb.0));
            }
            if sa.1 != sb.1 {
                return Err(format!(
                    "tick {} bytes differ between the two players",
                    sa.0
                ));
            }
            Ok(format!("tick {}: {} identical bytes", sa.0, sa.1.len()))
        },
    )
    .await;

    ok &= check("resume token gets the same player back", async {
        let room = unique("resume");
        let bot = Bot::connect(&url, &Join::room(room.clone(), "phoenix"))
            .await
            .map_err(e)?;
        let w = bot.welcome().clone();
        let Some(token) = w.resume_token.clone() else {
            drop(bot);
            return Ok("skipped: the server sends no resume token".into());
        };
        drop(bot); // an unexpected disconnect: no close frame
        let join = Join {
            resume: Some(token),
            ..Join::room(room, "phoenix")
        };
        let again = Bot::connect(&url, &join).await.map_err(e)?;
        let id = again.welcome().player_id;
        let _ = again.close().await;
        (id == w.player_id)
            .then(|| format!("player {id} resumed"))
            .ok_or(format!("got player {id}, expected {}", w.player_id))
    })
    .await;

    ok &= check(
        "no join within the join timeout is closed with 1008 (waits up to 15 s)",
        async {
            let mut bot = Bot::open(&url).await.map_err(e)?;
            let started = std::time::Instant::now();
            let r = bot
                .wait_for(Duration::from_secs(15), |ev| matches!(ev, Event::Closed(_)))
                .await;
            closed_with(r, close::POLICY_VIOLATION)
                .map(|c| format!("{c} after {:.1} s", started.elapsed().as_secs_f64()))
        },
    )
    .await;

    std::process::exit(if ok { 0 } else { 1 });
}
