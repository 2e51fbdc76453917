//! Pins (Discord "Resources > Message > Pin Message", "Get Channel Pins").

use super::ports::{RelayAction, RelayOp};
use super::{Actor, Hearth, audit_action as A, to_value};
use crate::error::{Error, Result, Rule};
use crate::events::{Event, intents};
use crate::permissions as perm;
use crate::snowflake::Snowflake;
use crate::storage::{Lock, MessageRow, now_ms};
use crate::wire;
use serde_json::json;

impl Hearth {
    // ---- pins -----------------------------------------------------------------------

    /// Pinned messages, newest pin first: `(pinned_at ms, message)`. READ_MESSAGE_HISTORY.
    pub async fn pins(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        before_ms: Option<i64>,
        limit: i64,
    ) -> Result<(Vec<(i64, wire::Message)>, bool)> {
        let ca = self.channel_access(actor, channel_id).await?;
        if !perm::has(ca.perms, perm::READ_MESSAGE_HISTORY) {
            return Ok((vec![], false));
        }
        let rows = self
            .db
            .pins(ca.channel.id, before_ms.unwrap_or(i64::MAX), limit + 1)
            .await?;
        let has_more = rows.len() as i64 > limit;
        let rows: Vec<MessageRow> = rows.into_iter().take(limit as usize).collect();
        let rendered = self.render_messages(&rows, actor.user.id).await?;
        Ok((
            rows.iter()
                .map(|r| r.pinned_at.unwrap_or(0))
                .zip(rendered)
                .collect(),
            has_more,
        ))
    }

    /// `PUT`/`DELETE /channels/{id}/messages/pins/{message_id}` (and the older
    /// `/channels/{id}/pins/{message_id}`): PIN_MESSAGES. Errors: 30003 at the pin limit.
    pub async fn set_pin(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        message_id: Snowflake,
        pin: bool,
        reason: Option<&str>,
    ) -> Result<()> {
        let ca = self.channel_access(actor, channel_id).await?;
        if let Some(rg) = self.replica_of(&ca).await? {
            let op = if pin {
                RelayOp::PinAdd
            } else {
                RelayOp::PinRemove
            };
            self.host
                .relay(
                    self,
                    actor,
                    &rg,
                    RelayAction::new(op)
                        .channel(ca.channel.id)
                        .message(message_id.db()),
                )
                .await?;
            return Ok(());
        }
        ca.require(perm::PIN_MESSAGES)?;
        let m = self.message_in(&ca, message_id).await?;
        if pin == m.pinned_at.is_some() {
            return Ok(());
        }
        let lock = match ca.channel.guild_id {
            Some(g) => Lock::Guild(g),
            None => Lock::Channel(ca.channel.id),
        };
        let audit = ca.channel.guild_id.map(|g| {
            let action = if pin {
                A::MESSAGE_PIN
            } else {
                A::MESSAGE_UNPIN
            };
            self.audit_row(
                g,
                actor,
                Some(m.author_id),
                action,
                json!([]),
                Some(json!({"channel_id": channel_id, "message_id": message_id})),
                reason,
            )
        });
        let pinned_at = pin.then(now_ms);
        // The message as the pin leaves it, rendered before the write lock is taken.
        let (audience, guild) = Self::message_audience(&ca);
        let m = MessageRow { pinned_at, ..m };
        let w = self.render_one(&m, actor.user.id).await?;
        let mut update = Self::event_of(
            Event::MessageUpdate,
            audience.clone(),
            if guild {
                intents::GUILD_MESSAGES
            } else {
                intents::DIRECT_MESSAGES
            },
            self.message_event(&m, &w).await?,
        );
        update.has_content = true;
        // The pin (counted against the limit under the lock), the audit entry and the log
        // entries in one transaction.
        let mut ch = self.db.change(lock).await?;
        let max = i64::from(self.config.limits.max_pins_per_channel);
        if !ch.set_pinned(ca.channel.id, m.id, pinned_at, max).await? {
            return Err(Error::Rule(Rule::MaxPins));
        }
        if let Some(a) = &audit {
            ch.audit(a).await?;
        }
        let last_pin = ch.last_pin(ca.channel.id).await?;
        let pins_update = Self::event_of(
            Event::ChannelPinsUpdate,
            audience,
            if guild {
                intents::GUILDS
            } else {
                intents::DIRECT_MESSAGES
            },
            to_value(&wire::dispatch::ChannelPinsUpdate {
                guild_id: ca.guild_id(),
                channel_id,
                last_pin_timestamp: last_pin.map(wire::iso),
            }),
        );
        self.commit(ch, vec![pins_update, update]).await?;
        Ok(())
    }
}
