//! Counting the SQL statements a piece of work sends, from the client side:
//! sqlx reports every statement it executes as a tracing event (target
//! `sqlx::query`; `COMMIT` among them, not the `BEGIN` it queues). A future run under
//! [`counted`] sees a subscriber of its own that counts those events — the
//! process's own logging is untouched. With statements prepared once per
//! connection (sqlx caches them), one statement is one round trip.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tracing::instrument::WithSubscriber;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// Counts `sqlx::query` events.
struct Count(Arc<AtomicU64>);

impl<S: Subscriber> Layer<S> for Count {
    fn enabled(&self, meta: &Metadata<'_>, _: Context<'_, S>) -> bool {
        meta.target().starts_with("sqlx::query")
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if event.metadata().target().starts_with("sqlx::query") {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Runs `work` and says how many statements it sent.
pub async fn counted<F: Future>(work: F) -> (F::Output, u64) {
    let n = Arc::new(AtomicU64::new(0));
    let subscriber = tracing_subscriber::registry().with(Count(Arc::clone(&n)));
    let out = work.with_subscriber(subscriber).await;
    (out, n.load(Ordering::Relaxed))
}
