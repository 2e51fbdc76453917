//! Calls from a member server to a guild's host (spec/federation.md §§7-8): joining by a
//! remote invite, relaying local users' actions as origin-signed actions, paging history and
//! members in, pulling what a replica missed. [`Federation`] implements the service layer's
//! [`GuildHost`] port with these.

use async_trait::async_trait;
use hearth_federation::event::OriginAction;
use hearth_federation::sign::content_hash;
use hearth_wire::federation::{ActionAnswer, JoinSnapshot, MembersPage};
use hearth_wire::ids::{map_mentions, mentions};
use reqwest::Method;
use serde_json::json;
use std::collections::HashMap;

use super::apply::*;
use super::translate::*;
use super::{Fed, FedError, Federation};
use crate::error::{Error, Result, Unknown};
use crate::events::Control;
use crate::service::ports::{BlobKey, GuildHost, HistoryPage, RelayAction, Relayed, RemoteMedia};
use crate::service::{Actor, Hearth};
use crate::snowflake::Snowflake;
use crate::storage::{GuildRow, RemoteGuildRow, now_ms};
use crate::wire;

/// The client's answer when a relayed body cannot be hashed (spec/federation.md §4.1: a float,
/// an integer beyond ±(2^53−1) or nesting deeper than 64 levels anywhere in it): 400 50035
/// naming the body's first member that holds it, as the host would refuse it. Other hashing
/// failures are internal.
fn unhashable(body: &serde_json::Value, e: hearth_federation::error::Error) -> Error {
    use hearth_federation::error::Error as E;
    if !matches!(e, E::Float(_) | E::IntegerOutOfRange(_) | E::TooDeep(_)) {
        return Error::internal(e);
    }
    let key = body
        .as_object()
        .and_then(|o| o.iter().find(|(_, v)| content_hash(v).is_err()))
        .map_or("body", |(k, _)| k.as_str());
    crate::error::field_error(
        key,
        "NUMBER_TYPE_COERCE",
        format!(
            "Numbers must be integers within ±(2^53-1) and nesting at most 64 levels deep ({e})."
        ),
    )
}

/// Maps a peer's error into ours: Discord errors decided by the host pass through.
pub fn relay_error(e: FedError) -> Error {
    match e {
        FedError::Remote {
            status,
            errcode,
            error,
        } if errcode.starts_with("DISCORD_") => Error::Relayed {
            status,
            code: errcode["DISCORD_".len()..].parse().unwrap_or(0),
            message: error,
        },
        FedError::Remote {
            status: 401 | 403, ..
        }
        | FedError::Denied(_) => Error::MissingAccess,
        other => Error::Unavailable(format!("federation: {other}")),
    }
}

impl Fed<'_> {
    /// Joins a guild hosted on `server` with an invite code of that server
    /// (`POST /invites/{code}@{server}`), creating the local replica from the host's snapshot.
    pub async fn remote_join(
        &self,
        actor: &Actor,
        code: &str,
        server: &str,
    ) -> Result<wire::Invite> {
        if actor.user.home_server.is_some() {
            return Err(Error::MissingAccess);
        }
        let plausible = (1..=64).contains(&code.len())
            && code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !plausible || hearth_federation::names::validate_server_name(server).is_err() {
            return Err(Error::Unknown(Unknown::Invite));
        }
        let me = self.user_wire(&actor.user, false);
        let snap = self
            .fed
            .request(
                server,
                Method::POST,
                "/_hearth/federation/v1/join",
                Some(&json!({"invite_code": code, "user": me})),
            )
            .await
            .map_err(|e| match &e {
                FedError::Remote { status: 404, .. } | FedError::Discovery(_) => {
                    Error::Unknown(Unknown::Invite)
                }
                _ => relay_error(e),
            })?;
        // Signed by the host at the log position it names (spec §8.2).
        let claimed_gid = snap["guild"]["id"].as_str().unwrap_or_default().to_owned();
        self.verified_history(server, &snap, &claimed_gid, None)
            .await?;
        let mut snap: JoinSnapshot =
            serde_json::from_value(snap).map_err(|e| bad_shape("join snapshot", e))?;
        let host_gid = snap.guild.id.db();
        let mut tr = Translator::new(self, server);
        // The guild's local id, minted under a lock of its own (two local users joining a
        // new guild at once mint one id).
        let local_gid = {
            let _mint = self.lock_replica(0).await?;
            match self.db.map_get(server, host_gid).await? {
                Some(l) => tr.bind(host_gid, l).await?,
                None => {
                    let fresh = tr.mint(host_gid).await?;
                    tr.bind(host_gid, fresh).await?
                }
            }
        };
        // The replica's own lock, the one pushes and pulls take (`receive_events`): the host
        // pushes from the join on, and none of its events is applied (nor a snapshot of the
        // guild loaded by the gateway) until the replica is written and the joiner announced.
        let _guard = self.lock_replica(local_gid).await?;
        tr.translate(&mut snap).await?;
        let g = &snap.guild;
        let row = GuildRow {
            id: local_gid,
            name: g.name.clone(),
            icon: g.icon.clone(),
            description: g.description.clone(),
            owner_id: g.owner_id.db(),
            system_channel_id: g.system_channel_id.map(Snowflake::db),
            verification_level: g.verification_level,
            default_message_notifications: g.default_message_notifications,
            explicit_content_filter: g.explicit_content_filter,
            preferred_locale: g.preferred_locale.clone(),
            created_at: Snowflake::from_db(host_gid).timestamp_ms() as i64,
            host_server: Some(server.to_string()),
            mfa_level: 0,
            banner: g.banner.clone(),
            splash: g.splash.clone(),
        };
        let seq = snap.seq;
        // A replica that existed (another local member joined before) keeps its position
        // and first catches up to the snapshot instead of skipping what it had not applied;
        // then the snapshot's position must be in its verified chain, before anything of the
        // snapshot is used (a new replica's chain starts at it).
        let existing = self.db.remote_guild(local_gid).await?;
        let mut ahead = false;
        if let Some(rg) = existing {
            ahead = rg.applied_seq > seq;
            if rg.applied_seq < seq {
                self.fill_gap(&rg, seq).await?;
            }
            let ours = match self.db.remote_guild(local_gid).await? {
                Some(rg) => super::history::chain_hash(self, &rg, seq).await?,
                None => None,
            };
            if seq > 0 && (ours.is_none() || ours != snap.hash) {
                tracing::error!(host = %server, guild = host_gid, seq, "a join snapshot names a log position that is not in the replica's chain");
                return Err(Error::Unavailable(format!(
                    "federation: {server} answered a snapshot outside the log this server holds"
                )));
            }
        }
        // A replica that applied events past the snapshot keeps its newer state: only the
        // joiner's member object is taken from it.
        if !ahead {
            self.db
                .insert_replica(&row, server, host_gid, seq, snap.hash.as_deref())
                .await?;
            for r in &snap.guild.roles {
                self.db.upsert_role(&role_row(local_gid, r)).await?;
            }
            for c in &snap.channels {
                self.upsert_listed(local_gid, c).await?;
            }
            for e in &snap.scheduled_events {
                let row = scheduled_event_row(local_gid, e);
                self.db.upsert_replica_scheduled_event(&row).await?;
            }
            self.replica_emojis(local_gid, &snap.guild.emojis).await?;
        }
        for m in &snap.members {
            if !ahead || m.user.as_ref().is_some_and(|u| u.id == actor.id()) {
                self.apply_member(local_gid, m).await?;
            }
        }
        // A gateway snapshot of the guild loaded before (an earlier incarnation of the
        // replica) is dropped, then the joiner's sessions get GUILD_CREATE; both before any
        // later event of the guild, which waits for the lock.
        self.control(Control::PermissionsChanged {
            guild_id: Snowflake::from_db(local_gid),
        });
        self.control(Control::MemberJoined {
            guild_id: Snowflake::from_db(local_gid),
            user_id: actor.id(),
        });
        drop(_guard);
        Ok(wire::Invite {
            kind: 0,
            code: format!("{code}@{server}"),
            guild: Some(wire::InviteGuild {
                id: Snowflake::from_db(local_gid),
                name: row.name,
                icon: row.icon,
                description: row.description,
                features: vec![],
                splash: None,
                banner: None,
                verification_level: row.verification_level,
                nsfw_level: 0,
            }),
            channel: None,
            inviter: None,
            expires_at: None,
            approximate_member_count: Some(snap.member_count),
            uses: None,
            max_uses: None,
            max_age: None,
            temporary: None,
            created_at: None,
            channel_id: None,
            guild_id: None,
        })
    }

    /// Pages a replica's member list in from the host (`after` is a local user id, as the
    /// client sent it) and returns the members' local user ids in the host's order.
    pub async fn fetch_members(
        &self,
        rg: &RemoteGuildRow,
        after: i64,
        limit: i64,
    ) -> Result<Vec<i64>> {
        let host_after = if after == 0 {
            0
        } else {
            self.db.map_reverse(&rg.host, after).await?.unwrap_or(0)
        };
        let path = format!(
            "/_hearth/federation/v1/guilds/{}/members?after={host_after}&limit={limit}",
            rg.host_guild_id
        );
        let r = self
            .fed
            .request(&rg.host, Method::GET, &path, None)
            .await
            .map_err(relay_error)?;
        let mut tr = Translator::for_replica(self, rg).await?;
        let page: MembersPage = tr.parse("member page", r).await?;
        let mut ids = vec![];
        for m in &page.members {
            if let Some(uid) = self.apply_member(rg.guild_id, m).await? {
                ids.push(uid);
            }
        }
        Ok(ids)
    }

    /// Pulls what every replica missed (at start-up: a member server that was down catches up
    /// by pulling, which also tells each host it is back).
    pub async fn pull_all_replicas(&self) {
        let Ok(all) = self.db.remote_guilds().await else {
            return;
        };
        for rg in all {
            if let Err(e) = self.catch_up(rg.guild_id, i64::MAX).await {
                tracing::warn!(host = %rg.host, guild = rg.host_guild_id, error = %e, "catch-up pull failed; the host will push");
            }
        }
    }

    /// Relays a local user's action on a replica to its host, waits until the resulting
    /// events are applied here, and returns the host's result (the message of a message
    /// create or edit) translated to local ids.
    pub async fn relay(
        &self,
        actor: &Actor,
        rg: &RemoteGuildRow,
        action: RelayAction<'_>,
    ) -> Result<Relayed> {
        let RelayAction {
            op,
            channel,
            message,
            emoji,
            body,
        } = action;
        let to_host = |local: i64| async move {
            self.db
                .map_reverse(&rg.host, local)
                .await?
                .ok_or(Error::Unknown(Unknown::Channel))
        };
        let host_channel = match channel {
            Some(c) => Some(to_host(c).await?),
            None => None,
        };
        let host_message = match message {
            Some(m) => Some(
                self.db
                    .map_reverse(&rg.host, m)
                    .await?
                    .ok_or(Error::Unknown(Unknown::Message))?,
            ),
            None => None,
        };
        let mut body = body;
        // Ids inside the body (reply references) go back into the host's id space.
        if let Some(r) = body.get_mut("message_reference")
            && let Some(m) = r
                .get("message_id")
                .and_then(|m| m.as_str())
                .and_then(|m| m.parse::<u64>().ok())
        {
            let hm = self
                .db
                .map_reverse(&rg.host, m as i64)
                .await?
                .ok_or(Error::Unknown(Unknown::Message))?;
            r["message_id"] = json!(hm.to_string());
            if let Some(c) = host_channel {
                r["channel_id"] = json!(c.to_string());
            }
            if let Some(o) = r.as_object_mut() {
                o.remove("guild_id");
            }
        }
        // A thread member to add or remove, a scheduled event, and a forum post's tags, by
        // their host ids.
        for (key, unknown) in [
            ("user_id", Unknown::Member),
            ("event_id", Unknown::ScheduledEvent),
        ] {
            if let Some(v) = body.get(key).and_then(|u| u.as_str()) {
                let local = v.parse::<u64>().map_err(|_| Error::Unknown(unknown))?;
                let host = self
                    .db
                    .map_reverse(&rg.host, local as i64)
                    .await?
                    .ok_or(Error::Unknown(unknown))?;
                body[key] = json!(host.to_string());
            }
        }
        // A poll's custom emoji, by their host ids (an unknown one stays: the host refuses it).
        if let Some(answers) = body
            .pointer_mut("/poll/answers")
            .and_then(|a| a.as_array_mut())
        {
            for a in answers {
                let Some(id) = a.pointer_mut("/poll_media/emoji/id") else {
                    continue;
                };
                let local = id.as_str().and_then(|i| i.parse::<u64>().ok());
                if let Some(l) = local
                    && let Some(h) = self.db.map_reverse(&rg.host, l as i64).await?
                {
                    *id = json!(h.to_string());
                }
            }
        }
        if let Some(tags) = body.get("applied_tags").and_then(|t| t.as_array()).cloned() {
            let mut host_tags = vec![];
            for t in tags {
                let local = t.as_str().and_then(|t| t.parse::<u64>().ok());
                let host = match local {
                    Some(l) => self.db.map_reverse(&rg.host, l as i64).await?,
                    None => None,
                };
                // A tag the host never named stays as written: the host refuses it.
                host_tags.push(host.map_or(t, |h| json!(h.to_string())));
            }
            body["applied_tags"] = json!(host_tags);
        }
        // Mentions in the text name users and roles in the host's id space there.
        if let Some(text) = body
            .get("content")
            .and_then(|c| c.as_str())
            .map(str::to_string)
        {
            let mut m = HashMap::new();
            for id in mentions(&text) {
                if let Some(h) = self.db.map_reverse(&rg.host, id.db()).await? {
                    m.insert(id, Snowflake::from_db(h));
                }
            }
            body["content"] = json!(map_mentions(&text, |id| m.get(&id).copied()));
        }
        let request = json!({
            "op": op.as_str(),
            "channel_id": host_channel.map(|c| c.to_string()),
            "message_id": host_message.map(|m| m.to_string()),
            "emoji": emoji,
            "body": body,
        });
        let action = OriginAction {
            host: rg.host.clone(),
            guild_id: rg.host_guild_id.to_string(),
            channel_id: host_channel.map(|c| c.to_string()),
            kind: op.as_str().to_string(),
            sender: format!(
                "{}@{}",
                actor.user.username.to_lowercase(),
                self.config.server_name
            ),
            origin: self.config.server_name.clone(),
            txn_id: format!("t{}", self.next_id()),
            origin_ts: now_ms() as u64,
            content_hash: content_hash(&request).map_err(|e| unhashable(&request["body"], e))?,
        };
        let signed = action
            .sign(&self.fed.keyring.current())
            .map_err(Error::internal)?;
        let path = format!("/_hearth/federation/v1/guilds/{}/actions", rg.host_guild_id);
        let resp = self
            .fed
            .request(
                &rg.host,
                Method::POST,
                &path,
                Some(&json!({"action": signed, "content": request})),
            )
            .await
            .map_err(relay_error)?;
        let answer: ActionAnswer =
            serde_json::from_value(resp).map_err(|e| bad_shape("action answer", e))?;
        self.catch_up(rg.guild_id, answer.head).await?;
        let (mut message, mut channel) = (answer.result, answer.channel);
        let mut tr = Translator::for_replica(self, rg).await?;
        tr.translate(&mut message).await?;
        tr.translate(&mut channel).await?;
        Ok(Relayed {
            message,
            channel: channel.map(|c| *c),
        })
    }
}

#[async_trait]
impl GuildHost for Federation {
    async fn relay(
        &self,
        h: &Hearth,
        actor: &Actor,
        rg: &RemoteGuildRow,
        action: RelayAction<'_>,
    ) -> Result<Relayed> {
        Fed { h, fed: self }.relay(actor, rg, action).await
    }

    async fn backfill(
        &self,
        h: &Hearth,
        rg: &RemoteGuildRow,
        channel: i64,
        page: HistoryPage,
    ) -> Result<()> {
        Fed { h, fed: self }.backfill(rg, channel, page).await
    }

    async fn join(
        &self,
        h: &Hearth,
        actor: &Actor,
        code: &str,
        server: &str,
    ) -> Result<wire::Invite> {
        Fed { h, fed: self }.remote_join(actor, code, server).await
    }

    async fn member_page(
        &self,
        h: &Hearth,
        rg: &RemoteGuildRow,
        after: i64,
        limit: i64,
    ) -> Result<Vec<i64>> {
        Fed { h, fed: self }.fetch_members(rg, after, limit).await
    }

    async fn fetch_media(
        &self,
        h: &Hearth,
        media: RemoteMedia,
        key: &BlobKey,
        max_bytes: u64,
    ) -> Result<bool> {
        Federation::fetch_media(self, h, media, key, max_bytes).await
    }

    fn notices_queued(&self) {
        self.notices.notify_one();
    }
}
