//! Refusals of the poll routes and of Auto Moderation (Discord "Topics > Opcodes and Status
//! Codes > JSON Error Codes": 520000, 520001, 520003, 520006; 200000), kept beside [`super::Rule`] as one of its
//! variants ([`super::Rule::Refused`]).

use axum::http::StatusCode;

/// A refusal with Discord's code; [`Refusal::status_code_message`] is exhaustive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 403 / 520000: applications (bots) may not vote ("Apps are not allowed to vote").
    PollVotingBlocked,
    /// 400 / 520001: the poll ended (vote, expire).
    PollExpired,
    /// 400 / 520003: an edit that would change a message's poll.
    PollEdit,
    /// 400 / 520006: the poll routes on a message without a poll.
    NotPoll,
    /// 400 / 200000: an Auto Moderation rule blocked the message.
    AutomodBlocked,
}

impl Refusal {
    /// HTTP status, Discord's code and message.
    pub(super) fn status_code_message(self) -> (StatusCode, u32, &'static str) {
        use StatusCode as S;
        match self {
            Refusal::PollVotingBlocked => (S::FORBIDDEN, 520000, "Poll voting blocked"),
            Refusal::PollExpired => (S::BAD_REQUEST, 520001, "Poll expired"),
            Refusal::PollEdit => (S::BAD_REQUEST, 520003, "Cannot edit a poll message"),
            Refusal::NotPoll => (S::BAD_REQUEST, 520006, "Cannot expire a non-poll message"),
            Refusal::AutomodBlocked => (
                S::BAD_REQUEST,
                200000,
                "Message was blocked by automatic moderation",
            ),
        }
    }
}
