//! Threads of guilds hosted on another server (spec/federation.md §6.5, §6.6): a local user
//! starts, changes, joins and leaves a replica's threads through the guild's host, which runs
//! the change under its own rules and logs THREAD_CREATE, THREAD_UPDATE and
//! THREAD_MEMBERS_UPDATE; this server applies them (`s2s::apply`) before answering. Deleting
//! a thread needs MANAGE_THREADS, an administrative right that is not relayed (§14).

use serde_json::{Map, Value, json};

use super::attachments::Upload;
use super::ports::{RelayAction, RelayOp, Relayed};
use super::{Actor, ChannelAccess, Hearth};
use crate::error::{Error, Result, Rule};
use crate::snowflake::Snowflake;
use crate::storage::RemoteGuildRow;
use crate::wire;

/// The members of `pairs` that are set, as a JSON object.
fn object(pairs: Vec<(&str, Option<Value>)>) -> Value {
    let m: Map<String, Value> = pairs
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_string(), v?)))
        .collect();
    Value::Object(m)
}

/// A Start Thread body as relayed (only the members the client set).
fn start_body(b: &wire::StartThreadBody) -> Result<Value> {
    let message = match &b.message {
        Some(m) => Some(serde_json::to_value(m).map_err(Error::internal)?),
        None => None,
    };
    Ok(object(vec![
        ("name", b.name.as_ref().map(|n| json!(n))),
        (
            "auto_archive_duration",
            b.auto_archive_duration.map(|v| json!(v)),
        ),
        (
            "rate_limit_per_user",
            b.rate_limit_per_user.map(|v| json!(v)),
        ),
        ("type", b.kind.map(|k| json!(k))),
        ("invitable", b.invitable.map(|v| json!(v))),
        ("message", message),
        ("applied_tags", b.applied_tags.as_ref().map(|t| json!(t))),
    ]))
}

/// A Modify Channel body for a thread as relayed: the members a thread takes (the others
/// are refused by the host as they would be here).
fn patch_body(b: &wire::ChannelBody) -> Value {
    object(vec![
        ("name", b.name.as_ref().map(|n| json!(n))),
        ("archived", b.archived.map(|v| json!(v))),
        ("locked", b.locked.map(|v| json!(v))),
        (
            "auto_archive_duration",
            b.auto_archive_duration.map(|v| json!(v)),
        ),
        ("invitable", b.invitable.map(|v| json!(v))),
        (
            "rate_limit_per_user",
            b.rate_limit_per_user.map(|v| json!(v)),
        ),
        ("flags", b.flags.map(|v| json!(v))),
        ("applied_tags", b.applied_tags.as_ref().map(|t| json!(t))),
    ])
}

impl Hearth {
    /// Where a thread change on `ca` runs: `None` here (a guild hosted here), else the
    /// replica whose host runs it. 400 50024 outside guilds.
    pub(super) async fn thread_replica(
        &self,
        ca: &ChannelAccess,
    ) -> Result<Option<RemoteGuildRow>> {
        let Some(g) = &ca.guild else {
            return Err(Error::Rule(Rule::ChannelType));
        };
        self.relay_target(&g.guild).await
    }

    /// Relays Start Thread (from message `message`, or standalone or a forum post in `ca`,
    /// the parent) to the host of `rg` and answers the thread as this server now holds it.
    /// Files do not cross federation (400 50035 `ATTACHMENTS_NOT_FEDERATED`).
    pub(super) async fn relay_thread_start(
        &self,
        actor: &Actor,
        rg: &RemoteGuildRow,
        ca: &ChannelAccess,
        message: Option<Snowflake>,
        body: &wire::StartThreadBody,
        files: &[Upload],
    ) -> Result<wire::Channel> {
        if !files.is_empty() {
            return Err(super::attachments::files_not_federated());
        }
        let mut action = RelayAction::new(RelayOp::ThreadStart)
            .channel(ca.channel.id)
            .body(start_body(body)?);
        if let Some(m) = message {
            action = action.message(m.db());
        }
        let r = self.host.relay(self, actor, rg, action).await?;
        self.relayed_thread(r, actor).await
    }

    /// Relays Modify Channel of thread `ca` to the host of `rg`.
    pub(super) async fn relay_thread_update(
        &self,
        actor: &Actor,
        rg: &RemoteGuildRow,
        ca: &ChannelAccess,
        body: &wire::ChannelBody,
    ) -> Result<wire::Channel> {
        let action = RelayAction::new(RelayOp::ThreadUpdate)
            .channel(ca.channel.id)
            .body(patch_body(body));
        let r = self.host.relay(self, actor, rg, action).await?;
        self.relayed_thread(r, actor).await
    }

    /// Relays joining or leaving thread `ca` (`user`: `None` for oneself) to the host of
    /// `rg`.
    pub(super) async fn relay_thread_member(
        &self,
        actor: &Actor,
        rg: &RemoteGuildRow,
        ca: &ChannelAccess,
        user: Option<Snowflake>,
        add: bool,
    ) -> Result<()> {
        let op = if add {
            RelayOp::ThreadMemberAdd
        } else {
            RelayOp::ThreadMemberRemove
        };
        let body = object(vec![("user_id", user.map(|u| json!(u)))]);
        self.host
            .relay(
                self,
                actor,
                rg,
                RelayAction::new(op).channel(ca.channel.id).body(body),
            )
            .await?;
        Ok(())
    }

    /// The thread a relayed change answered, as `actor` sees it in the replica (applied
    /// before the relay returned), or the host's answer when the replica does not hold it.
    async fn relayed_thread(&self, r: Relayed, actor: &Actor) -> Result<wire::Channel> {
        let c = r
            .channel
            .ok_or_else(|| Error::internal("host result without a thread"))?;
        let id = c.id.db();
        match (self.db.channel(id).await?, self.db.thread(id).await?) {
            (Some(row), Some(t)) => self.render_thread(&row, &t, actor.user.id).await,
            _ => Ok(c),
        }
    }
}
