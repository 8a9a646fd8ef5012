//! One listening socket served by a runtime per thread, the way nginx runs a worker per core.
//!
//! A multi-thread tokio runtime moves work between its threads: a connection's readiness
//! seen by one thread wakes a task another thread may run, and an idle thread is woken
//! (a futex, a context switch) whenever work appears. For small requests that hand-over
//! costs more than the request itself (measured in bench/RESULTS.md). Here each thread runs
//! a current-thread runtime with its own duplicate of the listening socket
//! ([`super::listen::Duplicate`]), and a connection lives on the thread that accepted it
//! until it closes. Every thread is woken by a new connection and the first to run drains
//! the whole backlog: a burst of connections (a client's pool opening) would all land on
//! one thread while the other cores idle (seen: 145-155k req/s instead of 195-225k for
//! `/health`, one run in two). So each thread has a [`Seat`]: it accepts only while it
//! holds no more connections than the least busy other thread plus one, and the others
//! take the rest.
//! What a thread's service needs per runtime (upstream connection pools) it builds itself.
//!
//! Owns: the extra threads, the one stop signal they share, and the balance of connections
//! between them. Must not: look at requests (that is the service's business) or decide the
//! thread count (the caller's).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::{Notify, oneshot, watch};

use super::listen::Listener;
use super::serve::{Drain, Limits};

/// Resolves when the server is told to stop; one per thread, all told at once.
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    /// Waits for the stop.
    pub async fn stopped(mut self) {
        // An error means the sender is gone: the server is ending anyway.
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// How many connections more than the least busy other thread a thread may hold and still
/// accept.
const SLACK: usize = 1;

/// The open connections of every thread serving one socket.
struct Seats {
    open: Box<[AtomicUsize]>,
    /// False for a thread that is not serving (never started, or ended).
    present: Box<[AtomicBool]>,
    /// Told whenever a count changes or a thread leaves.
    changed: Notify,
}

/// One thread's place among the threads serving a socket (see the module doc). Dropping it
/// (the thread's serving ended, even by a panic) takes the thread out of the balance.
pub struct Seat {
    all: Arc<Seats>,
    index: usize,
}

/// One open connection of a thread; counted until dropped.
pub struct Taken {
    all: Arc<Seats>,
    index: usize,
}

impl Seat {
    /// `n` seats, one per thread, all present.
    fn table(n: usize) -> Vec<Seat> {
        let all = Arc::new(Seats {
            open: (0..n).map(|_| AtomicUsize::new(0)).collect(),
            present: (0..n).map(|_| AtomicBool::new(true)).collect(),
            changed: Notify::new(),
        });
        (0..n)
            .map(|index| Seat {
                all: Arc::clone(&all),
                index,
            })
            .collect()
    }

    /// The seat of a server that has the socket to itself: always its turn.
    pub fn alone() -> Seat {
        Seat::table(1).remove(0)
    }

    fn may_accept(&self) -> bool {
        let all = &*self.all;
        let mine = all.open[self.index].load(Ordering::Acquire);
        (0..all.open.len())
            .filter(|&i| i != self.index && all.present[i].load(Ordering::Acquire))
            .all(|i| mine <= all.open[i].load(Ordering::Acquire) + SLACK)
    }

    /// Resolves when this thread may accept a connection.
    pub async fn turn(&self) {
        loop {
            let changed = self.all.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.may_accept() {
                return;
            }
            changed.await;
        }
    }

    /// Counts a connection this thread accepted, until the returned guard is dropped.
    pub fn take(&self) -> Taken {
        self.all.open[self.index].fetch_add(1, Ordering::AcqRel);
        self.all.changed.notify_waiters();
        Taken {
            all: Arc::clone(&self.all),
            index: self.index,
        }
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.all.present[self.index].store(false, Ordering::Release);
        self.all.changed.notify_waiters();
    }
}

impl Drop for Taken {
    fn drop(&mut self) {
        self.all.open[self.index].fetch_sub(1, Ordering::AcqRel);
        self.all.changed.notify_waiters();
    }
}

/// Serves `listener` on `threads` threads (the calling one included) until `shutdown`
/// resolves, then returns how the drains went (timed out if any thread's did). `serve` is
/// called once per thread, on that thread's runtime, with its listener, its share of the
/// connection cap, its [`Seat`] and its [`Stop`]. A thread that cannot be started is
/// logged and the server goes on with fewer. Must run inside a current-thread runtime (the calling thread's).
pub async fn serve_on_threads<F, Fut>(
    name: &str,
    threads: usize,
    listener: Listener,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
    serve: F,
) -> Drain
where
    F: Fn(Listener, Limits, Seat, Stop) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Drain>,
{
    let threads = threads.max(1);
    let mut seats = Seat::table(threads).into_iter();
    let own_seat = seats.next().unwrap_or_else(Seat::alone);
    let share = Limits {
        max_connections: (limits.max_connections / threads).max(1),
        ..limits
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut others = Vec::with_capacity(threads - 1);
    for (i, seat) in (1..threads).zip(seats.by_ref()) {
        match start_thread(
            name,
            i,
            &listener,
            share,
            seat,
            Stop(stop_rx.clone()),
            serve.clone(),
        ) {
            Ok(done) => others.push(done),
            Err(e) => {
                tracing::warn!("serving on {i} thread(s), not {threads}: {e}");
                break;
            }
        }
    }
    // Seats of threads that did not start leave the balance.
    drop(seats);
    let own = serve(listener, share, own_seat, Stop(stop_rx));
    let trigger = async move {
        shutdown.await;
        stop_tx.send_replace(true);
    };
    let (mut drain, ()) = tokio::join!(own, trigger);
    for done in others {
        // A thread that ended without a word (it panicked) did not drain cleanly.
        if done.await.unwrap_or(Drain::TimedOut) == Drain::TimedOut {
            drain = Drain::TimedOut;
        }
    }
    drain
}

/// Starts thread `i`: a current-thread runtime serving a duplicate of `listener`. The
/// receiver gets its drain when it ends.
fn start_thread<F, Fut>(
    name: &str,
    i: usize,
    listener: &Listener,
    limits: Limits,
    seat: Seat,
    stop: Stop,
    serve: F,
) -> std::io::Result<oneshot::Receiver<Drain>>
where
    F: Fn(Listener, Limits, Seat, Stop) -> Fut + Send + 'static,
    Fut: Future<Output = Drain>,
{
    let duplicate = listener.duplicate()?;
    let runtime = crate::rt::current_thread()?;
    let (done_tx, done_rx) = oneshot::channel();
    std::thread::Builder::new()
        .name(format!("{name}-{i}"))
        .spawn(move || {
            let drain = runtime.block_on(async move {
                match duplicate.register() {
                    Ok(listener) => serve(listener, limits, seat, stop).await,
                    Err(e) => {
                        tracing::warn!("thread {i} cannot listen: {e}");
                        Drain::Complete
                    }
                }
            });
            let _ = done_tx.send(drain);
        })?;
    Ok(done_rx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::convert::Infallible;
    use std::time::Duration;

    use hyper::Response;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Serves on `threads` threads of a new socket, each answering its thread's name, until
    /// the returned sender is used (spawned on the caller's runtime).
    async fn names_server(
        threads: usize,
    ) -> (
        std::net::SocketAddr,
        oneshot::Sender<()>,
        tokio::task::JoinHandle<Drain>,
    ) {
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            serve_on_threads(
                "test",
                threads,
                Listener::Tcp(tcp),
                Limits::default(),
                async {
                    let _ = stop_rx.await;
                },
                |listener, limits, seat, stop: Stop| {
                    super::super::serve(
                        listener,
                        seat,
                        limits,
                        |_peer| {
                            hyper::service::service_fn(|_req| async {
                                let me = std::thread::current().name().unwrap_or("?").to_owned();
                                Ok::<_, Infallible>(Response::new(http_body_util::Full::new(
                                    bytes::Bytes::from(me),
                                )))
                            })
                        },
                        stop.stopped(),
                    )
                },
            )
            .await
        });
        (addr, stop_tx, server)
    }

    /// Connections are served by more than one thread, every request is answered, and one
    /// stop ends every thread with a complete drain.
    #[test]
    fn every_thread_serves_and_one_stop_ends_them_all() {
        let rt = crate::rt::current_thread().unwrap();
        rt.block_on(async {
            let (addr, stop_tx, server) = names_server(3).await;
            let mut seen = HashSet::new();
            for _ in 0..200 {
                let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
                c.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
                    .await
                    .unwrap();
                let mut answer = Vec::new();
                c.read_to_end(&mut answer).await.unwrap();
                let text = String::from_utf8_lossy(&answer).into_owned();
                assert!(text.starts_with("HTTP/1.1 200"), "{text}");
                seen.insert(text.rsplit("\r\n").next().unwrap_or_default().to_owned());
                if seen.len() > 1 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            assert!(seen.len() > 1, "one thread served everything: {seen:?}");
            stop_tx.send(()).unwrap();
            assert_eq!(server.await.unwrap(), Drain::Complete);
            assert!(tokio::net::TcpStream::connect(addr).await.is_err());
        });
    }

    /// A thread accepts while it holds at most one connection more than the least busy
    /// present other; one that left does not hold the others back.
    #[test]
    fn a_seat_waits_its_turn_while_it_holds_more() {
        let mut seats = Seat::table(3).into_iter();
        let (a, b, c) = (
            seats.next().unwrap(),
            seats.next().unwrap(),
            seats.next().unwrap(),
        );
        let one = a.take();
        assert!(a.may_accept() && b.may_accept());
        let two = a.take();
        assert!(!a.may_accept(), "2 against 0");
        let on_b = b.take();
        assert!(!a.may_accept(), "2 against c's 0");
        drop(c);
        assert!(a.may_accept(), "2 against b's 1, c gone");
        drop((one, two, on_b));
        assert!(a.may_accept() && b.may_accept());
        let alone = Seat::alone();
        let _held: Vec<Taken> = (0..10).map(|_| alone.take()).collect();
        assert!(alone.may_accept());
    }

    /// A burst of connections opened at once is shared out between the threads (without the
    /// seats, the first thread to wake takes the whole backlog).
    #[test]
    fn a_burst_of_connections_is_shared_between_threads() {
        let rt = crate::rt::current_thread().unwrap();
        rt.block_on(async {
            let (addr, stop_tx, server) = names_server(2).await;
            // The whole burst arrives while this thread (one of the two serving) is busy:
            // blocking connects, completed by the kernel before anyone accepts them.
            const N: usize = 64;
            let mut conns = Vec::new();
            for _ in 0..N {
                let c = std::net::TcpStream::connect(addr).unwrap();
                c.set_nonblocking(true).unwrap();
                conns.push(c);
            }
            let mut conns: Vec<_> = conns
                .into_iter()
                .map(|c| tokio::net::TcpStream::from_std(c).unwrap())
                .collect();
            let mut per_thread = std::collections::HashMap::<String, usize>::new();
            for c in &mut conns {
                c.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
                    .await
                    .unwrap();
                let mut buf = [0u8; 512];
                let n = c.read(&mut buf).await.unwrap();
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                let who = text.rsplit("\r\n").next().unwrap_or_default().to_owned();
                *per_thread.entry(who).or_default() += 1;
            }
            assert_eq!(per_thread.len(), 2, "{per_thread:?}");
            assert!(
                per_thread.values().all(|&n| n >= N / 2 - 2),
                "{per_thread:?}"
            );
            drop(conns);
            stop_tx.send(()).unwrap();
            assert_eq!(server.await.unwrap(), Drain::Complete);
        });
    }
}
