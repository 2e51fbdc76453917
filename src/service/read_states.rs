//! Read states (Discord's client API): `POST /channels/{id}/messages/{id}/ack`, READY's
//! `read_state` and `MESSAGE_ACK`. User accounts only: Discord keeps no read states for
//! bots, and Hearth answers their acks with 403 20001 ("Bots cannot use this endpoint").
//! SQL in `storage/read_states.rs` (migration 0023).

use std::collections::{BTreeMap, HashSet};

use super::{Actor, Hearth};
use crate::error::{Error, Result, Rule};
use crate::events::{Audience, Dispatch, Event};
use crate::snowflake::Snowflake;
use crate::storage::{ReadStateRow, now_ms};
use crate::wire;

impl Hearth {
    /// `POST /channels/{channel_id}/messages/{message_id}/ack`: the caller must see the
    /// channel (VIEW_CHANNEL; in DMs: be a recipient) and the message must be in it (else
    /// 404 10008). The stored message moves forward only, unless `manual` (Discord's "mark
    /// unread") sets it exactly. Publishes `MESSAGE_ACK` to every session of the caller with
    /// the stored message, the new version and the mentions left after the stored message.
    pub async fn ack_message(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        message_id: Snowflake,
        body: wire::AckBody,
    ) -> Result<wire::AckResponse> {
        if actor.is_bot() {
            return Err(Error::Rule(Rule::BotsCannotUse));
        }
        let ca = self.channel_access(actor, channel_id).await?;
        let m = self.message_in(&ca, message_id).await?;
        let manual = body.manual.unwrap_or(false);
        let (last, version) = self
            .db
            .ack_read_state(actor.user.id, ca.channel.id, m.id, manual, now_ms())
            .await?;
        let mention_count = self
            .db
            .mention_count(actor.user.id, ca.channel.id, last)
            .await?;
        self.publish(Dispatch {
            event: Event::MessageAck,
            data: super::to_value(&wire::MessageAck {
                channel_id,
                message_id: Snowflake::from_db(last),
                version,
                mention_count,
                ack_type: 0,
            }),
            audience: Audience::Users(vec![actor.id()]),
            // Discord sends it to the user's sessions whatever their intents.
            intent: 0,
            has_content: false,
            lossy: false,
            cause: None,
            logged: false,
            entry: None,
        });
        Ok(wire::AckResponse { token: None })
    }

    /// READY's `read_state` for a user session: the entries of channels the user can still
    /// see (VIEW_CHANNEL in a guild they are a member of, or a DM), so at most one per
    /// visible channel, each with its bounded mention count.
    pub async fn read_state(&self, actor: &Actor) -> Result<wire::ReadState> {
        let rows = self.db.read_states_of(actor.user.id).await?;
        let version = rows.iter().map(|r| r.version).max().unwrap_or(0);
        let mut by_guild: BTreeMap<Option<i64>, Vec<ReadStateRow>> = BTreeMap::new();
        for r in rows {
            by_guild.entry(r.guild_id).or_default().push(r);
        }
        let mut entries = vec![];
        for (guild, rows) in by_guild {
            let visible: Option<HashSet<i64>> = match guild {
                // DM recipients never change, and group DMs the user left are left out by
                // the statement.
                None => None,
                Some(g) => match self.guild_channels(actor, Snowflake::from_db(g)).await {
                    Ok(chs) => Some(chs.iter().map(|c| c.id.db()).collect()),
                    // Not a member any more, or the guild is gone: nothing of it.
                    Err(Error::Internal(e)) => return Err(Error::Internal(e)),
                    Err(_) => continue,
                },
            };
            for r in rows {
                if visible.as_ref().is_some_and(|v| !v.contains(&r.channel_id)) {
                    continue;
                }
                let mention_count = self
                    .db
                    .mention_count(actor.user.id, r.channel_id, r.last_message_id)
                    .await?;
                entries.push(wire::ReadStateEntry {
                    id: Snowflake::from_db(r.channel_id),
                    last_message_id: Snowflake::from_db(r.last_message_id),
                    mention_count,
                    last_pin_timestamp: r.last_pin.map(wire::iso),
                    flags: 0,
                });
            }
        }
        Ok(wire::ReadState {
            version,
            partial: false,
            entries,
        })
    }
}
