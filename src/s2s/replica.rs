//! Member side of guild federation (spec/federation.md §§7-9): guilds hosted elsewhere are
//! kept as replicas in the ordinary tables, in this server's id space, so REST reads,
//! permission checks and the gateway work on them unchanged.
//!
//! - Every id in a host's payload is mapped through `id_map` (one map per peer server, since
//!   snowflakes of one server are unique across kinds); users are matched by `handle`, so
//!   `alice@a.example` is always the same local row whichever host mentions her.
//! - Events are verified (host and origin signatures, content and result hashes), checked for
//!   order (`seq`, `prev_hash`) and for equivocation, applied, then republished locally.
//! - Writes by local users to a replica are relayed to the host as origin-signed actions.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use hearth_federation::event::{EquivocationProof, OriginAction, verify_event};
use hearth_federation::sign::content_hash;
use reqwest::Method;
use serde_json::{Value, json};

use super::FedError;
use crate::error::{Error, Result, Unknown};
use crate::events::{Audience, Control, Dispatch, intents};
use crate::service::{Actor, Hearth};
use crate::snowflake::Snowflake;
use crate::storage::{
    ChannelRow, GuildRow, MessageRow, OverwriteRow, RemoteGuildRow, ReplicaApply, RoleRow, UserRow,
    now_ms,
};
use crate::wire;

/// Keys whose string values are ids.
const ID_KEYS: &[&str] = &[
    "id",
    "guild_id",
    "channel_id",
    "user_id",
    "message_id",
    "parent_id",
    "owner_id",
    "role_id",
    "system_channel_id",
    "last_message_id",
    "message_author_id",
    "application_id",
    "afk_channel_id",
    "rules_channel_id",
    "public_updates_channel_id",
    "safety_alerts_channel_id",
    "bot_id",
];
/// Keys whose arrays hold ids.
const ID_ARRAYS: &[&str] = &["roles", "mention_roles", "ids"];

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

fn is_user_object(o: &serde_json::Map<String, Value>) -> bool {
    o.get("handle").is_some_and(Value::is_string)
        && o.get("username").is_some_and(Value::is_string)
        && o.get("id").is_some_and(Value::is_string)
}

/// Ids mentioned inside message text (`<@1>`, `<@!1>`, `<@&1>`, `<#1>`).
fn text_ids(s: &str) -> Vec<String> {
    let mut out = vec![];
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'<' && i + 1 < b.len() && (b[i + 1] == b'@' || b[i + 1] == b'#') {
            let mut j = i + 2;
            if j < b.len() && (b[j] == b'!' || b[j] == b'&') {
                j += 1;
            }
            let start = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            if j > start && j < b.len() && b[j] == b'>' {
                out.push(s[start..j].to_string());
                i = j;
            }
        }
        i += 1;
    }
    out
}

fn rewrite_text(s: &str, map: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    let mut last = 0;
    while i < b.len() {
        if b[i] == b'<' && i + 1 < b.len() && (b[i + 1] == b'@' || b[i + 1] == b'#') {
            let mut j = i + 2;
            if j < b.len() && (b[j] == b'!' || b[j] == b'&') {
                j += 1;
            }
            let start = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            if j > start
                && j < b.len()
                && b[j] == b'>'
                && let Some(local) = map.get(&s[start..j])
            {
                out.push_str(&s[last..start]);
                out.push_str(local);
                last = j;
                i = j;
            }
        }
        i += 1;
    }
    out.push_str(&s[last..]);
    out
}

/// Translates payloads of one peer's id space into ours (and back).
pub struct Translator<'a> {
    h: &'a Hearth,
    server: &'a str,
    map: HashMap<String, String>,
    /// `(global_name, avatar)` of each peer user object already resolved, so that one
    /// translator reused over a delivery updates a profile only when it changes.
    profiles: HashMap<String, (Option<String>, Option<String>)>,
}

impl<'a> Translator<'a> {
    pub fn new(h: &'a Hearth, server: &'a str) -> Self {
        Translator {
            h,
            server,
            map: HashMap::new(),
            profiles: HashMap::new(),
        }
    }

    /// A fresh local id for a peer's id that keeps its time: same millisecond and increment,
    /// worker 31 (never used by local generators) and 5 bits of the peer's name, so objects
    /// of one host keep their order here and clients derive the host's timestamps.
    async fn mint(&self, remote: i64) -> Result<i64> {
        let r = remote as u64;
        let bucket = self
            .server
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
            & 0x1f;
        let candidate = ((r >> 22) << 22) | (31 << 17) | (bucket << 12) | (r & 0xfff);
        if candidate as i64 > 0 && !self.h.db.local_id_taken(candidate as i64).await? {
            return Ok(candidate as i64);
        }
        Ok(self.h.next_id())
    }

    /// A translator for a replica's host, with the guild id already bound.
    pub async fn for_replica(h: &'a Hearth, rg: &'a RemoteGuildRow) -> Result<Translator<'a>> {
        let mut tr = Translator::new(h, &rg.host);
        tr.bind(&rg.host_guild_id.to_string(), rg.guild_id).await?;
        Ok(tr)
    }

    /// Pre-binds a remote id to a local one (the guild id of a join).
    pub async fn bind(&mut self, remote: &str, local: i64) -> Result<i64> {
        let r: i64 = remote
            .parse()
            .map_err(|_| Error::internal("bad remote id"))?;
        let l = self.h.db.map_put(self.server, r, local).await?;
        self.map.insert(remote.to_string(), l.to_string());
        Ok(l)
    }

    fn collect(v: &Value, users: &mut Vec<(String, Value)>, ids: &mut HashSet<String>) {
        match v {
            Value::Object(o) => {
                if is_user_object(o) {
                    users.push((o["id"].as_str().unwrap_or_default().to_string(), v.clone()));
                }
                for (k, x) in o {
                    match x {
                        Value::String(s)
                            if ID_KEYS.contains(&k.as_str()) && s.parse::<u64>().is_ok() =>
                        {
                            ids.insert(s.clone());
                        }
                        Value::String(s) if k == "content" => ids.extend(text_ids(s)),
                        Value::Array(a) if ID_ARRAYS.contains(&k.as_str()) => {
                            for e in a {
                                if let Some(s) = e.as_str().filter(|s| s.parse::<u64>().is_ok()) {
                                    ids.insert(s.to_string());
                                }
                            }
                        }
                        _ => {}
                    }
                    Self::collect(x, users, ids);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| Self::collect(x, users, ids)),
            _ => {}
        }
    }

    /// Resolves every user object (by handle) and id of `v`, allocating local ids for new
    /// objects.
    pub async fn prepare(&mut self, v: &Value) -> Result<()> {
        let mut users = vec![];
        let mut ids = HashSet::new();
        Self::collect(v, &mut users, &mut ids);
        for (rid, obj) in users {
            let profile = (
                obj["global_name"].as_str().map(str::to_string),
                obj["avatar"].as_str().map(str::to_string),
            );
            if self.map.contains_key(&rid) && self.profiles.get(&rid) == Some(&profile) {
                continue;
            }
            let local = self.ensure_user(&rid, &obj).await?;
            self.map.insert(rid.clone(), local.to_string());
            self.profiles.insert(rid, profile);
        }
        for id in ids {
            if self.map.contains_key(&id) {
                continue;
            }
            let r: i64 = id.parse::<u64>().map_err(Error::internal)? as i64;
            let local = match self.h.db.map_get(self.server, r).await? {
                Some(l) => l,
                None => {
                    let fresh = self.mint(r).await?;
                    self.h.db.map_put(self.server, r, fresh).await?
                }
            };
            self.map.insert(id, local.to_string());
        }
        Ok(())
    }

    /// The local user row for a user object of the peer.
    async fn ensure_user(&self, rid: &str, obj: &Value) -> Result<i64> {
        let handle = obj["handle"].as_str().unwrap_or_default();
        let (name, server) = handle
            .rsplit_once('@')
            .ok_or_else(|| Error::internal("handle without @"))?;
        let local = if server.eq_ignore_ascii_case(&self.h.config.server_name) {
            match self.h.db.local_user(name).await? {
                Some(u) => u.id,
                None => {
                    return Err(Error::internal(format!(
                        "peer names unknown local user {handle}"
                    )));
                }
            }
        } else {
            match self.h.db.remote_user(server, name).await? {
                Some(u) => {
                    self.h
                        .db
                        .update_remote_profile(
                            u.id,
                            obj["global_name"].as_str(),
                            obj["avatar"].as_str(),
                        )
                        .await?;
                    u.id
                }
                None => self.h.insert_remote_user(name, server, obj).await?.id,
            }
        };
        let r: i64 = rid.parse::<u64>().map_err(Error::internal)? as i64;
        self.h.db.map_put(self.server, r, local).await
    }

    /// Rewrites ids (and mentions in `content`) of a prepared value.
    pub fn rewrite(&self, v: &mut Value) {
        match v {
            Value::Object(o) => {
                for (k, x) in o.iter_mut() {
                    match x {
                        Value::String(s) if ID_KEYS.contains(&k.as_str()) => {
                            if let Some(l) = self.map.get(s.as_str()) {
                                *s = l.clone();
                            }
                        }
                        Value::String(s) if k == "content" => *s = rewrite_text(s, &self.map),
                        Value::Array(a) if ID_ARRAYS.contains(&k.as_str()) => {
                            for e in a.iter_mut() {
                                match e {
                                    Value::String(s) => {
                                        if let Some(l) = self.map.get(s.as_str()) {
                                            *s = l.clone();
                                        }
                                    }
                                    // `roles` of a guild holds role objects, not ids.
                                    other => self.rewrite(other),
                                }
                            }
                        }
                        _ => self.rewrite(x),
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| self.rewrite(x)),
            _ => {}
        }
    }

    /// Prepares and rewrites in one go.
    pub async fn translate(&mut self, mut v: Value) -> Result<Value> {
        self.prepare(&v).await?;
        self.rewrite(&mut v);
        Ok(v)
    }
}

fn s_id(v: &Value) -> Option<i64> {
    v.as_str()
        .and_then(|s| s.parse::<u64>().ok())
        .map(|x| x as i64)
}

fn ts_ms(v: &Value) -> Option<i64> {
    v.as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.timestamp_millis())
}

fn role_row(guild_id: i64, r: &Value) -> Option<RoleRow> {
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

fn channel_row(guild_id: i64, c: &Value) -> Option<(ChannelRow, Vec<OverwriteRow>)> {
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

fn message_row(guild_id: i64, m: &Value, pinned_at: Option<i64>) -> Option<MessageRow> {
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
fn intent_of(t: &str) -> u64 {
    match t {
        "MESSAGE_CREATE" | "MESSAGE_UPDATE" | "MESSAGE_DELETE" | "MESSAGE_DELETE_BULK" => {
            intents::GUILD_MESSAGES
        }
        "MESSAGE_REACTION_ADD"
        | "MESSAGE_REACTION_REMOVE"
        | "MESSAGE_REACTION_REMOVE_ALL"
        | "MESSAGE_REACTION_REMOVE_EMOJI" => intents::GUILD_MESSAGE_REACTIONS,
        "GUILD_MEMBER_ADD" | "GUILD_MEMBER_UPDATE" | "GUILD_MEMBER_REMOVE" => {
            intents::GUILD_MEMBERS
        }
        "GUILD_BAN_ADD" | "GUILD_BAN_REMOVE" => intents::GUILD_MODERATION,
        "TYPING_START" => intents::GUILD_MESSAGE_TYPING,
        _ => intents::GUILDS,
    }
}

/// The replica a delivery is applying to, under its lock, with the events staged for one
/// transaction.
struct Run<'t> {
    gid: i64,
    _guard: tokio::sync::OwnedMutexGuard<()>,
    tr: Translator<'t>,
    /// The replica as of the last committed event (`None`: read it again).
    rg: Option<RemoteGuildRow>,
    staged: Vec<Staged>,
}

/// A verified message event waiting for its run's transaction.
struct Staged {
    row: ReplicaApply,
    /// The signed event as received (to apply it alone if the run fails).
    source: Value,
    event: &'static str,
    /// The dispatch payload in local ids.
    data: Value,
}

impl Hearth {
    /// Creates the local row of a remote user `name@server` from a profile object
    /// (`global_name`, `avatar`, `bot`); if a concurrent request created it first, that row.
    pub(crate) async fn insert_remote_user(
        &self,
        name: &str,
        server: &str,
        profile: &Value,
    ) -> Result<UserRow> {
        let u = UserRow {
            id: self.next_id(),
            username: name.to_lowercase(),
            global_name: profile["global_name"].as_str().map(str::to_string),
            email: None,
            password_hash: None,
            avatar: profile["avatar"].as_str().map(str::to_string),
            bio: String::new(),
            bot: profile["bot"].as_bool().unwrap_or(false),
            admin: false,
            suspended: false,
            dm_policy: 0,
            created_at: now_ms(),
            home_server: Some(server.to_lowercase()),
        };
        match self.db.insert_user(&u).await {
            Ok(()) => Ok(u),
            Err(_) => self
                .db
                .remote_user(server, name)
                .await?
                .ok_or_else(|| Error::internal("remote user vanished")),
        }
    }

    fn replica_lock(&self, guild_id: i64) -> Arc<tokio::sync::Mutex<()>> {
        self.replica_locks
            .lock()
            .entry(guild_id)
            .or_default()
            .clone()
    }

    /// The replica of `guild_id`, if the guild is hosted elsewhere.
    pub async fn remote_of(&self, guild_id: i64) -> Result<Option<RemoteGuildRow>> {
        self.db.remote_guild(guild_id).await
    }

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
        let hgid = snap["guild"]["id"]
            .as_str()
            .ok_or_else(|| Error::internal("snapshot without guild id"))?
            .to_string();
        let host_gid: i64 = hgid.parse::<u64>().map_err(Error::internal)? as i64;
        let lock_key = match self.db.remote_guild_by_host(server, host_gid).await? {
            Some(r) => r.guild_id,
            None => 0,
        };
        let _guard_owner = self.replica_lock(lock_key);
        let _guard = _guard_owner.lock().await;
        let mut tr = Translator::new(self, server);
        let local_gid = match self.db.map_get(server, host_gid).await? {
            Some(l) => tr.bind(&hgid, l).await?,
            None => {
                let fresh = tr.mint(host_gid).await?;
                tr.bind(&hgid, fresh).await?
            }
        };
        tracing::debug!(%snap, "join snapshot (host ids)");
        let snap = tr.translate(snap).await?;
        tracing::debug!(%snap, "join snapshot (local ids)");
        let g = &snap["guild"];
        let row = GuildRow {
            id: local_gid,
            name: g["name"].as_str().unwrap_or("guild").to_string(),
            icon: g["icon"].as_str().map(str::to_string),
            description: g["description"].as_str().map(str::to_string),
            owner_id: s_id(&g["owner_id"])
                .ok_or_else(|| Error::internal("snapshot without owner"))?,
            system_channel_id: s_id(&g["system_channel_id"]),
            verification_level: g["verification_level"].as_i64().unwrap_or(0),
            default_message_notifications: g["default_message_notifications"].as_i64().unwrap_or(0),
            explicit_content_filter: g["explicit_content_filter"].as_i64().unwrap_or(0),
            preferred_locale: g["preferred_locale"]
                .as_str()
                .unwrap_or("en-US")
                .to_string(),
            created_at: Snowflake::from_db(host_gid).timestamp_ms() as i64,
            host_server: Some(server.to_string()),
        };
        let seq = snap["seq"].as_i64().unwrap_or(0);
        self.db
            .insert_replica(&row, server, host_gid, seq, snap["hash"].as_str())
            .await?;
        for r in snap["guild"]["roles"].as_array().into_iter().flatten() {
            if let Some(rr) = role_row(local_gid, r) {
                self.db.upsert_role(&rr).await?;
            }
        }
        for c in snap["channels"].as_array().into_iter().flatten() {
            if let Some((cr, ows)) = channel_row(local_gid, c) {
                self.db.upsert_channel(&cr, &ows).await?;
            }
        }
        for m in snap["members"].as_array().into_iter().flatten() {
            self.apply_member(local_gid, m).await?;
        }
        drop(_guard);
        // A replica that existed (another local member joined before) keeps its position
        // and catches up to the snapshot instead of skipping what it had not applied.
        self.catch_up(local_gid, seq).await?;
        self.control(Control::MemberJoined {
            guild_id: Snowflake::from_db(local_gid),
            user_id: actor.id(),
        });
        Ok(wire::Invite {
            kind: 0,
            code: format!("{code}@{server}"),
            guild: Some(
                json!({"id": Snowflake::from_db(local_gid), "name": row.name, "icon": row.icon, "description": row.description, "features": []}),
            ),
            channel: None,
            inviter: None,
            expires_at: None,
            approximate_member_count: snap["member_count"].as_i64(),
            uses: None,
            max_uses: None,
            max_age: None,
            temporary: None,
            created_at: None,
        })
    }

    async fn apply_member(&self, guild_id: i64, m: &Value) -> Result<Option<i64>> {
        let Some(uid) = s_id(&m["user"]["id"]) else {
            return Ok(None);
        };
        let roles: Vec<i64> = m["roles"]
            .as_array()
            .map(|a| a.iter().filter_map(s_id).collect())
            .unwrap_or_default();
        self.db
            .upsert_member(
                guild_id,
                uid,
                m["nick"].as_str(),
                ts_ms(&m["joined_at"]).unwrap_or_else(now_ms),
                &roles,
            )
            .await?;
        Ok(Some(uid))
    }

    /// Receives events from `origin` (a push or a pull answer): verifies, orders, applies.
    ///
    /// Errors: a forged or tampered event, a broken chain, an equivocation (the proof is
    /// stored). Events of guilds we do not replicate are ignored. The events before a
    /// rejected one stay applied; the ones after it are not looked at.
    pub async fn receive_events(&self, origin: &str, events: &[Value]) -> Result<()> {
        // A run of events of one replica is applied under one lock and with one translator,
        // so the replica lookup, the guild's id binding, the authors' profiles and the ids
        // already mapped are read once per delivery instead of once per event. Consecutive
        // message events are applied in one transaction (see `Run`).
        let mut current: Option<(i64, Option<Run<'_>>)> = None;
        for ev in events {
            let host = ev["host"].as_str().unwrap_or_default();
            if host != origin {
                if let Some((_, Some(run))) = current.as_mut() {
                    self.flush_run(run).await?;
                }
                return Err(Error::Relayed {
                    status: 403,
                    code: 50001,
                    message: format!("{origin} cannot deliver events of {host}"),
                });
            }
            let hgid = ev["guild_id"]
                .as_str()
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0) as i64;
            if current.as_ref().map(|c| c.0) != Some(hgid) {
                // Apply what is staged and release the previous replica's lock before taking
                // the next one.
                if let Some((_, Some(run))) = current.as_mut() {
                    self.flush_run(run).await?;
                }
                drop(current.take());
                let state = match self.db.remote_guild_by_host(host, hgid).await? {
                    None => None,
                    Some(rg) => {
                        let g = self.replica_lock(rg.guild_id).lock_owned().await;
                        let mut tr = Translator::new(self, origin);
                        tr.bind(&hgid.to_string(), rg.guild_id).await?;
                        Some(Run {
                            gid: rg.guild_id,
                            _guard: g,
                            tr,
                            rg: Some(rg),
                            staged: vec![],
                        })
                    }
                };
                current = Some((hgid, state));
            }
            if let Some((_, Some(run))) = current.as_mut()
                && let Err(e) = self.stage_or_apply(run, ev).await
            {
                // The events before the rejected one stay applied.
                self.flush_run(run).await?;
                return Err(e);
            }
        }
        if let Some((_, Some(run))) = current.as_mut() {
            self.flush_run(run).await?;
        }
        Ok(())
    }

    /// Stages `ev` in `run` when it is the next message event of the replica (applied later
    /// in one transaction by [`Hearth::flush_run`]); any other event flushes the run and is
    /// applied on its own by [`Hearth::apply_one`].
    async fn stage_or_apply<'t>(&'t self, run: &mut Run<'t>, ev: &Value) -> Result<()> {
        if run.rg.is_none() {
            run.rg = self.db.remote_guild(run.gid).await?;
        }
        let Some(rg) = run.rg.clone() else {
            // The replica is gone (our last member left): nothing to apply.
            return Ok(());
        };
        let v = self.verify(ev).await?;
        let seq = v.envelope.seq as i64;
        let next = rg.applied_seq + run.staged.len() as i64 + 1;
        let prev_hash = run
            .staged
            .last()
            .map(|s| Some(s.row.hash.clone()))
            .unwrap_or_else(|| rg.last_hash.clone());
        let chained = seq == 1 || prev_hash.is_none() || v.envelope.prev_hash == prev_hash;
        let result = v.envelope.content.as_ref().map(|content| {
            if v.envelope.result_hash.is_some() {
                content.get("result").cloned().unwrap_or(Value::Null)
            } else {
                content.clone()
            }
        });
        let message = result.as_ref().and_then(|r| {
            let t = r["t"].as_str()?;
            matches!(t, "MESSAGE_CREATE" | "MESSAGE_UPDATE").then(|| (t, r.get("d")))
        });
        if seq == next
            && chained
            && let Some((t, Some(d))) = message
        {
            let staged_translation = run.tr.translate(d.clone()).await;
            if let Ok(d) = staged_translation {
                let event: &'static str = if t == "MESSAGE_CREATE" {
                    "MESSAGE_CREATE"
                } else {
                    "MESSAGE_UPDATE"
                };
                let object = s_id(&d["id"]);
                let row =
                    message_row(rg.guild_id, &d, None).filter(|_| s_id(&d["channel_id"]).is_some());
                run.staged.push(Staged {
                    row: ReplicaApply {
                        seq,
                        hash: v.hash.clone(),
                        event: ev.to_string(),
                        object_id: object,
                        message: row,
                    },
                    source: ev.clone(),
                    event,
                    data: d,
                });
                return Ok(());
            }
            // Translation failed: the event goes the long way, which logs and skips it.
        }
        self.flush_run(run).await?;
        let r = self.apply_one(run.gid, ev, true, &mut run.tr).await;
        // `apply_one` may have moved or dropped the replica: read it again when needed.
        run.rg = None;
        r
    }

    /// Applies the staged events of `run` in one transaction, then publishes them. If the
    /// transaction fails, or the replica moved meanwhile, they are applied one by one.
    async fn flush_run<'t>(&'t self, run: &mut Run<'t>) -> Result<()> {
        if run.staged.is_empty() {
            return Ok(());
        }
        let staged = std::mem::take(&mut run.staged);
        let from = run.rg.as_ref().map_or(-1, |r| r.applied_seq);
        let rows: Vec<ReplicaApply> = staged.iter().map(|s| s.row.clone()).collect();
        match self.db.apply_replica_run(run.gid, from, &rows).await {
            Ok(true) => {
                if let (Some(rg), Some(last)) = (run.rg.as_mut(), rows.last()) {
                    rg.applied_seq = last.seq;
                    rg.last_hash = Some(last.hash.clone());
                }
                let gsf = Snowflake::from_db(run.gid);
                for s in staged {
                    let channel = s_id(&s.data["channel_id"]);
                    self.publish(Dispatch {
                        event: s.event,
                        data: s.data,
                        audience: Audience::Guild {
                            guild_id: gsf,
                            channel: channel.map(Snowflake::from_db),
                        },
                        intent: intent_of(s.event),
                        has_content: true,
                        lossy: false,
                        cause: None,
                    });
                }
                Ok(())
            }
            other => {
                if let Err(e) = other {
                    tracing::warn!(error = %e, "applying a run of federated events failed; applying them one by one");
                }
                // Mappings made for the failed run may be uncommitted: start afresh.
                run.rg = None;
                let Some(rg) = self.db.remote_guild(run.gid).await? else {
                    return Ok(());
                };
                let mut tr = Translator::new(self, run.tr.server);
                tr.bind(&rg.host_guild_id.to_string(), rg.guild_id).await?;
                run.tr = tr;
                for s in staged {
                    self.apply_one(run.gid, &s.source, true, &mut run.tr)
                        .await?;
                }
                Ok(())
            }
        }
    }

    async fn verify(&self, ev: &Value) -> Result<hearth_federation::event::VerifiedEvent> {
        let host = ev["host"].as_str().unwrap_or_default();
        let origin = ev["action"]["origin"].as_str().unwrap_or_default();
        self.fed
            .client
            .server_keys(host)
            .await
            .map_err(|e| Error::Relayed {
                status: 401,
                code: 0,
                message: format!("keys of {host}: {e}"),
            })?;
        if origin != host && !origin.is_empty() {
            self.fed
                .client
                .server_keys(origin)
                .await
                .map_err(|e| Error::Relayed {
                    status: 401,
                    code: 0,
                    message: format!("keys of {origin}: {e}"),
                })?;
        }
        let res = { verify_event(ev, &self.fed.client.keys()) };
        match res {
            Ok(v) => Ok(v),
            Err(e) => {
                // A key may have rotated since we cached the document: refetch once.
                let _ = self.fed.client.refresh_server_keys(host).await;
                if origin != host && !origin.is_empty() {
                    let _ = self.fed.client.refresh_server_keys(origin).await;
                }
                let again = { verify_event(ev, &self.fed.client.keys()) };
                again.map_err(|_| Error::Relayed {
                    status: 403,
                    code: 0,
                    message: format!("event rejected: {e}"),
                })
            }
        }
    }

    /// Applies one event to a replica (the caller holds the replica lock).
    /// `tr` is a translator for this replica (it may carry mappings of earlier events).
    /// A replica that is gone (our last member left) ignores the event.
    async fn apply_one(
        &self,
        local_gid: i64,
        ev: &Value,
        allow_fill: bool,
        tr: &mut Translator<'_>,
    ) -> Result<()> {
        let Some(rg) = self.db.remote_guild(local_gid).await? else {
            return Ok(());
        };
        let v = self.verify(ev).await?;
        let seq = v.envelope.seq as i64;
        if seq <= rg.applied_seq {
            if let Some((prev_hash, prev)) = self.db.replica_event(local_gid, seq).await?
                && prev_hash != v.hash
            {
                let first: Value = serde_json::from_str(&prev).map_err(Error::internal)?;
                let detected = { EquivocationProof::detect(&first, ev, &self.fed.client.keys()) };
                if let Ok(Some(proof)) = detected {
                    let pj = serde_json::to_string(&proof).map_err(Error::internal)?;
                    self.db
                        .insert_equivocation(
                            self.next_id(),
                            &rg.host,
                            rg.host_guild_id,
                            seq,
                            &pj,
                            now_ms(),
                        )
                        .await?;
                    tracing::error!(host = %rg.host, guild = rg.host_guild_id, seq, "equivocation: the host signed two different events at one position");
                    return Err(Error::Relayed {
                        status: 409,
                        code: 0,
                        message: format!("equivocation at seq {seq}"),
                    });
                }
            }
            return Ok(());
        }
        if seq > rg.applied_seq + 1 {
            if !allow_fill {
                return Err(Error::Relayed {
                    status: 409,
                    code: 0,
                    message: "gap".into(),
                });
            }
            self.fill_gap(&rg, seq - 1).await?;
            return Box::pin(self.apply_one(local_gid, ev, false, tr)).await;
        }
        if seq > 1 && rg.last_hash.is_some() && v.envelope.prev_hash != rg.last_hash {
            return Err(Error::Relayed {
                status: 409,
                code: 0,
                message: format!("seq {seq} does not chain to our seq {}", rg.applied_seq),
            });
        }
        let mut object = None;
        if let Some(content) = &v.envelope.content {
            let result = if v.envelope.result_hash.is_some() {
                content.get("result").cloned().unwrap_or(Value::Null)
            } else {
                content.clone()
            };
            if let (Some(t), Some(d)) = (result["t"].as_str(), result.get("d")) {
                match self.apply_payload(&rg, t, d.clone(), tr).await {
                    Ok(o) => object = o,
                    // A verified event we cannot apply must not block the guild forever: the
                    // position advances and the failure is left to the operator.
                    Err(e) => {
                        tracing::error!(error = %e, event = t, seq, host = %rg.host, "applying a federated event failed; skipped")
                    }
                }
            }
        }
        if self.db.remote_guild(local_gid).await?.is_none() {
            // The replica was dropped (our last member left).
            return Ok(());
        }
        // Keep the whole event for equivocation proofs.
        self.db
            .record_replica_event(local_gid, seq, &v.hash, &ev.to_string(), object)
            .await?;
        self.db.set_applied(local_gid, seq, &v.hash).await?;
        Ok(())
    }

    /// Pulls and applies the host's events after our position, up to `upto`.
    async fn fill_gap(&self, rg: &RemoteGuildRow, upto: i64) -> Result<()> {
        let mut from = rg.applied_seq;
        while from < upto {
            let path = format!(
                "/_hearth/federation/v1/guilds/{}/events?from={from}&limit=200",
                rg.host_guild_id
            );
            let r = self
                .fed
                .request(&rg.host, Method::GET, &path, None)
                .await
                .map_err(relay_error)?;
            let events = r["events"].as_array().cloned().unwrap_or_default();
            if events.is_empty() {
                break;
            }
            let mut tr = Translator::for_replica(self, rg).await?;
            for e in &events {
                if e["seq"].as_i64().unwrap_or(0) > upto {
                    break;
                }
                Box::pin(self.apply_one(rg.guild_id, e, false, &mut tr)).await?;
            }
            let applied = self
                .db
                .remote_guild(rg.guild_id)
                .await?
                .map_or(upto, |r| r.applied_seq);
            if applied <= from {
                break;
            }
            from = applied;
        }
        Ok(())
    }

    /// Refetches the channels the host lets this server see (after role or member changes),
    /// adding newly visible ones to the replica.
    async fn resync_channels(&self, rg: &RemoteGuildRow) -> Result<()> {
        let path = format!(
            "/_hearth/federation/v1/guilds/{}/channels",
            rg.host_guild_id
        );
        let r = self
            .fed
            .request(&rg.host, Method::GET, &path, None)
            .await
            .map_err(relay_error)?;
        let mut tr = Translator::for_replica(self, rg).await?;
        let chans = tr.translate(r["channels"].clone()).await?;
        for c in chans.as_array().into_iter().flatten() {
            if let Some((cr, ows)) = channel_row(rg.guild_id, c) {
                self.db.upsert_channel(&cr, &ows).await?;
            }
        }
        Ok(())
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
        let members = tr.translate(r["members"].clone()).await?;
        let mut ids = vec![];
        for m in members.as_array().into_iter().flatten() {
            if let Some(uid) = self.apply_member(rg.guild_id, m).await? {
                ids.push(uid);
            }
        }
        Ok(ids)
    }

    /// Pulls what every replica missed (at start-up: a member server that was down catches up
    /// by pulling, which also tells each host it is back).
    pub async fn pull_all_replicas(self: Arc<Self>) {
        let Ok(all) = self.db.remote_guilds().await else {
            return;
        };
        for rg in all {
            if let Err(e) = self.catch_up(rg.guild_id, i64::MAX).await {
                tracing::warn!(host = %rg.host, guild = rg.host_guild_id, error = %e, "catch-up pull failed; the host will push");
            }
        }
    }

    /// Brings a replica up to the host's `head` (after a relayed action).
    pub async fn catch_up(&self, local_gid: i64, head: i64) -> Result<()> {
        let lock = self.replica_lock(local_gid);
        let _g = lock.lock().await;
        let Some(rg) = self.db.remote_guild(local_gid).await? else {
            return Ok(());
        };
        if rg.applied_seq < head {
            self.fill_gap(&rg, head).await?;
        }
        Ok(())
    }

    /// Applies a translated dispatch to the replica and republishes it locally.
    async fn apply_payload(
        &self,
        rg: &RemoteGuildRow,
        t: &str,
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
            "MESSAGE_CREATE" | "MESSAGE_UPDATE" => {
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
            "MESSAGE_DELETE" => {
                if let (Some(c), Some(m)) = (s_id(&d["channel_id"]), s_id(&d["id"])) {
                    self.db.delete_message(c, m).await?;
                    self.scrub_replica(gid, m).await?;
                    channel = Some(c);
                }
            }
            "MESSAGE_DELETE_BULK" => {
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
            "MESSAGE_REACTION_ADD"
            | "MESSAGE_REACTION_REMOVE"
            | "MESSAGE_REACTION_REMOVE_ALL"
            | "MESSAGE_REACTION_REMOVE_EMOJI" => {
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
                        ("MESSAGE_REACTION_ADD", Some(u), Some(e)) => {
                            self.db.add_reaction(m, e, u, now_ms()).await?;
                        }
                        ("MESSAGE_REACTION_REMOVE", Some(u), Some(e)) => {
                            self.db.remove_reaction(m, e, u).await?;
                        }
                        ("MESSAGE_REACTION_REMOVE_ALL", _, _) => {
                            self.db.clear_reactions(m, None).await?;
                        }
                        ("MESSAGE_REACTION_REMOVE_EMOJI", _, Some(e)) => {
                            self.db.clear_reactions(m, Some(e)).await?;
                        }
                        _ => {}
                    }
                }
                channel = c;
            }
            "CHANNEL_PINS_UPDATE" => {
                if let Some(c) = s_id(&d["channel_id"]) {
                    self.db
                        .set_last_pin(c, ts_ms(&d["last_pin_timestamp"]))
                        .await?;
                    channel = Some(c);
                }
            }
            "CHANNEL_CREATE" | "CHANNEL_UPDATE" => {
                if let Some((c, ows)) = channel_row(gid, &d) {
                    channel = Some(c.id);
                    self.db.upsert_channel(&c, &ows).await?;
                    controls.push(Control::PermissionsChanged { guild_id: gsf });
                }
            }
            "CHANNEL_DELETE" => {
                if let Some(c) = s_id(&d["id"]) {
                    channel = Some(c);
                    self.db.delete_channel(c).await?;
                }
            }
            "GUILD_ROLE_CREATE" | "GUILD_ROLE_UPDATE" => {
                if let Some(r) = role_row(gid, &d["role"]) {
                    self.db.upsert_role(&r).await?;
                    controls.push(Control::PermissionsChanged { guild_id: gsf });
                }
            }
            "GUILD_ROLE_DELETE" => {
                if let Some(r) = s_id(&d["role_id"]) {
                    self.db.delete_role(r).await?;
                    controls.push(Control::PermissionsChanged { guild_id: gsf });
                }
            }
            "GUILD_UPDATE" => {
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
            "GUILD_MEMBER_ADD" | "GUILD_MEMBER_UPDATE" => {
                if let Some(uid) = self.apply_member(gid, &d).await? {
                    if t == "GUILD_MEMBER_ADD" && is_local_user(uid).await {
                        controls.push(Control::MemberJoined {
                            guild_id: gsf,
                            user_id: Snowflake::from_db(uid),
                        });
                    }
                    controls.push(Control::PermissionsChanged { guild_id: gsf });
                }
            }
            "GUILD_MEMBER_REMOVE" | "GUILD_BAN_ADD" => {
                if let Some(uid) = s_id(&d["user"]["id"]) {
                    let was = self.db.delete_member(gid, uid).await?;
                    if t == "GUILD_BAN_ADD" {
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
            "GUILD_BAN_REMOVE" => {
                if let Some(uid) = s_id(&d["user"]["id"]) {
                    self.db.delete_ban(gid, uid).await?;
                }
            }
            "GUILD_DELETE_FEDERATED" => {
                self.control(Control::GuildDeleted { guild_id: gsf });
                self.db.drop_replica(gid).await?;
                return Ok(None);
            }
            _ => return Ok(None),
        }
        let object = match t {
            "MESSAGE_CREATE" | "MESSAGE_UPDATE" => s_id(&d["id"]),
            _ => None,
        };
        // Publish locally like a dispatch of our own (GUILD_BAN_ADD also implies a removal).
        let event: &'static str = match t {
            "MESSAGE_CREATE" => "MESSAGE_CREATE",
            "MESSAGE_UPDATE" => "MESSAGE_UPDATE",
            "MESSAGE_DELETE" => "MESSAGE_DELETE",
            "MESSAGE_DELETE_BULK" => "MESSAGE_DELETE_BULK",
            "MESSAGE_REACTION_ADD" => "MESSAGE_REACTION_ADD",
            "MESSAGE_REACTION_REMOVE" => "MESSAGE_REACTION_REMOVE",
            "MESSAGE_REACTION_REMOVE_ALL" => "MESSAGE_REACTION_REMOVE_ALL",
            "MESSAGE_REACTION_REMOVE_EMOJI" => "MESSAGE_REACTION_REMOVE_EMOJI",
            "CHANNEL_PINS_UPDATE" => "CHANNEL_PINS_UPDATE",
            "CHANNEL_CREATE" => "CHANNEL_CREATE",
            "CHANNEL_UPDATE" => "CHANNEL_UPDATE",
            "CHANNEL_DELETE" => "CHANNEL_DELETE",
            "GUILD_ROLE_CREATE" => "GUILD_ROLE_CREATE",
            "GUILD_ROLE_UPDATE" => "GUILD_ROLE_UPDATE",
            "GUILD_ROLE_DELETE" => "GUILD_ROLE_DELETE",
            "GUILD_UPDATE" => "GUILD_UPDATE",
            "GUILD_MEMBER_ADD" => "GUILD_MEMBER_ADD",
            "GUILD_MEMBER_UPDATE" => "GUILD_MEMBER_UPDATE",
            "GUILD_MEMBER_REMOVE" => "GUILD_MEMBER_REMOVE",
            "GUILD_BAN_ADD" => "GUILD_BAN_ADD",
            "GUILD_BAN_REMOVE" => "GUILD_BAN_REMOVE",
            _ => return Ok(object),
        };
        // A role or member change may show our users channels we never received.
        if matches!(
            t,
            "GUILD_ROLE_CREATE" | "GUILD_ROLE_UPDATE" | "GUILD_MEMBER_UPDATE"
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
        if event == "GUILD_UPDATE" {
            data["id"] = json!(gsf);
        }
        self.publish(Dispatch {
            event,
            data,
            audience: Audience::Guild {
                guild_id: gsf,
                channel: channel
                    .filter(|_| event.starts_with("MESSAGE") || event.starts_with("CHANNEL"))
                    .map(Snowflake::from_db),
            },
            intent: intent_of(event),
            has_content: matches!(event, "MESSAGE_CREATE" | "MESSAGE_UPDATE"),
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
    async fn scrub_replica(&self, guild_id: i64, message_id: i64) -> Result<()> {
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

    /// Applies a lossy notice (typing) from a guild's host.
    pub async fn receive_edu(&self, origin: &str, edu: &Value) -> Result<()> {
        let hgid = edu["host_guild_id"]
            .as_str()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(0) as i64;
        let Some(rg) = self.db.remote_guild_by_host(origin, hgid).await? else {
            return Ok(());
        };
        let (event, intent) = match edu["t"].as_str() {
            Some("TYPING_START") => ("TYPING_START", intents::GUILD_MESSAGE_TYPING),
            Some("PRESENCE_UPDATE") => ("PRESENCE_UPDATE", intents::GUILD_PRESENCES),
            _ => return Ok(()),
        };
        let mut tr = Translator::new(self, origin);
        tr.bind(&hgid.to_string(), rg.guild_id).await?;
        let d = tr.translate(edu["d"].clone()).await?;
        let channel = s_id(&d["channel_id"]);
        if event == "TYPING_START" && channel.is_none() {
            return Ok(());
        }
        self.publish(Dispatch {
            event,
            data: d,
            audience: Audience::Guild {
                guild_id: Snowflake::from_db(rg.guild_id),
                channel: channel.map(Snowflake::from_db),
            },
            intent,
            has_content: false,
            lossy: true,
            // Republished here; never forwarded again.
            cause: Some(Arc::new(crate::events::Cause {
                federated: true,
                ..Default::default()
            })),
        });
        Ok(())
    }

    /// Relays a local user's action on a replica to its host, waits until the resulting
    /// events are applied here, and returns the host's result translated to local ids.
    ///
    /// `op` is one of the action types of spec §7.2; `channel` and `message` are local ids.
    #[expect(
        clippy::too_many_arguments,
        reason = "an action's fields, all in local ids"
    )]
    pub async fn relay(
        &self,
        actor: &Actor,
        rg: &RemoteGuildRow,
        op: &str,
        channel: Option<i64>,
        message: Option<i64>,
        emoji: Option<&str>,
        body: Value,
    ) -> Result<Value> {
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
        // Mentions in the text name users and roles in the host's id space there.
        if let Some(text) = body
            .get("content")
            .and_then(|c| c.as_str())
            .map(str::to_string)
        {
            let mut m = HashMap::new();
            for id in text_ids(&text) {
                if let Ok(v) = id.parse::<u64>()
                    && let Some(h) = self.db.map_reverse(&rg.host, v as i64).await?
                {
                    m.insert(id, h.to_string());
                }
            }
            body["content"] = json!(rewrite_text(&text, &m));
        }
        let request = json!({
            "op": op,
            "channel_id": host_channel.map(|c| c.to_string()),
            "message_id": host_message.map(|m| m.to_string()),
            "emoji": emoji,
            "body": body,
        });
        let action = OriginAction {
            host: rg.host.clone(),
            guild_id: rg.host_guild_id.to_string(),
            channel_id: host_channel.map(|c| c.to_string()),
            kind: op.to_string(),
            sender: format!(
                "{}@{}",
                actor.user.username.to_lowercase(),
                self.config.server_name
            ),
            origin: self.config.server_name.clone(),
            txn_id: format!("t{}", self.next_id()),
            origin_ts: now_ms() as u64,
            content_hash: content_hash(&request).map_err(Error::internal)?,
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
        if let Some(head) = resp["head"].as_i64() {
            self.catch_up(rg.guild_id, head).await?;
        }
        let mut tr = Translator::for_replica(self, rg).await?;
        tr.translate(resp["result"].clone()).await
    }

    /// Fetches a page of a replica channel's history from the host into the replica (lazy
    /// backfill); `query` is the client's `before`/`after`/`around`/`limit` in local ids.
    pub async fn backfill(
        &self,
        rg: &RemoteGuildRow,
        channel: i64,
        before: Option<i64>,
        after: Option<i64>,
        around: Option<i64>,
        limit: i64,
    ) -> Result<()> {
        let Some(hc) = self.db.map_reverse(&rg.host, channel).await? else {
            return Ok(());
        };
        let mut q = format!("limit={limit}");
        for (k, v) in [("before", before), ("after", after), ("around", around)] {
            if let Some(v) = v {
                match self.db.map_reverse(&rg.host, v).await? {
                    Some(h) => q.push_str(&format!("&{k}={h}")),
                    None => q.push_str(&format!("&{k}={}", v)),
                }
            }
        }
        let path = format!(
            "/_hearth/federation/v1/guilds/{}/channels/{hc}/messages?{q}",
            rg.host_guild_id
        );
        let resp = match self.fed.request(&rg.host, Method::GET, &path, None).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "history backfill failed; serving the replica");
                return Ok(());
            }
        };
        let mut tr = Translator::for_replica(self, rg).await?;
        let msgs = tr.translate(resp["messages"].clone()).await?;
        for m in msgs.as_array().into_iter().flatten() {
            let prev = match (s_id(&m["channel_id"]), s_id(&m["id"])) {
                (Some(c), Some(id)) => self.db.message(c, id).await?.and_then(|x| x.pinned_at),
                _ => None,
            };
            if let Some(row) = message_row(rg.guild_id, m, prev) {
                self.db.upsert_message(&row).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_in_text_are_found_and_rewritten() {
        let s = "hi <@12> <@!13> <@&14> <#15> <@x> <@>";
        assert_eq!(text_ids(s), vec!["12", "13", "14", "15"]);
        let map: HashMap<String, String> = [("12", "99"), ("14", "77")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(
            rewrite_text(s, &map),
            "hi <@99> <@!13> <@&77> <#15> <@x> <@>"
        );
    }
}
