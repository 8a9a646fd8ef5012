//! The accept loop every HTTP server of this binary runs.
//!
//! One acceptor, one task per connection running hyper's HTTP/1 server. Protection against
//! slow or greedy clients is in [`Limits`]: a permit per open connection (beyond the cap
//! the kernel's backlog holds new ones), a time limit on request heads that also cuts idle
//! keep-alive connections (kept by the connection's task, see [`super::activity`]), a cap
//! on head size; every connection closes lingering (see [`super::lingering`]). When
//! `shutdown` resolves the listener is dropped (no new connections are accepted by this
//! process), in-flight requests get `drain_timeout` to finish, idle keep-alive connections
//! close at once, and [`serve`] returns how the drain went. A connection accepted just
//! before the shutdown whose first request has not been read yet is not closed unanswered:
//! it gets [`FIRST_REQUEST_GRACE`] to send it, and that request is served (a client cannot
//! know that its fresh connection landed on an instance that is leaving; during a rolling
//! restart it would otherwise see "closed without an answer").

use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use tokio::sync::{Semaphore, watch};

use super::activity::Activity;
use super::cores::Seat;
use super::lingering::Lingering;
use super::listen::{Listener, Peer};

/// Protection against slow or greedy clients, and the drain at shutdown.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Most open connections.
    pub max_connections: usize,
    /// Time a client has to send a request head (also the keep-alive idle limit).
    pub header_timeout: Duration,
    /// Largest request head, in bytes.
    pub max_head: usize,
    /// Time in-flight requests get at shutdown.
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 4096,
            header_timeout: Duration::from_secs(10),
            max_head: 64 * 1024,
            drain_timeout: Duration::from_secs(5),
        }
    }
}

/// How the drain at shutdown ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drain {
    /// Every connection finished.
    Complete,
    /// Some were still busy when `drain_timeout` passed; they were dropped.
    TimedOut,
}

/// At shutdown, how long a connection that has not sent its first request yet may take to
/// send it (it is served); after that it is closed.
pub const FIRST_REQUEST_GRACE: Duration = Duration::from_millis(500);

/// Back-off after a failed `accept` (EMFILE and friends), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `listener` until `shutdown` resolves, then drains. `make_service` builds the
/// service of one connection from its peer address. `seat`: this server's place among the
/// threads sharing the socket ([`super::cores`]); [`Seat::alone`] when it has it to itself.
pub async fn serve<F, S, B>(
    listener: Listener,
    seat: Seat,
    limits: Limits,
    make_service: F,
    shutdown: impl Future<Output = ()>,
) -> Drain
where
    F: Fn(Peer) -> S,
    S: hyper::service::Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    // `true` once the drain starts; every connection task watches it.
    let (draining, _) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        // The permit first: at the cap, new connections wait in the kernel's backlog.
        let permit = tokio::select! {
            p = Arc::clone(&permits).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        tokio::select! {
            () = seat.turn() => {}
            () = &mut shutdown => break,
        }
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let taken = seat.take();
        let activity = Activity::new();
        let service = activity.watch(make_service(peer));
        let fd = stream.raw_fd();
        // hyper's own head timeout would arm a timer per request: the task below keeps it.
        let conn = hyper::server::conn::http1::Builder::new()
            .header_read_timeout(None)
            .max_buf_size(limits.max_head)
            .serve_connection(TokioIo::new(Lingering::new(stream)), service);
        let mut drain = draining.subscribe();
        let limit = limits.header_timeout;
        tokio::spawn(async move {
            tokio::pin!(conn);
            let watchdog = tokio::time::sleep(limit);
            tokio::pin!(watchdog);
            let ended = loop {
                tokio::select! {
                    biased;
                    r = conn.as_mut() => break Some(r),
                    _ = drain.wait_for(|d| *d) => break None,
                    () = watchdog.as_mut() => match activity.check(fd, limit) {
                        Some(next) => watchdog.as_mut().reset(next),
                        None => {
                            tracing::debug!("connection cut: no request head within {limit:?}");
                            drop(permit);
                            return;
                        }
                    },
                }
            };
            let result = match ended {
                Some(r) => r,
                None => {
                    if !activity.seen() {
                        // Accepted, nothing read yet: let the client's request arrive.
                        let arrived =
                            tokio::time::timeout(FIRST_REQUEST_GRACE, activity.first_request());
                        tokio::select! {
                            r = conn.as_mut() => {
                                drop(permit);
                                return log_end(r);
                            }
                            _ = arrived => {}
                        }
                    }
                    // Finishes the request in flight (if any), then closes.
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            log_end(result);
            // The permit and the seat's count go with the connection.
            drop((permit, taken));
        });
    }
    // Closing our descriptor: this process accepts nothing more (a socket the supervisor
    // holds stays open for the next instance).
    drop(listener);
    draining.send_replace(true);
    // Every connection returns its permit when it ends.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    match tokio::time::timeout(limits.drain_timeout, permits.acquire_many(all)).await {
        Ok(_) => Drain::Complete,
        Err(_) => Drain::TimedOut,
    }
}

fn log_end(result: Result<(), hyper::Error>) {
    if let Err(e) = result {
        tracing::debug!("connection ended: {e}");
    }
}

/// Resolves on SIGTERM or SIGINT: the shutdown future of the web and backend servers.
/// If the handlers cannot be installed it never resolves (and says so): stop with SIGKILL.
pub async fn termination_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        },
        _ => {
            tracing::error!("cannot install signal handlers; stop with SIGKILL");
            std::future::pending().await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A test server on a free port answering `body` (`/slow` after 300 ms), stopped by the
    /// returned sender.
    async fn test_server(
        body: &'static [u8],
    ) -> (
        std::net::SocketAddr,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<Drain>,
    ) {
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            Listener::Tcp(tcp),
            Seat::alone(),
            Limits::default(),
            move |_peer| {
                hyper::service::service_fn(move |req: Request<Incoming>| async move {
                    if req.uri().path() == "/slow" {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                    Ok::<_, Infallible>(Response::new(http_body_util::Full::new(
                        bytes::Bytes::from_static(body),
                    )))
                })
            },
            async {
                let _ = stop_rx.await;
            },
        ));
        (addr, stop_tx, server)
    }

    /// A slow request in flight at shutdown finishes; a new connection is refused; an idle
    /// keep-alive connection is closed; the drain reports completion.
    #[tokio::test]
    async fn shutdown_drains_in_flight_and_stops_accepting() {
        let (addr, stop_tx, server) = test_server(b"done").await;
        let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET /slow HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
        idle.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 256];
        let n = idle.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        tokio::time::sleep(Duration::from_millis(50)).await;
        stop_tx.send(()).unwrap();
        let mut answer = Vec::new();
        slow.read_to_end(&mut answer).await.unwrap();
        assert!(
            answer.starts_with(b"HTTP/1.1 200") && answer.ends_with(b"done"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
        let mut rest = Vec::new();
        assert_eq!(idle.read_to_end(&mut rest).await.unwrap(), 0, "idle closed");
        assert_eq!(server.await.unwrap(), Drain::Complete);
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }

    /// A connection accepted before the shutdown whose request comes a moment after it is
    /// served, not closed unanswered; one that never sends is closed after the grace.
    #[tokio::test]
    async fn a_fresh_connection_at_shutdown_gets_its_first_request_served() {
        let (addr, stop_tx, server) = test_server(b"served").await;
        let mut late = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
        // Both accepted, then the shutdown, then the request.
        tokio::time::sleep(Duration::from_millis(50)).await;
        stop_tx.send(()).unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        late.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        late.read_to_end(&mut answer).await.unwrap();
        assert!(
            answer.starts_with(b"HTTP/1.1 200") && answer.ends_with(b"served"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
        let mut rest = Vec::new();
        let started = std::time::Instant::now();
        assert_eq!(silent.read_to_end(&mut rest).await.unwrap(), 0, "closed");
        assert!(started.elapsed() < FIRST_REQUEST_GRACE + Duration::from_secs(2));
        assert_eq!(server.await.unwrap(), Drain::Complete);
    }

    /// The head/idle limit of the servers below.
    const LIMIT: Duration = Duration::from_millis(300);

    /// A server with a 300 ms head/idle limit: `/slow` answers after 800 ms, `/stream`
    /// sends four chunks 400 ms apart, `/big` is 4 MiB, anything else `ok`.
    async fn patient_server() -> std::net::SocketAddr {
        use futures_util::StreamExt;
        use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
        type B = BoxBody<bytes::Bytes, Infallible>;
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let limits = Limits {
            header_timeout: LIMIT,
            ..Limits::default()
        };
        tokio::spawn(serve(
            Listener::Tcp(tcp),
            Seat::alone(),
            limits,
            |_peer| {
                hyper::service::service_fn(|req: Request<Incoming>| async move {
                    let body: B = match req.uri().path() {
                        "/slow" => {
                            tokio::time::sleep(Duration::from_millis(800)).await;
                            Full::new(bytes::Bytes::from_static(b"slow")).boxed()
                        }
                        "/stream" => {
                            let chunks = futures_util::stream::iter(1..=4).then(|i| async move {
                                tokio::time::sleep(Duration::from_millis(400)).await;
                                Ok(hyper::body::Frame::data(bytes::Bytes::from(format!(
                                    "c{i}"
                                ))))
                            });
                            BodyExt::boxed(StreamBody::new(chunks))
                        }
                        "/big" => Full::new(bytes::Bytes::from(vec![7u8; 4 << 20])).boxed(),
                        _ => Full::new(bytes::Bytes::from_static(b"ok")).boxed(),
                    };
                    Ok::<_, Infallible>(Response::new(body))
                })
            },
            std::future::pending(),
        ));
        addr
    }

    /// The whole answer to `GET path` on a connection of its own.
    async fn fetch(addr: std::net::SocketAddr, path: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let req = format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).await.unwrap();
        String::from_utf8_lossy(&answer).into_owned()
    }

    /// The limit is on request heads and idleness only: a slow handler and a body
    /// streamed with pauses longer than the limit are delivered whole.
    #[tokio::test]
    async fn slow_answers_are_not_cut_by_the_head_limit() {
        let addr = patient_server().await;
        let slow = fetch(addr, "/slow").await;
        assert!(slow.ends_with("slow"), "{slow}");
        let text = fetch(addr, "/stream").await;
        assert!(
            text.contains("c1") && text.contains("c4") && text.ends_with("0\r\n\r\n"),
            "{text}"
        );
    }

    /// A client reading a large response more slowly than the limit gets all of it.
    #[tokio::test]
    async fn a_slow_reader_gets_the_whole_response() {
        let addr = patient_server().await;
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(16 * 1024).unwrap();
        let mut s = socket.connect(addr).await.unwrap();
        s.write_all(b"GET /big HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let (mut got, mut buf) = (0usize, vec![0u8; 64 * 1024]);
        loop {
            let n = s.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got += n;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(got > 4 << 20, "got {got} bytes");
        assert!(
            started.elapsed() > 2 * LIMIT,
            "too fast to prove it: {:?}",
            started.elapsed()
        );
    }

    /// A keep-alive connection is closed a limit after its last answer, and one that
    /// trickles a head that never ends a limit after it opened; not before.
    #[tokio::test]
    async fn idle_and_unfinished_heads_are_cut_after_the_limit() {
        let addr = patient_server().await;
        let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
        idle.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        let n = idle.read(&mut buf).await.unwrap();
        assert!(
            buf[..n].ends_with(b"ok"),
            "{}",
            String::from_utf8_lossy(&buf[..n])
        );
        let answered = std::time::Instant::now();
        assert_eq!(idle.read(&mut buf).await.unwrap(), 0, "closed");
        let idled = answered.elapsed();
        assert!(
            idled >= LIMIT - Duration::from_millis(20) && idled < Duration::from_secs(3),
            "{idled:?}"
        );

        let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
        let opened = std::time::Instant::now();
        slow.write_all(b"GET / HTTP/1.1\r\nx-slow: ").await.unwrap();
        let trickle = async {
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                if slow.write_all(b"a").await.is_err() {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(5), trickle).await;
        let cut = opened.elapsed();
        assert!(
            cut >= LIMIT - Duration::from_millis(20) && cut < Duration::from_secs(3),
            "{cut:?}"
        );
    }
}
