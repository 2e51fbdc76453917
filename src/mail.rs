//! Outgoing mail over SMTP (lettre, tokio, rustls with aws-lc-rs; no OpenSSL): the
//! [`crate::service::ports::Mailer`] the composition root plugs into the service layer when
//! `mail.smtp_host` is set (README "Mail").
//!
//! `mail.tls`: `none` (plain SMTP, for a relay on loopback or a private network), `starttls`
//! (upgrade required, refused if the server does not offer it) or `tls` (implicit TLS);
//! certificates are checked against the web PKI roots (webpki-roots) plus the CA
//! certificates of `mail.ca_file` (an operator's private CA), for the name `mail.smtp_host`
//! (a DNS name or an IP address). SMTP AUTH (PLAIN or LOGIN, as the server offers) with
//! `mail.username` and `mail.password`. Each send opens a connection and gives up after
//! `mail.timeout_ms`; a failure is an error naming the server, the TLS mode and the cause
//! (an untrusted certificate says so), and nothing is sent.

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{MailConfig, MailTls};
use crate::error::{Error, Result};
use crate::service::ports::{Mail, Mailer};

/// Sends through one SMTP server.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// `host:port (mode)`, for error messages.
    server: String,
}

impl SmtpMailer {
    /// The mailer of `cfg`; `None` when `smtp_host` is not set (mail off). The sender is
    /// `mail.from`, else `hearth@{server_name}`.
    ///
    /// # Errors
    /// 500 naming the setting for a malformed `from` or host, or a `ca_file` that cannot be
    /// read or holds no PEM certificate (the server does not start).
    pub fn from_config(cfg: &MailConfig, server_name: &str) -> Result<Option<SmtpMailer>> {
        let Some(host) = cfg.smtp_host.as_deref() else {
            return Ok(None);
        };
        let tls = match cfg.tls {
            MailTls::None => Tls::None,
            MailTls::Starttls => Tls::Required(tls_parameters(host, cfg)?),
            MailTls::Tls => Tls::Wrapper(tls_parameters(host, cfg)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(cfg.smtp_port)
            .tls(tls)
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
        let mode = match cfg.tls {
            MailTls::None => "plain",
            MailTls::Starttls => "starttls",
            MailTls::Tls => "tls",
        };
        Ok(Some(SmtpMailer {
            transport: builder.build(),
            from,
            server: format!("{host}:{} ({mode})", cfg.smtp_port),
        }))
    }
}

/// The TLS parameters for `host`: the web PKI roots, plus the certificates of `ca_file`.
fn tls_parameters(host: &str, cfg: &MailConfig) -> Result<TlsParameters> {
    let mut params = TlsParameters::builder(host.to_owned());
    if let Some(path) = &cfg.ca_file {
        let pem = std::fs::read(path).map_err(|e| {
            Error::internal(format!("mail.ca_file {}: cannot read: {e}", path.display()))
        })?;
        let count = String::from_utf8_lossy(&pem)
            .matches("-----BEGIN CERTIFICATE-----")
            .count();
        let cert = Certificate::from_pem(&pem)
            .ok()
            .filter(|_| count > 0)
            .ok_or_else(|| {
                Error::internal(format!(
                    "mail.ca_file {}: no PEM certificate in it",
                    path.display()
                ))
            })?;
        params = params.add_root_certificate(cert);
    }
    params
        .build()
        .map_err(|e| Error::internal(format!("mail TLS settings for {host}: {}", chain(&e))))
}

/// An error with its sources, `: `-separated.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        src = s.source();
    }
    out
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
        self.transport.send(msg).await.map_err(|e| {
            let why = chain(&e);
            let hint = if why.to_ascii_lowercase().contains("certificate") {
                " (the server's certificate is not trusted: is its CA in mail.ca_file?)"
            } else {
                ""
            };
            Error::internal(format!("smtp {}: {why}{hint}", self.server))
        })?;
        Ok(())
    }
}
