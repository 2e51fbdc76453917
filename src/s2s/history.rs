//! What a member server takes from a host outside the event log, checked against it
//! (spec/federation.md §8.2, §8.5): join snapshots and history pages come signed by the host
//! (`hearth_federation::history`), bound to the guild, the channel and the log position they
//! were read at, and that position must be one of the replica's verified chain.
//!
//! - [`Fed::verified_history`] checks the host's signature (refetching its keys once) and
//!   that it was made now (within `MAX_CLOCK_SKEW_MS`).
//! - [`Fed::backfill`] (lazy history): under the replica's lock, the replica first catches up
//!   to the page's position, whose hash must then be the chain's at that position (else the
//!   page is refused, logged as an error: the host signed two histories). A page read at an
//!   older position than the replica's never overwrites a stored message nor brings back one
//!   the replica deleted after that position.

use std::collections::HashSet;

use hearth_federation::history::{HistoryPosition, HistoryScope, verify_history};
use hearth_wire::federation::MessagesPage;
use reqwest::Method;
use serde_json::Value;

use super::apply::message_row;
use super::translate::Translator;
use super::{Fed, now_ms};
use crate::error::{Error, Result};
use crate::service::ports::HistoryPage;
use crate::storage::RemoteGuildRow;

/// Most events a page older than the replica may lag behind it by; an older page is not
/// used (the replica's copy is served).
pub const MAX_PAGE_LAG_EVENTS: i64 = 1_000;

/// The hash the replica's verified chain has at `seq`: its head's, or a stored event's.
/// `None` when it holds no event there (before the point it joined at).
pub(super) async fn chain_hash(
    f: &Fed<'_>,
    rg: &RemoteGuildRow,
    seq: i64,
) -> Result<Option<String>> {
    if seq == rg.applied_seq {
        return Ok(rg.last_hash.clone());
    }
    Ok(f.db.replica_event(rg.guild_id, seq).await?.map(|(h, _)| h))
}

/// The host ids of the messages deleted by the stored events of a replica (`events`, JSON).
fn deleted_ids(events: &[String]) -> HashSet<String> {
    let mut out = HashSet::new();
    for e in events {
        let Ok(v) = serde_json::from_str::<Value>(e) else {
            continue;
        };
        let Some(c) = v.get("content").map(|c| c.get("result").unwrap_or(c)) else {
            continue;
        };
        match c.get("t").and_then(Value::as_str) {
            Some("MESSAGE_DELETE") => {
                if let Some(id) = c["d"]["id"].as_str() {
                    out.insert(id.to_owned());
                }
            }
            Some("MESSAGE_DELETE_BULK") => {
                for id in c["d"]["ids"].as_array().into_iter().flatten() {
                    if let Some(id) = id.as_str() {
                        out.insert(id.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

impl Fed<'_> {
    /// Verifies a signed history answer of `host` about `guild_id` (and `channel_id` for a
    /// page), host ids; returns its log position.
    ///
    /// Errors: 503 (`Error::Unavailable`) when the signature or the scope does not verify,
    /// also after refetching the host's keys once.
    pub(super) async fn verified_history(
        &self,
        host: &str,
        answer: &Value,
        guild_id: &str,
        channel_id: Option<&str>,
    ) -> Result<HistoryPosition> {
        let scope = HistoryScope {
            host,
            guild_id,
            channel_id,
        };
        // An answer to a request just made: signed now (within the clock-skew bound, §7), not
        // an old one replayed.
        let ts = answer.get("ts").and_then(Value::as_u64).unwrap_or(0);
        let skew = ts.abs_diff(now_ms());
        if skew > hearth_federation::MAX_CLOCK_SKEW_MS {
            return Err(Error::Unavailable(format!(
                "federation: {host}'s answer was signed {skew} ms away from now"
            )));
        }
        let _ = self.fed.client.server_keys(host).await;
        let first = { verify_history(answer, scope, &self.fed.client.keys()) };
        if let Ok(p) = first {
            return Ok(p);
        }
        let _ = self.fed.client.refresh_server_keys(host).await;
        let again = { verify_history(answer, scope, &self.fed.client.keys()) };
        again.map_err(|e| Error::Unavailable(format!("federation: {host}'s answer refused: {e}")))
    }

    /// Fetches a page of a replica channel's history from the host into the replica (lazy
    /// backfill); `query` is the client's `before`/`after`/`around`/`limit` in local ids. A
    /// page that cannot be fetched or checked leaves the replica as it is (logged).
    pub async fn backfill(
        &self,
        rg: &RemoteGuildRow,
        channel: i64,
        page: HistoryPage,
    ) -> Result<()> {
        let HistoryPage {
            before,
            after,
            around,
            limit,
        } = page;
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
        let (gid, cid) = (rg.host_guild_id.to_string(), hc.to_string());
        let position = match self
            .verified_history(&rg.host, &resp, &gid, Some(&cid))
            .await
        {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "history page refused; serving the replica");
                return Ok(());
            }
        };
        let mut page: MessagesPage = match serde_json::from_value(resp) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "history page of the wrong shape; serving the replica");
                return Ok(());
            }
        };
        // The page's position against the replica's chain, under the lock events take.
        let _guard = self.lock_replica(rg.guild_id).await?;
        let Some(mut cur) = self.db.remote_guild(rg.guild_id).await? else {
            return Ok(());
        };
        if position.seq > cur.applied_seq {
            if let Err(e) = self.fill_gap(&cur, position.seq).await {
                tracing::warn!(error = %e, "catching up to a history page failed; serving the replica");
                return Ok(());
            }
            match self.db.remote_guild(rg.guild_id).await? {
                Some(r) => cur = r,
                None => return Ok(()),
            }
        }
        let ours = if position.seq <= cur.applied_seq {
            chain_hash(self, &cur, position.seq).await?
        } else {
            None
        };
        let in_chain = if position.seq == 0 {
            cur.applied_seq == 0
        } else {
            ours.is_some() && ours == position.hash
        };
        if !in_chain {
            tracing::error!(host = %rg.host, guild = rg.host_guild_id, seq = position.seq, "a history page names a log position that is not in the replica's chain; refused");
            return Ok(());
        }
        // A page read before events the replica has applied since: it adds what is missing,
        // never an older copy of a stored message nor one deleted since.
        let older = position.seq < cur.applied_seq;
        if older {
            if cur.applied_seq - position.seq > MAX_PAGE_LAG_EVENTS {
                return Ok(());
            }
            let since = self
                .db
                .replica_events_after(rg.guild_id, position.seq, MAX_PAGE_LAG_EVENTS)
                .await?;
            let gone = deleted_ids(&since);
            page.messages.retain(|m| !gone.contains(&m.id.to_string()));
        }
        let mut tr = Translator::for_replica(self, &cur).await?;
        if let Err(e) = tr.translate(&mut page).await {
            tracing::warn!(error = %e, "a history page could not be translated; serving the replica");
            return Ok(());
        }
        for m in &mut page.messages {
            let stored = self.db.message(m.channel_id.db(), m.id.db()).await?;
            if older && stored.is_some() {
                continue;
            }
            let mut row = message_row(cur.guild_id, m, stored.and_then(|x| x.pinned_at));
            row.attachments = self.localize_attachments(&cur.host, m).await?;
            let released = self.db.upsert_message(&row).await?;
            self.files_released(released);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletions_are_read_from_stored_events_and_stubs_are_skipped() {
        let events = vec![
            r#"{"content":{"t":"MESSAGE_DELETE","d":{"id":"11","channel_id":"5"}}}"#.to_owned(),
            r#"{"content":{"request":{},"result":{"t":"MESSAGE_DELETE_BULK","d":{"ids":["12","13"]}}}}"#
                .to_owned(),
            r#"{"content":{"t":"MESSAGE_CREATE","d":{"id":"14"}}}"#.to_owned(),
            r#"{"unsigned":{"content_state":"withheld"}}"#.to_owned(),
            "not json".to_owned(),
        ];
        let gone = deleted_ids(&events);
        let mut v: Vec<_> = gone.into_iter().collect();
        v.sort();
        assert_eq!(v, vec!["11", "12", "13"]);
    }
}
