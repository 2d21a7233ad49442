//! What the service sends besides the note (issue 17): the C2S tag of a
//! lead's tier, alerts for high-value leads and for a discovery source gone
//! silent — to a Slack incoming webhook and/or by e-mail (SMTP, `lettre`).
//! No CPF and no customer name ever leaves in an alert: the tier, its
//! reasons, the seller and a link to the lead in C2S.

mod email;
mod slack;

use std::sync::Arc;

pub use email::{EmailConfig, Mailer, SmtpTls};
pub use slack::Slack;

/// Why a send failed, as far as the sender can tell.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The receiver clearly did not take it (refused the connection, or
    /// answered with an error): sending again cannot duplicate it.
    #[error("refused: {0}")]
    Refused(String),
    /// It may have arrived (a timeout after the request went out): it is
    /// not sent again.
    #[error("unclear: {0}")]
    Unclear(String),
}

/// An alert, in words with no personal data of the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// One line (Slack's notification text, the e-mail's subject).
    pub title: String,
    /// `(label, value)` lines.
    pub fields: Vec<(String, String)>,
    /// A link and its label (`Abrir no C2S`).
    pub link: Option<(String, String)>,
}

impl Alert {
    /// The plain-text body (the e-mail's).
    pub fn text(&self) -> String {
        let mut out = format!("{}\n\n", self.title);
        for (label, value) in &self.fields {
            out.push_str(&format!("{label}: {value}\n"));
        }
        if let Some((label, url)) = &self.link {
            out.push_str(&format!("\n{label}: {url}\n"));
        }
        out
    }
}

/// The alert channels and the tag setting, built once from the
/// configuration.
#[derive(Debug, Clone, Default)]
pub struct Alerts {
    /// The least tier that is alerted (`ALERT_MIN_TIER`); `None`: no lead
    /// alerts.
    pub min_tier: Option<String>,
    pub slack: Option<Arc<Slack>>,
    pub email: Option<Arc<Mailer>>,
    /// The link to a lead in C2S, `{lead_id}` replaced (`C2S_LEAD_URL`).
    pub lead_url: String,
    /// Tags lead tiers in C2S as `<prefix><tier>` (`TIER_TAG_PREFIX`);
    /// `None`: no tags (`C2S_TAGS=off`).
    pub tag_prefix: Option<String>,
    /// Tag name → C2S tag id, learnt once per process.
    pub tag_ids: Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>,
}

/// A lock that a panic elsewhere does not poison for good.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Where alerts go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Slack,
    Email,
}

impl Channel {
    /// As recorded in `enrich.lead_deliveries.channel`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Slack => "slack",
            Self::Email => "email",
        }
    }
}

impl Alerts {
    /// The channels, built from the configuration.
    pub fn from_config(c: &crate::config::AlertConfig) -> anyhow::Result<Self> {
        let slack = match &c.slack_webhook {
            Some(url) => Some(Arc::new(Slack::new(url.clone(), c.timeout)?)),
            None => None,
        };
        let email = match &c.email {
            Some(e) => Some(Arc::new(
                Mailer::new(e, c.timeout).map_err(|m| anyhow::anyhow!("SMTP: {m}"))?,
            )),
            None => None,
        };
        Ok(Self {
            min_tier: c.min_tier.clone(),
            slack,
            email,
            lead_url: c.lead_url.clone(),
            tag_prefix: c.tag_prefix.clone(),
            tag_ids: Arc::default(),
        })
    }

    /// The channels alerts go to.
    pub fn channels(&self) -> Vec<Channel> {
        let mut out = Vec::new();
        if self.slack.is_some() {
            out.push(Channel::Slack);
        }
        if self.email.is_some() {
            out.push(Channel::Email);
        }
        out
    }

    /// Sends `alert` to one channel.
    pub async fn send(&self, channel: Channel, alert: &Alert) -> Result<(), SendError> {
        match channel {
            Channel::Slack => match &self.slack {
                Some(s) => s.send(alert).await,
                None => Err(SendError::Refused("Slack is not configured".into())),
            },
            Channel::Email => match &self.email {
                Some(m) => m.send(alert).await,
                None => Err(SendError::Refused("e-mail is not configured".into())),
            },
        }
    }

    /// The lead's page in C2S.
    pub fn lead_link(&self, lead_id: &str) -> Option<String> {
        (!self.lead_url.is_empty()).then(|| self.lead_url.replace("{lead_id}", lead_id))
    }
}
