//! Typing, direct messages and relationships/blocking (Discord "Resources > Channel > Trigger Typing Indicator", "Resources > User > Create DM").

use super::ports::{RelayAction, RelayOp};
use super::{Actor, Hearth};
use crate::error::{Error, Result, Rule, Unknown, field_error};
use crate::events::{Audience, Dispatch, Event, intents};
use crate::permissions as perm;
use crate::snowflake::Snowflake;
use crate::storage::now_ms;
use crate::wire;
use serde_json::Value;

impl Hearth {
    // ---- typing, DMs, relationships -------------------------------------------------

    /// `POST /channels/{id}/typing`: SEND_MESSAGES; dispatches TYPING_START (lossy).
    pub async fn typing(&self, actor: &Actor, channel_id: Snowflake) -> Result<()> {
        let ca = self.channel_access(actor, channel_id).await?;
        if let Some(rg) = self.replica_of(&ca).await? {
            self.host
                .relay(
                    self,
                    actor,
                    &rg,
                    RelayAction::new(RelayOp::TypingStart).channel(ca.channel.id),
                )
                .await?;
            return Ok(());
        }
        if !ca.is_text() {
            return Err(Error::Rule(Rule::NonTextChannel));
        }
        ca.require(perm::SEND_MESSAGES)?;
        let member = match ca.channel.guild_id {
            Some(g) => Some(self.member_wire_by_id(g, actor.user.id, false).await?),
            None => None,
        };
        let data = super::to_value(&wire::dispatch::TypingStart {
            channel_id,
            guild_id: ca.guild_id(),
            user_id: actor.id(),
            timestamp: now_ms() / 1000,
            member,
        });
        let (audience, guild) = Self::message_audience(&ca);
        self.publish(Dispatch {
            event: Event::TypingStart,
            data,
            audience,
            intent: if guild {
                intents::GUILD_MESSAGE_TYPING
            } else {
                intents::DIRECT_MESSAGE_TYPING
            },
            has_content: false,
            lossy: true,
            cause: None,
            logged: false,
            entry: None,
        });
        Ok(())
    }

    /// `POST /users/@me/channels` `{recipient_id}`: the DM channel with a local user (created
    /// once per pair). Errors: 50033 self, 10013 unknown user, 50007 blocked or DM policy.
    /// With `recipients` of none or several ids, a group DM ([`Hearth::create_group_dm`]);
    /// with one, that user's DM.
    pub async fn open_dm(&self, actor: &Actor, body: wire::CreateDmBody) -> Result<wire::Channel> {
        let single = match (body.recipient_id, body.recipients) {
            (Some(r), _) => Some(r),
            (None, Some(rs)) if rs.len() == 1 => Some(rs[0]),
            (None, Some(rs)) => return self.create_group_dm(actor, rs, body.name).await,
            (None, None) => None,
        };
        let Some(rid) = single else {
            return Err(field_error(
                "recipient_id",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            ));
        };
        if rid.db() == actor.user.id {
            return Err(Error::Rule(Rule::InvalidRecipient));
        }
        let other = self
            .db
            .user(rid.db())
            .await?
            .ok_or(Error::Unknown(Unknown::User))?;
        self.check_dm_allowed(actor.user.id, other.id).await?;
        let id = match self.db.dm_channel(actor.user.id, other.id).await? {
            Some(id) => id,
            None => {
                let id = self
                    .db
                    .create_dm_channel(self.next_id(), actor.user.id, other.id, now_ms())
                    .await?;
                let c = self
                    .db
                    .channel(id)
                    .await?
                    .ok_or(Error::Unknown(Unknown::Channel))?;
                let me = self.user_wire(&actor.user, false);
                let them = self.user_wire(&other, false);
                self.dispatch(
                    Event::ChannelCreate,
                    Audience::Users(vec![actor.id()]),
                    0,
                    serde_json::to_value(Self::channel_wire(&c, &[], Some(vec![them.clone()])))
                        .map_err(Error::internal)?,
                );
                let _ = me;
                id
            }
        };
        let c = self
            .db
            .channel(id)
            .await?
            .ok_or(Error::Unknown(Unknown::Channel))?;
        Ok(Self::channel_wire(
            &c,
            &[],
            Some(vec![self.user_wire(&other, false)]),
        ))
    }

    /// `GET /users/@me/channels`: the caller's DM channels, group DMs included.
    pub async fn my_dms(&self, actor: &Actor) -> Result<Vec<wire::Channel>> {
        let mut out = self.ready_private(actor.user.id).await?.0;
        out.sort_by_key(|c| c.id.db());
        Ok(out)
    }

    /// `PUT /users/@me/relationships/{id}` `{type: 2}`: block a user. Only blocking (type 2)
    /// is supported; friend requests are not part of Hearth. The user's sessions get
    /// RELATIONSHIP_ADD (the `Relationship`).
    /// Errors: 400 50035 another `type`, 400 50033 self, 404 10013 unknown user.
    pub async fn set_relationship(
        &self,
        actor: &Actor,
        target: Snowflake,
        body: wire::RelationshipBody,
    ) -> Result<()> {
        if body.kind.unwrap_or(2) != 2 {
            return Err(field_error(
                "type",
                "BASE_TYPE_CHOICES",
                "Only type 2 (block) is supported.",
            ));
        }
        if target.db() == actor.user.id {
            return Err(Error::Rule(Rule::InvalidRecipient));
        }
        let Some(other) = self.db.user(target.db()).await? else {
            return Err(Error::Unknown(Unknown::User));
        };
        self.db
            .set_relationship(actor.user.id, other.id, 2, now_ms())
            .await?;
        let rel = wire::Relationship {
            id: target,
            kind: 2,
            user: self.user_wire(&other, false),
            nickname: None,
        };
        self.to_own_sessions(actor, Event::RelationshipAdd, super::to_value(&rel));
        Ok(())
    }

    /// `DELETE /users/@me/relationships/{id}`: unblock; the user's sessions get
    /// RELATIONSHIP_REMOVE `{id, type}` when there was a block.
    pub async fn delete_relationship(&self, actor: &Actor, target: Snowflake) -> Result<()> {
        if self
            .db
            .delete_relationship(actor.user.id, target.db())
            .await?
        {
            let gone = wire::RelationshipRemove {
                id: target,
                kind: 2,
            };
            self.to_own_sessions(actor, Event::RelationshipRemove, super::to_value(&gone));
        }
        Ok(())
    }

    /// A dispatch to the actor's own sessions whatever their intents (as MESSAGE_ACK).
    fn to_own_sessions(&self, actor: &Actor, event: Event, data: Value) {
        self.publish(Dispatch {
            event,
            data,
            audience: Audience::Users(vec![actor.id()]),
            intent: 0,
            has_content: false,
            lossy: false,
            cause: None,
            logged: false,
            entry: None,
        });
    }

    /// `GET /users/@me/relationships`.
    pub async fn relationships(&self, actor: &Actor) -> Result<Vec<wire::Relationship>> {
        let mut out = vec![];
        for (t, k) in self.db.relationships_of(actor.user.id).await? {
            out.push(wire::Relationship {
                id: Snowflake::from_db(t),
                kind: k,
                user: self.user_wire_by_id(t).await?,
                nickname: None,
            });
        }
        Ok(out)
    }
}
