//! Broker-level acknowledgements (MQTT PUBACK) sent only once ingest is done with a message.
//!
//! With a persistent session the broker keeps a QoS 1 message until this client acknowledges
//! it, and sends it again after a reconnect. Acknowledging on receipt (the client's default)
//! would void that: a server killed between the PUBACK and the ingest commit loses the broker's
//! copy. So each received publish gets a [`AckTicket`], carried with the message to ingest;
//! the PUBACK goes out when the ticket is dropped, which ingest does once the message is
//! committed, found to be a duplicate, refused as invalid (refused messages are acked too, or
//! the broker would hold them in its in-flight window until the next reconnect) or could not be
//! stored (then the agent is asked to resend it, as before).
//!
//! PUBACKs leave in the order the publishes arrived, as MQTT 3.1.1 (4.6) asks and rumqttd
//! requires (it refuses an out-of-order ack): a ticket done early waits for the ones before it.
//! Nothing waits forever, since every message ingest takes ends with its ticket dropped, and
//! ingest takes every message in turn. Tickets from an earlier connection are not acked on a
//! later one: the broker sends those messages again, ingest finds them applied, and acks them
//! then.

use crate::metrics::Metrics;
use rumqttc::{AsyncClient, Publish, QoS};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The received publishes not yet acknowledged, in order of arrival, on the current connection.
pub struct AckBook {
    state: Mutex<State>,
    metrics: Arc<Metrics>,
    /// Whether the client leaves PUBACKs to this book (`MqttOptions::set_manual_acks`).
    manual: bool,
}

#[derive(Default)]
struct State {
    /// Bumped whenever a connection ends or starts: tickets of another connection are void.
    connection: u64,
    /// The next publish's place in the order of arrival.
    next: u64,
    /// Place in the order of arrival -> (packet id, ingest done with it).
    waiting: BTreeMap<u64, (u16, bool)>,
    /// Where PUBACKs go; `None` once the link is shut down (nothing is acked after that).
    client: Option<AsyncClient>,
}

/// One received publish's place in the acknowledgement order. Dropping it says ingest is done
/// with the message: its PUBACK goes out once every earlier publish's has.
pub struct AckTicket {
    book: Arc<AckBook>,
    connection: u64,
    place: u64,
}

impl std::fmt::Debug for AckTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AckTicket")
            .field("connection", &self.connection)
            .field("place", &self.place)
            .finish()
    }
}

impl Drop for AckTicket {
    fn drop(&mut self) {
        self.book.done(self.connection, self.place);
    }
}

impl AckBook {
    /// An empty book; PUBACKs go nowhere until [`AckBook::set_client`]. With `manual` false
    /// the client acknowledges on receipt and the book only counts what arrives.
    pub fn new(metrics: Arc<Metrics>, manual: bool) -> Arc<Self> {
        Arc::new(AckBook {
            state: Mutex::new(State::default()),
            metrics,
            manual,
        })
    }

    /// The client (the current one, after the watchdog replaced it) PUBACKs go through.
    pub fn set_client(&self, client: Option<AsyncClient>) {
        if let Ok(mut s) = self.state.lock() {
            s.client = client;
        }
    }

    /// A connection ended or started: what was received before is sent again by the broker (a
    /// persistent session) or was dropped by it (a clean one), so none of it is acked now.
    pub fn new_connection(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.connection += 1;
            s.waiting.clear();
        }
    }

    /// A publish arrived: its ticket, or `None` for QoS 0 (nothing to acknowledge) and when
    /// the client acknowledges on receipt.
    pub fn received(self: &Arc<Self>, pkid: u16, qos: QoS) -> Option<AckTicket> {
        self.metrics.inc(&self.metrics.mqtt_received);
        if !self.manual || qos == QoS::AtMostOnce {
            return None;
        }
        let mut s = self.state.lock().ok()?;
        let place = s.next;
        s.next += 1;
        s.waiting.insert(place, (pkid, false));
        Some(AckTicket {
            book: self.clone(),
            connection: s.connection,
            place,
        })
    }

    /// How many received publishes wait for their PUBACK.
    pub fn waiting(&self) -> usize {
        self.state.lock().map_or(0, |s| s.waiting.len())
    }

    fn done(&self, connection: u64, place: u64) {
        let Ok(mut s) = self.state.lock() else {
            return;
        };
        if s.connection != connection {
            return;
        }
        if let Some(entry) = s.waiting.get_mut(&place) {
            entry.1 = true;
        }
        self.send_ready(&mut s);
    }

    /// Send what is ready and was refused before (the client's queue was full).
    pub fn flush(&self) {
        if let Ok(mut s) = self.state.lock() {
            self.send_ready(&mut s);
        }
    }

    /// PUBACK every done publish at the head of the order. A refused one stays at the head and
    /// goes on the next `done` or `flush`.
    fn send_ready(&self, s: &mut State) {
        let Some(client) = s.client.clone() else {
            return;
        };
        while let Some(entry) = s.waiting.first_entry() {
            let (pkid, done) = *entry.get();
            if !done {
                return;
            }
            let mut ack = Publish::new("", QoS::AtLeastOnce, Vec::new());
            ack.pkid = pkid;
            if client.try_ack(&ack).is_err() {
                return;
            }
            entry.remove();
            self.metrics.inc(&self.metrics.mqtt_acked);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A book with a client whose requests the test reads back; the event loop is never
    /// polled, so nothing goes anywhere.
    fn book() -> (Arc<AckBook>, rumqttc::EventLoop) {
        let book = AckBook::new(Arc::new(Metrics::default()), true);
        let (client, eventloop) =
            AsyncClient::new(rumqttc::MqttOptions::new("t", "127.0.0.1", 1), 64);
        book.set_client(Some(client));
        (book, eventloop)
    }

    fn sent(book: &AckBook) -> u64 {
        book.metrics
            .mqtt_acked
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    #[test]
    fn acks_leave_in_the_order_of_arrival() {
        let (book, _el) = book();
        let first = book.received(7, QoS::AtLeastOnce).unwrap();
        let second = book.received(8, QoS::AtLeastOnce).unwrap();
        let third = book.received(9, QoS::AtLeastOnce).unwrap();
        drop(third);
        drop(second);
        assert_eq!(sent(&book), 0, "nothing before the first is done");
        assert_eq!(book.waiting(), 3);
        drop(first);
        assert_eq!(sent(&book), 3);
        assert_eq!(book.waiting(), 0);
    }

    #[test]
    fn tickets_of_an_earlier_connection_are_not_acked() {
        let (book, _el) = book();
        let old = book.received(1, QoS::AtLeastOnce).unwrap();
        book.new_connection();
        let new = book.received(1, QoS::AtLeastOnce).unwrap();
        drop(old);
        assert_eq!(sent(&book), 0);
        drop(new);
        assert_eq!(sent(&book), 1);
    }

    #[test]
    fn nothing_is_acked_once_the_link_is_shut_down_and_qos0_needs_nothing() {
        let (book, _el) = book();
        assert!(book.received(3, QoS::AtMostOnce).is_none());
        let t = book.received(4, QoS::AtLeastOnce).unwrap();
        book.set_client(None);
        drop(t);
        assert_eq!(sent(&book), 0);
    }

    #[test]
    fn an_ack_refused_by_a_full_client_goes_on_the_next_flush() {
        let book = AckBook::new(Arc::new(Metrics::default()), true);
        let (client, mut el) = AsyncClient::new(rumqttc::MqttOptions::new("t", "127.0.0.1", 1), 1);
        book.set_client(Some(client.clone()));
        // Fill the client's one-request queue.
        client
            .try_publish("x", QoS::AtLeastOnce, false, vec![])
            .unwrap();
        drop(book.received(5, QoS::AtLeastOnce));
        assert_eq!(sent(&book), 0);
        assert_eq!(book.waiting(), 1);
        // Take the queued request off, as the event loop would.
        el.clean();
        el.pending.clear();
        book.flush();
        assert_eq!(sent(&book), 1);
        assert_eq!(book.waiting(), 0);
    }
}
