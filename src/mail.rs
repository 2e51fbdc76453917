//! Outgoing mail over SMTP (lettre, tokio, rustls with aws-lc-rs; no OpenSSL): the
//! [`crate::service::ports::Mailer`] the composition root plugs into the service layer when
//! `mail.smtp_host` is set (README "Mail").
//!
//! `mail.tls`: `none` (plain SMTP, for a relay on loopback or a private network), `starttls`
//! (upgrade required, refused if the server does not offer it) or `tls` (implicit TLS);
//! certificates are checked against the web PKI roots (webpki-roots). SMTP AUTH (PLAIN or
//! LOGIN, as the server offers) with `mail.username` and `mail.password`. Each send opens a
//! connection and gives up after `mail.timeout_ms`.

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{MailConfig, MailTls};
use crate::error::{Error, Result};
use crate::service::ports::{Mail, Mailer};

/// Sends through one SMTP server.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// The mailer of `cfg`; `None` when `smtp_host` is not set (mail off). The sender is
    /// `mail.from`, else `hearth@{server_name}`.
    ///
    /// # Errors
    /// 500 for a malformed `from` or host.
    pub fn from_config(cfg: &MailConfig, server_name: &str) -> Result<Option<SmtpMailer>> {
        let Some(host) = cfg.smtp_host.as_deref() else {
            return Ok(None);
        };
        let builder = match cfg.tls {
            MailTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            MailTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                .map_err(|e| Error::internal(format!("mail.smtp_host: {e}")))?,
            MailTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .map_err(|e| Error::internal(format!("mail.smtp_host: {e}")))?,
        };
        let mut builder = builder
            .port(cfg.smtp_port)
            .timeout(Some(Duration::from_millis(cfg.timeout_ms.max(1))));
        if let (Some(u), Some(p)) = (&cfg.username, &cfg.password) {
            builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
        }
        let from = cfg
            .from
            .clone()
            .unwrap_or_else(|| format!("hearth@{server_name}"));
        let from: Mailbox = from
            .parse()
            .map_err(|e| Error::internal(format!("mail.from {from:?}: {e}")))?;
        Ok(Some(SmtpMailer {
            transport: builder.build(),
            from,
        }))
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: Mail) -> Result<()> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| Error::internal(format!("mail to {:?}: {e}", mail.to)))?;
        let msg = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body)
            .map_err(Error::internal)?;
        self.transport
            .send(msg)
            .await
            .map_err(|e| Error::internal(format!("smtp: {e}")))?;
        Ok(())
    }
}
