//! A Slack incoming webhook: one POST of `{text, blocks}` per alert.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use super::{Alert, SendError};

/// The webhook (its URL is a secret: it is never logged or shown).
#[derive(Debug)]
pub struct Slack {
    url: SecretString,
    http: reqwest::Client,
}

impl Slack {
    pub fn new(url: SecretString, timeout: std::time::Duration) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()?;
        Ok(Self { url, http })
    }

    /// Posts the alert; any 2xx is delivered.
    pub async fn send(&self, alert: &Alert) -> Result<(), SendError> {
        let r = self
            .http
            .post(self.url.expose_secret())
            .json(&payload(alert))
            .send()
            .await;
        match r {
            Ok(resp) if resp.status().is_success() => Ok(()),
            // Slack answered no: nothing was posted.
            Ok(resp) => Err(SendError::Refused(format!(
                "Slack answered {}",
                resp.status().as_u16()
            ))),
            // Not connected (refused, or no connection in time): nothing sent.
            Err(e) if e.is_connect() || e.is_builder() => {
                Err(SendError::Refused("could not reach Slack".into()))
            }
            Err(e) if e.is_timeout() => {
                Err(SendError::Unclear("Slack did not answer in time".into()))
            }
            Err(_) => Err(SendError::Unclear("the connection to Slack broke".into())),
        }
    }
}

/// Slack's mrkdwn treats `&`, `<` and `>` as markup.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `{text, blocks}`: a header, the fields, a button to the lead.
pub(super) fn payload(alert: &Alert) -> Value {
    let fields: Vec<String> = alert
        .fields
        .iter()
        .map(|(l, v)| format!("*{}:* {}", escape(l), escape(v)))
        .collect();
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": alert.title, "emoji": true}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": fields.join("\n")}}),
    ];
    if let Some((label, url)) = &alert.link {
        blocks.push(json!({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": label}, "url": url}
        ]}));
    }
    json!({ "text": alert.title, "blocks": blocks })
}
