//! Lingering close for HTTP server connections (RFC 9112 §9.6).
//!
//! A server that answers before it has read the whole request (413 for an oversize body,
//! 401 before reading an upload) and then closes the socket with unread data in it makes
//! the kernel send RST, and an RST can destroy the response on its way: the client (or our
//! own `/api` proxy, still streaming the body) sees "connection reset" instead of the 413.
//! [`Lingering`] wraps the stream so that closing it first shuts down the write side (the
//! response is complete and delivered), then reads and discards what the client still sends
//! for at most [`LINGER_TIME`] or [`LINGER_BYTES`], and only then lets the socket go.
//! nginx does the same (`lingering_close`).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Longest time spent draining a closing connection.
pub const LINGER_TIME: Duration = Duration::from_secs(2);
/// Most bytes discarded while draining.
pub const LINGER_BYTES: usize = 16 * 1024 * 1024;

/// Where a closing connection is.
enum Closing {
    Open,
    Draining {
        deadline: Pin<Box<tokio::time::Sleep>>,
        drained: usize,
    },
    Closed,
}

/// An IO object whose shutdown lingers (see the module docs).
pub struct Lingering<T> {
    inner: T,
    closing: Closing,
}

impl<T> Lingering<T> {
    /// Wraps a stream.
    pub fn new(inner: T) -> Self {
        Lingering {
            inner,
            closing: Closing::Open,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Lingering<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Lingering<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            match &mut this.closing {
                Closing::Open => {
                    // Send FIN after the response; a failure here means the peer is gone.
                    if let Err(e) = std::task::ready!(Pin::new(&mut this.inner).poll_shutdown(cx)) {
                        this.closing = Closing::Closed;
                        return Poll::Ready(Err(e));
                    }
                    this.closing = Closing::Draining {
                        deadline: Box::pin(tokio::time::sleep(LINGER_TIME)),
                        drained: 0,
                    };
                }
                Closing::Draining { deadline, drained } => {
                    let mut scratch = [0u8; 8192];
                    let mut buf = ReadBuf::new(&mut scratch);
                    match Pin::new(&mut this.inner).poll_read(cx, &mut buf) {
                        // More of the unread request: discard it and keep going.
                        Poll::Ready(Ok(())) if !buf.filled().is_empty() => {
                            *drained += buf.filled().len();
                            if *drained < LINGER_BYTES {
                                continue;
                            }
                        }
                        // EOF or an error: the peer is done with us.
                        Poll::Ready(_) => {}
                        Poll::Pending => {
                            if deadline.as_mut().poll(cx).is_pending() {
                                return Poll::Pending;
                            }
                        }
                    }
                    this.closing = Closing::Closed;
                }
                Closing::Closed => return Poll::Ready(Ok(())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// The server answers after 16 bytes and closes; the client, like a proxy streaming an
    /// upload, keeps sending 4 MiB. Every write must succeed (a reset would make the proxy
    /// give up and never read the answer) and the answer must be readable afterwards.
    #[tokio::test]
    async fn a_response_survives_a_client_still_sending() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut s = Lingering::new(stream);
            let mut head = [0u8; 16];
            s.read_exact(&mut head).await.unwrap();
            s.write_all(b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\n\r\n")
                .await
                .unwrap();
            s.shutdown().await.unwrap();
        });
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        client.write_all(b"POST / HTTP/1.1\r\n").await.unwrap();
        let chunk = vec![b'x'; 64 * 1024];
        let writer = async {
            let mut written = 0;
            for _ in 0..64 {
                if client.write_all(&chunk).await.is_err() {
                    break;
                }
                written += 1;
            }
            written
        };
        let written = tokio::time::timeout(Duration::from_secs(5), writer)
            .await
            .unwrap_or(0);
        assert_eq!(
            written, 64,
            "the server reset the connection while the body was sent"
        );
        let mut answer = Vec::new();
        let _ = client.read_to_end(&mut answer).await;
        assert!(
            answer.starts_with(b"HTTP/1.1 413"),
            "{:?}",
            String::from_utf8_lossy(&answer)
        );
        server.await.unwrap();
    }
}
