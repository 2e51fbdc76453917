//! Account deletion (issue 17, "User data"; spec/account.md §6, spec/federation.md §18).
//!
//! - `POST /users/@me/delete` `{password, delete_messages}` ([`Hearth::delete_account`])
//!   anonymises the account as Discord does ("Deleted User"): the user leaves every guild
//!   (members see GUILD_MEMBER_REMOVE; a replica drops her here, and its host removes her
//!   when it applies the notice below), then ONE transaction replaces the
//!   profile, ends every session (gateway sockets close with 4004), deletes two-factor
//!   secrets, mailed tokens, the security log, relationships, MLS devices and key packages,
//!   kills the tokens of the user's bots, stores the message purge job if
//!   `delete_messages` ([`super::purge`]), and queues one signed notice for every other
//!   server that knows her ([`crate::storage::Db::deletion_peers`]), delivered durably by the
//!   federation layer through the [`super::ports::GuildHost`] port. An owner must transfer
//!   their guilds first (400 40011).
//! - A peer's notice ([`Hearth::apply_remote_deletion`], called by the federation endpoint
//!   once the origin is authenticated and matches the handle): the user is removed from the
//!   guilds here (GUILD_MEMBER_REMOVE; logged for the member servers of guilds hosted here),
//!   then her row is anonymised like the home's ("Deleted User", her new handle) and, if
//!   she asked, a purge job removes her messages stored here.

use super::{Actor, Hearth};
use crate::error::{Error, Result, Rule};
use crate::events::Control;
use crate::snowflake::Snowflake;
use crate::storage::{NewNotice, now_ms};
use crate::wire;

/// Where a deletion notice is POSTed on a peer (spec/federation.md §18).
pub const USER_DELETED_PATH: &str = "/_hearth/federation/v1/users/deleted";
/// Most peers one deletion is announced to (the first ones by name; more are logged and
/// left out).
pub const MAX_DELETION_PEERS: usize = 1_000;
/// Clock difference tolerated between a notice's `deleted_at` and this server's times, ms.
pub const DELETION_CLOCK_SKEW_MS: i64 = 5 * 60_000;

/// The anonymised username of account `user_id`: `deleted_user_<hex id>` (unique; names
/// starting with `deleted_user` are refused for live accounts, see
/// [`Hearth::validate_username`]).
pub fn anonymised_name(user_id: i64) -> String {
    format!("deleted_user_{user_id:x}")
}

/// A deletion notice as received, for relaying (spec/federation.md §18.3).
#[derive(Debug, Clone, Copy)]
pub struct RelayedNotice<'a> {
    /// The notice body exactly as received, carrying its home server's signature.
    pub body: &'a str,
    /// The server that sent it here (lower-cased), not relayed back to.
    pub from: &'a str,
}

/// Who deleted an account (what the notice mail says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeletedBy {
    /// The user, through `POST /users/@me/delete`.
    Owner,
    /// The instance operator, through `hearth admin users delete`.
    Operator,
}

impl Hearth {
    /// `POST /users/@me/delete` `{password, delete_messages}` -> 204: deletes the caller's
    /// account (see the module documentation).
    ///
    /// Errors: 400 50035 `password` missing or PASSWORD_DOES_NOT_MATCH (without `password`, a
    /// recent re-authentication is enough: 401 60003 otherwise), 400 40011 owner of guilds,
    /// 20001 bot tokens, 429 throttled.
    pub async fn delete_account(&self, actor: &Actor, body: wire::DeleteAccountBody) -> Result<()> {
        Self::human_session(actor)?;
        self.require_reauth(actor, body.password.as_deref()).await?;
        if !self.db.owned_guild_ids(actor.user.id).await?.is_empty() {
            return Err(Error::Rule(Rule::OwnsGuilds));
        }
        self.erase_account(
            actor,
            body.delete_messages.unwrap_or(false),
            DeletedBy::Owner,
        )
        .await
    }

    /// Deletes the account of `actor` (a local human user who owns no guild; the caller has
    /// checked): leaves every guild, anonymises the row, revokes sessions, keys and bot
    /// tokens, queues the notices to peer servers and, with `purge`, the message removal.
    /// Used by `POST /users/@me/delete` and `hearth admin users delete`.
    pub(crate) async fn erase_account(
        &self,
        actor: &Actor,
        purge: bool,
        by: DeletedBy,
    ) -> Result<()> {
        let uid = actor.user.id;
        // Who to tell, read before her memberships, messages and devices go.
        let own = self.config.server_name.to_lowercase();
        let mut peers = if self.config.federation.enabled {
            self.db.deletion_peers(uid).await?
        } else {
            vec![]
        };
        peers.retain(|p| !p.is_empty() && *p != own);
        if peers.len() > MAX_DELETION_PEERS {
            tracing::warn!(
                user = uid,
                peers = peers.len(),
                "account deletion announced to the first {MAX_DELETION_PEERS} peers only"
            );
            peers.truncate(MAX_DELETION_PEERS);
        }
        // Replicas drop her in the transaction below, which queues the notices (the removal
        // is published after it); her hosts remove her when they apply the notice (not a
        // relayed leave: a host must still see her memberships then, to relay the notice to
        // its member servers, spec/federation.md §18.3). Guilds hosted here log her leave now,
        // naming the handle the member servers know.
        let mut replicas = vec![];
        for g in self.db.guild_ids_of(uid).await? {
            match self.db.remote_guild(g).await? {
                Some(_) => replicas.push(g),
                None => self.leave_guild(actor, Snowflake::from_db(g)).await?,
            }
        }
        self.notify(
            &actor.user,
            "Your account was deleted",
            match (by, purge) {
                (DeletedBy::Owner, true) => {
                    "Your account was deleted at your request. Your messages are being removed."
                }
                (DeletedBy::Owner, false) => {
                    "Your account was deleted at your request. Your messages stay, under \"Deleted User\"."
                }
                (DeletedBy::Operator, true) => {
                    "Your account was deleted by this server's operator. Your messages are being removed."
                }
                (DeletedBy::Operator, false) => {
                    "Your account was deleted by this server's operator. Your messages stay, under \"Deleted User\"."
                }
            },
        );
        let anon = anonymised_name(uid);
        let now = now_ms();
        let body = serde_json::to_string(&wire::federation::UserDeleted {
            handle: format!("{}@{}", actor.user.username, self.config.server_name),
            anonymised_handle: format!("{anon}@{}", self.config.server_name),
            deleted_at: now,
            delete_messages: purge,
        })
        .map_err(Error::internal)?;
        let notices: Vec<NewNotice> = peers
            .into_iter()
            .map(|destination| NewNotice {
                id: self.next_id(),
                destination,
                path: USER_DELETED_PATH.to_owned(),
                body: body.clone(),
            })
            .collect();
        let (_sessions, bots) = self
            .db
            .delete_account(uid, &anon, "deleted-account:", now, purge, &notices)
            .await?;
        tracing::info!(
            user = uid,
            bots = bots.len(),
            peers = notices.len(),
            purge,
            "account deleted"
        );
        for g in replicas {
            self.member_removal(g, uid, None, false).await?;
        }
        for u in std::iter::once(uid).chain(bots) {
            self.control(Control::SessionsRevoked {
                user_id: Snowflake::from_db(u),
                sessions: None,
            });
        }
        if !notices.is_empty() {
            self.host.notices_queued();
        }
        if purge {
            self.purges.notify_one();
        }
        Ok(())
    }

    /// Applies a deletion announced by the home server of `name@server` (spec/federation.md
    /// §18; the caller has checked that `server` is the authenticated origin and the shape of
    /// the handles): finds the remote user's row by her old handle (or, for a repeated
    /// notice, by `anon_name@server`); a row first seen more than
    /// [`DELETION_CLOCK_SKEW_MS`] after `deleted_at` belongs to a newer account that took the
    /// name and is left alone. She is removed from every guild she does not own
    /// (GUILD_MEMBER_REMOVE; for guilds hosted here logged for their member servers, with her
    /// old handle, which they know; replicas of other hosts drop her locally), then her row
    /// is anonymised (`anon_name`, "Deleted User", no avatar) and, with `delete_messages`,
    /// her messages stored here are purged in the background. With `relay` (the notice
    /// carries her home's valid signature), the first application here first queues the
    /// notice for the member servers of the guilds hosted here that she is a member of or
    /// wrote in (spec/federation.md §18.3). Idempotent. Returns whether this server knew her.
    pub async fn apply_remote_deletion(
        &self,
        name: &str,
        server: &str,
        anon_name: &str,
        deleted_at: i64,
        delete_messages: bool,
        relay: Option<&RelayedNotice<'_>>,
    ) -> Result<bool> {
        let (user, first) = match self.db.remote_user(server, name).await? {
            Some(u) => (Some(u), true),
            None => (self.db.remote_user(server, anon_name).await?, false),
        };
        let Some(user) = user.filter(|u| u.home_server.is_some()) else {
            return Ok(false);
        };
        if user.created_at > deleted_at.saturating_add(DELETION_CLOCK_SKEW_MS) {
            tracing::info!(user = user.id, handle = %format!("{name}@{server}"), "deletion notice for an older account of this name; ignored");
            return Ok(false);
        }
        // The member servers of the guilds hosted here that know her, told by relaying the
        // home's signed notice the first time it is applied here (a repeat relays nothing,
        // so relays between hosts end).
        let relay: Vec<NewNotice> = match relay.filter(|_| first) {
            Some(r) => {
                let own = self.config.server_name.to_lowercase();
                let mut peers = self.db.deletion_relay_peers(user.id).await?;
                peers.retain(|p| *p != own && *p != server.to_lowercase() && *p != r.from);
                if peers.len() > MAX_DELETION_PEERS {
                    tracing::warn!(
                        user = user.id,
                        peers = peers.len(),
                        "deletion notice relayed to the first {MAX_DELETION_PEERS} peers only"
                    );
                    peers.truncate(MAX_DELETION_PEERS);
                }
                peers
                    .into_iter()
                    .map(|destination| NewNotice {
                        id: self.next_id(),
                        destination,
                        path: USER_DELETED_PATH.to_owned(),
                        body: r.body.to_owned(),
                    })
                    .collect()
            }
            None => vec![],
        };
        // Queued before her memberships go, so that a crash in between loses no destination
        // (a repeat of the notice queues them again; receivers apply it once).
        if !relay.is_empty() {
            self.db.queue_notices(&relay, now_ms()).await?;
            self.host.notices_queued();
        }
        let owned = self.db.owned_guild_ids(user.id).await?;
        for g in self.db.guild_ids_of(user.id).await? {
            if owned.contains(&g) {
                tracing::warn!(
                    user = user.id,
                    guild = g,
                    "a deleted remote user owns a guild hosted here; her membership is kept"
                );
                continue;
            }
            // A replica drops her at once too (its host, told by the same notice or by
            // the relayed leave, removes her for everyone; that event is then a no-op).
            self.remove_member(g, user.id, None).await?;
        }
        let key = format!("{}@{}", anon_name.to_lowercase(), server.to_lowercase());
        self.db
            .anonymise_remote_user(
                user.id,
                anon_name,
                &key,
                deleted_at,
                delete_messages,
                now_ms(),
            )
            .await?;
        tracing::info!(
            user = user.id,
            server,
            delete_messages,
            relayed_to = relay.len(),
            "remote account deleted"
        );
        if delete_messages {
            self.purges.notify_one();
        }
        Ok(true)
    }
}
