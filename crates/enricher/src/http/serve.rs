//! The accept loop (ADR 0009). `axum::serve` reads headers for ever and
//! accepts without bound: a client that sends half a request holds a
//! connection as long as it likes, and enough of them exhaust the process.
//! Here hyper's own connection builder does the HTTP work with a header-read
//! timeout, a semaphore bounds the open connections (past it the loop stops
//! accepting: the kernel's backlog queues, nothing is dropped silently), and
//! hyper-util's graceful shutdown lets in-flight requests finish.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tower::ServiceExt as _;

/// Connection limits of a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    /// A request's headers must arrive within this (`HTTP_HEADER_TIMEOUT_SECS`, 10).
    pub header_read_timeout: Duration,
    /// Connections open at once (`HTTP_MAX_CONNECTIONS`, 512).
    pub max_connections: usize,
    /// How long shutdown waits for in-flight requests.
    pub drain_timeout: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 512,
            // Under Fly's kill_timeout (60 s), with room for the workers.
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves; the peer address
/// reaches handlers as `ConnectInfo<SocketAddr>`.
// Longer than 70 lines on purpose: each of its three waits
// (a connection slot, the next connection, the back-off after a failed
// accept) must end on shutdown, and `break` out of the loop from a
// `select!` reads most plainly in one place.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    // HTTP/1.1 only, as the API has always been (axum's `http1` feature).
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    let mut saturated_logged = false;
    let mut accept_errors: u32 = 0;
    loop {
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if !saturated_logged {
                    tracing::warn!(
                        max = limits.max_connections,
                        "the connection limit is reached; new connections wait in the backlog"
                    );
                    saturated_logged = true;
                }
                tokio::select! {
                    p = permits.clone().acquire_owned() => match p {
                        Ok(p) => p,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        if permits.available_permits() > limits.max_connections / 2 {
            saturated_logged = false;
        }
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => {
                    accept_errors = 0;
                    a
                }
                Err(e) => {
                    // Per-connection failures (reset before accept) and
                    // resource limits (EMFILE): back off (up to 1 s), log
                    // the first and every hundredth, go on.
                    if accept_errors.is_multiple_of(100) {
                        tracing::warn!(error = %e, failures = accept_errors + 1, "accepting a connection failed");
                    }
                    let wait = Duration::from_millis(10u64 << accept_errors.min(7)).min(Duration::from_secs(1));
                    accept_errors = accept_errors.saturating_add(1);
                    drop(permit);
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = &mut shutdown => break,
                    }
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        spawn_connection(&builder, &graceful, stream, peer, router.clone(), permit);
    }
    drop(listener);
    if tokio::time::timeout(limits.drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish in time; closing them");
    }
    Ok(())
}
/// Serves one accepted connection on its own task, holding its slot
/// (`permit`) until it closes; graceful shutdown waits for it.
fn spawn_connection(
    builder: &hyper::server::conn::http1::Builder,
    graceful: &hyper_util::server::graceful::GracefulShutdown,
    stream: tokio::net::TcpStream,
    peer: std::net::SocketAddr,
    router: Router,
    permit: tokio::sync::OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let router = router.clone();
            async move {
                let response = router.oneshot(req.map(axum::body::Body::new)).await;
                Ok::<_, Infallible>(response.unwrap_or_else(|never| match never {}))
            }
        });
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    let watched = graceful.watch(connection);
    tokio::spawn(async move {
        let _ = watched.await;
        drop(permit);
    });
}
