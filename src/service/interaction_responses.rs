//! Answering interactions (Discord "Interactions > Receiving and Responding > Responding to
//! an Interaction", "Followup Messages"): the callback `POST /interactions/{id}/{token}/
//! callback` and, for 15 minutes, the interaction's messages through the webhook routes
//! with the application's id and the token (`/webhooks/{app}/{token}`,
//! `.../messages/@original`, `.../messages/{id}`). No authentication: the token authorizes.
//!
//! Callback: an unknown interaction, a token that is not its own, an expired one or one
//! whose 3 seconds passed without an answer: 404 10062. A second callback: 400 40060.
//! `type` 4 CHANNEL_MESSAGE_WITH_SOURCE (a message in `data`, checked as a webhook
//! execution: 400 50035 / 50006, nothing acknowledged then) and 5
//! DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE are taken; 1 PONG (PING interactions only), 6 and 7
//! (components), 8 (autocomplete) and 9 (modals) do not apply to the application commands
//! Hearth delivers: 400 50035 on `type`. `data.flags` may hold EPHEMERAL (64) and
//! SUPPRESS_EMBEDS (4), SUPPRESS_NOTIFICATIONS (4096). The invoking user's sessions get
//! INTERACTION_SUCCESS `{id, nonce}`. `with_response=true` answers the Interaction Callback
//! Response (200) instead of 204.
//!
//! Messages: the response (type 4; or, after type 5, the first edit of `@original`, which
//! creates it) and follow-ups are messages of the application's bot (author the bot user,
//! `application_id`, type 20 CHAT_INPUT_COMMAND or 23 CONTEXT_MENU_COMMAND,
//! `interaction_metadata` and the legacy `interaction`), stored by the group commit like any
//! message (MESSAGE_CREATE to those who see the channel). An ephemeral one (flag 64) is
//! never stored with the channel's messages: it is kept in `ephemeral_messages` for the
//! token's routes only, and its MESSAGE_CREATE/UPDATE/DELETE go to the invoking user's
//! sessions only. Follow-ups need an acknowledged interaction. On the webhook routes, an
//! application id with a token that is none of its live interactions answers 404 10015
//! (Unknown Webhook), a message that is not the interaction's 404 10008.

use std::collections::HashMap;

use super::interactions::StoredInteraction;
use super::{ChannelAccess, Hearth, to_value};
use crate::error::{Error, FieldErrors, Result, Rule, Unknown, field_error};
use crate::events::{Audience, Event};
use crate::snowflake::Snowflake;
use crate::storage::{
    ACKNOWLEDGED, ApplicationRow, FAILED, InteractionRow, MessageRow, UserRow, now_ms,
};
use crate::wire::{self, ApplicationCommandType, InteractionType, MessageType, dispatch};

/// EPHEMERAL message flag.
pub const EPHEMERAL: u64 = 1 << 6;

/// Where a message of an interaction is.
enum Found {
    /// Stored with the channel's messages.
    Stored(Box<MessageRow>),
    /// An ephemeral message: the object as its user sees it.
    Ephemeral(Box<wire::Message>),
}

impl Hearth {
    /// The interaction `id` if `token` is its own and it has not expired. Errors: 404 10062.
    async fn interaction_for_callback(&self, id: Snowflake, token: &str) -> Result<InteractionRow> {
        let i = self
            .db
            .interaction(id.db())
            .await?
            .ok_or(Error::Unknown(Unknown::Interaction))?;
        if super::auth::token_hash(token) != i.token_hash || i.expires_at < now_ms() {
            return Err(Error::Unknown(Unknown::Interaction));
        }
        Ok(i)
    }

    /// On a webhook route `/webhooks/{id}/{token}`: `None` when `id` is a webhook (the
    /// webhook's rules apply), else the acknowledged, live interaction of application `id`
    /// with that token. Errors: 404 10015.
    pub(super) async fn followup_target(
        &self,
        id: Snowflake,
        token: &str,
    ) -> Result<Option<(InteractionRow, ApplicationRow)>> {
        if self.db.webhook(id.db()).await?.is_some() {
            return Ok(None);
        }
        let i = self
            .db
            .interaction_by_token(id.db(), &super::auth::token_hash(token), now_ms())
            .await?
            .filter(|i| i.state == ACKNOWLEDGED)
            .ok_or(Error::Unknown(Unknown::Webhook))?;
        let app = self
            .db
            .application(i.application_id)
            .await?
            .ok_or(Error::Unknown(Unknown::Webhook))?;
        Ok(Some((i, app)))
    }

    /// The bot's view of the interaction's channel, as a webhook's.
    async fn interaction_access(
        &self,
        i: &InteractionRow,
        app: &ApplicationRow,
    ) -> Result<ChannelAccess> {
        let guild = i.guild_id.ok_or(Error::Unknown(Unknown::Channel))?;
        self.token_access(i.channel_id, guild, app.bot_user_id)
            .await
    }

    /// Creates a message answering `i` (the response when `original`, else a follow-up):
    /// see the module docs. The message as its audience sees it.
    async fn interaction_message(
        &self,
        i: &InteractionRow,
        app: &ApplicationRow,
        ca: &ChannelAccess,
        composed: (MessageRow, HashMap<i64, UserRow>),
        ephemeral: bool,
        original: bool,
    ) -> Result<wire::Message> {
        let (mut m, mut users) = composed;
        let bot = self
            .db
            .user(app.bot_user_id)
            .await?
            .ok_or(Error::Unknown(Unknown::User))?;
        users.insert(bot.id, bot);
        let invoker = self.user_wire_by_id(i.user_id).await?;
        let command_type = ApplicationCommandType::from_db(i.command_type);
        m.kind = match command_type {
            ApplicationCommandType::ChatInput => MessageType::ChatInputCommand,
            _ => MessageType::ContextMenuCommand,
        }
        .db();
        if ephemeral {
            m.flags |= EPHEMERAL as i64;
        }
        let stored = StoredInteraction {
            application_id: Snowflake::from_db(app.id),
            metadata: wire::MessageInteractionMetadata {
                id: Snowflake::from_db(i.id),
                kind: InteractionType::ApplicationCommand,
                user: invoker,
                authorizing_integration_owners: i
                    .guild_id
                    .map(|g| [("0".to_string(), Snowflake::from_db(g))].into())
                    .unwrap_or_default(),
                original_response_message_id: (!original)
                    .then_some(i.original_id)
                    .flatten()
                    .filter(|id| *id > 0)
                    .map(Snowflake::from_db),
                name: Some(i.name.clone()),
                command_type: Some(command_type.value()),
            },
        };
        m.interaction = Some(serde_json::to_string(&stored).map_err(Error::internal)?);
        // Exactly one request makes the response's message: concurrent edits of a deferred
        // `@original` get 40060, and a deleted one is never made again.
        if original && !self.db.claim_interaction_original(i.id).await? {
            return Err(Error::Rule(Rule::InteractionAcknowledged));
        }
        if !ephemeral {
            let out = match self.send_token_message(ca, m, &users).await {
                Ok(out) => out,
                Err(e) => {
                    if original {
                        self.db.release_interaction_original(i.id).await?;
                    }
                    return Err(e);
                }
            };
            if original {
                self.db.set_interaction_original(i.id, out.id.db()).await?;
            }
            return Ok(out);
        }
        m.id = self.next_id();
        let out = self.message_wire(&m, &users, vec![]);
        self.db
            .insert_ephemeral(
                m.id,
                i.id,
                &serde_json::to_string(&out).map_err(Error::internal)?,
            )
            .await?;
        if original {
            self.db.set_interaction_original(i.id, m.id).await?;
        }
        self.publish(Self::event_of(
            Event::MessageCreate,
            Audience::Users(vec![Snowflake::from_db(i.user_id)]),
            0,
            to_value(&out),
        ));
        Ok(out)
    }

    /// `POST /interactions/{id}/{token}/callback`: see the module docs. With
    /// `with_response`, the Interaction Callback Response.
    pub async fn interaction_callback(
        &self,
        id: Snowflake,
        token: &str,
        body: wire::InteractionCallbackBody,
        with_response: bool,
    ) -> Result<Option<wire::InteractionCallbackResponse>> {
        let i = self.interaction_for_callback(id, token).await?;
        let kind = body
            .kind
            .ok_or_else(|| field_error("type", "BASE_TYPE_REQUIRED", "This field is required"))?;
        if !matches!(kind, 4 | 5) {
            return Err(field_error(
                "type",
                "INTERACTION_RESPONSE_TYPE",
                format!("Interaction response type {kind} does not apply to application commands."),
            ));
        }
        let app = self
            .db
            .application(i.application_id)
            .await?
            .ok_or(Error::Unknown(Unknown::Interaction))?;
        let data = body.data.unwrap_or_default();
        let ephemeral = data.flags.unwrap_or(0) & EPHEMERAL != 0;
        // A response message is checked before the interaction is acknowledged.
        let composed = if kind == 4 {
            let ca = self.interaction_access(&i, &app).await?;
            let c = self
                .compose_token_message(&ca, app.bot_user_id, &data, FieldErrors::new())
                .await?;
            Some((ca, c))
        } else {
            None
        };
        if !self
            .db
            .settle_interaction(i.id, ACKNOWLEDGED, Some(kind as i64), ephemeral)
            .await?
        {
            return Err(match self.db.interaction(i.id).await?.map(|i| i.state) {
                Some(FAILED) | None => Error::Unknown(Unknown::Interaction),
                _ => Error::Rule(Rule::InteractionAcknowledged),
            });
        }
        self.publish(Self::event_of(
            Event::InteractionSuccess,
            Audience::Users(vec![Snowflake::from_db(i.user_id)]),
            0,
            to_value(&wire::InteractionClientEvent {
                id,
                nonce: i.nonce.clone(),
            }),
        ));
        let message = match composed {
            Some((ca, c)) => Some(
                self.interaction_message(&i, &app, &ca, c, ephemeral, true)
                    .await?,
            ),
            None => None,
        };
        Ok(with_response.then(|| wire::InteractionCallbackResponse {
            interaction: wire::InteractionCallbackInfo {
                id,
                kind: InteractionType::from_db(i.kind),
                activity_instance_id: None,
                response_message_id: message.as_ref().map(|m| m.id),
                response_message_loading: (kind == 5).then_some(true),
                response_message_ephemeral: Some(ephemeral),
            },
            resource: Some(wire::InteractionCallbackResource { kind, message }),
        }))
    }

    /// `POST /webhooks/{app}/{token}` for an interaction: a follow-up message (ephemeral
    /// with flag 64). Errors: 400 50035, 400 50006.
    pub(super) async fn interaction_followup(
        &self,
        i: &InteractionRow,
        app: &ApplicationRow,
        body: &wire::ExecuteWebhookBody,
    ) -> Result<wire::Message> {
        let ca = self.interaction_access(i, app).await?;
        let c = self
            .compose_token_message(&ca, app.bot_user_id, body, FieldErrors::new())
            .await?;
        let ephemeral = body.flags.unwrap_or(0) & EPHEMERAL != 0;
        self.interaction_message(i, app, &ca, c, ephemeral, false)
            .await
    }

    /// A message of interaction `i` named by a route (`@original` or an id). Errors: 404
    /// 10008.
    async fn find_interaction_message(&self, i: &InteractionRow, message: &str) -> Result<Found> {
        let id = if message == "@original" {
            i.original_id
        } else {
            message.parse::<i64>().ok()
        }
        .ok_or(Error::Unknown(Unknown::Message))?;
        if let Some(json) = self.db.ephemeral(i.id, id).await? {
            return Ok(Found::Ephemeral(Box::new(
                serde_json::from_str(&json).map_err(Error::internal)?,
            )));
        }
        let m = self
            .db
            .message(i.channel_id, id)
            .await?
            .filter(|m| {
                m.interaction
                    .as_deref()
                    .and_then(|j| serde_json::from_str::<StoredInteraction>(j).ok())
                    .is_some_and(|s| s.metadata.id.db() == i.id)
            })
            .ok_or(Error::Unknown(Unknown::Message))?;
        Ok(Found::Stored(Box::new(m)))
    }

    /// `GET /webhooks/{app}/{token}/messages/{@original|id}` for an interaction.
    pub(super) async fn get_interaction_message(
        &self,
        i: &InteractionRow,
        app: &ApplicationRow,
        message: &str,
    ) -> Result<wire::Message> {
        match self.find_interaction_message(i, message).await? {
            Found::Ephemeral(m) => Ok(*m),
            Found::Stored(m) => self.render_one(&m, app.bot_user_id).await,
        }
    }

    /// `PATCH /webhooks/{app}/{token}/messages/{@original|id}` for an interaction. After a
    /// deferred response without a message yet, editing `@original` creates the response.
    pub(super) async fn edit_interaction_message(
        &self,
        i: &InteractionRow,
        app: &ApplicationRow,
        message: &str,
        body: wire::EditWebhookMessageBody,
    ) -> Result<wire::Message> {
        if message == "@original" && i.original_id.is_none() && i.response_type == Some(5) {
            let ca = self.interaction_access(i, app).await?;
            let exec = wire::ExecuteWebhookBody {
                content: body.content.flatten(),
                embeds: body.embeds.flatten(),
                allowed_mentions: body.allowed_mentions,
                ..Default::default()
            };
            let c = self
                .compose_token_message(&ca, app.bot_user_id, &exec, FieldErrors::new())
                .await?;
            return self
                .interaction_message(i, app, &ca, c, i.ephemeral != 0, true)
                .await;
        }
        match self.find_interaction_message(i, message).await? {
            Found::Stored(m) => {
                let ca = self.interaction_access(i, app).await?;
                self.edit_token_message(&ca, *m, body, app.bot_user_id)
                    .await
            }
            Found::Ephemeral(mut m) => {
                let mut errs = FieldErrors::new();
                let max = self.config.limits.max_message_length;
                if let Some(c) = body.content {
                    m.content = c.unwrap_or_default();
                    if m.content.chars().count() > max {
                        errs.add(
                            "content",
                            "BASE_TYPE_MAX_LENGTH",
                            format!("Must be {max} or fewer in length."),
                        );
                    }
                }
                if let Some(e) = body.embeds {
                    m.embeds = e.unwrap_or_default();
                    super::messages::validate_embeds(
                        &m.embeds,
                        self.config.limits.max_embeds,
                        "embeds",
                        &mut errs,
                    );
                }
                errs.into_result()?;
                if m.content.trim().is_empty() && m.embeds.is_empty() {
                    return Err(Error::Rule(Rule::EmptyMessage));
                }
                m.edited_timestamp = Some(wire::iso(now_ms()));
                let json = serde_json::to_string(&m).map_err(Error::internal)?;
                if !self.db.update_ephemeral(i.id, m.id.db(), &json).await? {
                    return Err(Error::Unknown(Unknown::Message));
                }
                self.publish(Self::event_of(
                    Event::MessageUpdate,
                    Audience::Users(vec![Snowflake::from_db(i.user_id)]),
                    0,
                    to_value(&m),
                ));
                Ok(*m)
            }
        }
    }

    /// `DELETE /webhooks/{app}/{token}/messages/{@original|id}` for an interaction.
    pub(super) async fn delete_interaction_message(
        &self,
        i: &InteractionRow,
        app: &ApplicationRow,
        message: &str,
    ) -> Result<()> {
        let found = self.find_interaction_message(i, message).await?;
        match found {
            Found::Stored(m) => {
                let ca = self.interaction_access(i, app).await?;
                self.delete_token_message(&ca, &m).await?;
            }
            Found::Ephemeral(m) => {
                if !self.db.delete_ephemeral(i.id, m.id.db()).await? {
                    return Err(Error::Unknown(Unknown::Message));
                }
                self.publish(Self::event_of(
                    Event::MessageDelete,
                    Audience::Users(vec![Snowflake::from_db(i.user_id)]),
                    0,
                    to_value(&dispatch::MessageDelete {
                        id: m.id,
                        channel_id: m.channel_id,
                        guild_id: m.guild_id,
                    }),
                ));
            }
        }
        if message == "@original" {
            self.db.clear_interaction_original(i.id).await?;
        }
        Ok(())
    }
}
