//! Member side of guild federation (spec/federation.md §§8, 10): guilds hosted elsewhere are
//! kept as replicas in the ordinary tables, in this server's id space, so REST reads,
//! permission checks and the gateway work on them unchanged.
//!
//! Events are verified (host and origin signatures, content and result hashes), checked for
//! order (`seq`, `prev_hash`) and for equivocation, applied ([`super::apply`]), then
//! republished locally. Calls to the host (relay, backfill, join) are in [`super::host`].

use super::Fed;
use super::apply::*;
use super::host::relay_error;
use super::translate::*;
use crate::error::{Error, Result};
use crate::events::{Audience, Dispatch, Event, intents};
use crate::snowflake::Snowflake;
use crate::storage::{RemoteGuildRow, ReplicaApply, ReplicaGuard, now_ms};
use crate::wire;
use hearth_federation::Error as FedProtocolError;
use hearth_federation::event::{
    EquivocationProof, StubReason, VerifiedEvent, stub, verify_envelope, verify_event,
};
use hearth_wire::dispatch::Payload;
use hearth_wire::federation::ChannelsPage;
use reqwest::Method;
use serde_json::Value;
use std::sync::Arc;

impl Fed<'_> {
    /// Takes the lock under which events of replica `guild_id` are applied (`0`: the lock
    /// under which a joined guild's local id is minted), held until the guard is dropped.
    /// Errors: [`Error::Unavailable`] when another node held it for
    /// [`crate::storage::REPLICA_LOCK_WAIT`]; a database error.
    pub(super) async fn lock_replica(&self, guild_id: i64) -> Result<ReplicaGuard> {
        self.fed.replica_locks.lock(guild_id).await
    }

    /// The replica of `guild_id`, if the guild is hosted elsewhere.
    pub async fn remote_of(&self, guild_id: i64) -> Result<Option<RemoteGuildRow>> {
        self.db.remote_guild(guild_id).await
    }

    /// Upserts a member (in local ids) into the replica; returns its user, `None` for a
    /// member object without `user`.
    pub(super) async fn apply_member(
        &self,
        guild_id: i64,
        m: &wire::Member,
    ) -> Result<Option<i64>> {
        let Some(user) = &m.user else {
            return Ok(None);
        };
        let uid = user.id.db();
        let roles: Vec<i64> = m.roles.iter().map(|r| r.db()).collect();
        self.db
            .upsert_member(
                guild_id,
                uid,
                m.nick.as_deref(),
                ts_ms(Some(&m.joined_at)).unwrap_or_else(now_ms),
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
                        let g = self.lock_replica(rg.guild_id).await?;
                        let mut tr = Translator::new(self, origin);
                        tr.bind(hgid, rg.guild_id).await?;
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
    pub(super) async fn stage_or_apply<'t>(&'t self, run: &mut Run<'t>, ev: &Value) -> Result<()> {
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
            let t = r["t"].as_str()?.parse::<Event>().ok()?;
            matches!(t, Event::MessageCreate | Event::MessageUpdate).then(|| (t, r.get("d")))
        });
        if seq == next
            && chained
            && let Some((t, Some(d))) = message
        {
            let staged_translation = run.tr.dispatch(t, d.clone()).await;
            if let Ok(Payload::MessageCreate(mut m) | Payload::MessageUpdate(mut m)) =
                staged_translation
            {
                let mut row = message_row(rg.guild_id, &m, None);
                row.attachments = self.localize_attachments(&rg.host, &mut m).await?;
                run.staged.push(Staged {
                    row: ReplicaApply {
                        seq,
                        hash: v.hash.clone(),
                        event: ev.to_string(),
                        object_id: Some(m.id.db()),
                        message: Some(row),
                    },
                    source: ev.clone(),
                    event: t,
                    channel: m.channel_id.db(),
                    data: serde_json::to_value(&m).map_err(Error::internal)?,
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
    pub(super) async fn flush_run<'t>(&'t self, run: &mut Run<'t>) -> Result<()> {
        if run.staged.is_empty() {
            return Ok(());
        }
        let staged = std::mem::take(&mut run.staged);
        let from = run.rg.as_ref().map_or(-1, |r| r.applied_seq);
        let rows: Vec<ReplicaApply> = staged.iter().map(|s| s.row.clone()).collect();
        match self.db.apply_replica_run(run.gid, from, &rows).await {
            Ok(Some(released)) => {
                self.files_released(released);
                if let (Some(rg), Some(last)) = (run.rg.as_mut(), rows.last()) {
                    rg.applied_seq = last.seq;
                    rg.last_hash = Some(last.hash.clone());
                }
                let gsf = Snowflake::from_db(run.gid);
                for mut s in staged {
                    // The host's log carries no quote (spec §6.5): ours, from our copy (now
                    // committed, so a reply to a message of the same run finds it).
                    // Best effort: the run is committed, so its dispatches must go out even
                    // if the quote cannot be read.
                    let quote = match &s.row.message {
                        Some(row) => self.quoted_original(row).await.unwrap_or_else(|e| {
                            tracing::warn!(error = %e, "a reply's quote could not be read");
                            None
                        }),
                        None => None,
                    };
                    if let Some(quote) = quote {
                        s.data["referenced_message"] =
                            serde_json::to_value(quote).unwrap_or(Value::Null);
                    }
                    self.publish(Dispatch {
                        event: s.event,
                        data: s.data,
                        audience: Audience::Guild {
                            guild_id: gsf,
                            channel: Some(Snowflake::from_db(s.channel)),
                        },
                        intent: intent_of(s.event),
                        has_content: true,
                        lossy: false,
                        cause: None,
                        logged: false,
                        entry: None,
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
                tr.bind(rg.host_guild_id, rg.guild_id).await?;
                run.tr = tr;
                for s in staged {
                    self.apply_one(run.gid, &s.source, true, &mut run.tr)
                        .await?;
                }
                Ok(())
            }
        }
    }

    pub(super) async fn verify(
        &self,
        ev: &Value,
    ) -> Result<hearth_federation::event::VerifiedEvent> {
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
                match again {
                    Ok(v) => Ok(v),
                    // The origin's key was revoked before the host sequenced the action: the
                    // event keeps its place in the chain but is never applied (spec §3.6).
                    Err(FedProtocolError::RevokedKey { server_name, .. })
                        if server_name == origin && origin != host =>
                    {
                        let checked = { verify_envelope(ev, &self.fed.client.keys()) };
                        let (mut envelope, hash) = checked.map_err(|e| Error::Relayed {
                            status: 403,
                            code: 0,
                            message: format!("event rejected: {e}"),
                        })?;
                        envelope.content = None;
                        let action = serde_json::from_value(envelope.action.clone())
                            .map_err(Error::internal)?;
                        tracing::warn!(
                            host,
                            origin,
                            seq = envelope.seq,
                            "an action signed with a key its origin revoked before the host sequenced it is chained, not applied"
                        );
                        // `action` is the claim, unverified; the stub carries no effect.
                        Ok(VerifiedEvent {
                            envelope,
                            action,
                            hash,
                        })
                    }
                    Err(_) => Err(Error::Relayed {
                        status: 403,
                        code: 0,
                        message: format!("event rejected: {e}"),
                    }),
                }
            }
        }
    }

    /// Applies one event to a replica (the caller holds the replica lock).
    /// `tr` is a translator for this replica (it may carry mappings of earlier events).
    /// A replica that is gone (our last member left) ignores the event.
    pub(super) async fn apply_one(
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
                let Ok(Some(proof)) = detected else {
                    // Two hashes at one position, but no proof (the stored event no longer
                    // verifies: a key revoked since, a `revoked` stub): refused all the same.
                    tracing::error!(host = %rg.host, guild = rg.host_guild_id, seq, "two different events at one position of a host's log; no proof could be made");
                    return Err(Error::Relayed {
                        status: 409,
                        code: 0,
                        message: format!("conflicting event at seq {seq}"),
                    });
                };
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
            if let (Some(name), Some(d)) = (result["t"].as_str(), result.get("d")) {
                // An event kind this version does not know, or one replicas do not apply, is
                // stored and chained without being applied.
                match self.apply_logged(&rg, name, d.clone(), tr).await {
                    Ok(o) => object = o,
                    // A verified event we cannot apply must not block the guild forever: the
                    // position advances and the failure is left to the operator.
                    Err(e) => {
                        tracing::error!(error = %e, event = name, seq, host = %rg.host, "applying a federated event failed; skipped")
                    }
                }
            }
        }
        if self.db.remote_guild(local_gid).await?.is_none() {
            // The replica was dropped (our last member left).
            return Ok(());
        }
        // Keep the whole event for equivocation proofs (an event refused for its origin's
        // revoked key, as its `revoked` stub).
        let stored = match (&v.envelope.content, ev.get("content")) {
            (None, Some(_)) => stub(ev, StubReason::Revoked).map_err(Error::internal)?,
            _ => ev.clone(),
        };
        self.db
            .record_replica_event(local_gid, seq, &v.hash, &stored.to_string(), object)
            .await?;
        if !self.db.set_applied(local_gid, seq, &v.hash).await? {
            tracing::error!(host = %rg.host, guild = rg.host_guild_id, seq, "the replica's position moved while an event was applied under its lock");
            return Err(Error::Relayed {
                status: 409,
                code: 0,
                message: format!("the replica moved past seq {} meanwhile", seq - 1),
            });
        }
        Ok(())
    }

    /// Pulls and applies the host's events after our position, up to `upto`.
    pub(super) async fn fill_gap(&self, rg: &RemoteGuildRow, upto: i64) -> Result<()> {
        let mut from = rg.applied_seq;
        while from < upto {
            let path = format!(
                "/_hearth/federation/v1/guilds/{}/events?from={from}&limit=200&max_bytes={}",
                rg.host_guild_id,
                super::guild_log::MAX_PAGE_BYTES
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
    pub(super) async fn resync_channels(&self, rg: &RemoteGuildRow) -> Result<()> {
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
        let page: ChannelsPage = tr.parse("channel list", r).await?;
        for c in &page.channels {
            self.upsert_listed(rg.guild_id, c).await?;
        }
        Ok(())
    }

    /// Brings a replica up to the host's `head` (after a relayed action).
    pub async fn catch_up(&self, local_gid: i64, head: i64) -> Result<()> {
        let _g = self.lock_replica(local_gid).await?;
        let Some(rg) = self.db.remote_guild(local_gid).await? else {
            return Ok(());
        };
        if rg.applied_seq < head {
            self.fill_gap(&rg, head).await?;
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
            Some("TYPING_START") => (Event::TypingStart, intents::GUILD_MESSAGE_TYPING),
            Some("PRESENCE_UPDATE") => (Event::PresenceUpdate, intents::GUILD_PRESENCES),
            _ => return Ok(()),
        };
        let mut tr = Translator::new(self, origin);
        tr.bind(hgid, rg.guild_id).await?;
        let p = tr.dispatch(event, edu["d"].clone()).await?;
        let channel = match &p {
            Payload::TypingStart(t) => Some(t.channel_id.db()),
            _ => None,
        };
        self.publish(Dispatch {
            event,
            data: p.to_value(),
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
            logged: false,
            entry: None,
        });
        Ok(())
    }
}
