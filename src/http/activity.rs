//! What one connection is doing, watched without a timer per request.
//!
//! A connection may spend at most the header timeout without a request in hand: sending a
//! request head (slowloris) or idling between keep-alive requests. hyper can enforce that
//! itself, but it arms, registers and cancels a timer for every request head, which cost a
//! seventh of the web server's instructions per `/health` request (bench/RESULTS.md). Here
//! the connection's task has one [`tokio::time::Sleep`], reset only when it fires, and the
//! connection's service and response bodies record what the check needs:
//!
//! * a request reached the service: it is in flight until the response body it produced is
//!   dropped (hyper drops it once the last byte is handed to the writer, or when the
//!   connection ends); a slow upload, a slow handler or a slowly streamed body is never cut;
//! * the moment the last request ended: the idle clock starts there;
//! * bytes the kernel still has to deliver (`SIOCOUTQ`): a large response a slow client is
//!   still reading is not idleness either.
//!
//! [`next_check`] is the decision, pure and unit-tested; [`Activity::check`] feeds it.
//! Also kept here: whether the connection's first request has arrived, which the drain at
//! shutdown waits for (see [`super::serve`]).

use std::os::fd::RawFd;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::Notify;

/// While a response is still being delivered, the connection is looked at this often (or
/// every header timeout, if shorter), so that its idle clock starts at most this late.
pub const DELIVERY_RECHECK: Duration = Duration::from_secs(1);

/// A connection's activity, shared by its task, its service and its response bodies.
#[derive(Clone)]
pub struct Activity(Arc<Shared>);

struct Shared {
    /// When the connection was accepted: the origin of `idle_since_ms`.
    origin: Instant,
    /// Milliseconds from `origin` to the end of the last request (0: none yet).
    idle_since_ms: AtomicU64,
    /// Requests whose response body is not finished.
    in_flight: AtomicU32,
    /// A request has reached the service.
    seen: AtomicBool,
    /// Woken when the first request arrives.
    arrived: Notify,
}

/// What to do with a connection at a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Look again at this point (from the connection's start).
    CheckAt(Duration),
    /// It has been idle, or sending a request head, for the whole limit: close it.
    Cut,
}

/// The decision at a check `now` (from the connection's start): a connection with a
/// request in flight is looked at again a `limit` later; one still delivering a response is
/// treated as busy until the next look, [`DELIVERY_RECHECK`] later (`idle_since` moves
/// there); otherwise it is cut once it has been idle since `idle_since` for `limit`.
pub fn next_check(
    now: Duration,
    idle_since: Duration,
    in_flight: u32,
    unsent: bool,
    limit: Duration,
) -> (Verdict, Duration) {
    if in_flight > 0 {
        return (Verdict::CheckAt(now + limit), idle_since);
    }
    if unsent {
        let next = now + DELIVERY_RECHECK.min(limit);
        return (Verdict::CheckAt(next), next);
    }
    let deadline = idle_since + limit;
    if now >= deadline {
        (Verdict::Cut, idle_since)
    } else {
        (Verdict::CheckAt(deadline), idle_since)
    }
}

impl Activity {
    /// A connection accepted now.
    pub fn new() -> Self {
        Activity(Arc::new(Shared {
            origin: Instant::now(),
            idle_since_ms: AtomicU64::new(0),
            in_flight: AtomicU32::new(0),
            seen: AtomicBool::new(false),
            arrived: Notify::new(),
        }))
    }

    /// `service`, recording each request and the life of its response body.
    pub fn watch<S>(&self, service: S) -> Watched<S> {
        Watched {
            inner: service,
            activity: self.clone(),
        }
    }

    /// Whether a request has reached the service.
    pub fn seen(&self) -> bool {
        self.0.seen.load(Ordering::Acquire)
    }

    /// Resolves once a request has reached the service.
    pub async fn first_request(&self) {
        let arrived = self.0.arrived.notified();
        if !self.seen() {
            arrived.await;
        }
    }

    /// The check for a connection on socket `fd` under a head/idle `limit`: when to look
    /// again, as an instant, or `None`: close it.
    pub fn check(&self, fd: RawFd, limit: Duration) -> Option<tokio::time::Instant> {
        let s = &*self.0;
        let now = s.origin.elapsed();
        let idle_since = Duration::from_millis(s.idle_since_ms.load(Ordering::Acquire));
        let in_flight = s.in_flight.load(Ordering::Acquire);
        let (verdict, idle_since) =
            next_check(now, idle_since, in_flight, unsent_bytes(fd) > 0, limit);
        s.idle_since_ms
            .fetch_max(millis(idle_since), Ordering::AcqRel);
        match verdict {
            Verdict::Cut => None,
            Verdict::CheckAt(at) => Some(tokio::time::Instant::from_std(s.origin + at)),
        }
    }

    fn request_started(&self) -> InFlight {
        let s = &*self.0;
        if !s.seen.load(Ordering::Relaxed) {
            s.seen.store(true, Ordering::Release);
            s.arrived.notify_waiters();
        }
        s.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self.clone())
    }
}

impl Default for Activity {
    fn default() -> Self {
        Self::new()
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Bytes written to socket `fd` that the peer has not received yet (0 if unknown).
fn unsent_bytes(fd: RawFd) -> libc::c_int {
    let mut n: libc::c_int = 0;
    // SAFETY: TIOCOUTQ (SIOCOUTQ for sockets) writes one int to the pointer given, which
    // points at `n`; `fd` is the connection's socket, open while its task runs.
    let r = unsafe { libc::ioctl(fd, libc::TIOCOUTQ, &mut n) };
    if r < 0 { 0 } else { n }
}

/// One request in flight; ends when dropped (with its response body).
struct InFlight(Activity);

impl Drop for InFlight {
    fn drop(&mut self) {
        let s = &*self.0.0;
        s.idle_since_ms
            .fetch_max(millis(s.origin.elapsed()), Ordering::AcqRel);
        s.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A service whose requests are recorded in an [`Activity`].
pub struct Watched<S> {
    inner: S,
    activity: Activity,
}

impl<S, R, B> hyper::service::Service<R> for Watched<S>
where
    S: hyper::service::Service<R, Response = hyper::Response<B>>,
{
    type Response = hyper::Response<Tracked<B>>;
    type Error = S::Error;
    type Future = Responding<S::Future>;

    fn call(&self, req: R) -> Self::Future {
        let in_flight = self.activity.request_started();
        Responding {
            inner: self.inner.call(req),
            in_flight: Some(in_flight),
        }
    }
}

pin_project_lite::pin_project! {
    /// A service's response future; the request stays in flight through its body.
    pub struct Responding<F> {
        #[pin]
        inner: F,
        in_flight: Option<InFlight>,
    }
}

impl<F, B, E> Future for Responding<F>
where
    F: Future<Output = Result<hyper::Response<B>, E>>,
{
    type Output = Result<hyper::Response<Tracked<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        let in_flight = this.in_flight.take();
        Poll::Ready(result.map(|resp| {
            resp.map(|body| Tracked {
                body,
                _in_flight: in_flight,
            })
        }))
    }
}

pin_project_lite::pin_project! {
    /// A response body that ends its request's time in flight when dropped.
    pub struct Tracked<B> {
        #[pin]
        body: B,
        _in_flight: Option<InFlight>,
    }
}

impl<B: Body> Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        self.project().body.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn at(v: Verdict) -> Duration {
        match v {
            Verdict::CheckAt(d) => d,
            Verdict::Cut => panic!("cut"),
        }
    }

    #[test]
    fn an_idle_connection_is_cut_a_limit_after_its_last_request() {
        let limit = 10 * S;
        // Fresh, nothing sent: looked at when the limit from the start is up, then cut.
        assert_eq!(
            next_check(limit, Duration::ZERO, 0, false, limit).0,
            Verdict::Cut
        );
        // A request ended at 7 s: the check at 10 s moves to 17 s, where it is cut.
        let (v, idle) = next_check(limit, 7 * S, 0, false, limit);
        assert_eq!(at(v), 17 * S);
        assert_eq!(next_check(at(v), idle, 0, false, limit).0, Verdict::Cut);
    }

    #[test]
    fn a_request_in_flight_is_never_cut() {
        let limit = 2 * S;
        let (v, idle) = next_check(100 * S, Duration::ZERO, 1, false, limit);
        assert_eq!((v, idle), (Verdict::CheckAt(102 * S), Duration::ZERO));
        // Also while bytes are unsent.
        assert_eq!(
            at(next_check(100 * S, Duration::ZERO, 3, true, limit).0),
            102 * S
        );
    }

    #[test]
    fn a_response_still_being_delivered_restarts_the_idle_clock() {
        let limit = 10 * S;
        // Unsent bytes at 10 s: look again 1 s later, idle from then at the earliest.
        let (v, idle) = next_check(limit, 2 * S, 0, true, limit);
        assert_eq!((at(v), idle), (11 * S, 11 * S));
        // Delivered by 11 s: cut a full limit after the last look that saw bytes unsent.
        let (v, idle) = next_check(11 * S, idle, 0, false, limit);
        assert_eq!(at(v), 21 * S);
        assert_eq!(next_check(21 * S, idle, 0, false, limit).0, Verdict::Cut);
        // A limit under a second: the re-look comes after the limit.
        let short = Duration::from_millis(300);
        let (v, _) = next_check(short, Duration::ZERO, 0, true, short);
        assert_eq!(at(v), 2 * short);
    }
}
