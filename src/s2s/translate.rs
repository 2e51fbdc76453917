//! Id translation between a peer's id space and this server's (spec/federation.md §9.1):
//! every id in a host's payload is mapped through `id_map` (one map per peer server, since
//! snowflakes of one server are unique across kinds); users are matched by `handle`, so
//! `alice@a.example` is always the same local row whichever host mentions her.

use crate::error::{Error, Result};
use crate::service::Hearth;
use crate::storage::RemoteGuildRow;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Keys whose string values are ids.
pub(super) const ID_KEYS: &[&str] = &[
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
pub(super) const ID_ARRAYS: &[&str] = &["roles", "mention_roles", "ids"];

pub(super) fn is_user_object(o: &serde_json::Map<String, Value>) -> bool {
    o.get("handle").is_some_and(Value::is_string)
        && o.get("username").is_some_and(Value::is_string)
        && o.get("id").is_some_and(Value::is_string)
}

/// Ids mentioned inside message text (`<@1>`, `<@!1>`, `<@&1>`, `<#1>`).
pub(super) fn text_ids(s: &str) -> Vec<String> {
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

pub(super) fn rewrite_text(s: &str, map: &HashMap<String, String>) -> String {
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
    pub(super) server: &'a str,
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
    pub(super) async fn mint(&self, remote: i64) -> Result<i64> {
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
