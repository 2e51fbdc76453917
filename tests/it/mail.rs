//! Mail over TLS (README "Mail"): a real SMTP server on loopback (aiosmtpd, test kit `smtp`)
//! speaking STARTTLS or implicit TLS with a certificate of a private CA made by the test
//! (rcgen, test kit `pki`). With the CA in `mail.ca_file` mail is delivered; with a
//! certificate the server does not trust, the send fails with an error that says so and
//! nothing is delivered; a `ca_file` without a certificate stops the server at start-up.

use std::path::PathBuf;

use hearth::config::{MailConfig, MailTls};
use hearth::mail::SmtpMailer;
use hearth::service::ports::{Mail, Mailer};
use hearth_testkit::pki::TestCa;
use hearth_testkit::smtp::{MailSink, SinkTls};
use serde_json::json;

use crate::harness::*;

/// A fresh folder for certificates.
fn folder(what: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hearth_mailtls_{what}_{}", unique_suffix()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A CA in its own folder and a certificate it signed for the loopback address (and
/// `localhost`): (CA, certificate file, key file).
fn ca_and_certificate(what: &str) -> (TestCa, PathBuf, PathBuf) {
    let ca = TestCa::new(&folder(what), &format!("Hearth test mail CA {what}")).unwrap();
    let (cert, key) = ca
        .issue(&["localhost".to_owned(), "127.0.0.1".to_owned()])
        .unwrap();
    (ca, cert, key)
}

fn mail_config(port: u16, tls: MailTls, ca_file: Option<PathBuf>) -> MailConfig {
    MailConfig {
        smtp_host: Some("127.0.0.1".into()),
        smtp_port: port,
        tls,
        from: Some("Hearth <noreply@hearth.test>".into()),
        timeout_ms: 10_000,
        ca_file,
        ..MailConfig::default()
    }
}

fn a_mail(to: &str) -> Mail {
    Mail {
        to: to.into(),
        subject: "hello".into(),
        body: "over TLS".into(),
    }
}

#[tokio::test]
async fn mail_over_starttls_and_implicit_tls_with_a_private_ca() {
    for (mode, tls) in [
        (SinkTls::Starttls, MailTls::Starttls),
        (SinkTls::Implicit, MailTls::Tls),
    ] {
        let (ca, cert, key) = ca_and_certificate("trusted");
        let sink = MailSink::start_tls(mode, &cert, &key);
        let cfg = mail_config(sink.port, tls, Some(ca.pem.clone()));
        let srv = TestServer::start_with(|c| c.mail = cfg.clone()).await;
        // Registration mails a verification link, through TLS.
        let r = srv
            .anon()
            .post(
                "/auth/register",
                json!({"username": "alice", "password": password_of("alice"),
                       "email": "alice@example.org"}),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        let mail = sink.wait_for("alice@example.org", 1).await.remove(0);
        assert!(mail.token().is_some(), "{tls:?}: {}", mail.raw);
        // The mailer itself, as the server builds it, returns once the server accepted.
        let mailer = SmtpMailer::from_config(&cfg, "hearth.test")
            .unwrap()
            .unwrap();
        mailer.send(a_mail("bob@example.org")).await.unwrap();
        assert_eq!(sink.to("bob@example.org").len(), 1, "{tls:?}");
    }
}

#[tokio::test]
async fn mail_to_a_server_with_an_untrusted_certificate_is_refused_clearly() {
    for (mode, tls) in [
        (SinkTls::Starttls, MailTls::Starttls),
        (SinkTls::Implicit, MailTls::Tls),
    ] {
        let (_, cert, key) = ca_and_certificate("server");
        let (other_ca, _, _) = ca_and_certificate("other");
        let sink = MailSink::start_tls(mode, &cert, &key);
        // Neither the web PKI roots alone nor another private CA trust the certificate.
        for ca_file in [None, Some(other_ca.pem.clone())] {
            let cfg = mail_config(sink.port, tls, ca_file.clone());
            let mailer = SmtpMailer::from_config(&cfg, "hearth.test")
                .unwrap()
                .unwrap();
            let e = mailer
                .send(a_mail("bob@example.org"))
                .await
                .expect_err("an untrusted certificate must be refused")
                .to_string();
            assert!(
                e.contains("certificate") && e.contains("mail.ca_file"),
                "{tls:?} {ca_file:?}: {e}"
            );
            assert!(e.contains(&format!("127.0.0.1:{}", sink.port)), "{e}");
        }
        assert!(sink.received().is_empty(), "nothing was delivered");
        // A server configured so keeps working: the mail fails in the background.
        let cfg = mail_config(sink.port, tls, Some(other_ca.pem.clone()));
        let srv = TestServer::start_with(|c| c.mail = cfg).await;
        let r = srv
            .anon()
            .post(
                "/auth/register",
                json!({"username": "carol", "password": password_of("carol"),
                       "email": "carol@example.org"}),
            )
            .await;
        assert_eq!(r.status, 201, "{r:?}");
        let (_, dave) = srv.user("dave").await;
        assert_eq!(dave.get("/users/@me").await.status, 200);
    }
}

#[tokio::test]
async fn mail_ca_file_without_a_certificate_stops_the_server() {
    let dir = folder("bad");
    let bad = dir.join("not-a-ca.pem");
    std::fs::write(&bad, "this is not a certificate\n").unwrap();
    for ca_file in [bad, dir.join("missing.pem")] {
        let mut config = hearth_testkit::config::test_config(dir.join("data"));
        config.mail = mail_config(2525, MailTls::Starttls, Some(ca_file.clone()));
        let e = match hearth::App::build(config).await {
            Ok(_) => panic!("{ca_file:?} must be refused"),
            Err(e) => e.to_string(),
        };
        assert!(e.contains("mail.ca_file"), "{e}");
    }
}
