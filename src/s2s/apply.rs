//! Applying a host's verified events to a replica (spec/federation.md §9): each translated
//! dispatch becomes rows of the ordinary tables and is republished locally.

use super::Fed;
use super::translate::Translator;
use crate::error::{Error, Result};
use crate::events::{Audience, Control, Dispatch, Event, intents};
use crate::snowflake::Snowflake;
use crate::storage::{
    ChannelRow, MessageRow, OverwriteRow, RemoteGuildRow, ReplicaApply, RoleRow, now_ms,
};
use serde_json::{Value, json};

pub(super) fn s_id(v: &Value) -> Option<i64> {
    v.as_str()
        .and_then(|s| s.parse::<u64>().ok())
        .map(|x| x as i64)
}

pub(super) fn ts_ms(v: &Value) -> Option<i64> {
    v.as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.timestamp_millis())
}

pub(super) fn role_row(guild_id: i64, r: &Value) -> Option<RoleRow> {
    Some(RoleRow {
        id: s_id(&r["id"])?,
        guild_id,
        name: r["name"].as_str()?.to_string(),
        color: r["color"].as_i64().unwrap_or(0),
        hoist: r["hoist"].as_bool().unwrap_or(false),
        position: r["position"].as_i64().unwrap_or(0),
        permissions: r["permissions"]
            .as_str()
            .and_then(|p| p.parse::<u64>().ok())
            .unwrap_or(0) as i64,
        managed: r["managed"].as_bool().unwrap_or(false),
        mentionable: r["mentionable"].as_bool().unwrap_or(false),
        bot_id: None,
    })
}

pub(super) fn channel_row(guild_id: i64, c: &Value) -> Option<(ChannelRow, Vec<OverwriteRow>)> {
    let id = s_id(&c["id"])?;
    let ows = c["permission_overwrites"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|o| {
                    Some(OverwriteRow {
                        channel_id: id,
                        target_id: s_id(&o["id"])?,
                        kind: o["type"].as_i64()?,
                        allow_bits: o["allow"].as_str()?.parse::<u64>().ok()? as i64,
                        deny_bits: o["deny"].as_str()?.parse::<u64>().ok()? as i64,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Some((
        ChannelRow {
            id,
            guild_id: Some(guild_id),
            kind: c["type"].as_i64().unwrap_or(0),
            name: c["name"].as_str().map(str::to_string),
            topic: c["topic"].as_str().map(str::to_string),
            position: c["position"].as_i64().unwrap_or(0),
            parent_id: s_id(&c["parent_id"]),
            nsfw: c["nsfw"].as_bool().unwrap_or(false),
            rate_limit_per_user: c["rate_limit_per_user"].as_i64().unwrap_or(0),
            bitrate: c["bitrate"].as_i64(),
            user_limit: c["user_limit"].as_i64(),
            last_message_id: None,
            last_pin_timestamp: ts_ms(&c["last_pin_timestamp"]),
            created_at: Snowflake::from_db(id).timestamp_ms() as i64,
        },
        ows,
    ))
}

pub(super) fn message_row(guild_id: i64, m: &Value, pinned_at: Option<i64>) -> Option<MessageRow> {
    let ids = |k: &str| -> String {
        let v: Vec<Value> = m[k]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.get("id").or(Some(x)).cloned())
                    .filter(|x| x.is_string())
                    .collect()
            })
            .unwrap_or_default();
        Value::Array(v).to_string()
    };
    Some(MessageRow {
        id: s_id(&m["id"])?,
        channel_id: s_id(&m["channel_id"])?,
        guild_id: Some(guild_id),
        author_id: s_id(&m["author"]["id"])?,
        content: m["content"].as_str().unwrap_or_default().to_string(),
        embeds: m["embeds"]
            .as_array()
            .map(|a| Value::Array(a.clone()).to_string())
            .unwrap_or_else(|| "[]".into()),
        kind: m["type"].as_i64().unwrap_or(0),
        flags: m["flags"].as_i64().unwrap_or(0),
        tts: m["tts"].as_bool().unwrap_or(false),
        mention_everyone: m["mention_everyone"].as_bool().unwrap_or(false),
        mentions: ids("mentions"),
        mention_roles: ids("mention_roles"),
        reference_message_id: s_id(&m["message_reference"]["message_id"]),
        reference_channel_id: s_id(&m["message_reference"]["channel_id"]),
        reference_guild_id: s_id(&m["message_reference"]["guild_id"]),
        nonce: None,
        edited_at: ts_ms(&m["edited_timestamp"]),
        pinned_at: if m["pinned"].as_bool().unwrap_or(false) {
            pinned_at.or(Some(now_ms()))
        } else {
            None
        },
    })
}

/// The intent a replicated dispatch needs (mirrors what the host's service would use).
pub(super) fn intent_of(t: Event) -> u64 {
    match t {
        Event::MessageCreate
        | Event::MessageUpdate
        | Event::MessageDelete
        | Event::MessageDeleteBulk => intents::GUILD_MESSAGES,
        Event::MessageReactionAdd
        | Event::MessageReactionRemove
        | Event::MessageReactionRemoveAll
        | Event::MessageReactionRemoveEmoji => intents::GUILD_MESSAGE_REACTIONS,
        Event::GuildMemberAdd | Event::GuildMemberUpdate | Event::GuildMemberRemove => {
            intents::GUILD_MEMBERS
        }
        Event::GuildBanAdd | Event::GuildBanRemove => intents::GUILD_MODERATION,
        Event::TypingStart => intents::GUILD_MESSAGE_TYPING,
        _ => intents::GUILDS,
    }
}

/// The replica a delivery is applying to, under its lock, with the events staged for one
/// transaction.
pub(super) struct Run<'t> {
    pub(super) gid: i64,
    pub(super) _guard: tokio::sync::OwnedMutexGuard<()>,
    pub(super) tr: Translator<'t>,
    /// The replica as of the last committed event (`None`: read it again).
    pub(super) rg: Option<RemoteGuildRow>,
    pub(super) staged: Vec<Staged>,
}

/// A verified message event waiting for its run's transaction.
pub(super) struct Staged {
    pub(super) row: ReplicaApply,
    /// The signed event as received (to apply it alone if the run fails).
    pub(super) source: Value,
    pub(super) event: Event,
    /// The dispatch payload in local ids.
    pub(super) data: Value,
}

impl Fed<'_> {
    /// Applies a translated dispatch to the replica and republishes it locally.
    pub(super) async fn apply_payload(
        &self,
        rg: &RemoteGuildRow,
        t: Event,
        d: Value,
        tr: &mut Translator<'_>,
    ) -> Result<Option<i64>> {
        let gid = rg.guild_id;
        let d = tr.translate(d).await?;
        let is_local_user = |uid: i64| {
            let db = self.db.clone();
            async move {
                db.user(uid)
                    .await
                    .ok()
                    .flatten()
                    .is_some_and(|u| u.home_server.is_none())
            }
        };
        let gsf = Snowflake::from_db(gid);
        let mut channel = None;
        let mut controls = vec![];
        match t {
            Event::MessageCreate | Event::MessageUpdate => {
                let cid = s_id(&d["channel_id"]);
                if let Some(cid) = cid
                    && self.db.channel(cid).await?.is_some()
                {
                    let prev = match s_id(&d["id"]) {
                        Some(mid) => self.db.message(cid, mid).await?.and_then(|m| m.pinned_at),
                        None => None,
                    };
                    if let Some(m) = message_row(gid, &d, prev) {
                        self.db.upsert_message(&m).await?;
                    }
                }
                channel = cid;
            }
            Event::MessageDelete => {
                if let (Some(c), Some(m)) = (s_id(&d["channel_id"]), s_id(&d["id"])) {
                    self.db.delete_message(c, m).await?;
                    self.scrub_replica(gid, m).await?;
                    channel = Some(c);
                }
            }
            Event::MessageDeleteBulk => {
                if let Some(c) = s_id(&d["channel_id"]) {
                    let ids: Vec<i64> = d["ids"]
                        .as_array()
                        .map(|a| a.iter().filter_map(s_id).collect())
                        .unwrap_or_default();
                    self.db.delete_messages(c, &ids).await?;
                    for m in &ids {
                        self.scrub_replica(gid, *m).await?;
                    }
                    channel = Some(c);
                }
            }
            Event::MessageReactionAdd
            | Event::MessageReactionRemove
            | Event::MessageReactionRemoveAll
            | Event::MessageReactionRemoveEmoji => {
                let (c, m, u) = (
                    s_id(&d["channel_id"]),
                    s_id(&d["message_id"]),
                    s_id(&d["user_id"]),
                );
                let emoji = d["emoji"]["name"].as_str();
                if let (Some(c), Some(m)) = (c, m)
                    && self.db.message(c, m).await?.is_some()
                {
                    match (t, u, emoji) {
                        (Event::MessageReactionAdd, Some(u), Some(e)) => {
                            self.db.add_reaction(m, e, u, now_ms()).await?;
                        }
                        (Event::MessageReactionRemove, Some(u), Some(e)) => {
                            self.db.remove_reaction(m, e, u).await?;
                        }
                        (Event::MessageReactionRemoveAll, _, _) => {
                            self.db.clear_reactions(m, None).await?;
                        }
                        (Event::MessageReactionRemoveEmoji, _, Some(e)) => {
                            self.db.clear_reactions(m, Some(e)).await?;
                        }
                        _ => {}
                    }
                }
                channel = c;
            }
            Event::ChannelPinsUpdate => {
                if let Some(c) = s_id(&d["channel_id"]) {
                    self.db
                        .set_last_pin(c, ts_ms(&d["last_pin_timestamp"]))
                        .await?;
                    channel = Some(c);
                }
            }
            Event::ChannelCreate | Event::ChannelUpdate => {
                if let Some((c, ows)) = channel_row(gid, &d) {
                    channel = Some(c.id);
                    self.db.upsert_channel(&c, &ows).await?;
                    controls.push(Control::PermissionsChanged { guild_id: gsf });
                }
            }
            Event::ChannelDelete => {
                if let Some(c) = s_id(&d["id"]) {
                    channel = Some(c);
                    self.db.delete_channel(c).await?;
                }
            }
            Event::GuildRoleCreate | Event::GuildRoleUpdate => {
                if let Some(r) = role_row(gid, &d["role"]) {
                    self.db.upsert_role(&r).await?;
                    controls.push(Control::PermissionsChanged { guild_id: gsf });
                }
            }
            Event::GuildRoleDelete => {
                if let Some(r) = s_id(&d["role_id"]) {
                    self.db.delete_role(r).await?;
                    controls.push(Control::PermissionsChanged { guild_id: gsf });
                }
            }
            Event::GuildUpdate => {
                if let Some(mut g) = self.db.guild(gid).await? {
                    g.name = d["name"].as_str().unwrap_or(&g.name).to_string();
                    g.icon = d["icon"].as_str().map(str::to_string);
                    g.description = d["description"].as_str().map(str::to_string);
                    if let Some(o) = s_id(&d["owner_id"]) {
                        g.owner_id = o;
                    }
                    g.system_channel_id = s_id(&d["system_channel_id"]);
                    self.db.update_guild(&g).await?;
                }
                controls.push(Control::PermissionsChanged { guild_id: gsf });
            }
            Event::GuildMemberAdd | Event::GuildMemberUpdate => {
                if let Some(uid) = self.apply_member(gid, &d).await? {
                    if t == Event::GuildMemberAdd && is_local_user(uid).await {
                        controls.push(Control::MemberJoined {
                            guild_id: gsf,
                            user_id: Snowflake::from_db(uid),
                        });
                    }
                    controls.push(Control::PermissionsChanged { guild_id: gsf });
                }
            }
            Event::GuildMemberRemove | Event::GuildBanAdd => {
                if let Some(uid) = s_id(&d["user"]["id"]) {
                    let was = self.db.delete_member(gid, uid).await?;
                    if t == Event::GuildBanAdd {
                        self.db.upsert_ban(gid, uid, None, now_ms()).await?;
                    }
                    if was && is_local_user(uid).await {
                        controls.push(Control::MemberLeft {
                            guild_id: gsf,
                            user_id: Snowflake::from_db(uid),
                        });
                    }
                }
            }
            Event::GuildBanRemove => {
                if let Some(uid) = s_id(&d["user"]["id"]) {
                    self.db.delete_ban(gid, uid).await?;
                }
            }
            Event::GuildDeleteFederated => {
                self.control(Control::GuildDeleted { guild_id: gsf });
                self.db.drop_replica(gid).await?;
                return Ok(None);
            }
            _ => return Ok(None),
        }
        let object = match t {
            Event::MessageCreate | Event::MessageUpdate => s_id(&d["id"]),
            _ => None,
        };
        // Publish locally like a dispatch of our own (GUILD_BAN_ADD also implies a removal).
        let event = match t {
            Event::MessageCreate
            | Event::MessageUpdate
            | Event::MessageDelete
            | Event::MessageDeleteBulk
            | Event::MessageReactionAdd
            | Event::MessageReactionRemove
            | Event::MessageReactionRemoveAll
            | Event::MessageReactionRemoveEmoji
            | Event::ChannelPinsUpdate
            | Event::ChannelCreate
            | Event::ChannelUpdate
            | Event::ChannelDelete
            | Event::GuildRoleCreate
            | Event::GuildRoleUpdate
            | Event::GuildRoleDelete
            | Event::GuildUpdate
            | Event::GuildMemberAdd
            | Event::GuildMemberUpdate
            | Event::GuildMemberRemove
            | Event::GuildBanAdd
            | Event::GuildBanRemove => t,
            _ => return Ok(object),
        };
        // A role or member change may show our users channels we never received.
        if matches!(
            t,
            Event::GuildRoleCreate | Event::GuildRoleUpdate | Event::GuildMemberUpdate
        ) && let Err(e) = self.resync_channels(rg).await
        {
            tracing::warn!(error = %e, "channel resync failed");
        }
        // Members joining get their GUILD_CREATE before the member event.
        let (before, after): (Vec<_>, Vec<_>) = controls
            .into_iter()
            .partition(|c| matches!(c, Control::MemberJoined { .. }));
        for c in before {
            self.control(c);
        }
        let mut data = d;
        if event == Event::GuildUpdate {
            data["id"] = json!(gsf);
        }
        self.publish(Dispatch {
            event,
            data,
            audience: Audience::Guild {
                guild_id: gsf,
                channel: channel
                    .filter(|_| {
                        let name = event.as_str();
                        name.starts_with("MESSAGE") || name.starts_with("CHANNEL")
                    })
                    .map(Snowflake::from_db),
            },
            intent: intent_of(event),
            has_content: matches!(event, Event::MessageCreate | Event::MessageUpdate),
            lossy: false,
            cause: None,
        });
        let someone_left = after
            .iter()
            .any(|c| matches!(c, Control::MemberLeft { .. }));
        for c in after {
            self.control(c);
        }
        // Without local members the replica has no reader: forget it (the host stops
        // delivering after this event); the id map stays for a later rejoin.
        if someone_left && self.db.local_member_count(gid).await? == 0 {
            self.db.drop_replica(gid).await?;
        }
        Ok(object)
    }

    /// Replaces the stored events about a deleted message by their stubs (spec §6.4:
    /// deleted content is dropped everywhere; the hash chain is unchanged).
    pub(super) async fn scrub_replica(&self, guild_id: i64, message_id: i64) -> Result<()> {
        for (seq, ev) in self.db.replica_events_about(guild_id, message_id).await? {
            let ev: Value = serde_json::from_str(&ev).map_err(Error::internal)?;
            let st =
                hearth_federation::event::stub(&ev, hearth_federation::event::StubReason::Removed)
                    .map_err(Error::internal)?;
            self.db
                .replace_replica_event(guild_id, seq, &st.to_string())
                .await?;
        }
        Ok(())
    }
}
