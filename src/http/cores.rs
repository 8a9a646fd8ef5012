//! One listening socket served by a runtime per thread, the way nginx runs a worker per core.
//!
//! A multi-thread tokio runtime moves work between its threads: a connection's readiness
//! seen by one thread wakes a task another thread may run, and an idle thread is woken
//! (a futex, a context switch) whenever work appears. For small requests that hand-over
//! costs more than the request itself (measured in bench/RESULTS.md). Here each thread runs
//! a current-thread runtime with its own duplicate of the listening socket
//! ([`super::listen::Duplicate`]); the kernel gives each new connection to one of the
//! threads waiting in `accept`, and the connection lives on that thread until it closes.
//! What a thread's service needs per runtime (upstream connection pools) it builds itself.
//!
//! Owns: the extra threads, and the one stop signal they share. Must not: look at requests
//! (that is the service's business) or decide the thread count (the caller's).

use std::future::Future;

use tokio::sync::{oneshot, watch};

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

/// Serves `listener` on `threads` threads (the calling one included) until `shutdown`
/// resolves, then returns how the drains went (timed out if any thread's did). `serve` is
/// called once per thread, on that thread's runtime, with its listener, its share of the
/// connection cap, and its [`Stop`]. A thread that cannot be started is logged and the
/// server goes on with fewer. Must run inside a current-thread runtime (the calling thread's).
pub async fn serve_on_threads<F, Fut>(
    name: &str,
    threads: usize,
    listener: Listener,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
    serve: F,
) -> Drain
where
    F: Fn(Listener, Limits, Stop) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Drain>,
{
    let threads = threads.max(1);
    let share = Limits {
        max_connections: (limits.max_connections / threads).max(1),
        ..limits
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut others = Vec::with_capacity(threads - 1);
    for i in 1..threads {
        match start_thread(
            name,
            i,
            &listener,
            share,
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
    let own = serve(listener, share, Stop(stop_rx));
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
    stop: Stop,
    serve: F,
) -> std::io::Result<oneshot::Receiver<Drain>>
where
    F: Fn(Listener, Limits, Stop) -> Fut + Send + 'static,
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
                    Ok(listener) => serve(listener, limits, stop).await,
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

    /// Connections are served by more than one thread, every request is answered, and one
    /// stop ends every thread with a complete drain.
    #[test]
    fn every_thread_serves_and_one_stop_ends_them_all() {
        let rt = crate::rt::current_thread().unwrap();
        rt.block_on(async {
            let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = tcp.local_addr().unwrap();
            let (stop_tx, stop_rx) = oneshot::channel::<()>();
            let server = tokio::spawn(async move {
                serve_on_threads(
                    "test",
                    3,
                    Listener::Tcp(tcp),
                    Limits::default(),
                    async {
                        let _ = stop_rx.await;
                    },
                    |listener, limits, stop: Stop| {
                        super::super::serve(
                            listener,
                            limits,
                            |_peer| {
                                hyper::service::service_fn(|_req| async {
                                    let me =
                                        std::thread::current().name().unwrap_or("?").to_owned();
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
}
