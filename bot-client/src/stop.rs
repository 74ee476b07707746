//! The stop signal of a load run: one `watch` channel whose value turns `true` once.
//!
//! [`crate::LoadRun`] owns the sender and hands out [`StopHandle`]s; every task of the run
//! (each bot's session, the progress line, the lag probe) waits on its receiver with
//! `stopped()`. It sits below all of them, so none has to import another for it.

use std::sync::Arc;

use tokio::sync::watch;

/// Ends a run early (e.g. on Ctrl-C); the run still closes its bots and returns a report.
#[derive(Debug, Clone)]
pub struct StopHandle(Arc<watch::Sender<bool>>);

impl StopHandle {
    /// A handle on the run's stop sender (the run keeps its own).
    pub(crate) fn new(sender: Arc<watch::Sender<bool>>) -> Self {
        StopHandle(sender)
    }

    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

/// Resolves once the run is told to stop (or the stop sender is gone).
pub(crate) async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;

    #[tokio::test]
    async fn waits_until_a_handle_stops_the_run() {
        let sender = Arc::new(watch::channel(false).0);
        let mut rx = sender.subscribe();
        let handle = StopHandle::new(Arc::clone(&sender));
        let mut waiting = Box::pin(stopped(&mut rx));
        assert!((&mut waiting).now_or_never().is_none());
        handle.stop();
        tokio::time::timeout(std::time::Duration::from_secs(1), waiting)
            .await
            .expect("stopped() should resolve once the handle has stopped the run");
    }

    #[tokio::test]
    async fn a_dropped_sender_counts_as_stopped() {
        let sender = watch::channel(false).0;
        let mut rx = sender.subscribe();
        drop(sender);
        tokio::time::timeout(std::time::Duration::from_secs(1), stopped(&mut rx))
            .await
            .expect("stopped() should resolve once nobody can stop the run any more");
    }
}
