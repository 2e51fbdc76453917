//! Running a relayed action on the host (spec/federation.md §6.6, §8.6): each op of the
//! table of §8.6 becomes the ordinary service call a local user's request makes, with the
//! sender's member here as the actor, so the same rules and permissions apply.

use std::sync::Arc;

use serde_json::Value;

use crate::error::Error;
use crate::service::{Actor, Hearth};
use crate::snowflake::Snowflake;
use crate::wire;

/// What a relayed action made, in this host's ids: the message of `message_create` and
/// `message_edit`, the thread of `thread_start` and `thread_update`.
#[derive(Default)]
pub(super) struct Executed {
    pub(super) message: Option<wire::Message>,
    pub(super) channel: Option<Box<wire::Channel>>,
}

impl Executed {
    fn message(m: wire::Message) -> Self {
        Executed {
            message: Some(m),
            channel: None,
        }
    }
    fn channel(mut c: wire::Channel) -> Self {
        // The acting user's own thread member object is not part of the shared answer.
        c.member = None;
        Executed {
            message: None,
            channel: Some(Box::new(c)),
        }
    }
}

/// Runs one relayed action through the ordinary service layer (same rules as local users).
pub(super) async fn execute(
    h: Arc<Hearth>,
    actor: Actor,
    gid: i64,
    c: Value,
) -> crate::error::Result<Executed> {
    let sf = |v: &Value| {
        v.as_str()
            .and_then(|s| s.parse::<u64>().ok())
            .map(Snowflake)
    };
    let channel = sf(&c["channel_id"]);
    let message = sf(&c["message_id"]);
    let body = c["body"].clone();
    let need_channel = || {
        channel.ok_or_else(|| {
            crate::error::field_error("channel_id", "BASE_TYPE_REQUIRED", "This field is required")
        })
    };
    let need_message = || {
        message.ok_or_else(|| {
            crate::error::field_error("message_id", "BASE_TYPE_REQUIRED", "This field is required")
        })
    };
    let need_event = || {
        sf(&body["event_id"]).ok_or_else(|| {
            crate::error::field_error("event_id", "BASE_TYPE_REQUIRED", "This field is required")
        })
    };
    // The channel must belong to the guild the action was signed for.
    if let Some(ch) = channel {
        let row =
            h.db.channel(ch.db())
                .await?
                .ok_or(Error::Unknown(crate::error::Unknown::Channel))?;
        if row.guild_id != Some(gid) {
            return Err(Error::Unknown(crate::error::Unknown::Channel));
        }
    }
    let emoji = c["emoji"].as_str().unwrap_or_default().to_string();
    match c["op"].as_str().unwrap_or_default() {
        "message_create" => {
            let b: wire::CreateMessageBody = crate::http::parse_json(body.to_string().as_bytes())?;
            Ok(Executed::message(
                h.create_message(&actor, need_channel()?, b).await?,
            ))
        }
        "message_edit" => {
            let b: wire::EditMessageBody = crate::http::parse_json(body.to_string().as_bytes())?;
            Ok(Executed::message(
                h.edit_message(&actor, need_channel()?, need_message()?, b)
                    .await?,
            ))
        }
        "message_delete" => h
            .delete_message(&actor, need_channel()?, need_message()?, None)
            .await
            .map(|_| Executed::default()),
        "reaction_add" => h
            .add_reaction(&actor, need_channel()?, need_message()?, &emoji)
            .await
            .map(|_| Executed::default()),
        "reaction_remove" => h
            .remove_reaction(&actor, need_channel()?, need_message()?, &emoji, None)
            .await
            .map(|_| Executed::default()),
        "pin_add" => h
            .set_pin(&actor, need_channel()?, need_message()?, true, None)
            .await
            .map(|_| Executed::default()),
        "pin_remove" => h
            .set_pin(&actor, need_channel()?, need_message()?, false, None)
            .await
            .map(|_| Executed::default()),
        "typing_start" => h
            .typing(&actor, need_channel()?)
            .await
            .map(|_| Executed::default()),
        "member_leave" => h
            .leave_guild(&actor, Snowflake::from_db(gid))
            .await
            .map(|_| Executed::default()),
        "profile_update" => h
            .remote_profile_changed(&actor, gid, &body)
            .await
            .map(|_| Executed::default()),
        "thread_start" => {
            let b: wire::StartThreadBody = crate::http::parse_json(body.to_string().as_bytes())?;
            let t = match message {
                Some(m) => {
                    h.start_thread_from_message(&actor, need_channel()?, m, b, None)
                        .await?
                }
                None => {
                    h.start_thread_with(&actor, need_channel()?, b, vec![], None)
                        .await?
                }
            };
            Ok(Executed::channel(t))
        }
        "thread_update" => {
            let b: wire::ChannelBody = crate::http::parse_json(body.to_string().as_bytes())?;
            // Only a thread: other channel changes are administrative (spec §14).
            if h.db.thread(need_channel()?.db()).await?.is_none() {
                return Err(Error::Rule(crate::error::Rule::ChannelType));
            }
            Ok(Executed::channel(
                h.modify_channel(&actor, need_channel()?, b, None).await?,
            ))
        }
        "thread_member_add" => h
            .add_thread_member(&actor, need_channel()?, sf(&body["user_id"]))
            .await
            .map(|_| Executed::default()),
        "poll_vote" => {
            let b: wire::PollVoteBody = crate::http::parse_json(body.to_string().as_bytes())?;
            h.poll_vote(&actor, need_channel()?, need_message()?, b)
                .await
                .map(|_| Executed::default())
        }
        "poll_end" => Ok(Executed::message(
            h.end_poll(&actor, need_channel()?, need_message()?).await?,
        )),
        "event_interest_add" => h
            .add_scheduled_event_interest(&actor, Snowflake::from_db(gid), need_event()?)
            .await
            .map(|_| Executed::default()),
        "event_interest_remove" => h
            .remove_scheduled_event_interest(&actor, Snowflake::from_db(gid), need_event()?)
            .await
            .map(|_| Executed::default()),
        "thread_member_remove" => h
            .remove_thread_member(&actor, need_channel()?, sf(&body["user_id"]))
            .await
            .map(|_| Executed::default()),
        other => Err(crate::error::field_error(
            "op",
            "BASE_TYPE_CHOICES",
            format!("unknown action {other:?}"),
        )),
    }
}
