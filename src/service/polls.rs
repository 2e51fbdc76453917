//! Polls (issue 15; Discord "Resources > Poll"): a message's poll, votes, voters, early end
//! and the expiry job. SQL in `storage/polls.rs` (migration 0031).
//!
//! - **Create**: the `poll` of a message send (users, bots; SEND_POLLS in the channel) or of
//!   a webhook execution: question text 1-300 characters, 1-10 answers of 1-55 characters
//!   with an optional emoji (Unicode `name`, or the `id` of a custom emoji of this server),
//!   `duration` 1-768 hours (24 by default), `layout_type` 1, `allow_multiselect`. Errors
//!   are 400 50035 at `poll.*` paths. The poll is stored with its message (the same group
//!   commit); answers get `answer_id` 1..N. A poll cannot be edited (400 520003).
//! - **Vote** (`PUT .../polls/{message}/answers/@me`, Discord's client route): the caller's
//!   whole choice replaces its earlier one in one transaction while the poll is open (400
//!   520001 after its end); an empty list removes its votes. VIEW_CHANNEL and
//!   READ_MESSAGE_HISTORY; bots may not vote (403 520000). Each answer added or removed is
//!   a MESSAGE_POLL_VOTE_ADD / _REMOVE to those who see the channel (intents
//!   GUILD_MESSAGE_POLLS, DIRECT_MESSAGE_POLLS).
//! - **Voters** (`GET .../answers/{answer_id}`): `after`, `limit` 1-100 (25).
//! - **End** (`POST .../expire`): the poll's author only (403 50013); the poll is
//!   finalized at once.
//! - **Finalization**: when a poll ends, [`Hearth::run_poll_expiry`] (or the early end)
//!   closes it (`is_finalized: true`), announces MESSAGE_UPDATE and posts a POLL_RESULT
//!   message (type 46, replying to the poll, with Discord's `poll_result` embed).
//!
//! In a guild hosted on another server, sending a poll, voting and ending one's poll go to
//! the host (spec/federation.md §8.6); member servers count the votes the host logs and
//! follow its finalization (it alone runs the expiry).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::ports::{RelayAction, RelayOp};
use super::{Actor, ChannelAccess, Hearth, to_value, writer};
use crate::error::{Error, FieldErrors, Refusal, Result, Rule, Unknown, field_error};
use crate::events::{Audience, Dispatch, Event, intents};
use crate::permissions as perm;
use crate::snowflake::Snowflake;
use crate::storage::{MessageRow, PollCount, now_ms};
use crate::wire::{self, MessageType};

/// Longest question text (characters).
pub const MAX_QUESTION_CHARS: usize = 300;
/// Longest answer text (characters).
pub const MAX_ANSWER_CHARS: usize = 55;
/// Most answers of a poll.
pub const MAX_ANSWERS: usize = 10;
/// Longest poll (hours; 32 days).
pub const MAX_DURATION_HOURS: i64 = 768;
/// A poll's duration when the request names none (hours).
pub const DEFAULT_DURATION_HOURS: i64 = 24;
/// The longest the expiry task sleeps between two looks at the stored polls.
pub const POLL_CHECK_EVERY: Duration = Duration::from_secs(60);
/// Polls finalized per read of the due ones.
const DUE_BATCH: i64 = 100;
const HOUR_MS: i64 = 3_600_000;

/// A checked poll, stored with its message: the JSON of `wire::Poll` (no results) and when
/// it ends (ms).
pub(super) struct NewPoll {
    pub json: String,
    pub open_until: i64,
}

fn refused(r: Refusal) -> Error {
    Error::Rule(Rule::Refused(r))
}

/// The stored poll of a message, if it has one.
fn poll_of(m: &MessageRow) -> Option<wire::Poll> {
    m.poll.as_deref().and_then(|p| serde_json::from_str(p).ok())
}

/// A message's poll as shown before counts are added ([`Hearth::add_poll_counts`]).
pub(super) fn poll_wire(m: &MessageRow) -> Option<wire::Poll> {
    poll_of(m).map(|mut p| {
        p.results = Some(wire::PollResults {
            is_finalized: m.poll_open_until.is_none(),
            answer_counts: vec![],
        });
        p
    })
}

/// A text field of a poll: required, not blank, at most `max` characters.
fn text_of(v: Option<&Value>, path: &str, max: usize, errs: &mut FieldErrors) -> Option<String> {
    match v {
        Some(Value::String(s)) if s.trim().is_empty() => {
            errs.add(path, "BASE_TYPE_REQUIRED", "This field is required");
        }
        Some(Value::String(s)) if s.chars().count() > max => {
            errs.add(
                path,
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {max} or fewer in length."),
            );
        }
        Some(Value::String(s)) => return Some(s.clone()),
        None | Some(Value::Null) => errs.add(path, "BASE_TYPE_REQUIRED", "This field is required"),
        Some(_) => errs.add(
            path,
            "BASE_TYPE_STRING",
            "Could not interpret value as string.",
        ),
    }
    None
}

/// An answer id of a vote body (an integer or a decimal string).
fn answer_id_of(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

impl Hearth {
    /// Checks the `poll` of a send or webhook execution; errors go to `errs` at `poll.*`
    /// paths (`None` then). The expiry is counted from now.
    ///
    /// # Errors
    /// Database errors (looking up a custom emoji).
    pub(super) async fn check_poll(
        &self,
        p: &wire::PollCreate,
        errs: &mut FieldErrors,
    ) -> Result<Option<NewPoll>> {
        let before = errs.0.len();
        let question = match &p.question {
            Some(Value::Object(q)) => text_of(
                q.get("text"),
                "poll.question.text",
                MAX_QUESTION_CHARS,
                errs,
            ),
            _ => {
                errs.add(
                    "poll.question",
                    "BASE_TYPE_REQUIRED",
                    "This field is required",
                );
                None
            }
        };
        let mut answers = vec![];
        match &p.answers {
            Some(Value::Array(a)) if (1..=MAX_ANSWERS).contains(&a.len()) => {
                for (i, ans) in a.iter().enumerate() {
                    let path = format!("poll.answers.{i}.poll_media");
                    let Some(media) = ans.get("poll_media").and_then(Value::as_object) else {
                        errs.add(path, "BASE_TYPE_REQUIRED", "This field is required");
                        continue;
                    };
                    let text = text_of(
                        media.get("text"),
                        &format!("{path}.text"),
                        MAX_ANSWER_CHARS,
                        errs,
                    );
                    let emoji = match media.get("emoji") {
                        None | Some(Value::Null) => None,
                        Some(e) => self.poll_emoji(e, &format!("{path}.emoji"), errs).await?,
                    };
                    answers.push(wire::PollAnswer {
                        answer_id: (i + 1) as u8,
                        poll_media: wire::PollMedia { text, emoji },
                    });
                }
            }
            Some(Value::Array(_)) => errs.add(
                "poll.answers",
                "BASE_TYPE_BAD_LENGTH",
                format!("Must be between 1 and {MAX_ANSWERS} in length."),
            ),
            _ => errs.add(
                "poll.answers",
                "BASE_TYPE_REQUIRED",
                "This field is required",
            ),
        }
        let hours = p.duration.unwrap_or(DEFAULT_DURATION_HOURS);
        if !(1..=MAX_DURATION_HOURS).contains(&hours) {
            errs.add(
                "poll.duration",
                "NUMBER_TYPE_MAX",
                format!("int value should be between 1 and {MAX_DURATION_HOURS}."),
            );
        }
        if p.layout_type.is_some_and(|l| l != 1) {
            errs.add(
                "poll.layout_type",
                "BASE_TYPE_CHOICES",
                "Value must be one of {1}.",
            );
        }
        let Some(question) = question.filter(|_| errs.0.len() == before) else {
            return Ok(None);
        };
        let open_until = now_ms() + hours * HOUR_MS;
        let poll = wire::Poll {
            question: wire::PollMedia {
                text: Some(question),
                emoji: None,
            },
            answers,
            expiry: Some(wire::iso(open_until)),
            allow_multiselect: p.allow_multiselect.unwrap_or(false),
            layout_type: 1,
            results: None,
        };
        Ok(Some(NewPoll {
            json: serde_json::to_string(&poll).map_err(Error::internal)?,
            open_until,
        }))
    }

    /// An answer's emoji: a custom emoji of this server by `id`, or a Unicode emoji `name`.
    async fn poll_emoji(
        &self,
        e: &Value,
        path: &str,
        errs: &mut FieldErrors,
    ) -> Result<Option<wire::Emoji>> {
        if let Some(id) = e.get("id").filter(|v| !v.is_null()) {
            let row = match answer_id_of(id).filter(|i| *i > 0) {
                Some(i) => self.db.emoji_by_id(i).await?,
                None => None,
            };
            return Ok(match row {
                Some(r) => Some(wire::Emoji {
                    id: Some(Snowflake::from_db(r.id)),
                    name: Some(r.name),
                    animated: r.animated,
                }),
                None => {
                    errs.add(format!("{path}.id"), "POLL_EMOJI_UNKNOWN", "Unknown emoji");
                    None
                }
            });
        }
        let name = e.get("name").and_then(Value::as_str).unwrap_or_default();
        Ok(match super::messages::parse_emoji(name) {
            Ok((_, w)) => Some(w),
            Err(_) => {
                errs.add(
                    format!("{path}.name"),
                    "POLL_EMOJI_INVALID",
                    "Invalid emoji",
                );
                None
            }
        })
    }

    /// Fills `answer_counts` of the polls among `out` (rendered from `rows`, in order) as
    /// `viewer` sees them: one query for the page.
    pub(super) async fn add_poll_counts(
        &self,
        rows: &[MessageRow],
        out: &mut [wire::Message],
        viewer: i64,
    ) -> Result<()> {
        let ids: Vec<i64> = rows
            .iter()
            .filter(|m| m.poll.is_some())
            .map(|m| m.id)
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let mut counts: HashMap<i64, Vec<PollCount>> = HashMap::new();
        for c in self.db.poll_counts(&ids, viewer).await? {
            counts.entry(c.message_id).or_default().push(c);
        }
        for w in out.iter_mut() {
            if let Some(r) = w.poll.as_mut().and_then(|p| p.results.as_mut()) {
                r.answer_counts = counts
                    .remove(&w.id.db())
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| wire::PollAnswerCount {
                        id: c.answer_id as u8,
                        count: c.count,
                        me_voted: c.me > 0,
                    })
                    .collect();
            }
        }
        Ok(())
    }

    /// The poll message `message_id` of a channel the caller reads (VIEW_CHANNEL and
    /// READ_MESSAGE_HISTORY), with its poll. Errors: 403 50001/50013, 404 10008, 400 520006.
    async fn poll_message(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        message_id: Snowflake,
    ) -> Result<(ChannelAccess, MessageRow, wire::Poll)> {
        let ca = self.channel_access(actor, channel_id).await?;
        ca.require(perm::READ_MESSAGE_HISTORY)?;
        let m = self.message_in(&ca, message_id).await?;
        let poll = poll_of(&m).ok_or(refused(Refusal::NotPoll))?;
        Ok((ca, m, poll))
    }

    /// `PUT /channels/{id}/polls/{message_id}/answers/@me` (see the module docs).
    ///
    /// # Errors
    /// 403 520000 for bots; 400 50035 at `answer_ids.N` for an id that is no answer, at
    /// `answer_ids` for several answers of a single-choice poll; 400 520001 once the poll
    /// ended; those of the poll message's lookup.
    pub async fn poll_vote(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        message_id: Snowflake,
        body: wire::PollVoteBody,
    ) -> Result<()> {
        let (ca, m, poll) = self.poll_message(actor, channel_id, message_id).await?;
        if actor.is_bot() {
            return Err(refused(Refusal::PollVotingBlocked));
        }
        if let Some(rg) = self.replica_of(&ca).await? {
            let body = serde_json::to_value(&body).map_err(Error::internal)?;
            let action = RelayAction::new(RelayOp::PollVote)
                .channel(ca.channel.id)
                .message(m.id)
                .body(body);
            self.host.relay(self, actor, &rg, action).await?;
            return Ok(());
        }
        let mut errs = FieldErrors::new();
        let mut ids: Vec<i64> = vec![];
        for (i, v) in body.answer_ids.iter().enumerate() {
            let known = answer_id_of(v)
                .filter(|a| poll.answers.iter().any(|x| i64::from(x.answer_id) == *a));
            match known {
                Some(a) if !ids.contains(&a) => ids.push(a),
                Some(_) => {}
                None => errs.add(
                    format!("answer_ids.{i}"),
                    "POLL_ANSWER_INVALID",
                    "Unknown answer id.",
                ),
            }
        }
        if !poll.allow_multiselect && ids.len() > 1 {
            errs.add(
                "answer_ids",
                "BASE_TYPE_MAX_LENGTH",
                "Must be 1 or fewer in length.",
            );
        }
        errs.into_result()?;
        let change = self
            .db
            .set_poll_votes(m.id, actor.user.id, &ids, now_ms())
            .await?
            .ok_or(refused(Refusal::PollExpired))?;
        let (audience, guild) = Self::message_audience(&ca);
        let votes = [
            (Event::MessagePollVoteRemove, change.removed),
            (Event::MessagePollVoteAdd, change.added),
        ];
        for (event, answers) in votes {
            for a in answers {
                self.publish(Self::event_of(
                    event,
                    audience.clone(),
                    if guild {
                        intents::GUILD_MESSAGE_POLLS
                    } else {
                        intents::DIRECT_MESSAGE_POLLS
                    },
                    to_value(&wire::PollVote {
                        user_id: actor.id(),
                        channel_id,
                        message_id,
                        guild_id: ca.guild_id(),
                        answer_id: a as u8,
                    }),
                ));
            }
        }
        Ok(())
    }

    /// `GET /channels/{id}/polls/{message_id}/answers/{answer_id}` ("Get Answer Voters"):
    /// users ascending by id after `after`, `limit` 1-100 (25).
    ///
    /// # Errors
    /// 400 50035 at `answer_id` or `limit`; those of the poll message's lookup.
    pub async fn poll_voters(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        message_id: Snowflake,
        answer_id: &str,
        after: Option<Snowflake>,
        limit: Option<i64>,
    ) -> Result<wire::PollVoters> {
        let (_, m, poll) = self.poll_message(actor, channel_id, message_id).await?;
        let answer = answer_id
            .parse::<i64>()
            .ok()
            .filter(|a| poll.answers.iter().any(|x| i64::from(x.answer_id) == *a))
            .ok_or_else(|| field_error("answer_id", "POLL_ANSWER_INVALID", "Unknown answer id."))?;
        let limit = limit.unwrap_or(25);
        if !(1..=100).contains(&limit) {
            return Err(field_error(
                "limit",
                "NUMBER_TYPE_MAX",
                "int value should be between 1 and 100.",
            ));
        }
        let ids = self
            .db
            .poll_voters(m.id, answer, after.map_or(0, |a| a.db()), limit)
            .await?;
        let users = self.db.users_by_id(&ids).await?;
        Ok(wire::PollVoters {
            users: ids
                .iter()
                .filter_map(|i| users.get(i))
                .map(|u| self.user_wire(u, false))
                .collect(),
        })
    }

    /// `POST /channels/{id}/polls/{message_id}/expire` ("End Poll"): the poll's author ends
    /// it now; the finalized message as the caller sees it.
    ///
    /// # Errors
    /// 403 50013 for anyone but the author; 400 520001 when it ended already; those of the
    /// poll message's lookup.
    pub async fn end_poll(
        &self,
        actor: &Actor,
        channel_id: Snowflake,
        message_id: Snowflake,
    ) -> Result<wire::Message> {
        let (ca, m, mut poll) = self.poll_message(actor, channel_id, message_id).await?;
        if m.author_id != actor.user.id || m.webhook_id.is_some() {
            return Err(Error::MissingPermissions);
        }
        if let Some(rg) = self.replica_of(&ca).await? {
            let action = RelayAction::new(RelayOp::PollEnd)
                .channel(ca.channel.id)
                .message(m.id);
            let r = self.host.relay(self, actor, &rg, action).await?;
            return self.replicated_message(&ca, r.message, actor).await;
        }
        let now = now_ms();
        poll.expiry = Some(wire::iso(now));
        let json = serde_json::to_string(&poll).map_err(Error::internal)?;
        if !self.db.close_poll(m.id, &json, now).await? {
            return Err(refused(Refusal::PollExpired));
        }
        // Finalized here, or by the expiry task if it came first; shown as stored.
        let row = self.db.message(m.channel_id, m.id).await?;
        self.finalize_poll(row.ok_or(Error::Unknown(Unknown::Message))?)
            .await?;
        let row = self.db.message(m.channel_id, m.id).await?;
        self.render_one(&row.ok_or(Error::Unknown(Unknown::Message))?, actor.user.id)
            .await
    }

    /// The poll expiry task (spawned by the composition root): finalizes the polls that
    /// ended ([`Self::finalize_due_polls`]), then sleeps until the next end, at most
    /// [`POLL_CHECK_EVERY`]. A failure is logged and retried at the next round.
    pub async fn run_poll_expiry(self: Arc<Self>) {
        loop {
            if let Err(e) = self.finalize_due_polls(now_ms()).await {
                tracing::warn!(error = %e, "poll finalization failed; retried later");
            }
            let wait = match self.db.next_poll_end().await {
                Ok(Some(t)) => Duration::from_millis((t - now_ms()).clamp(100, 60_000) as u64),
                _ => POLL_CHECK_EVERY,
            };
            tokio::time::sleep(wait.min(POLL_CHECK_EVERY)).await;
        }
    }

    /// Finalizes every open poll that ended at or before `now` (ms): how many it finalized.
    /// Each is counted as a run of the job `poll_expiry` in `/metrics`.
    ///
    /// # Errors
    /// The first database error (the polls not reached stay open until the next round).
    pub async fn finalize_due_polls(&self, now: i64) -> Result<usize> {
        let mut done = 0;
        loop {
            let due = self.db.due_polls(now, DUE_BATCH).await?;
            let full = due.len() as i64 == DUE_BATCH;
            for (id, channel) in due {
                let r = match self.db.message(channel, id).await {
                    Ok(Some(m)) => self.finalize_poll(m).await,
                    Ok(None) => Ok(None),
                    Err(e) => Err(e),
                };
                self.jobs.record("poll_expiry", r.is_ok());
                if r?.is_some() {
                    done += 1;
                }
            }
            if !full {
                return Ok(done);
            }
        }
    }

    /// Finalizes the open poll of `m`: stored closed with the MESSAGE_UPDATE's log entry in
    /// one transaction, MESSAGE_UPDATE published, then the POLL_RESULT message posted. The
    /// finalized row; `None` when another finalization came first.
    async fn finalize_poll(&self, mut m: MessageRow) -> Result<Option<MessageRow>> {
        m.poll_open_until = None;
        let poll = poll_of(&m);
        let (audience, guild) = self.audience_of(&m).await?;
        let w = self.render_one(&m, 0).await?;
        let mut d = Self::event_of(
            Event::MessageUpdate,
            audience.clone(),
            if guild {
                intents::GUILD_MESSAGES
            } else {
                intents::DIRECT_MESSAGES
            },
            self.message_event(&m, &w).await?,
        );
        d.has_content = true;
        let written = self
            .db
            .finalize_poll(
                m.id,
                m.poll.as_deref().unwrap_or_default(),
                writer::outbox_item(&d),
            )
            .await?;
        if !written.changed {
            return Ok(None);
        }
        d.logged = written.logged;
        self.publish(d);
        if let (Some(poll), Some(results)) = (poll, w.poll.and_then(|p| p.results))
            && let Err(e) = self
                .post_poll_result(&m, &poll, &results, audience, guild)
                .await
        {
            tracing::warn!(message = m.id, error = %e, "cannot post a poll's result");
        }
        Ok(Some(m))
    }

    /// Who sees message `m`'s events: its guild channel's viewers, or the DM's two users;
    /// and whether it is a guild's.
    async fn audience_of(&self, m: &MessageRow) -> Result<(Audience, bool)> {
        let channel = Snowflake::from_db(m.channel_id);
        Ok(match m.guild_id {
            Some(g) => (
                Audience::Guild {
                    guild_id: Snowflake::from_db(g),
                    channel: Some(channel),
                },
                true,
            ),
            None => {
                let users = self.db.private_recipients(m.channel_id).await?;
                (
                    Audience::Users(users.into_iter().map(Snowflake::from_db).collect()),
                    false,
                )
            }
        })
    }

    /// Posts the POLL_RESULT message (type 46) of the finalized poll `m`: by the poll's
    /// author, replying to it, with Discord's `poll_result` embed (question, total votes,
    /// the winning answer's votes, and the winner's id, text and emoji when one answer has
    /// the most votes alone).
    async fn post_poll_result(
        &self,
        m: &MessageRow,
        poll: &wire::Poll,
        results: &wire::PollResults,
        audience: Audience,
        guild: bool,
    ) -> Result<()> {
        let total: i64 = results.answer_counts.iter().map(|c| c.count).sum();
        let top = results
            .answer_counts
            .iter()
            .map(|c| c.count)
            .max()
            .unwrap_or(0);
        let field =
            |name: &str, value: String| json!({"name": name, "value": value, "inline": false});
        let mut fields = vec![
            field(
                "poll_question_text",
                poll.question.text.clone().unwrap_or_default(),
            ),
            field("victor_answer_votes", top.to_string()),
            field("total_votes", total.to_string()),
        ];
        let winners: Vec<_> = results
            .answer_counts
            .iter()
            .filter(|c| top > 0 && c.count == top)
            .collect();
        if let [w] = winners.as_slice()
            && let Some(a) = poll.answers.iter().find(|a| a.answer_id == w.id)
        {
            fields.push(field("victor_answer_id", a.answer_id.to_string()));
            fields.push(field(
                "victor_answer_text",
                a.poll_media.text.clone().unwrap_or_default(),
            ));
            if let Some(e) = &a.poll_media.emoji {
                if let Some(id) = e.id {
                    fields.push(field("victor_answer_emoji_id", id.to_string()));
                }
                if let Some(n) = &e.name {
                    fields.push(field("victor_answer_emoji_name", n.clone()));
                }
                if e.animated {
                    fields.push(field("victor_answer_emoji_animated", "true".into()));
                }
            }
        }
        let embeds = json!([{"type": "poll_result", "fields": fields}]);
        let row = MessageRow {
            embeds: embeds.to_string(),
            reference_message_id: Some(m.id),
            reference_channel_id: Some(m.channel_id),
            reference_guild_id: m.guild_id,
            webhook_id: m.webhook_id,
            webhook_name: m.webhook_name.clone(),
            webhook_avatar: m.webhook_avatar.clone(),
            ..MessageRow::system(
                m.channel_id,
                m.guild_id,
                m.author_id,
                i64::from(MessageType::PollResult.value()),
            )
        };
        let users = self.db.users_by_id(&[m.author_id]).await?;
        let w = self.message_wire(&row, &users, vec![]);
        let d = Dispatch {
            has_content: true,
            ..Self::event_of(
                Event::MessageCreate,
                audience,
                if guild {
                    intents::GUILD_MESSAGES
                } else {
                    intents::DIRECT_MESSAGES
                },
                self.message_event(&row, &w).await?,
            )
        };
        self.writer.submit(row, Some(d)).await?;
        Ok(())
    }
}
