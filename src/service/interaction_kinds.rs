//! Interactions of message components and modals a user's client posts to `POST
//! /interactions` (Discord "Interactions > Receiving and Responding > Interaction Object >
//! Interaction Type": 3 MESSAGE_COMPONENT, 5 MODAL_SUBMIT; "Components > Using Message
//! Components"). The common checks (application, channel the user sees, guild, nonce) are
//! [`Hearth::interaction_context`]'s; the delivery [`Hearth::deliver_interaction`]'s.
//!
//! MESSAGE_COMPONENT: `message_id`, `data.custom_id` and `data.component_type` required (400
//! 50035); the message exists in the channel (404 10008) and was sent by the application's
//! bot (its own messages and its interactions' responses and follow-ups; 400 50035 on
//! `message_id` otherwise), or is an ephemeral message of one of the application's live
//! interactions shown to this user in this channel (anyone else: 404 10008; callback 7
//! then edits it for that user only); the message has a component with that `custom_id` (400 50035
//! COMPONENT_UNKNOWN on `data.custom_id`), of that type (on `data.component_type`), not
//! disabled (COMPONENT_DISABLED). A button takes no `values`; a select takes between its
//! `min_values` and `max_values` (default 1) distinct values (on `data.values`): for a
//! string select values of its options, for user, role, mentionable and channel selects
//! ids of the guild's users, roles or channels the user sees (of the select's
//! `channel_types`), resolved into `data.resolved` as command options are. The bot
//! receives `data` {custom_id, component_type, values, resolved} and `message` (the
//! component's message).
//!
//! MODAL_SUBMIT: `data.id` names the interaction whose callback 9 opened the modal: the
//! user's, of that application, in that channel, answered with a modal and not expired (404
//! 10062 otherwise); `data.custom_id` is the modal's (400 50035); `data.components` are
//! checked against the modal ([`super::components::check_modal_submit`]) and carry the
//! modal's component `id`s (chosen, or counted from 1 as in a message). A modal opened
//! from a component keeps that component's message (`message`, and callbacks 6 and 7).

use super::components::{self as comps, STRING_SELECT};
use super::interaction_options::OptionRef;
use super::interactions::{InteractionContext, NewInteraction};
use super::{Actor, Hearth};
use crate::error::{Error, FieldErrors, Result, Unknown, field_error};
use crate::snowflake::Snowflake;
use crate::storage::now_ms;
use crate::wire::{self, ApplicationCommandOptionType as O, InteractionType};

impl Hearth {
    /// `POST /interactions` with type 3 MESSAGE_COMPONENT: see the module docs. 204.
    pub(super) async fn component_interaction(
        self: &std::sync::Arc<Self>,
        actor: &Actor,
        body: wire::InteractionRequest,
    ) -> Result<()> {
        let cx: InteractionContext = self.interaction_context(actor, body).await?;
        let data = &cx.data;
        let mut errs = FieldErrors::new();
        if cx.message_id.is_none() {
            errs.add("message_id", "BASE_TYPE_REQUIRED", "This field is required");
        }
        if data.custom_id.is_none() {
            errs.add(
                "data.custom_id",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            );
        }
        if data.component_type.is_none() {
            errs.add(
                "data.component_type",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            );
        }
        errs.into_result()?;
        let (Some(message_id), Some(custom_id), Some(component_type)) =
            (cx.message_id, data.custom_id.clone(), data.component_type)
        else {
            return Err(Error::internal("checked above"));
        };
        // The message: one of the channel's, or an ephemeral one this user was shown by an
        // interaction of this application in this channel (while its token lives).
        let (list, message) = match self.db.message(cx.ca.channel.id, message_id.db()).await? {
            Some(m) => {
                if m.author_id != cx.app.bot_user_id {
                    return Err(field_error(
                        "message_id",
                        "INTERACTION_MESSAGE_NOT_APPLICATION",
                        "The message was not sent by this application.",
                    ));
                }
                let list = comps::components_of(m.components.as_deref());
                (list, self.render_one(&m, cx.app.bot_user_id).await?)
            }
            None => {
                let (_, json) = self
                    .db
                    .ephemeral_of_user(
                        message_id.db(),
                        actor.user.id,
                        cx.ca.channel.id,
                        cx.app.id,
                        now_ms(),
                    )
                    .await?
                    .ok_or(Error::Unknown(Unknown::Message))?;
                let m: wire::Message = serde_json::from_str(&json).map_err(Error::internal)?;
                (m.components.clone(), m)
            }
        };
        let Some(c) = comps::find(&list, &custom_id) else {
            return Err(field_error(
                "data.custom_id",
                "COMPONENT_UNKNOWN",
                "The message has no component with this custom id.",
            ));
        };
        if c.kind != component_type {
            return Err(field_error(
                "data.component_type",
                "COMPONENT_TYPE_MISMATCH",
                format!("The component has type {}.", c.kind),
            ));
        }
        if c.disabled == Some(true) {
            return Err(field_error(
                "data.custom_id",
                "COMPONENT_DISABLED",
                "The component is disabled.",
            ));
        }
        let mut resolved = None;
        let values = if comps::is_select(c.kind) {
            let values = data.values.clone().unwrap_or_default();
            let (min, max) = (c.min_values.unwrap_or(1), c.max_values.unwrap_or(1));
            let n = values.len() as i64;
            if n < min || n > max {
                return Err(field_error(
                    "data.values",
                    "BASE_TYPE_BAD_LENGTH",
                    format!("Must be between {min} and {max} in length."),
                ));
            }
            let mut errs = FieldErrors::new();
            let mut refs = Vec::new();
            for (k, v) in values.iter().enumerate() {
                let p = format!("data.values.{k}");
                if values[..k].contains(v) {
                    errs.add(
                        &p,
                        "SELECT_VALUE_DUPLICATED",
                        "Values cannot be duplicated.",
                    );
                    continue;
                }
                if c.kind == STRING_SELECT {
                    if !c.options.iter().flatten().any(|o| &o.value == v) {
                        errs.add(
                            &p,
                            "SELECT_VALUE_INVALID",
                            "The value is not one of the select's options.",
                        );
                    }
                    continue;
                }
                let Ok(id) = v.parse::<u64>() else {
                    errs.add(&p, "SELECT_VALUE_INVALID", "Must be a snowflake.");
                    continue;
                };
                refs.push(OptionRef {
                    kind: match c.kind {
                        comps::USER_SELECT => O::User,
                        comps::ROLE_SELECT => O::Role,
                        comps::MENTIONABLE_SELECT => O::Mentionable,
                        _ => O::Channel,
                    },
                    id: Snowflake(id),
                    channel_types: c.channel_types.clone(),
                    path: p,
                });
            }
            errs.into_result()?;
            if !refs.is_empty() {
                let r = self.resolve(actor, &cx.ca, &refs).await?;
                // A role select takes roles only; a user select users only.
                let wrong = refs.iter().find(|r0| {
                    let key = r0.id.to_string();
                    match r0.kind {
                        O::Role => !r.roles.contains_key(&key),
                        O::User => !r.users.contains_key(&key),
                        _ => false,
                    }
                });
                if let Some(w) = wrong {
                    return Err(field_error(
                        &w.path,
                        "SELECT_VALUE_INVALID",
                        "The value is not of the select's kind.",
                    ));
                }
                resolved = Some(r);
            }
            Some(values)
        } else {
            if data.values.as_ref().is_some_and(|v| !v.is_empty()) {
                return Err(field_error(
                    "data.values",
                    "COMPONENT_VALUES_NOT_ALLOWED",
                    "A button takes no values.",
                ));
            }
            None
        };
        let data = wire::InteractionData::Component(wire::MessageComponentData {
            custom_id: custom_id.clone(),
            component_type,
            values,
            resolved,
        });
        self.deliver_interaction(
            actor,
            &cx,
            NewInteraction {
                kind: InteractionType::MessageComponent,
                command_type: 0,
                name: custom_id,
                data,
                message_id: Some(message.id.db()),
                message: Some(message),
                parent_id: None,
            },
        )
        .await
    }

    /// `POST /interactions` with type 5 MODAL_SUBMIT: see the module docs. 204.
    pub(super) async fn modal_submit_interaction(
        self: &std::sync::Arc<Self>,
        actor: &Actor,
        body: wire::InteractionRequest,
    ) -> Result<()> {
        let cx: InteractionContext = self.interaction_context(actor, body).await?;
        let data = &cx.data;
        let Some(opened_by) = data.id else {
            return Err(field_error(
                "data.id",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            ));
        };
        let parent = self
            .db
            .interaction(opened_by.db())
            .await?
            .filter(|p| {
                p.user_id == actor.user.id
                    && p.application_id == cx.app.id
                    && p.channel_id == cx.ca.channel.id
                    && p.response_type == Some(9)
                    && p.expires_at >= now_ms()
            })
            .ok_or(Error::Unknown(Unknown::Interaction))?;
        let modal: wire::ModalCallbackData = parent
            .modal
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok())
            .ok_or(Error::Unknown(Unknown::Interaction))?;
        let custom_id = modal.custom_id.clone().unwrap_or_default();
        if data.custom_id.as_deref() != Some(custom_id.as_str()) {
            return Err(field_error(
                "data.custom_id",
                "MODAL_SUBMIT_CUSTOM_ID",
                "The custom id is not the modal's.",
            ));
        }
        let mut errs = FieldErrors::new();
        let rows = modal.components.as_deref().unwrap_or(&[]);
        let mut components =
            comps::check_modal_submit(rows, data.components.as_deref().unwrap_or(&[]), &mut errs);
        errs.into_result()?;
        submit_ids(rows, &mut components);
        let message = match parent.message_id {
            Some(mid) => match self.db.message(parent.channel_id, mid).await? {
                Some(m) => Some(self.render_one(&m, cx.app.bot_user_id).await?),
                None => None,
            },
            None => None,
        };
        let data = wire::InteractionData::ModalSubmit(wire::ModalSubmitData {
            custom_id: custom_id.clone(),
            components,
        });
        self.deliver_interaction(
            actor,
            &cx,
            NewInteraction {
                kind: InteractionType::ModalSubmit,
                command_type: 0,
                name: custom_id,
                data,
                message_id: message.as_ref().map(|m| m.id.db()),
                message,
                parent_id: Some(parent.id),
            },
        )
        .await
    }
}

/// Gives the rows and text inputs of a MODAL_SUBMIT the modal's component `id`s (Discord
/// sends them; hikari reads `id` of each): the ones the application chose, the others
/// counted from 1 as in a message ([`comps::stored_components`]). `submitted` holds one
/// row per text input, in the modal's order ([`comps::check_modal_submit`]).
fn submit_ids(modal: &[wire::Component], submitted: &mut [wire::Component]) {
    let numbered = comps::components_of(comps::stored_components(modal).as_deref());
    let inputs = numbered
        .iter()
        .flat_map(|r| r.components.iter().flatten().map(move |c| (r.id, c.id)));
    for (row, (row_id, input_id)) in submitted.iter_mut().zip(inputs) {
        row.id = row_id;
        for c in row.components.iter_mut().flatten() {
            c.id = input_id;
        }
    }
}
