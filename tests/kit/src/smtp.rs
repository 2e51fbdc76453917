//! A real SMTP server on loopback for mail tests: `tests/kit/smtp_sink.py` (Python,
//! aiosmtpd) run as a child process, saving each message it accepts into a folder that the
//! test reads. Needs `python3` with aiosmtpd (`pip install aiosmtpd`; `.ci/run` installs
//! it); `HEARTH_TEST_PYTHON` names another interpreter. The server speaks plain SMTP
//! ([`MailSink::start`]) or TLS with a given certificate ([`MailSink::start_tls`]): STARTTLS
//! required before any mail, or implicit TLS from the first byte.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::wait::eventually;

/// An SMTP server on 127.0.0.1 that keeps every message; stopped on drop.
pub struct MailSink {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: PathBuf,
}

/// One received message: the envelope recipients and the raw text (headers and body).
#[derive(Debug, Clone)]
pub struct Received {
    pub to: String,
    pub raw: String,
}

impl Received {
    /// The value of header `name` (its first occurrence, on one line).
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        for l in self.raw.split("\r\n").flat_map(|l| l.split('\n')) {
            if l.is_empty() {
                return None;
            }
            if l.to_ascii_lowercase().starts_with(&prefix) {
                return Some(l[prefix.len()..].trim().to_owned());
            }
        }
        None
    }

    /// The token on the body's `token: <token>` line, if any.
    pub fn token(&self) -> Option<String> {
        self.raw
            .lines()
            .find_map(|l| l.trim().strip_prefix("token: "))
            .map(|t| t.trim().to_owned())
    }
}

/// How a [`MailSink`] started with [`MailSink::start_tls`] speaks TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkTls {
    /// Plain connection, STARTTLS offered and required before `MAIL FROM` (RFC 3207).
    Starttls,
    /// TLS from the first byte (implicit TLS, RFC 8314).
    Implicit,
}

impl MailSink {
    /// Starts the server (plain SMTP) on a free port.
    ///
    /// # Panics
    /// When python3 or aiosmtpd is missing, or the server does not start.
    pub fn start() -> MailSink {
        Self::spawn(&[])
    }

    /// Starts the server on a free port, speaking TLS as `mode` says with the certificate
    /// `cert` and its key `key` (PEM files).
    ///
    /// # Panics
    /// As [`MailSink::start`]; also when the files cannot be loaded.
    pub fn start_tls(mode: SinkTls, cert: &Path, key: &Path) -> MailSink {
        let mode = match mode {
            SinkTls::Starttls => "starttls",
            SinkTls::Implicit => "tls",
        };
        Self::spawn(&[
            mode.into(),
            cert.to_string_lossy().into_owned(),
            key.to_string_lossy().into_owned(),
        ])
    }

    fn spawn(args: &[String]) -> MailSink {
        let dir = std::env::temp_dir().join(format!(
            "hearth_mail_{}_{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).expect("mail folder");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("smtp_sink.py");
        let python = std::env::var("HEARTH_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let mut child = Command::new(&python)
            .arg(&script)
            .arg(&dir)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {python} {}: {e}", script.display()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("smtp sink output");
        let port = line.trim().parse().unwrap_or_else(|_| {
            panic!("the SMTP sink did not start (is aiosmtpd installed? pip install aiosmtpd)")
        });
        MailSink { child, port, dir }
    }

    /// Every message received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|d| {
                d.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
            .into_iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .map(|raw| {
                let to = raw
                    .lines()
                    .next()
                    .and_then(|l| l.strip_prefix("X-Envelope-To: "))
                    .unwrap_or_default()
                    .trim()
                    .to_owned();
                Received { to, raw }
            })
            .collect()
    }

    /// The messages to `to` so far.
    pub fn to(&self, to: &str) -> Vec<Received> {
        self.received().into_iter().filter(|m| m.to == to).collect()
    }

    /// Waits (bounded, [`eventually`]) until `to` has received `n` messages; returns them.
    pub async fn wait_for(&self, to: &str, n: usize) -> Vec<Received> {
        eventually(&format!("{n} mails to {to}"), async || {
            let got = self.to(to);
            (got.len() >= n).then_some(got)
        })
        .await
    }
}

impl Drop for MailSink {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
