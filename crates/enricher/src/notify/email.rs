//! Alerts by e-mail, through an SMTP server (`lettre`).

use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

use super::{Alert, SendError};

/// How the SMTP connection is protected (`SMTP_TLS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, required (port 587).
    Starttls,
    /// TLS from the start (SMTPS, port 465).
    Tls,
    /// No encryption: a relay on the same host or a test server only.
    None,
}

impl std::str::FromStr for SmtpTls {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "starttls" => Ok(Self::Starttls),
            "tls" | "smtps" => Ok(Self::Tls),
            "none" | "off" => Ok(Self::None),
            other => Err(format!("unknown {other:?}; use starttls, tls or none")),
        }
    }
}

/// The SMTP settings (`SMTP_*`, `ALERT_EMAIL_FROM`, `ALERT_EMAIL_TO`).
#[derive(Debug, Clone)]
pub struct EmailConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub user: Option<String>,
    pub pass: Option<SecretString>,
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
}

/// The transport and the envelope, built once.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("recipients", &self.to.len())
            .finish()
    }
}

impl Mailer {
    pub fn new(c: &EmailConfig, timeout: std::time::Duration) -> Result<Self, String> {
        let tls = |host: &str| TlsParameters::new(host.to_owned()).map_err(|e| e.to_string());
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(c.host.clone())
            .port(c.port)
            .timeout(Some(timeout));
        b = match c.tls {
            SmtpTls::Starttls => b.tls(Tls::Required(tls(&c.host)?)),
            SmtpTls::Tls => b.tls(Tls::Wrapper(tls(&c.host)?)),
            SmtpTls::None => b.tls(Tls::None),
        };
        if let (Some(user), Some(pass)) = (&c.user, &c.pass) {
            b = b.credentials(Credentials::new(
                user.clone(),
                pass.expose_secret().to_owned(),
            ));
        }
        Ok(Self {
            transport: b.build(),
            from: c.from.clone(),
            to: c.to.clone(),
        })
    }

    /// One message to every recipient; delivered when the server accepts it.
    pub async fn send(&self, alert: &Alert) -> Result<(), SendError> {
        let mut m = Message::builder()
            .from(self.from.clone())
            .subject(&alert.title);
        for to in &self.to {
            m = m.to(to.clone());
        }
        let message = m
            .header(ContentType::TEXT_PLAIN)
            .body(alert.text())
            .map_err(|e| SendError::Refused(format!("the message could not be built: {e}")))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(classify)
    }
}

/// The server said no, or no connection was made: refused (nothing was
/// delivered). A timeout or a connection lost on the way: unclear.
fn classify(e: lettre::transport::smtp::Error) -> SendError {
    if e.is_permanent() || e.is_transient() {
        let code = e.status().map(|c| c.to_string()).unwrap_or_default();
        return SendError::Refused(format!("the SMTP server refused the message ({code})"));
    }
    if e.is_tls() || e.is_client() {
        return SendError::Refused("no secure SMTP session could be opened".into());
    }
    match io_kind(&e) {
        Some(std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound) => {
            SendError::Refused("could not reach the SMTP server".into())
        }
        _ if e.is_timeout() => SendError::Unclear("the SMTP server did not answer in time".into()),
        _ => SendError::Unclear("the SMTP session broke".into()),
    }
}

fn io_kind(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut source = e.source();
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = err.source();
    }
    None
}
