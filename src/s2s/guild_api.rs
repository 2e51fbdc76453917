//! Server-to-server endpoints of guild federation (spec/federation.md §7). Every handler
//! takes a [`SignedRequest`], so the caller is an authenticated server (`origin`).
//!
//! Host side: `POST /_hearth/federation/v1/join`, `POST .../guilds/{id}/actions`,
//! `GET .../guilds/{id}/events?from=`, `GET .../guilds/{id}/channels/{id}/messages`.
//! Member side: `PUT /_hearth/federation/v1/send/{txn_id}`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use hearth_federation::event::{ActionTarget, accept_action};
use hearth_federation::history::{HistoryPosition, HistoryScope, sign_history};
use hearth_wire::federation::{
    ActionAnswer, ChannelsPage, JoinSnapshot, MembersPage, MessagesPage,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::actions::{Executed, execute};
use super::{Fed, FedRejection, FedState, SignedRequest, now_ms};
use crate::error::{Error, FedRefusal};
use crate::events::{CAUSE, Cause};
use crate::service::snapshot::GuildSnapshot;
use crate::service::{Actor, Hearth};
use crate::snowflake::Snowflake;
use crate::storage::UserRow;
use crate::wire;

/// The guild routes of the federation listener.
pub fn routes() -> Router<FedState> {
    Router::new()
        .route("/_hearth/federation/v1/join", post(join))
        .route(
            "/_hearth/federation/v1/guilds/{guild_id}/actions",
            post(action),
        )
        .route(
            "/_hearth/federation/v1/guilds/{guild_id}/events",
            get(events),
        )
        .route(
            "/_hearth/federation/v1/guilds/{guild_id}/channels",
            get(channels),
        )
        .route(
            "/_hearth/federation/v1/guilds/{guild_id}/members",
            get(members),
        )
        .route(
            "/_hearth/federation/v1/guilds/{guild_id}/channels/{channel_id}/messages",
            get(history),
        )
        .route("/_hearth/federation/v1/send/{txn_id}", put(send))
}

/// A Discord error decided here, carried to the member server (which shows it to its
/// client unchanged): `{errcode: "DISCORD_<code>", error, status}`.
fn discord(e: Error) -> Response {
    FedRejection(e).into_response()
}

fn bad(msg: impl Into<String>) -> Response {
    FedRejection::malformed(msg).into_response()
}

/// The caller must be a member server of the guild (403 `H_NOT_A_MEMBER` otherwise).
async fn require_peer(
    h: &Hearth,
    guild_id: i64,
    origin: &str,
) -> Result<crate::storage::PeerRow, Response> {
    match h.db.peer(guild_id, origin).await {
        Ok(Some(p)) => Ok(p),
        _ => Err(FedRejection::refuse(FedRefusal::NotAMember).into_response()),
    }
}

fn id_of(s: &str) -> Option<i64> {
    s.parse::<u64>().ok().map(|v| v as i64)
}

impl Fed<'_> {
    /// The local row of a remote user (created on first sight) for `handle`, which must
    /// belong to `origin`.
    pub(crate) async fn remote_user_row(
        &self,
        origin: &str,
        user: &Value,
    ) -> Result<UserRow, Response> {
        let handle = user["handle"]
            .as_str()
            .ok_or_else(|| bad("user.handle is required"))?;
        let (name, server) =
            hearth_federation::names::parse_handle(handle).map_err(|e| bad(e.to_string()))?;
        if !server.eq_ignore_ascii_case(origin) {
            return Err(FedRejection::refuse(FedRefusal::OriginMismatch(format!(
                "{origin} cannot speak for {handle}"
            )))
            .into_response());
        }
        if let Some(u) = self.db.remote_user(server, name).await.map_err(discord)? {
            if let Ok(released) = self
                .db
                .update_remote_profile(
                    u.id,
                    user["global_name"].as_str(),
                    user["avatar"].as_str(),
                    u.avatar.as_deref(),
                )
                .await
            {
                self.files_released(released);
            }
            return Ok(u);
        }
        self.insert_remote_user(name, server, user)
            .await
            .map_err(discord)
    }

    /// Whether some member of `guild` from `server` may view `channel`.
    pub(crate) async fn server_sees(
        &self,
        guild: i64,
        server: &str,
        channel: i64,
    ) -> crate::error::Result<bool> {
        let Some(cache) = GuildSnapshot::load(self, guild).await? else {
            return Ok(false);
        };
        let members = self.db.member_ids_from(guild, server).await?;
        Ok(members.iter().any(|u| cache.can_view(*u, channel, None)))
    }
}

impl Fed<'_> {
    /// The channels of `guild` some member from `server` may see, with their overwrites,
    /// then the active threads they may see (spec/federation.md §6.7: the join snapshot's and
    /// the channel list's channels).
    async fn visible_channels(
        &self,
        guild: i64,
        server: &str,
    ) -> crate::error::Result<Vec<wire::Channel>> {
        let Some(cache) = GuildSnapshot::load(self, guild).await? else {
            return Ok(vec![]);
        };
        let members = self.db.member_ids_from(guild, server).await?;
        let sees = |c: i64| members.iter().any(|u| cache.can_view(*u, c, None));
        let ows = self.db.guild_overwrites(guild).await?;
        let mut out: Vec<wire::Channel> = self
            .db
            .channels(guild)
            .await?
            .iter()
            .filter(|c| sees(c.id))
            .map(|c| Hearth::channel_wire(c, &ows, None))
            .collect();
        let mut threads: Vec<_> = cache
            .threads
            .values()
            .filter_map(|t| Some((t.channel.as_ref()?, &t.thread)))
            .filter(|(c, _)| sees(c.id))
            .collect();
        threads.sort_by_key(|(c, _)| c.id);
        out.extend(
            threads
                .into_iter()
                .map(|(c, t)| Hearth::thread_wire(c, t, None, None)),
        );
        Ok(out)
    }
}

#[derive(Deserialize)]
struct JoinBody {
    invite_code: String,
    user: Value,
}

/// `POST /_hearth/federation/v1/join` `{invite_code, user}`: a user of `origin` joins a guild
/// hosted here. Answers a lean snapshot at the join's `seq`: guild with roles and emoji, the channels
/// the origin's members can see (with overwrites), the owner's and the joiner's member
/// objects, `member_count`, `seq`, `hash`.
async fn join(State(s): State<FedState>, req: SignedRequest) -> Response {
    let h = &s.ctx();
    s.log.contact(&req.origin);
    let body = match req.json::<JoinBody>() {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    // The invite first: a server cannot create user rows here without one.
    let inv = match h.valid_invite(&body.invite_code).await {
        Ok(Some(i)) => i,
        Ok(None) => return discord(Error::Unknown(crate::error::Unknown::Invite)),
        Err(e) => return discord(e),
    };
    let user = match h.remote_user_row(&req.origin, &body.user).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    let actor = Actor {
        user: user.clone(),
        session_id: None,
    };
    // Log the guild from now on (if it was not federated yet), so that nothing published
    // between the join and the snapshot escapes the new member server.
    if let Err(e) = s.log.federate(inv.guild_id).await {
        return discord(e);
    }
    if let Err(e) = h.accept_invite(&actor, &body.invite_code).await {
        return discord(e);
    }
    snapshot(&s, inv.guild_id, &req.origin, user.id).await
}

async fn snapshot(s: &FedState, guild_id: i64, origin: &str, joiner: i64) -> Response {
    let h = &s.ctx();
    s.log.barrier().await;
    let (seq, hash) = match s.log.head(guild_id).await {
        Ok(x) => x,
        Err(e) => return discord(e),
    };
    if let Err(e) = h.db.add_peer(guild_id, origin, seq).await {
        return discord(e);
    }
    s.log.kick(origin);
    let build = async {
        let g =
            h.db.guild(guild_id)
                .await?
                .ok_or(Error::Unknown(crate::error::Unknown::Guild))?;
        let roles = h.db.roles(guild_id).await?;
        let mut guild = h.guild_wire(&g, &roles, None);
        guild.emojis = h.guild_emojis_wire(guild_id).await?;
        let channels = h.visible_channels(guild_id, origin).await?;
        let mut members = vec![h.member_wire_by_id(guild_id, joiner, false).await?];
        if g.owner_id != joiner {
            members.push(h.member_wire_by_id(guild_id, g.owner_id, false).await?);
        }
        let listed: std::collections::HashSet<Snowflake> = channels.iter().map(|c| c.id).collect();
        let scheduled_events =
            h.db.scheduled_events(guild_id)
                .await?
                .iter()
                .filter(|e| {
                    e.channel_id
                        .is_none_or(|c| listed.contains(&Snowflake::from_db(c)))
                })
                .map(crate::service::scheduled_events::event_wire)
                .collect();
        Ok::<_, Error>(JoinSnapshot {
            guild,
            channels,
            members,
            scheduled_events,
            member_count: h.db.member_count(guild_id).await?,
            seq,
            hash: hash.clone(),
        })
    };
    match build.await {
        Ok(v) => signed_history(s, &v, guild_id, None, HistoryPosition { seq, hash }),
        Err(e) => discord(e),
    }
}

/// `answer` signed as a history answer of this host about `guild_id` (and `channel_id` for a
/// history page) read at or after `position` of its log (spec/federation.md §8.2, §8.5;
/// purpose `hearth.history.v1`).
fn signed_history(
    s: &FedState,
    answer: &impl serde::Serialize,
    guild_id: i64,
    channel_id: Option<i64>,
    position: HistoryPosition,
) -> Response {
    let gid = guild_id.to_string();
    let cid = channel_id.map(|c| c.to_string());
    let scope = HistoryScope {
        host: &s.hearth.config.server_name,
        guild_id: &gid,
        channel_id: cid.as_deref(),
    };
    let signed = serde_json::to_value(answer)
        .map_err(Error::internal)
        .and_then(|mut v| {
            sign_history(&mut v, scope, &position, now_ms(), &s.fed.keyring.current())
                .map_err(Error::internal)?;
            Ok(v)
        });
    match signed {
        Ok(v) => Json(v).into_response(),
        Err(e) => discord(e),
    }
}

#[derive(Deserialize)]
struct ActionBody {
    action: Value,
    content: Value,
}

/// How long the host keeps the answer to a relayed action (spec/federation.md §6.6, §15):
/// 24 hours after it ran. Far beyond the 5-minute skew window an action must arrive in, so a
/// copy arriving after its record was pruned is refused (`H_CLOCK_SKEW`), never run again.
pub const TXN_RETENTION_MS: i64 = 24 * 3600 * 1000;
/// Records are pruned at most this often (by the action handler).
const TXN_PRUNE_EVERY_MS: i64 = 10 * 60 * 1000;

/// `POST /_hearth/federation/v1/guilds/{guild_id}/actions` `{action, content}`: a user of
/// `origin` acts in a guild hosted here (spec/federation.md §6.6, §8.6). The action must be
/// signed by `origin` for this host, guild and channel, with `content`'s hash, and, to run,
/// be within the clock-skew window. It runs at most once per `(origin, txn_id)`: a copy (a
/// retry, concurrent or up to [`TXN_RETENTION_MS`] later, whatever its `origin_ts`) gets the
/// first answer. Permissions are those of the sender's member here. Answers 200
/// `{result, head}` (result in this server's ids; head = log position after it).
async fn action(
    State(s): State<FedState>,
    Path(guild_id): Path<String>,
    req: SignedRequest,
) -> Response {
    let h = s.hearth.clone();
    s.log.contact(&req.origin);
    let body = match req.json::<ActionBody>() {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let Some(gid) = id_of(&guild_id) else {
        return bad("guild id");
    };
    if h.db.remote_guild(gid).await.ok().flatten().is_some() {
        return FedRejection::refuse(FedRefusal::NotHost).into_response();
    }
    let channel = body.content["channel_id"].as_str().map(str::to_string);
    let origin = body.action["origin"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if !origin.is_empty() && s.fed.client.server_keys(&origin).await.is_err() {
        return FedRejection::refuse(FedRefusal::UnknownKey(
            "cannot fetch the origin's keys".into(),
        ))
        .into_response();
    }
    let server = h.config.server_name.clone();
    let accept = |now: u64| {
        let target = ActionTarget {
            host: &server,
            guild_id: &guild_id,
            channel_id: channel.as_deref(),
            request_origin: &req.origin,
            now,
        };
        accept_action(&body.action, &body.content, &target, &s.fed.client.keys())
    };
    prune_txns(&s).await;
    // A copy of an action that ran here is answered whatever its `origin_ts`: the skew check
    // bounds when an action may run, not when its answer may be read again (the request
    // itself was signed just now, §7.3). Everything else is checked as for a first copy.
    let (a, late) = match accept(now_ms()) {
        Ok(a) => (a, None),
        Err(skew @ hearth_federation::Error::ClockSkew { .. }) => {
            let txn = body.action["txn_id"].as_str().unwrap_or_default();
            let ran = matches!(h.db.txn_record(&req.origin, txn).await, Ok(Some(_)));
            let origin_ts = body.action["origin_ts"].as_u64();
            match origin_ts.filter(|_| ran).map(&accept) {
                Some(Ok(a)) => (a, Some(skew)),
                Some(Err(e)) => return FedRejection::from(e).into_response(),
                None => return FedRejection::from(skew).into_response(),
            }
        }
        Err(e) => return FedRejection::from(e).into_response(),
    };
    // One copy of a transaction at a time: a concurrent copy waits here, then finds the
    // record of the first.
    let key = (a.origin.clone(), a.txn_id.clone());
    let lock = s
        .fed
        .txn_locks
        .lock()
        .entry(key.clone())
        .or_default()
        .clone();
    let answer = {
        let _one = lock.lock().await;
        once(&s, &body, gid, &a, late).await
    };
    drop(lock);
    {
        let mut locks = s.fed.txn_locks.lock();
        if locks.get(&key).is_some_and(|l| Arc::strong_count(l) == 1) {
            locks.remove(&key);
        }
    }
    answer
}

/// Forgets the records of relayed actions older than [`TXN_RETENTION_MS`], at most every
/// [`TXN_PRUNE_EVERY_MS`].
async fn prune_txns(s: &FedState) {
    use std::sync::atomic::Ordering;
    let now = crate::storage::now_ms();
    let last = s.fed.txns_pruned_at.load(Ordering::Relaxed);
    if now - last < TXN_PRUNE_EVERY_MS
        || s.fed
            .txns_pruned_at
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    if let Err(e) = s.hearth.db.prune_txns(now - TXN_RETENTION_MS).await {
        tracing::warn!(error = %e, "cannot prune federation_txns");
    }
}

/// The answer to an accepted action, with the transaction's lock held: the remembered
/// answer if it ran (rebuilt from its record if the host stopped before storing it), else
/// the result of running it now (unless the copy is `late`: then its skew error).
async fn once(
    s: &FedState,
    body: &ActionBody,
    gid: i64,
    a: &hearth_federation::event::OriginAction,
    late: Option<hearth_federation::Error>,
) -> Response {
    let h = &s.hearth;
    match h.db.txn_record(&a.origin, &a.txn_id).await {
        Ok(Some(r)) if !r.result.is_empty() => {
            return match serde_json::from_str::<Value>(&r.result) {
                Ok(v) => Json(v).into_response(),
                Err(e) => discord(Error::internal(format!("stored answer: {e}"))),
            };
        }
        Ok(Some(r)) => {
            // It ran (its change committed with this record), but its answer was not stored:
            // rebuild it from the change's payload.
            let executed = r.executed.as_deref();
            let result = match body.content["op"].as_str() {
                Some("message_create" | "message_edit" | "poll_end") => Executed {
                    message: executed
                        .and_then(|d| serde_json::from_str::<wire::Message>(d).ok())
                        .map(|mut m| {
                            m.member = None;
                            m
                        }),
                    channel: None,
                },
                // The action's first logged change is THREAD_CREATE or THREAD_UPDATE.
                Some("thread_start" | "thread_update") => Executed {
                    message: None,
                    channel: executed
                        .and_then(|d| serde_json::from_str::<wire::Channel>(d).ok())
                        .map(Box::new),
                },
                _ => Executed::default(),
            };
            return answer(s, gid, a, result).await;
        }
        Ok(None) => {}
        Err(e) => return discord(e),
    }
    if let Some(skew) = late {
        // Its record was pruned meanwhile.
        return FedRejection::from(skew).into_response();
    }
    let Some((name, _)) = a.sender.split_once('@') else {
        return bad("sender");
    };
    let user = match h.db.remote_user(&a.origin, name).await {
        Ok(Some(u)) => u,
        _ => return discord(Error::MissingAccess),
    };
    let actor = Actor {
        user,
        session_id: None,
    };
    let cause = Cause {
        actor: Some(actor.user.id),
        origin: Some((body.action.clone(), body.content.clone())),
        federated: false,
    };
    let result = CAUSE
        .scope(
            std::cell::RefCell::new(cause),
            execute(h.clone(), actor, gid, body.content.clone()),
        )
        .await;
    match result {
        Ok(v) => answer(s, gid, a, v).await,
        // Nothing of it committed (a refused action has no record and may be retried with
        // the same txn once the cause is fixed); a change that did commit keeps its record.
        Err(e) => discord(e),
    }
}

/// Builds, stores and returns the answer `{result, head}` of an action that ran.
async fn answer(
    s: &FedState,
    gid: i64,
    a: &hearth_federation::event::OriginAction,
    result: Executed,
) -> Response {
    s.log.barrier().await;
    let head = s.log.head(gid).await.map(|x| x.0).unwrap_or(0);
    let out = json!(ActionAnswer {
        result: result.message,
        channel: result.channel,
        head
    });
    // The stored copy quotes nothing: a reply's copy of its original would outlive the
    // original's deletion (spec §6.4, §6.6).
    let mut stored = out.clone();
    if let Some(m) = stored["result"].as_object_mut() {
        m.remove("referenced_message");
    }
    if let Err(e) = s
        .hearth
        .db
        .finish_txn(&a.origin, &a.txn_id, &stored.to_string())
        .await
    {
        tracing::warn!(error = %e, origin = a.origin, txn = a.txn_id, "cannot store an action's answer");
    }
    Json(out).into_response()
}

#[derive(Deserialize)]
struct EventsQuery {
    #[serde(default)]
    from: i64,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    max_bytes: Option<usize>,
}

/// `GET /_hearth/federation/v1/guilds/{guild_id}/events?from=&limit=&max_bytes=`: events after
/// `from` (pull catch-up and gap backfill), withheld as stubs where the origin's members cannot
/// see the channel; a page holds at most `limit` events (default 200, 1..500) and at most
/// `max_bytes` bytes of events (default and cap 4 MiB, floor 64 KiB), always at least one
/// (spec §8.3). Only member servers of the guild may pull.
async fn events(
    State(s): State<FedState>,
    Path(guild_id): Path<String>,
    Query(q): Query<EventsQuery>,
    req: SignedRequest,
) -> Response {
    let h = &s.ctx();
    s.log.contact(&req.origin);
    let Some(gid) = id_of(&guild_id) else {
        return bad("guild id");
    };
    // A member server reads the log from the point it joined at, never before.
    let since = match require_peer(h, gid, &req.origin).await {
        Ok(p) => p.since_seq,
        Err(r) => return r,
    };
    match super::delivery::events_for(
        h,
        &s.fed.keyring,
        gid,
        &req.origin,
        q.from.max(since),
        q.limit.unwrap_or(200),
        q.max_bytes.unwrap_or(super::guild_log::MAX_PAGE_BYTES),
    )
    .await
    {
        Ok(ev) => Json(json!({"events": ev})).into_response(),
        Err(e) => discord(e),
    }
}

/// `GET /_hearth/federation/v1/guilds/{guild_id}/channels`: the channels (with overwrites)
/// some member of the origin may see. A member server refetches them when a role or member
/// change may have changed what its users see, so newly visible channels are backfilled.
async fn channels(
    State(s): State<FedState>,
    Path(guild_id): Path<String>,
    req: SignedRequest,
) -> Response {
    let h = &s.ctx();
    s.log.contact(&req.origin);
    let Some(gid) = id_of(&guild_id) else {
        return bad("guild id");
    };
    if let Err(r) = require_peer(h, gid, &req.origin).await {
        return r;
    }
    let build = async {
        let channels = h.visible_channels(gid, &req.origin).await?;
        Ok::<_, Error>(ChannelsPage { channels })
    };
    match build.await {
        Ok(v) => Json(v).into_response(),
        Err(e) => discord(e),
    }
}

#[derive(Deserialize)]
struct MembersQuery {
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
}

/// `GET /_hearth/federation/v1/guilds/{guild_id}/members?after=&limit=`: a page of members
/// (with users) ordered by this server's user ids, for member servers paging the member list
/// in lazily (`limit` 1-1000).
async fn members(
    State(s): State<FedState>,
    Path(guild_id): Path<String>,
    Query(q): Query<MembersQuery>,
    req: SignedRequest,
) -> Response {
    let h = &s.ctx();
    s.log.contact(&req.origin);
    let Some(gid) = id_of(&guild_id) else {
        return bad("guild id");
    };
    if let Err(r) = require_peer(h, gid, &req.origin).await {
        return r;
    }
    let after = q.after.as_deref().and_then(id_of).unwrap_or(0);
    let build = async {
        let rows =
            h.db.members_page(gid, after, q.limit.unwrap_or(100).clamp(1, 1000))
                .await?;
        let members = h.members_wire(gid, &rows, false).await?;
        Ok::<_, Error>(MembersPage { members })
    };
    match build.await {
        Ok(v) => Json(v).into_response(),
        Err(e) => discord(e),
    }
}

#[derive(Deserialize)]
struct HistoryQuery {
    before: Option<String>,
    after: Option<String>,
    around: Option<String>,
    limit: Option<i64>,
}

/// `GET /_hearth/federation/v1/guilds/{guild_id}/channels/{channel_id}/messages`: a page of
/// history for lazy backfill, for a server with a member who may read it.
async fn history(
    State(s): State<FedState>,
    Path((guild_id, channel_id)): Path<(String, String)>,
    Query(q): Query<HistoryQuery>,
    req: SignedRequest,
) -> Response {
    let h = &s.ctx();
    s.log.contact(&req.origin);
    let (Some(gid), Some(cid)) = (id_of(&guild_id), id_of(&channel_id)) else {
        return bad("ids");
    };
    // The position first: the page reflects the log at it or later.
    let (seq, hash) = match s.log.head(gid).await {
        Ok(x) => x,
        Err(e) => return discord(e),
    };
    let members =
        h.db.member_ids_from(gid, &req.origin)
            .await
            .unwrap_or_default();
    // Read as one of the origin's members who can see the channel.
    for uid in members {
        let Ok(Some(user)) = h.db.user(uid).await else {
            continue;
        };
        let actor = Actor {
            user,
            session_id: None,
        };
        let sf = |s: &Option<String>| {
            s.as_deref()
                .and_then(|x| x.parse::<u64>().ok())
                .map(Snowflake)
        };
        if let Ok(msgs) = h
            .get_messages(
                &actor,
                Snowflake::from_db(cid),
                sf(&q.before),
                sf(&q.after),
                sf(&q.around),
                Some(q.limit.unwrap_or(50).clamp(1, 100)),
            )
            .await
            && h.db
                .channel(cid)
                .await
                .ok()
                .flatten()
                .is_some_and(|c| c.guild_id == Some(gid))
        {
            return signed_history(
                &s,
                &MessagesPage { messages: msgs },
                gid,
                Some(cid),
                HistoryPosition { seq, hash },
            );
        }
    }
    discord(Error::MissingAccess)
}

#[derive(Deserialize)]
struct SendBody {
    #[serde(default)]
    events: Vec<Value>,
    #[serde(default)]
    edus: Vec<Value>,
}

/// `PUT /_hearth/federation/v1/send/{txn_id}` `{events, edus}`: a host delivers events of its
/// guilds (idempotent: already applied events are skipped) and lossy notices (typing).
async fn send(State(s): State<FedState>, Path(_txn): Path<String>, req: SignedRequest) -> Response {
    let h = &s.ctx();
    s.log.contact(&req.origin);
    let body = match req.json::<SendBody>() {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    if body.events.len() > 500 {
        return bad("at most 500 events per transaction");
    }
    if let Err(e) = h.receive_events(&req.origin, &body.events).await {
        return match e {
            Error::Relayed {
                status, message, ..
            } => {
                FedRejection::refuse(FedRefusal::EventRejected { status, message }).into_response()
            }
            other => discord(other),
        };
    }
    for edu in &body.edus {
        if edu["t"] == "PRESENCE_UPDATE"
            && let Some(gid) = edu["host_guild_id"].as_str().and_then(id_of)
            && matches!(h.db.guild(gid).await, Ok(Some(g)) if g.host_server.is_none())
        {
            // A member server tells the host about its user's presence; the host shares it.
            presence_from_member(&s, &req.origin, gid, &edu["d"]).await;
            continue;
        }
        let _ = h.receive_edu(&req.origin, edu).await;
    }
    Json(json!({})).into_response()
}

/// Applies a member server's presence notice for one of its users in a guild hosted here.
async fn presence_from_member(s: &FedState, origin: &str, guild_id: i64, d: &Value) {
    let h = &s.ctx();
    let Some(handle) = d["user"]["handle"].as_str() else {
        return;
    };
    let Ok((name, server)) = hearth_federation::names::parse_handle(handle) else {
        return;
    };
    if !server.eq_ignore_ascii_case(origin) {
        return;
    }
    let Ok(Some(user)) = h.db.remote_user(server, name).await else {
        return;
    };
    if !matches!(h.db.member(guild_id, user.id).await, Ok(Some(_))) {
        return;
    }
    h.publish_presence(
        user.id,
        crate::service::presence::Presence::from_client(Some(d)),
        crate::service::presence::PresenceSource::Remote,
    )
    .await;
}
