//! Polls (Discord "Resources > Poll"): the poll object of a message, the poll create
//! request of a message send, the vote body of the client route, the voters page and the
//! `MESSAGE_POLL_VOTE_ADD`/`MESSAGE_POLL_VOTE_REMOVE` dispatch payload.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::Ids;
use crate::{Emoji, Snowflake, User};

/// Poll Media Object: `text` (question up to 300 characters, answer up to 55) and, on
/// answers only, an optional partial `emoji` (Unicode `name`, or a custom emoji's `id`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Ids, utoipa::ToSchema)]
pub struct PollMedia {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji: Option<Emoji>,
}

/// Poll Answer Object: `answer_id` 1..N in the order of the request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Ids, utoipa::ToSchema)]
pub struct PollAnswer {
    #[ids(skip = "a position in the poll (1..10), not a snowflake")]
    pub answer_id: u8,
    pub poll_media: PollMedia,
}

/// Poll Answer Count Object: votes of one answer; `me_voted` is the viewer's.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Ids, utoipa::ToSchema)]
pub struct PollAnswerCount {
    #[ids(skip = "an answer_id, not a snowflake")]
    pub id: u8,
    pub count: i64,
    pub me_voted: bool,
}

/// Poll Results Object: `is_finalized` once the poll ended and its votes were counted;
/// answers without votes are absent from `answer_counts`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Ids, utoipa::ToSchema)]
pub struct PollResults {
    pub is_finalized: bool,
    pub answer_counts: Vec<PollAnswerCount>,
}

/// Poll Object: `expiry` an ISO 8601 time, `layout_type` 1 (DEFAULT).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Ids, utoipa::ToSchema)]
pub struct Poll {
    pub question: PollMedia,
    pub answers: Vec<PollAnswer>,
    pub expiry: Option<String>,
    pub allow_multiselect: bool,
    pub layout_type: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<PollResults>,
}

/// Poll Create Request Object (the `poll` of a message send). Fields are kept loose
/// (`Value`) where Discord's types may be wrong in a request, so that the service answers
/// 50035 at the field's path instead of a parse error of the whole body.
#[derive(Debug, Clone, Serialize, Deserialize, Default, utoipa::ToSchema)]
pub struct PollCreate {
    #[serde(default)]
    #[schema(value_type = Object)]
    pub question: Option<Value>,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub answers: Option<Value>,
    /// Hours, 1..768 (32 days); 24 when absent.
    #[serde(default)]
    pub duration: Option<i64>,
    #[serde(default)]
    pub allow_multiselect: Option<bool>,
    /// 1 (DEFAULT) only.
    #[serde(default)]
    pub layout_type: Option<i64>,
}

/// `PUT /channels/{id}/polls/{message_id}/answers/@me` (Discord's client route): the
/// caller's whole choice; an empty list removes the caller's votes.
#[derive(Debug, Clone, Serialize, Deserialize, Default, utoipa::ToSchema)]
pub struct PollVoteBody {
    #[serde(default)]
    pub answer_ids: Vec<Value>,
}

/// `GET /channels/{id}/polls/{message_id}/answers/{answer_id}` ("Get Answer Voters").
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PollVoters {
    pub users: Vec<User>,
}

/// `MESSAGE_POLL_VOTE_ADD` and `MESSAGE_POLL_VOTE_REMOVE` (Discord "Gateway Events >
/// Message Poll Vote Add"): one answer of one voter; logged by a federated guild's host.
#[derive(Debug, Clone, Serialize, Deserialize, Ids, utoipa::ToSchema)]
pub struct PollVote {
    pub user_id: Snowflake,
    pub channel_id: Snowflake,
    pub message_id: Snowflake,
    /// Absent in DMs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guild_id: Option<Snowflake>,
    #[ids(skip = "an answer_id, not a snowflake")]
    pub answer_id: u8,
}
