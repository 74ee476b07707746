//! A node's doorbell on Redis: one pub/sub connection subscribed to its inbox channel, kept
//! subscribed across reconnections, forwarding each message to the receiver
//! [`Directory::inbox`](super::Directory::inbox) returns.
//!
//! Pub/sub delivers at most once and only to a connected subscriber, so a doorbell is never the
//! state itself: the sender rings again until the state it waits for shows up (the migration
//! source rings every 500 ms), and the receiver re-reads the keys. A message sent while this
//! connection is being re-established is lost; the next ring gets through.
//!
//! Talks to: [`super::RedisDirectory`] (starts it); the registry reads the receiver.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;

/// The wait between attempts to (re)subscribe.
const RESUBSCRIBE_DELAY: Duration = Duration::from_millis(200);

/// Subscribes `client` to `channel` and forwards every payload to `to`, reconnecting after any
/// failure, until `to`'s receiver is dropped.
pub(super) async fn listen(
    client: redis::Client,
    channel: String,
    to: mpsc::UnboundedSender<Vec<u8>>,
) {
    while !to.is_closed() {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                Ok(()) => {
                    tracing::debug!(%channel, "doorbell subscribed");
                    let mut messages = pubsub.into_on_message();
                    loop {
                        tokio::select! {
                            msg = messages.next() => match msg {
                                Some(msg) => {
                                    if to.send(msg.get_payload_bytes().to_vec()).is_err() {
                                        return;
                                    }
                                }
                                None => break,
                            },
                            () = to.closed() => return,
                        }
                    }
                    tracing::warn!(%channel, "doorbell connection lost; resubscribing");
                }
                Err(e) => tracing::warn!(%channel, error = %e, "doorbell subscribe failed"),
            },
            Err(e) => tracing::debug!(%channel, error = %e, "doorbell connection failed"),
        }
        tokio::time::sleep(RESUBSCRIBE_DELAY).await;
    }
}
