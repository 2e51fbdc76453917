//! The test kit of Hearth: what the integration tests (`tests/it`) and the benchmarks
//! (`bench/`) share to run real servers and talk to them. Everything is real (servers on
//! 127.0.0.x ports, SQLite files, PostgreSQL databases, TLS with a throw-away CA, a DNS
//! server); nothing is mocked.
//!
//! - [`wait`]: [`eventually`], the one bounded polling helper (no fixed sleeps in tests);
//! - [`db`]: the backend of a run (`HEARTH_TEST_DATABASE`), unique names, PostgreSQL test
//!   databases created and dropped;
//! - [`config`]: test settings (rate limits out of the way, cheap password hashing) and
//!   their `HEARTH_*` environment form for spawned processes;
//! - [`app`]: a homeserver ([`hearth::App`]) served on a task, stopped on drop;
//! - [`pki`], [`dns`], [`fednet`]: a test CA, an in-memory DNS zone, and a federation network
//!   of servers on 127.0.0.x with certificates, SRV/A records and `.well-known` delegation;
//! - [`rest`]: a small JSON client and its responses;
//! - [`smtp`]: a real SMTP server on loopback (Python aiosmtpd) whose mails tests read;
//! - [`passkey`]: a software passkey (ES256 with RustCrypto p256) answering WebAuthn options
//!   with real attestations and assertions;
//! - [`s3`]: an S3-compatible server (s3s-fs) in the test process, for the S3 blob store
//!   (`HEARTH_TEST_BLOBS=s3` or a per-test choice);
//! - [`build`]: builders over the REST API (a registered user with its token, a guild with
//!   members, a bot application with its token).
//!
//! Fallible helpers return [`Res`] (a described error) so the bench can report failures;
//! the test harness unwraps them.

pub mod app;
pub mod build;
pub mod config;
pub mod db;
pub mod dns;
pub mod fednet;
pub mod passkey;
pub mod pki;
pub mod rest;
pub mod s3;
pub mod smtp;
pub mod wait;

pub use wait::{Patience, eventually};

/// A result whose error describes what failed.
pub type Res<T> = Result<T, String>;

/// `map_err` helper: prefixes an error with what was being done.
pub fn ctx<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("{what}: {e}")
}
