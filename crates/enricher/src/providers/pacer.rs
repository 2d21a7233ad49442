//! Minimum spacing between calls to a provider.
//!
//! `Local` spaces the calls of one process. `Shared` spaces the calls of every
//! process using the same database: each call reserves the next free slot in a
//! row of `enrich.provider_pacing` (one atomic UPDATE, the database clock as the
//! only clock) and sleeps until it.

use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How calls to one provider are spaced.
#[derive(Debug)]
pub enum Pacer {
    /// No spacing.
    None,
    /// Spacing within this process.
    Local {
        spacing: Duration,
        next: Mutex<Instant>,
    },
    /// Spacing across every process sharing the database.
    Shared {
        spacing: Duration,
        pool: PgPool,
        provider: &'static str,
    },
}

impl Pacer {
    /// In-process spacing (none when `spacing` is zero).
    pub fn local(spacing: Duration) -> Self {
        if spacing.is_zero() {
            Self::None
        } else {
            Self::Local {
                spacing,
                next: Mutex::new(Instant::now()),
            }
        }
    }

    /// Spacing shared through PostgreSQL (none when `spacing` is zero).
    pub fn shared(spacing: Duration, pool: PgPool, provider: &'static str) -> Self {
        if spacing.is_zero() {
            Self::None
        } else {
            Self::Shared {
                spacing,
                pool,
                provider,
            }
        }
    }

    /// Waits for this call's turn.
    pub async fn wait_turn(&self) -> Result<(), sqlx::Error> {
        match self {
            Self::None => Ok(()),
            Self::Local { spacing, next } => {
                let slot = {
                    let mut next = next.lock().await;
                    let slot = (*next).max(Instant::now());
                    *next = slot + *spacing;
                    slot
                };
                tokio::time::sleep_until(slot).await;
                Ok(())
            }
            Self::Shared {
                spacing,
                pool,
                provider,
            } => {
                let wait = crate::store::pauses::next_slot(pool, provider, *spacing).await?;
                tokio::time::sleep(wait).await;
                Ok(())
            }
        }
    }
}
