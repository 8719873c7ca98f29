//! The HTTP/1.1 server loop: accepts connections, caps how many are open at once, and
//! closes the ones that hold a slot without using it.
//!
//! - **Header-read timeout**: a request head (request line and headers) must arrive
//!   whole within [`ConnLimits::header_read_timeout`] of its first byte — or of the
//!   connection's opening, for the first request. A client that sends half a request
//!   (slowloris) or nothing at all is disconnected.
//! - **Idle timeout**: a keep-alive connection with no request in flight and no byte
//!   moved for [`ConnLimits::idle_timeout`] is closed gracefully.
//! - **Connection cap**: beyond [`ConnLimits::max_connections`] open connections a new
//!   one gets `503 Service Unavailable` (a JSON error body, `Retry-After: 1`) and is
//!   closed, so the process never runs out of file descriptors and the connections
//!   already open keep being served.
//!
//! One watchdog per connection enforces the timeouts from three atomics (last I/O,
//! start of the pending head, requests in flight) that the I/O wrapper and the service
//! wrapper update; hyper's own timers are not used, so the rules above hold the same
//! for the first request and every later one.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// Connection-level limits of the server (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnLimits {
    /// Time a request head may take to arrive whole.
    pub header_read_timeout: Duration,
    /// Time a keep-alive connection may stay idle between requests.
    pub idle_timeout: Duration,
    /// Connections open at once; more get a 503 and are closed.
    pub max_connections: usize,
    /// Time connections get to finish their requests after a stop, before they are cut.
    pub shutdown_grace: Duration,
}

/// What the I/O wrapper, the service wrapper and the watchdog share, per connection.
#[derive(Debug)]
struct ConnState {
    opened: Instant,
    /// Milliseconds since `opened` of the last byte read or written.
    last_io_ms: AtomicU64,
    /// Milliseconds since `opened` + 1 when the pending request head started (its first
    /// byte, or the connection's opening); 0 when no head is pending.
    head_since_ms: AtomicU64,
    /// Requests handed to the application and not answered yet.
    in_flight: AtomicUsize,
}

impl ConnState {
    fn new() -> ConnState {
        ConnState {
            opened: Instant::now(),
            last_io_ms: AtomicU64::new(0),
            // The first head is pending from the start: a client that connects and sends
            // nothing is held no longer than one that sends half a request.
            head_since_ms: AtomicU64::new(1),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        self.opened.elapsed().as_millis() as u64
    }

    fn touched(&self) {
        self.last_io_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    fn bytes_read(&self) {
        let now = self.now_ms();
        self.last_io_ms.store(now, Ordering::Relaxed);
        if self.in_flight.load(Ordering::Acquire) == 0 {
            // First byte of a new head: its clock starts (no-op if already running).
            let _ = self.head_since_ms.compare_exchange(
                0,
                now + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            );
        }
    }

    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_since_ms.store(0, Ordering::Release);
        self.touched();
    }

    fn request_done(&self) {
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.touched();
    }

    /// What the watchdog should do now.
    fn verdict(&self, limits: &ConnLimits) -> Verdict {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return Verdict::Keep;
        }
        let now = self.now_ms();
        let head = self.head_since_ms.load(Ordering::Acquire);
        if head > 0 {
            if now.saturating_sub(head - 1) >= limits.header_read_timeout.as_millis() as u64 {
                return Verdict::HeaderTimeout;
            }
            return Verdict::Keep;
        }
        let idle = now.saturating_sub(self.last_io_ms.load(Ordering::Relaxed));
        if idle >= limits.idle_timeout.as_millis() as u64 {
            Verdict::Idle
        } else {
            Verdict::Keep
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Keep,
    HeaderTimeout,
    Idle,
}

/// Marks a request answered when dropped (also when the client went away mid-request).
struct InFlight(Arc<ConnState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_done();
    }
}

/// A TCP stream that tells its [`ConnState`] when bytes move.
struct Watched {
    inner: TcpStream,
    state: Arc<ConnState>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.state.bytes_read();
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.state.touched();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.state.touched();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Serves `app` on `listener` until `stop` turns true, then lets open connections
/// finish (at most [`ConnLimits::shutdown_grace`]) and returns.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut conns = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = stop.wait_for(|v| *v) => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
            a = listener.accept() => a,
        };
        let stream = match accepted {
            Ok((s, _)) => s,
            Err(e) => {
                // Out of descriptors or a connection reset before accept: the listener
                // is fine; wait a moment instead of spinning.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        match slots.clone().try_acquire_owned() {
            Ok(permit) => {
                let app = app.clone();
                let stop = stop.clone();
                conns.spawn(async move {
                    serve_connection(stream, app, limits, stop).await;
                    drop(permit);
                });
            }
            Err(_) => {
                metrics::counter!("http_connections_refused_total").increment(1);
                conns.spawn(refuse(stream));
            }
        }
    }
    // Stopped: every connection task saw the same signal and closes after its current
    // request; cut whatever is still open after the grace period.
    let grace = tokio::time::sleep(limits.shutdown_grace);
    tokio::pin!(grace);
    loop {
        tokio::select! {
            next = conns.join_next() => if next.is_none() { break },
            _ = &mut grace => {
                tracing::warn!(open = conns.len(), "shutdown grace period over: closing the remaining connections");
                conns.abort_all();
                break;
            }
        }
    }
    Ok(())
}

/// One connection: HTTP/1.1 with keep-alive, under its watchdog.
async fn serve_connection(
    stream: TcpStream,
    app: Router,
    limits: ConnLimits,
    mut stop: watch::Receiver<bool>,
) {
    let state = Arc::new(ConnState::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        state: state.clone(),
    });
    let svc_state = state.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        svc_state.request_started();
        let guard = InFlight(svc_state.clone());
        let app = app.clone();
        async move {
            let r = app.oneshot(req).await;
            drop(guard);
            r
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let tick = ((limits.header_read_timeout.min(limits.idle_timeout)) / 4)
        .clamp(Duration::from_millis(25), Duration::from_millis(500));
    let mut ticker = tokio::time::interval(tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut closing = false;
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = stop.wait_for(|v| *v), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = ticker.tick() => match state.verdict(&limits) {
                Verdict::Keep => {}
                Verdict::HeaderTimeout => {
                    metrics::counter!("http_connections_timed_out_total", "reason" => "header_read").increment(1);
                    tracing::debug!("closing a connection whose request head did not arrive in time");
                    return;
                }
                Verdict::Idle if !closing => {
                    metrics::counter!("http_connections_timed_out_total", "reason" => "idle").increment(1);
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
                Verdict::Idle => {}
            },
        }
    }
}

/// The answer to a connection over the cap: 503 with a JSON error body, then close.
async fn refuse(mut stream: TcpStream) {
    let body = r#"{"error":"unavailable","message":"the server has too many open connections; retry shortly","parameter":null}"#;
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await?;
        // Drain what the client sent so closing does not reset the connection before
        // it has read the answer.
        let mut sink = [0u8; 4096];
        let mut total = 0usize;
        while total < 64 * 1024 {
            match stream.read(&mut sink).await? {
                0 => break,
                n => total += n,
            }
        }
        io::Result::Ok(())
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(header_ms: u64, idle_ms: u64) -> ConnLimits {
        ConnLimits {
            header_read_timeout: Duration::from_millis(header_ms),
            idle_timeout: Duration::from_millis(idle_ms),
            max_connections: 8,
            shutdown_grace: Duration::from_secs(1),
        }
    }

    #[test]
    fn a_silent_new_connection_times_out_on_its_head() {
        let s = ConnState::new();
        assert_eq!(s.verdict(&limits(0, 60_000)), Verdict::HeaderTimeout);
        assert_eq!(s.verdict(&limits(60_000, 0)), Verdict::Keep);
    }

    #[test]
    fn a_request_in_flight_is_never_timed_out() {
        let s = ConnState::new();
        s.request_started();
        assert_eq!(s.verdict(&limits(0, 0)), Verdict::Keep);
        s.request_done();
        // Answered, nothing pending: idle rules apply, not the head timeout.
        assert_eq!(s.verdict(&limits(0, 0)), Verdict::Idle);
        assert_eq!(s.verdict(&limits(0, 60_000)), Verdict::Keep);
        // A byte of the next request starts that head's clock.
        s.bytes_read();
        assert_eq!(s.verdict(&limits(0, 60_000)), Verdict::HeaderTimeout);
    }
}
