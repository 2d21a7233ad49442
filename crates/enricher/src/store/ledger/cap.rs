//! A process's own credit limit.

/// One process's own credit limit (a back-fill's `--max-credits`), on top
/// of the shared budgets: taken before each paid call, given back when the
/// call cost nothing.
#[derive(Debug)]
pub struct CreditCap {
    max: i64,
    spent: std::sync::atomic::AtomicI64,
}

impl CreditCap {
    pub fn new(max: i64) -> Self {
        Self {
            max,
            spent: Default::default(),
        }
    }

    /// Credits taken so far (net of what was given back).
    pub fn spent(&self) -> i64 {
        self.spent.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn max(&self) -> i64 {
        self.max
    }

    /// Takes `n` credits if they fit.
    pub(super) fn take(&self, n: i64) -> bool {
        use std::sync::atomic::Ordering::SeqCst;
        self.spent
            .fetch_update(SeqCst, SeqCst, |s| {
                s.checked_add(n).filter(|t| *t <= self.max)
            })
            .is_ok()
    }

    pub(super) fn give_back(&self, n: i64) {
        if n > 0 {
            self.spent.fetch_sub(n, std::sync::atomic::Ordering::SeqCst);
        }
    }
}
