use super::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

fn msg(len: usize) -> Incoming {
    Incoming {
        topic: "mtm/v1/up/a".into(),
        payload: vec![0; len],
        ack: None,
    }
}

#[tokio::test]
async fn the_ingest_queue_never_waits_and_drops_beyond_its_budget() {
    let metrics = Arc::new(Metrics::default());
    let (tx, mut rx) = ingest_queue(100, metrics.clone());
    assert!(tx.offer(msg(60)));
    assert!(!tx.offer(msg(60)), "over budget: dropped, not waited for");
    assert_eq!(metrics.ingest_dropped.load(Ordering::SeqCst), 1);
    assert_eq!(rx.recv().await.map(|m| m.payload.len()), Some(60));
    assert!(tx.offer(msg(60)), "room again once ingest took the first");
    assert!(rx.try_recv().is_some());
    assert!(rx.try_recv().is_none());
}

/// A broker that accepts every connection, answers CONNECT with a CONNACK and then ignores
/// everything: no SUBACK, no PINGRESP. Reports each new connection.
async fn mute_broker() -> (u16, mpsc::UnboundedReceiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                if sock.read(&mut buf).await.unwrap_or(0) == 0 {
                    return;
                }
                if sock.write_all(&[0x20, 0x02, 0x00, 0x00]).await.is_err() {
                    return;
                }
                let _ = tx.send(());
                while sock.read(&mut buf).await.unwrap_or(0) > 0 {}
            });
        }
    });
    (port, rx)
}

async fn next_connection(rx: &mut mpsc::UnboundedReceiver<()>) {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("a connection in time")
        .expect("broker alive");
}

#[tokio::test]
async fn a_client_connected_but_never_subscribed_is_replaced_by_the_watchdog() {
    let (port, mut connections) = mute_broker().await;
    let metrics = Arc::new(Metrics::default());
    let (tx, _rx) = ingest_queue(1024, metrics.clone());
    let mut settings = ClientSettings::new("127.0.0.1".into(), port, None, false);
    // Long keepalive, so only the watchdog (not rumqttc's ping timeout) can reconnect.
    settings.keep_alive = Duration::from_secs(120);
    settings.subscribe_retry = Duration::from_millis(200);
    settings.stall_after = Duration::from_millis(1500);
    let link = MqttLink::start(settings, tx, metrics.clone());
    next_connection(&mut connections).await;
    assert!(!link.ready(), "connected but not subscribed is not ready");
    next_connection(&mut connections).await;
    assert!(
        link.status().restarts() >= 1,
        "the second connection is the watchdog's"
    );
    assert!(metrics.mqtt_restarts.load(Ordering::SeqCst) >= 1);
    assert!(!link.ready());
    link.shutdown();
}

#[tokio::test]
async fn publishing_while_the_broker_is_away_is_refused_at_once() {
    // Nothing listens on this port once the listener is dropped.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let metrics = Arc::new(Metrics::default());
    let (tx, _rx) = ingest_queue(1024, metrics.clone());
    let link = MqttLink::start(
        ClientSettings::new("127.0.0.1".into(), port, None, false),
        tx,
        metrics.clone(),
    );
    for _ in 0..10_000 {
        let sent = tokio::time::timeout(
            Duration::from_millis(100),
            link.publish("mtm/v1/down/a", vec![1, 2, 3]),
        )
        .await
        .expect("a publish never waits");
        assert!(sent.is_err());
    }
    assert_eq!(metrics.publish_refused.load(Ordering::SeqCst), 10_000);
    assert!(!link.ready());
    link.shutdown();
}

#[test]
fn after_an_outage_routers_get_the_time_their_agents_need_to_come_back() {
    let status = LinkStatus::default();
    let t0 = 1_000_000;
    assert!(status.mark_subscribed(t0));
    assert_eq!(
        status.listening_since(),
        Some(t0),
        "the first subscription counts at once"
    );
    assert!(!status.mark_subscribed(t0 + 5), "already standing");

    // The link lost for 20 s: agents were cut off as long, and back off about as long.
    status.down();
    assert_eq!(status.listening_since(), None);
    let lost = status.lost_at.load(Ordering::SeqCst);
    assert!(status.mark_subscribed(lost + 20_000));
    assert_eq!(status.listening_since(), Some(lost + 40_000));

    // An hour lost: agents wait at most their backoff's cap.
    status.down();
    let lost = status.lost_at.load(Ordering::SeqCst);
    assert!(status.mark_subscribed(lost + 3_600_000));
    assert_eq!(
        status.listening_since(),
        Some(lost + 3_600_000 + AGENT_RECONNECT_MAX_MS)
    );
}

/// The server's end of its broker connection sends each packet at once (`TCP_NODELAY`): with
/// Nagle's algorithm a command behind a publish the broker had not yet acknowledged waited for
/// the broker's delayed ACK, about 40 ms.
#[tokio::test]
async fn the_link_sends_each_packet_at_once() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let metrics = Arc::new(Metrics::default());
    let (tx, _rx) = ingest_queue(1024, metrics.clone());
    let link = MqttLink::start(
        ClientSettings::new("127.0.0.1".into(), port, None, false),
        tx,
        metrics,
    );
    let (mut sock, client) = listener.accept().await.unwrap();
    // The CONNECT comes after the client has set its socket's options.
    let mut buf = [0u8; 64];
    assert!(sock.read(&mut buf).await.unwrap() > 0);
    assert_eq!(nodelay_of_local_port(client.port()), Some(true));
    link.shutdown();
}

/// `TCP_NODELAY` of this process's IPv4 socket bound to local `port`, found among its open
/// descriptors (rumqttc keeps its socket to itself).
fn nodelay_of_local_port(port: u16) -> Option<bool> {
    for entry in std::fs::read_dir("/proc/self/fd").ok()? {
        let Some(fd) = entry
            .ok()
            .and_then(|e| e.file_name().to_str()?.parse::<i32>().ok())
        else {
            continue;
        };
        // SAFETY: a zeroed sockaddr_in is a valid value; getsockname writes at most `len` bytes
        // into it and fails harmlessly on a descriptor that is not a socket.
        let mut addr: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        let mut len = libc::socklen_t::try_from(std::mem::size_of::<libc::sockaddr_in>()).ok()?;
        let named = unsafe {
            libc::getsockname(fd, (&mut addr as *mut libc::sockaddr_in).cast(), &mut len)
        };
        if named != 0
            || i32::from(addr.sin_family) != libc::AF_INET
            || u16::from_be(addr.sin_port) != port
        {
            continue;
        }
        let mut on: libc::c_int = 0;
        let mut on_len = libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>()).ok()?;
        // SAFETY: getsockopt writes one c_int into `on`.
        let read = unsafe {
            libc::getsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                (&mut on as *mut libc::c_int).cast(),
                &mut on_len,
            )
        };
        if read == 0 {
            return Some(on != 0);
        }
    }
    None
}
