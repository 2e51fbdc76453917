//! Integration tests of the homeserver core: every test starts a real server on a free port
//! over a fresh database (SQLite by default, PostgreSQL with `HEARTH_TEST_DATABASE=postgres`)
//! and talks to it over HTTP like a client would.

mod harness;
mod network;

mod account;
mod account_deletion;
mod architecture;
mod atomicity;
mod attachments;
mod auth;
mod authz;
mod automod;
mod bad_input;
mod command_index;
mod commands;
mod compat;
mod components;
mod connlimits;
mod e2e;
mod erasure;
mod federation_accounts;
mod federation_delivery;
mod federation_guilds;
mod federation_ids;
mod federation_media;
mod federation_transport;
mod gateway;
mod gateway_shards;
mod guard;
mod heap_trim;
mod images;
mod interactions;
mod interactions_http;
mod mail;
mod metrics;
mod mfa;
mod migrations;
mod mls;
mod openapi;
mod operator;
mod ops;
mod outbox;
mod passive;
mod passkeys;
mod polls;
mod ratelimit;
mod read_states;
mod ready;
mod registrar;
mod resume;
mod search;
mod timeouts;
mod uploads;
mod web;
mod webhooks;
