//! Answering interactions (Discord "Interactions > Receiving and Responding > Responding to
//! an Interaction", "Followup Messages"): the callback `POST /interactions/{id}/{token}/
//! callback` and, for 15 minutes, the interaction's messages through the webhook routes
//! with the application's id and the token (`/webhooks/{app}/{token}`,
//! `.../messages/@original`, `.../messages/{id}`). No authentication: the token authorizes.
//!
//! Callback: an unknown interaction, a token that is not its own (compared in constant
//! time), an expired one or one
//! whose 3 seconds passed without an answer: 404 10062. A second callback: 400 40060.
//! Which `type` answers which interaction ([`callback_applies`]; 400 50035 on `type`
//! otherwise): 4 CHANNEL_MESSAGE_WITH_SOURCE (a message in `data`, checked as a webhook
//! execution with components: 400 50035 / 50006, nothing acknowledged then) and 5
//! DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE answer commands, components and modal submits; 6
//! DEFERRED_UPDATE_MESSAGE and 7 UPDATE_MESSAGE (the edit of the component's message in
//! `data`, checked first; MESSAGE_UPDATE to the channel) answer components and modal
//! submits of modals opened from a component; 8 APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
//! (`data.choices`, at most 25, names 1-100 characters) answers autocomplete only, which
//! takes nothing else; 9 MODAL (`data`: [`super::components::check_modal`]; stored with
//! the interaction for the MODAL_SUBMIT) answers commands and components; 1 PONG nothing.
//! `data.flags` may hold EPHEMERAL (64) and SUPPRESS_EMBEDS (4), SUPPRESS_NOTIFICATIONS
//! (4096). The invoking user's sessions get INTERACTION_SUCCESS `{id, nonce}` (types 4-7),
//! INTERACTION_MODAL_CREATE (9) or APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE `{nonce,
//! choices}` (8). `with_response=true` answers the Interaction Callback Response (200)
//! instead of 204. After 6 or 7, `@original` is the component's message; when that message
//! is ephemeral, 7 edits it for its user only (components given ids as stored messages'
//! are), MESSAGE_UPDATE to their sessions, and `@original` reads, edits or deletes it the
//! same way (MESSAGE_UPDATE / MESSAGE_DELETE to that user's sessions only) while the
//! interaction that showed it lives. The acknowledgement, with the modal of callback
//! 9, is one statement. Interactions posted over HTTP ([`super::interaction_http`]) are
//! answered through [`Hearth::interaction_callback`] too.
//!
//! Messages: the response (type 4; or, after type 5, the first edit of `@original`, which
//! creates it) and follow-ups are messages of the application's bot (author the bot user,
//! `application_id`, type 20 CHAT_INPUT_COMMAND or 23 CONTEXT_MENU_COMMAND for commands, 0
//! DEFAULT for components and modal submits,
//! `interaction_metadata` (with `interacted_message_id` for a component's, and for a modal
//! submit's `triggering_interaction_metadata`, the metadata of the interaction that opened
//! the modal while its row is kept) and the legacy `interaction`), stored by the group commit like any
//! message (MESSAGE_CREATE to those who see the channel). An ephemeral one (flag 64) is
//! never stored with the channel's messages: it is kept in `ephemeral_messages` for the
//! token's routes only, and its MESSAGE_CREATE/UPDATE/DELETE go to the invoking user's
//! sessions only. Follow-ups need an acknowledged interaction; the first one after type 5,
//! while the response has no message, is the response (Discord "Create Followup Message":
//! it works as the edit of `@original` then, with the deferral's ephemeral flag). Files
//! (`multipart/form-data` `files[n]` parts, `crate::api::uploads`, stored in the
//! interaction's channel, charged to the application's bot: [`Hearth::callback_file_target`])
//! are taken by types 4 and 7, by follow-ups and by edits of `@original` or a follow-up. An
//! ephemeral message's files are kept as finished uploads of the bot that expire with the
//! interaction (`limits.interaction_token_seconds`): their signed URLs work until then. On the webhook
//! routes, an
//! application id with a token that is none of its live interactions answers 404 10015
//! (Unknown Webhook), a message that is not the interaction's 404 10008.

use std::collections::HashMap;

use super::attachments::Upload;
use super::interaction_files::ephemeral_uploads;
use super::interactions::StoredInteraction;
use super::{ChannelAccess, Hearth, to_value};
use crate::error::{Error, FieldErrors, Result, Rule, Unknown, field_error};
use crate::events::{Audience, Event};
use crate::snowflake::Snowflake;
use crate::storage::{
    ACKNOWLEDGED, ApplicationRow, FAILED, InteractionRow, MessageRow, PendingUploadRow, UserRow,
    now_ms,
};
use crate::wire::{self, ApplicationCommandType, InteractionType, MessageType, dispatch};

/// EPHEMERAL message flag.
pub const EPHEMERAL: u64 = 1 << 6;

/// Where a message of an interaction is.
enum Found {
    /// Stored with the channel's messages.
    Stored(Box<MessageRow>),
    /// An ephemeral message: the interaction that keeps it (the route's own, or the one
    /// whose answer it was when a type 6 or 7 updated it) and the object as its user sees
    /// it.
    Ephemeral(i64, Box<wire::Message>),
}

/// A composed message with the users it mentions ([`Hearth::compose_token_message`]).
type Composed = (MessageRow, HashMap<i64, UserRow>);

/// What a callback prepared before acknowledging.
enum Prepared {
    None,
    /// Type 4: the response's message.
    Message(Box<(ChannelAccess, Composed)>),
    /// Type 7: the component's message and its edit.
    Update(Box<(ChannelAccess, MessageRow, wire::EditWebhookMessageBody)>),
    /// Type 7 on an ephemeral message: its interaction and the edited message.
    UpdateEphemeral(Box<(i64, wire::Message, Vec<PendingUploadRow>)>),
    /// Type 8.
    Choices(Vec<wire::CommandChoice>),
    /// Type 9.
    Modal(wire::ModalCallbackData),
}

/// Whether callback `kind` answers an interaction of type `ikind` (`from_component`: the
/// interaction has a component's message): Discord "Interaction Callback Type".
/// APPLICATION_COMMAND: 4, 5, 9; MESSAGE_COMPONENT: 4, 5, 6, 7, 9; AUTOCOMPLETE: 8;
/// MODAL_SUBMIT: 4, 5, and 6, 7 when the modal was opened from a component.
pub fn callback_applies(ikind: InteractionType, kind: u8, from_component: bool) -> bool {
    match ikind {
        InteractionType::ApplicationCommand => matches!(kind, 4 | 5 | 9),
        InteractionType::MessageComponent => matches!(kind, 4..=7 | 9),
        InteractionType::ApplicationCommandAutocomplete => kind == 8,
        InteractionType::ModalSubmit => {
            matches!(kind, 4 | 5) || (from_component && matches!(kind, 6 | 7))
        }
        _ => false,
    }
}

/// A callback's `data` as the shape its type takes. Errors: 400 50035 on `data`.
fn parse_data<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T> {
    serde_json::from_value(v).map_err(|e| {
        field_error(
            "data",
            "MODEL_TYPE_CONVERT",
            format!("Invalid data for this callback type: {e}"),
        )
    })
}

/// The choices of callback 8: at most 25, each `name` 1 to 100 characters and a string
/// `value` up to 100. Errors: 400 50035 at `data.choices...`.
fn check_choices(choices: Vec<wire::CommandChoice>) -> Result<Vec<wire::CommandChoice>> {
    let mut errs = FieldErrors::new();
    if choices.len() > 25 {
        errs.add(
            "data.choices",
            "BASE_TYPE_MAX_LENGTH",
            "Must be 25 or fewer in length.",
        );
    }
    for (k, c) in choices.iter().enumerate() {
        let n = c.name.chars().count();
        if n == 0 || n > 100 {
            errs.add(
                format!("data.choices.{k}.name"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            );
        }
        if let wire::ChoiceValue::String(v) = &c.value
            && v.chars().count() > 100
        {
            errs.add(
                format!("data.choices.{k}.value"),
                "BASE_TYPE_MAX_LENGTH",
                "Must be 100 or fewer in length.",
            );
        }
    }
    errs.into_result()?;
    Ok(choices)
}

impl Hearth {
    /// The interaction `id` if `token` is its own and it has not expired. Errors: 404 10062.
    pub(super) async fn interaction_for_callback(
        &self,
        id: Snowflake,
        token: &str,
    ) -> Result<InteractionRow> {
        let i = self
            .db
            .interaction(id.db())
            .await?
            .ok_or(Error::Unknown(Unknown::Interaction))?;
        if !super::auth::token_hash_matches(token, &i.token_hash) || i.expires_at < now_ms() {
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

    /// The bot's view of the interaction's channel, as a webhook's; in the bot's DM, the
    /// bot's own view of that DM (404 10003 once it is gone).
    pub(super) async fn interaction_access(
        &self,
        i: &InteractionRow,
        app: &ApplicationRow,
    ) -> Result<ChannelAccess> {
        let Some(guild) = i.guild_id else {
            let bot = self
                .db
                .user(app.bot_user_id)
                .await?
                .ok_or(Error::Unknown(Unknown::Channel))?;
            let actor = super::Actor {
                user: bot,
                session_id: None,
            };
            return self
                .channel_access(&actor, Snowflake::from_db(i.channel_id))
                .await
                .map_err(|_| Error::Unknown(Unknown::Channel));
        };
        self.token_access(i.channel_id, guild, app.bot_user_id)
            .await
    }

    /// The Message Interaction Metadata of `i` (Discord "Resources > Message"): `name` and
    /// `command_type` for commands, `interacted_message_id` for components; without
    /// `original_response_message_id` and `triggering_interaction_metadata`.
    async fn interaction_metadata(
        &self,
        i: &InteractionRow,
    ) -> Result<wire::MessageInteractionMetadata> {
        let kind = InteractionType::from_db(i.kind);
        let is_command = kind == InteractionType::ApplicationCommand;
        Ok(wire::MessageInteractionMetadata {
            id: Snowflake::from_db(i.id),
            kind,
            user: self.user_wire_by_id(i.user_id).await?,
            // The guild, or "0" in the bot's DM (Discord's GUILD_INSTALL key).
            authorizing_integration_owners: [(
                "0".to_string(),
                Snowflake::from_db(i.guild_id.unwrap_or(0)),
            )]
            .into(),
            original_response_message_id: None,
            name: is_command.then(|| i.name.clone()),
            command_type: is_command
                .then(|| ApplicationCommandType::from_db(i.command_type).value()),
            interacted_message_id: (kind == InteractionType::MessageComponent)
                .then_some(i.message_id)
                .flatten()
                .map(Snowflake::from_db),
            triggering_interaction_metadata: None,
        })
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
        let command_type = ApplicationCommandType::from_db(i.command_type);
        let kind = InteractionType::from_db(i.kind);
        let is_command = kind == InteractionType::ApplicationCommand;
        // Discord: a command's answers are CHAT_INPUT_COMMAND (20) or CONTEXT_MENU_COMMAND
        // (23); a component's or a modal's are DEFAULT (0).
        m.kind = match (is_command, command_type) {
            (false, _) => MessageType::Default,
            (true, ApplicationCommandType::ChatInput) => MessageType::ChatInputCommand,
            _ => MessageType::ContextMenuCommand,
        }
        .db();
        if ephemeral {
            m.flags |= EPHEMERAL as i64;
        }
        let mut metadata = self.interaction_metadata(i).await?;
        metadata.original_response_message_id = (!original)
            .then_some(i.original_id)
            .flatten()
            .filter(|id| *id > 0)
            .map(Snowflake::from_db);
        if let Some(parent) = i.parent_id {
            // A modal submit's: the interaction whose modal it answers.
            if let Some(p) = self.db.interaction(parent).await? {
                metadata.triggering_interaction_metadata =
                    Some(Box::new(self.interaction_metadata(&p).await?));
            }
        }
        let stored = StoredInteraction {
            application_id: Snowflake::from_db(app.id),
            metadata,
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
        let stored = self
            .db
            .insert_ephemeral(
                m.id,
                i.id,
                &serde_json::to_string(&out).map_err(Error::internal)?,
                &ephemeral_uploads(i, app.bot_user_id, &m.attachments),
            )
            .await;
        if let Err(e) = stored {
            if original {
                self.db.release_interaction_original(i.id).await?;
            }
            return Err(e);
        }
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
    /// `with_response`, the Interaction Callback Response. `files` (stored for
    /// [`Self::callback_file_target`]) are the message's (types 4 and 7); released on any
    /// error, and refused (400 50035 on `files`) with any other type.
    pub async fn interaction_callback(
        &self,
        id: Snowflake,
        token: &str,
        body: wire::InteractionCallbackBody,
        with_response: bool,
        files: Vec<Upload>,
    ) -> Result<Option<wire::InteractionCallbackResponse>> {
        let r = self
            .callback_with(id, token, body, with_response, &files)
            .await;
        self.files_kept_if_ok(&files, r)
    }

    async fn callback_with(
        &self,
        id: Snowflake,
        token: &str,
        body: wire::InteractionCallbackBody,
        with_response: bool,
        files: &[Upload],
    ) -> Result<Option<wire::InteractionCallbackResponse>> {
        let i = self.interaction_for_callback(id, token).await?;
        let kind = body
            .kind
            .ok_or_else(|| field_error("type", "BASE_TYPE_REQUIRED", "This field is required"))?;
        let ikind = InteractionType::from_db(i.kind);
        if !callback_applies(ikind, kind, i.message_id.is_some()) {
            return Err(field_error(
                "type",
                "INTERACTION_RESPONSE_TYPE",
                format!(
                    "Interaction response type {kind} does not apply to interactions of type {}.",
                    ikind.value()
                ),
            ));
        }
        let app = self
            .db
            .application(i.application_id)
            .await?
            .ok_or(Error::Unknown(Unknown::Interaction))?;
        if !files.is_empty() && !matches!(kind, 4 | 7) {
            return Err(field_error(
                "files",
                "BASE_TYPE_BAD_VALUE",
                "Only responses of type 4 or 7 take files.",
            ));
        }
        let raw = body.data.unwrap_or(serde_json::Value::Null);
        let raw = if raw.is_null() {
            serde_json::json!({})
        } else {
            raw
        };
        // The data is checked before the interaction is acknowledged.
        let mut prepared = Prepared::None;
        let mut ephemeral = false;
        match kind {
            4 | 7 => {
                let data: wire::ExecuteWebhookBody = parse_data(raw)?;
                ephemeral = kind == 4 && data.flags.unwrap_or(0) & EPHEMERAL != 0;
                let ca = self.interaction_access(&i, &app).await?;
                if kind == 4 {
                    let c = self
                        .compose_token_message(
                            &ca,
                            app.bot_user_id,
                            &data,
                            FieldErrors::new(),
                            true,
                            files,
                        )
                        .await?;
                    prepared = Prepared::Message(Box::new((ca, c)));
                } else {
                    let mid = i.message_id.ok_or(Error::Unknown(Unknown::Message))?;
                    let edit = wire::EditWebhookMessageBody {
                        content: data.content.map(Some),
                        embeds: data.embeds.map(Some),
                        allowed_mentions: data.allowed_mentions,
                        components: data.components.map(Some),
                        attachments: data.attachments.map(Some),
                    };
                    self.check_update(&edit)?;
                    prepared = match self.db.message(i.channel_id, mid).await? {
                        Some(m) => {
                            // The files' count is checked before the acknowledgement too.
                            self.edit_files_fit(&m, edit.attachments.as_ref(), files.len())
                                .await?;
                            Prepared::Update(Box::new((ca, m, edit)))
                        }
                        // An ephemeral message the invoker was shown: edited for them only.
                        None => {
                            let (eid, json) = self
                                .db
                                .ephemeral_of_user(
                                    mid,
                                    i.user_id,
                                    i.channel_id,
                                    i.application_id,
                                    now_ms(),
                                )
                                .await?
                                .ok_or(Error::Unknown(Unknown::Message))?;
                            let mut m: wire::Message =
                                serde_json::from_str(&json).map_err(Error::internal)?;
                            if let Some(c) = edit.content {
                                m.content = c.unwrap_or_default();
                            }
                            if let Some(e) = edit.embeds {
                                m.embeds = e.unwrap_or_default();
                            }
                            if let Some(c) = edit.components {
                                m.components = super::components::with_ids(&c.unwrap_or_default());
                            }
                            let added = self.edit_ephemeral_files(
                                &i,
                                &mut m,
                                edit.attachments.as_ref(),
                                files,
                            )?;
                            m.edited_timestamp = Some(wire::iso(now_ms()));
                            Prepared::UpdateEphemeral(Box::new((eid, m, added)))
                        }
                    };
                }
            }
            5 => {
                let data: wire::ExecuteWebhookBody = parse_data(raw)?;
                ephemeral = data.flags.unwrap_or(0) & EPHEMERAL != 0;
            }
            8 => {
                let data: wire::AutocompleteCallbackData = parse_data(raw)?;
                prepared = Prepared::Choices(check_choices(data.choices.unwrap_or_default())?);
            }
            9 => {
                let data: wire::ModalCallbackData = parse_data(raw)?;
                let mut errs = FieldErrors::new();
                let (custom_id, title, components) =
                    super::components::check_modal(&data, &mut errs);
                errs.into_result()?;
                prepared = Prepared::Modal(wire::ModalCallbackData {
                    custom_id: Some(custom_id),
                    title: Some(title),
                    components: Some(components),
                });
            }
            _ => {}
        }
        // A modal is stored with the acknowledgement, in the same statement.
        let modal_json = match &prepared {
            Prepared::Modal(m) => Some(serde_json::to_string(m).map_err(Error::internal)?),
            _ => None,
        };
        if !self
            .db
            .settle_interaction(
                i.id,
                ACKNOWLEDGED,
                Some(kind as i64),
                ephemeral,
                modal_json.as_deref(),
            )
            .await?
        {
            return Err(match self.db.interaction(i.id).await?.map(|i| i.state) {
                Some(FAILED) | None => Error::Unknown(Unknown::Interaction),
                _ => Error::Rule(Rule::InteractionAcknowledged),
            });
        }
        let user = Audience::Users(vec![Snowflake::from_db(i.user_id)]);
        if !matches!(kind, 8 | 9) {
            self.publish(Self::event_of(
                Event::InteractionSuccess,
                user.clone(),
                0,
                to_value(&wire::InteractionClientEvent {
                    id,
                    nonce: i.nonce.clone(),
                }),
            ));
        }
        let message = match prepared {
            Prepared::Message(b) => {
                let (ca, c) = *b;
                Some(
                    self.interaction_message(&i, &app, &ca, c, ephemeral, true)
                        .await?,
                )
            }
            Prepared::Update(b) => {
                let (ca, m, edit) = *b;
                Some(
                    self.edit_token_message(&ca, m, edit, app.bot_user_id, true, files)
                        .await?,
                )
            }
            Prepared::UpdateEphemeral(b) => {
                let (eid, m, added) = *b;
                let json = serde_json::to_string(&m).map_err(Error::internal)?;
                if !self
                    .db
                    .update_ephemeral(eid, m.id.db(), &json, &added)
                    .await?
                {
                    return Err(Error::Unknown(Unknown::Message));
                }
                self.publish(Self::event_of(Event::MessageUpdate, user, 0, to_value(&m)));
                Some(m)
            }
            Prepared::Choices(choices) => {
                self.publish(Self::event_of(
                    Event::ApplicationCommandAutocompleteResponse,
                    user,
                    0,
                    to_value(&wire::AutocompleteResponse {
                        nonce: i.nonce.clone(),
                        choices,
                    }),
                ));
                None
            }
            Prepared::Modal(modal) => {
                let application = serde_json::json!({
                    "id": Snowflake::from_db(app.id),
                    "name": app.name,
                    "icon": null,
                    "description": app.description,
                    "bot_id": Snowflake::from_db(app.bot_user_id),
                });
                self.publish(Self::event_of(
                    Event::InteractionModalCreate,
                    user,
                    0,
                    to_value(&wire::InteractionModalCreate {
                        id,
                        nonce: i.nonce.clone(),
                        channel_id: Snowflake::from_db(i.channel_id),
                        application,
                        custom_id: modal.custom_id.unwrap_or_default(),
                        title: modal.title.unwrap_or_default(),
                        components: modal.components.unwrap_or_default(),
                    }),
                ));
                None
            }
            Prepared::None => None,
        };
        Ok(with_response.then(|| wire::InteractionCallbackResponse {
            interaction: wire::InteractionCallbackInfo {
                id,
                kind: ikind,
                activity_instance_id: None,
                response_message_id: message.as_ref().map(|m| m.id),
                response_message_loading: (kind == 5).then_some(true),
                response_message_ephemeral: matches!(kind, 4 | 5).then_some(ephemeral),
            },
            resource: Some(wire::InteractionCallbackResource { kind, message }),
        }))
    }

    /// The checks of an UPDATE_MESSAGE's data (the edit's own, made before the interaction
    /// is acknowledged): content length, embeds, components. Errors: 400 50035.
    fn check_update(&self, e: &wire::EditWebhookMessageBody) -> Result<()> {
        let mut errs = FieldErrors::new();
        let max = self.config.limits.max_message_length;
        if let Some(Some(c)) = &e.content
            && c.chars().count() > max
        {
            errs.add(
                "data.content",
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {max} or fewer in length."),
            );
        }
        if let Some(Some(em)) = &e.embeds {
            super::messages::validate_embeds(
                em,
                self.config.limits.max_embeds,
                "data.embeds",
                &mut errs,
            );
        }
        if let Some(Some(c)) = &e.components {
            super::components::check_message_components(c, "data.components", true, &mut errs);
        }
        if let Some(Some(refs)) = &e.attachments {
            super::webhook_exec::no_two_step_uploads(refs, "data.attachments", &mut errs);
        }
        errs.into_result()
    }

    /// `POST /webhooks/{app}/{token}` for an interaction: a follow-up message (ephemeral
    /// with flag 64). Directly after DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE (5), while the
    /// response has no message yet, it is the response instead (Discord "Create Followup
    /// Message": it functions as Edit Original Interaction Response; the deferral's
    /// ephemeral flag is kept, the body's ignored), as discord.py's `defer()` +
    /// `followup.send()` expect. Errors: 400 50035, 400 50006; 400 40060 when a concurrent
    /// edit of `@original` made the response.
    pub(super) async fn interaction_followup(
        &self,
        i: &InteractionRow,
        app: &ApplicationRow,
        body: &wire::ExecuteWebhookBody,
        files: &[Upload],
    ) -> Result<wire::Message> {
        // Directly after a deferral, without a message yet: the response, with the
        // deferral's ephemeral flag (a concurrent edit of `@original` makes one of them 40060).
        let as_response = i.response_type == Some(5) && i.original_id.is_none();
        let ephemeral = if as_response {
            i.ephemeral != 0
        } else {
            body.flags.unwrap_or(0) & EPHEMERAL != 0
        };
        let ca = self.interaction_access(i, app).await?;
        let c = self
            .compose_token_message(&ca, app.bot_user_id, body, FieldErrors::new(), true, files)
            .await?;
        self.interaction_message(i, app, &ca, c, ephemeral, as_response)
            .await
    }

    /// A message of interaction `i` named by a route (`@original` or an id). Errors: 404
    /// 10008.
    async fn find_interaction_message(&self, i: &InteractionRow, message: &str) -> Result<Found> {
        // After DEFERRED_UPDATE_MESSAGE (6) or UPDATE_MESSAGE (7), `@original` is the
        // component's message (the application's own).
        if message == "@original"
            && matches!(i.response_type, Some(6 | 7))
            && let Some(mid) = i.message_id
        {
            if let Some(m) = self.db.message(i.channel_id, mid).await? {
                return Ok(Found::Stored(Box::new(m)));
            }
            // An ephemeral message the invoker was shown: theirs only, while the interaction
            // that made it lives.
            let (eid, json) = self
                .db
                .ephemeral_of_user(mid, i.user_id, i.channel_id, i.application_id, now_ms())
                .await?
                .ok_or(Error::Unknown(Unknown::Message))?;
            return Ok(Found::Ephemeral(
                eid,
                Box::new(serde_json::from_str(&json).map_err(Error::internal)?),
            ));
        }
        let id = if message == "@original" {
            i.original_id
        } else {
            message.parse::<i64>().ok()
        }
        .ok_or(Error::Unknown(Unknown::Message))?;
        if let Some(json) = self.db.ephemeral(i.id, id).await? {
            return Ok(Found::Ephemeral(
                i.id,
                Box::new(serde_json::from_str(&json).map_err(Error::internal)?),
            ));
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
            Found::Ephemeral(_, m) => Ok(*m),
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
        files: &[Upload],
    ) -> Result<wire::Message> {
        if message == "@original" && i.original_id.is_none() && i.response_type == Some(5) {
            let ca = self.interaction_access(i, app).await?;
            let exec = wire::ExecuteWebhookBody {
                content: body.content.flatten(),
                embeds: body.embeds.flatten(),
                allowed_mentions: body.allowed_mentions,
                components: body.components.flatten(),
                attachments: body.attachments.flatten(),
                ..Default::default()
            };
            let c = self
                .compose_token_message(&ca, app.bot_user_id, &exec, FieldErrors::new(), true, files)
                .await?;
            return self
                .interaction_message(i, app, &ca, c, i.ephemeral != 0, true)
                .await;
        }
        match self.find_interaction_message(i, message).await? {
            Found::Stored(m) => {
                let ca = self.interaction_access(i, app).await?;
                self.edit_token_message(&ca, *m, body, app.bot_user_id, true, files)
                    .await
            }
            Found::Ephemeral(owner, mut m) => {
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
                if let Some(c) = body.components {
                    let c = c.unwrap_or_default();
                    super::components::check_message_components(&c, "components", true, &mut errs);
                    m.components = super::components::with_ids(&c);
                }
                errs.into_result()?;
                let added =
                    self.edit_ephemeral_files(i, &mut m, body.attachments.as_ref(), files)?;
                if m.content.trim().is_empty()
                    && m.embeds.is_empty()
                    && m.components.is_empty()
                    && m.attachments.is_empty()
                {
                    return Err(Error::Rule(Rule::EmptyMessage));
                }
                m.edited_timestamp = Some(wire::iso(now_ms()));
                let json = serde_json::to_string(&m).map_err(Error::internal)?;
                if !self
                    .db
                    .update_ephemeral(owner, m.id.db(), &json, &added)
                    .await?
                {
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
            Found::Ephemeral(owner, m) => {
                if !self.db.delete_ephemeral(owner, m.id.db()).await? {
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
