//! Hearth: a self-hosted, federated community-chat homeserver with a Discord-compatible API.
//!
//! Layers (see ARCHITECTURE.md), top to bottom: [`app`] (the composition root: builds the
//! parts and mounts every router) -> the features [`api`] (client REST), [`gateway`]
//! (real-time WebSocket), [`s2s`] (federation), [`mls`] (end-to-end-encrypted DMs) and
//! [`registrar`] (the registrar link) and [`web`] (the web client at `/`), on the shared HTTP edge [`http`] -> [`service`]
//! (rules, permissions, events; calls outward only through its ports) -> [`storage`] (SQL on
//! SQLite or PostgreSQL). Nothing is global, so several servers can run in one process.

pub mod api;
pub mod app;
pub mod backup;
pub mod cluster;
pub mod config;
pub mod error;
pub mod events;
pub mod gateway;
pub mod http;
pub mod mail;
pub mod media;
pub mod metrics;
pub mod mls;
pub mod permissions;
pub mod ratelimit;
pub mod registrar;
pub mod s2s;
pub mod service;
pub mod snowflake;
pub mod storage;
pub mod web;
pub mod wire;

pub use app::App;
pub use config::Config;
pub use error::{Error, Result};
