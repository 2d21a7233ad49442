//! After the note: the C2S tag of the lead's tier and, for a tier at or
//! above `ALERT_MIN_TIER`, one alert per channel — each once per lead,
//! recorded before it is sent (`store::deliveries`). A delivery the receiver
//! clearly refused is tried again by the lead's job (its note is never
//! posted again), up to [`MAX_ATTEMPTS`]; one whose fate is unclear is not
//! repeated.

use super::error::{fence_check, Cause, RunError};
use super::setup::Pipeline;
use crate::domain::lead::LeadId;
use crate::notify::{Alert, Channel, SendError};
use crate::providers::ProviderError;
use crate::store::deliveries::{self, LeadDeliveries};
use crate::store::lease::Fence;
use crate::store::ledger::Spender;

/// Tries per delivery before it is given up (the note is already posted).
pub const MAX_ATTEMPTS: i32 = 4;

impl Pipeline {
    /// The lead's deliveries still due.
    pub(crate) async fn deliver_step(
        &self,
        lead_id: &LeadId,
        fence: &Fence,
    ) -> Result<(), RunError> {
        let alerts = &self.settings.profile.alerts;
        let alerting = alerts.min_tier.is_some() && !alerts.channels().is_empty();
        if alerts.tag_prefix.is_none() && !alerting {
            return Ok(());
        }
        let state = deliveries::of_lead(&self.pool, lead_id).await?;
        let Some(tier) = state.tier.clone() else {
            return Ok(());
        };
        let mut refused = Vec::new();
        if let Some(prefix) = &alerts.tag_prefix {
            let name = format!("{prefix}{tier}");
            if state.due("tag", true) {
                fence_check(fence)?;
                if deliveries::claim(&self.pool, lead_id, "tag", &name, true).await? {
                    let r = self.tag(lead_id, &name).await.map_err(|e| e.to_string());
                    self.settle(lead_id, "tag", r, &mut refused).await?;
                }
            }
        }
        let rules = &self.settings.profile.rules;
        let qualifies = alerts
            .min_tier
            .as_deref()
            .and_then(|m| rules.rank(m))
            .zip(rules.rank(&tier))
            .is_some_and(|(min, rank)| rank <= min);
        if alerting && qualifies {
            self.send_alerts(lead_id, &state, &tier, fence, &mut refused)
                .await?;
        }
        if refused.is_empty() {
            return Ok(());
        }
        Err(RunError::Retryable(Cause::from(format!(
            "delivery refused, tried again: {}",
            refused.join("; ")
        ))))
    }

    /// The lead's alerts still due, one per channel.
    async fn send_alerts(
        &self,
        lead_id: &LeadId,
        state: &LeadDeliveries,
        tier: &str,
        fence: &Fence,
        refused: &mut Vec<String>,
    ) -> Result<(), RunError> {
        let alerts = &self.settings.profile.alerts;
        let alert = lead_alert(lead_id, state, alerts.lead_link(lead_id.as_str()));
        for channel in alerts.channels() {
            let name = channel.as_str();
            if !state.due(name, false) {
                continue;
            }
            if fence.spender == Spender::Backfill {
                // A back-fill of old leads tags them but alerts nobody,
                // then or later.
                deliveries::skip(&self.pool, lead_id, name).await?;
                continue;
            }
            fence_check(fence)?;
            if !deliveries::claim(&self.pool, lead_id, name, tier, false).await? {
                continue;
            }
            match alerts.send(channel, &alert).await {
                Err(SendError::Unclear(e)) => {
                    // It may have arrived: not sent again (left `pending`).
                    tracing::warn!(channel = name, error = %e, "an alert's delivery is unclear; it is not sent again");
                    crate::metrics::METRICS.event("alert_unclear");
                }
                Err(SendError::Refused(e)) => self.settle(lead_id, name, Err(e), refused).await?,
                Ok(()) => {
                    crate::metrics::METRICS.event(alert_event(channel));
                    self.settle(lead_id, name, Ok(()), refused).await?;
                }
            }
        }
        Ok(())
    }

    /// Records how one delivery went; a refusal still to be tried again is
    /// added to `refused`.
    async fn settle(
        &self,
        lead_id: &LeadId,
        channel: &str,
        result: Result<(), String>,
        refused: &mut Vec<String>,
    ) -> Result<(), RunError> {
        match result {
            Ok(()) => deliveries::sent(&self.pool, lead_id, channel).await?,
            Err(e) => {
                if deliveries::refused(&self.pool, lead_id, channel, &e, MAX_ATTEMPTS).await? {
                    tracing::error!(channel, error = %e, "a delivery was refused {MAX_ATTEMPTS} times; given up");
                    crate::metrics::METRICS.event("delivery_abandoned");
                } else {
                    refused.push(format!("{channel}: {e}"));
                }
            }
        }
        Ok(())
    }

    /// Puts the tag `name` on the lead once: the lead's tags are read
    /// first, so a retry after a lost answer does not add it twice.
    async fn tag(&self, lead_id: &LeadId, name: &str) -> Result<(), ProviderError> {
        let c2s = &self.providers.c2s;
        let id = self.tag_id(name).await?;
        if !c2s.lead_tags(lead_id).await?.contains(&id) {
            c2s.tag_lead(lead_id, &id).await?;
            crate::metrics::METRICS.event("lead_tagged");
        }
        Ok(())
    }

    /// The tag's id: remembered, else found, else created (and, if the
    /// creation's answer is lost or refused as a duplicate, found again).
    async fn tag_id(&self, name: &str) -> Result<String, ProviderError> {
        let known = self.settings.profile.alerts.tag_ids.clone();
        if let Some(id) = crate::notify::lock(&known).get(name) {
            return Ok(id.clone());
        }
        let c2s = &self.providers.c2s;
        let id = match c2s.find_tag(name).await? {
            Some(id) => id,
            None => match c2s.create_tag(name).await {
                Ok(id) => id,
                Err(e) => c2s.find_tag(name).await?.ok_or(e)?,
            },
        };
        crate::notify::lock(&known).insert(name.to_owned(), id.clone());
        Ok(id)
    }
}

fn alert_event(channel: Channel) -> &'static str {
    match channel {
        Channel::Slack => "alert_sent_slack",
        Channel::Email => "alert_sent_email",
    }
}

/// The alert for a lead: its tier and reasons, the seller, a link — no
/// CPF and no name of the customer.
fn lead_alert(lead_id: &LeadId, s: &LeadDeliveries, link: Option<String>) -> Alert {
    let tier = s.tier.as_deref().unwrap_or("?");
    let mut fields = vec![
        (
            "Perfil".to_owned(),
            format!("{tier} ({} pontos)", s.score.unwrap_or_default()),
        ),
        (
            "Motivos".to_owned(),
            if s.reasons.is_empty() {
                "—".to_owned()
            } else {
                s.reasons.join(", ")
            },
        ),
        (
            "Vendedor".to_owned(),
            s.seller
                .clone()
                .unwrap_or_else(|| "sem vendedor".to_owned()),
        ),
        ("Lead".to_owned(), lead_id.as_str().to_owned()),
    ];
    if let Some(rules) = &s.rules {
        fields.push(("Regras".to_owned(), rules.clone()));
    }
    Alert {
        title: format!("🏷️ Lead Perfil {tier} no C2S"),
        fields,
        link: link.map(|url| ("Abrir o lead no C2S".to_owned(), url)),
    }
}
