//! One connection per MQTT client id through the filter at a time, handed to a newer one only
//! after rumqttd has let go of the older.
//!
//! rumqttd (0.20) numbers connections by slot and reuses a slot as soon as it is free. When a
//! client reconnects before rumqttd has seen its old connection end, rumqttd drops the old one
//! as a duplicate and gives the new one the freed slot; the old connection's own end, reported
//! a moment later under that slot number, then ends the new connection, before or just after
//! its CONNACK. The client reconnects into the same race, so under load an agent can be cut off
//! again and again (a fleet of a few hundred agents lost one in two connections this way).
//!
//! Here a new connection for a client id first ends the one before and waits until rumqttd has
//! closed its side of it. rumqttd closes a connection's socket only after queueing its end for
//! the router, on the same queue a new connection is announced on, so the router always learns
//! of the old end before the new connect and no slot number is reported twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, OwnedMutexGuard};

/// The client ids seen through the filter, each with whose turn it is.
///
/// One entry per client id that passed the login check, so the map is bounded by the enrolled
/// agents (and the servers' own connections).
#[derive(Default)]
pub struct Handovers {
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

struct Slot {
    /// Held by the connection using the client id, until rumqttd has closed its side.
    turn: Arc<tokio::sync::Mutex<()>>,
    /// The newest connection's number: an older holder seeing it change ends itself.
    newest: watch::Sender<u64>,
}

/// One connection's turn with its client id.
pub struct Turn {
    _held: Option<OwnedMutexGuard<()>>,
    newest: watch::Receiver<u64>,
    number: u64,
}

impl Handovers {
    /// Take `client_id` for a new connection: ask the connection holding it to end, then wait
    /// (at most `wait`) until it has. `None` if a still newer connection came meanwhile: this
    /// one is stale and must not reach rumqttd. After `wait` the turn is taken anyway, so a
    /// holder that cannot end never locks its agent out.
    pub async fn take(&self, client_id: &str, wait: Duration) -> Option<Turn> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots
                .entry(client_id.to_owned())
                .or_insert_with(|| {
                    Arc::new(Slot {
                        turn: Arc::new(tokio::sync::Mutex::new(())),
                        newest: watch::channel(0).0,
                    })
                })
                .clone()
        };
        let mut number = 0;
        slot.newest.send_modify(|n| {
            *n = n.wrapping_add(1);
            number = *n;
        });
        let newest = slot.newest.subscribe();
        let held = match tokio::time::timeout(wait, slot.turn.clone().lock_owned()).await {
            Ok(held) => Some(held),
            Err(_) => {
                tracing::warn!(
                    client_id,
                    ?wait,
                    "broker filter: the previous connection did not end in time; connecting anyway"
                );
                None
            }
        };
        if *newest.borrow() != number {
            return None;
        }
        Some(Turn {
            _held: held,
            newest,
            number,
        })
    }
}

impl Turn {
    /// Resolves once a newer connection wants this client id.
    pub async fn superseded(&mut self) {
        let number = self.number;
        // An error means the slot is gone, which cannot happen while the map holds it; waiting
        // on forever is the right answer then.
        if self.newest.wait_for(|n| *n != number).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn a_newer_connection_ends_the_holder_and_waits_for_it() {
        let h = Arc::new(Handovers::default());
        let mut first = h.take("c", WAIT).await.expect("the first turn");
        let h2 = h.clone();
        let second = tokio::spawn(async move { h2.take("c", WAIT).await.is_some() });
        // The holder is told, and the newer one is still waiting until the holder lets go.
        first.superseded().await;
        assert!(!second.is_finished());
        drop(first);
        assert!(second.await.unwrap(), "the newer connection gets its turn");
    }

    #[tokio::test]
    async fn a_connection_overtaken_while_waiting_is_stale() {
        let h = Arc::new(Handovers::default());
        let first = h.take("c", WAIT).await.expect("the first turn");
        let mut newest = {
            let slots = h.slots.lock().unwrap();
            slots["c"].newest.subscribe()
        };
        let (h2, h3) = (h.clone(), h.clone());
        let second = tokio::spawn(async move { h2.take("c", WAIT).await.is_some() });
        newest.wait_for(|n| *n == 2).await.unwrap();
        let third = tokio::spawn(async move { h3.take("c", WAIT).await.is_some() });
        newest.wait_for(|n| *n == 3).await.unwrap();
        drop(first);
        assert!(!second.await.unwrap(), "the overtaken connection gives up");
        assert!(third.await.unwrap(), "the newest connection gets its turn");
    }

    #[tokio::test]
    async fn other_client_ids_do_not_wait() {
        let h = Handovers::default();
        let _a = h.take("a", WAIT).await.expect("a");
        let b = tokio::time::timeout(Duration::from_secs(1), h.take("b", WAIT)).await;
        assert!(matches!(b, Ok(Some(_))));
    }
}
