//! The one way this binary serves HTTP: the supervisor's health listener, `wms web` and
//! `wms backend` all run [`serve::serve`] on a [`listen::Listener`].
//!
//! * [`listen`]: a listening socket, bound here or inherited from the supervisor with
//!   systemd's `LISTEN_FDS` / `LISTEN_PID` / `LISTEN_FDNAMES` convention; TCP or unix.
//! * [`serve`]: the accept loop: a cap on open connections, accept back-off, a time limit
//!   on request heads (and keep-alive idleness), a cap on head size, lingering close, and a
//!   graceful drain bounded in time when the shutdown future resolves.
//! * [`cores`]: one listening socket served by a current-thread runtime per thread (the
//!   web server's model: no work handed between threads).
//! * [`activity`]: what a connection is doing: its head/idle deadline without a timer per
//!   request, and whether its first request has arrived.
//! * [`lingering`]: lingering close (a response is never lost to a TCP reset).
//! * [`zerocopy`]: large immutable bodies sent by `sendfile` from sealed memfds.
//!
//! What a server answers is its own business (a hyper service per connection); nothing here
//! looks at requests.

pub mod activity;
pub mod cores;
pub mod lingering;
pub mod listen;
pub mod serve;
pub mod zerocopy;

pub use listen::Listener;
pub use serve::{Drain, Limits, serve};
