//! Listing C2S's leads by time, page after page (the reconciliation sweep
//! by update time, the back-fill by creation time).

use chrono::{DateTime, FixedOffset, Utc};

use crate::domain::lead::Lead;
use crate::providers::c2s::{C2sClient, LeadQuery};
use crate::providers::error::ProviderError;

/// São Paulo's offset: C2S's own, and the form its filters are sent in.
pub(crate) fn brasilia() -> FixedOffset {
    FixedOffset::west_opt(3 * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero"))
}

/// A time as C2S's filters take it (`2026-11-20T13:02:11-03:00`).
pub fn c2s_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&brasilia())
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// Which of a lead's times a listing pages by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// `created_at`: history (the back-fill), which never moves.
    Created,
    /// `updated_at`: what changed lately (the sweep).
    Updated,
}

/// C2S's leads with a time in `[from, until)`, oldest first, page by page
/// (50 each, the C2S client's call policy — pacing, 429 and `Retry-After` —
/// for each). Pages are taken by time, not by number: each next page starts
/// at the last time seen, so leads that move to the end while the listing
/// runs (our own notes update them) shift nothing out of view; a page whose
/// leads all share one time is followed by the next page of that time.
/// Leads at a page's boundary are listed again and left out.
#[derive(Debug)]
pub struct LeadPages<'a> {
    c2s: &'a C2sClient,
    by: Stamp,
    from: DateTime<Utc>,
    until: Option<DateTime<Utc>>,
    page: u32,
    seen: std::collections::HashSet<String>,
    done: bool,
}

/// One page of a listing.
#[derive(Debug, Default)]
pub struct ListedPage {
    /// The leads not listed before.
    pub leads: Vec<Lead>,
    /// Leads C2S listed that could not be read (no id).
    pub unreadable: usize,
    /// The page's latest time (by the listing's stamp).
    pub last: Option<DateTime<Utc>>,
    /// How many leads match, when C2S says.
    pub total: Option<u64>,
}

/// A lead's time, by `by`.
fn stamp_of(lead: &Lead, by: Stamp) -> Option<DateTime<Utc>> {
    let raw = match by {
        Stamp::Created => lead.created_at.as_deref(),
        Stamp::Updated => lead.updated_at.as_deref(),
    }?;
    DateTime::parse_from_rfc3339(raw).ok().map(|t| t.to_utc())
}

impl<'a> LeadPages<'a> {
    pub fn new(
        c2s: &'a C2sClient,
        by: Stamp,
        from: DateTime<Utc>,
        until: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            c2s,
            by,
            from,
            until,
            page: 1,
            seen: Default::default(),
            done: false,
        }
    }

    /// Nothing more to list.
    pub fn done(&self) -> bool {
        self.done
    }

    /// The next page; `None` after the last.
    pub async fn next(&mut self) -> Result<Option<ListedPage>, ProviderError> {
        if self.done {
            return Ok(None);
        }
        let (from, until) = (Some(c2s_time(self.from)), self.until.map(c2s_time));
        let mut query = LeadQuery {
            page: self.page,
            perpage: 50,
            ..LeadQuery::default()
        };
        match self.by {
            Stamp::Created => {
                query.sort = Some("created_at".into());
                (query.created_gte, query.created_lt) = (from, until);
            }
            Stamp::Updated => {
                query.sort = Some("updated_at".into());
                (query.updated_gte, query.updated_lt) = (from, until);
            }
        }
        let listed = self.c2s.list_leads(&query).await?;
        let count = listed.leads.len() + listed.unreadable;
        let last = listed
            .leads
            .iter()
            .filter_map(|l| stamp_of(l, self.by))
            .max();
        let leads = listed
            .leads
            .into_iter()
            .filter(|l| self.seen.insert(l.id.as_str().to_owned()))
            .collect();
        if count < listed.perpage as usize {
            self.done = true;
        } else {
            match last.filter(|l| *l > self.from) {
                Some(l) => (self.from, self.page) = (l, 1),
                None => self.page += 1,
            }
        }
        Ok(Some(ListedPage {
            leads,
            unreadable: listed.unreadable,
            last,
            total: listed.total,
        }))
    }
}
