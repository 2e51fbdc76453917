//! Forum and media channels (Discord "Resources > Channel": Channel Object (`available_tags`,
//! `default_reaction_emoji`, `default_sort_order`, `default_forum_layout`,
//! `default_thread_rate_limit_per_user`, `applied_tags`), Forum Tag Object, Default Reaction
//! Object, Channel Flags, Start Thread in Forum or Media Channel; "Topics > Threads >
//! Forums"). A forum (type 15) or media (16) channel holds no messages of its own (40058):
//! its posts are public threads (type 11) whose starter message has the thread's id and
//! lives in the thread. The settings are stored as JSON in `channels.forum`, the flags in
//! `channels.flags`, a post's tags in `threads.applied_tags` (migration 0034).

use serde::{Deserialize, Serialize};

use super::{ChannelAccess, Hearth, to_value};
use crate::error::{Error, FieldErrors, Result, Rule};
use crate::events::Event;
use crate::permissions as perm;
use crate::snowflake::Snowflake;
use crate::storage::{Change, ChannelRow, ThreadRow};
use crate::wire;

/// Channel flag PINNED: the post is pinned at the top of its forum (threads of forum and
/// media channels; one per forum).
pub const FLAG_PINNED: u64 = 1 << 1;
/// Channel flag REQUIRE_TAG: posts must carry at least one tag (forum and media channels).
pub const FLAG_REQUIRE_TAG: u64 = 1 << 4;
/// Channel flag HIDE_MEDIA_DOWNLOAD_OPTIONS (media channels only).
pub const FLAG_HIDE_MEDIA_DOWNLOAD_OPTIONS: u64 = 1 << 15;
/// Most tags of a forum (Discord: 20).
pub const MAX_TAGS: usize = 20;
/// Longest tag name, in characters (Discord: 20).
pub const MAX_TAG_NAME: usize = 20;
/// Most tags applied to a post (Discord: 5).
pub const MAX_APPLIED_TAGS: usize = 5;

/// The settings of a forum or media channel, as stored in `channels.forum`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ForumSettings {
    #[serde(default)]
    pub available_tags: Vec<wire::ForumTag>,
    #[serde(default)]
    pub default_reaction_emoji: Option<wire::DefaultReaction>,
    #[serde(default)]
    pub default_sort_order: Option<i64>,
    #[serde(default)]
    pub default_forum_layout: i64,
    #[serde(default)]
    pub default_thread_rate_limit_per_user: i64,
}

/// Whether a channel type is a forum (15) or media (16) channel.
pub fn is_forum(kind: i64) -> bool {
    kind == 15 || kind == 16
}

/// The settings of channel `c` (defaults when it has none).
pub fn settings(c: &ChannelRow) -> ForumSettings {
    c.forum
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default()
}

fn store(s: &ForumSettings) -> Option<String> {
    serde_json::to_string(s).ok()
}

/// Adds a forum or media channel's fields (topic, slow mode and the forum settings) to its
/// channel object; other channels are returned unchanged.
pub fn with_forum(mut w: wire::Channel, c: &ChannelRow) -> wire::Channel {
    if !is_forum(c.kind) {
        return w;
    }
    let s = settings(c);
    w.topic = Some(c.topic.clone());
    w.rate_limit_per_user = Some(c.rate_limit_per_user);
    w.available_tags = Some(s.available_tags);
    w.default_reaction_emoji = Some(s.default_reaction_emoji);
    w.default_thread_rate_limit_per_user = Some(s.default_thread_rate_limit_per_user);
    w.default_sort_order = Some(s.default_sort_order);
    if c.kind == 15 {
        w.default_forum_layout = Some(s.default_forum_layout);
    }
    w
}

/// The stored settings of a replica's forum channel out of the host's channel object
/// (already in local ids); `None` for other channels.
pub fn settings_of_wire(c: &wire::Channel) -> Option<String> {
    if !is_forum(c.kind.db()) {
        return None;
    }
    store(&ForumSettings {
        available_tags: c.available_tags.clone().unwrap_or_default(),
        default_reaction_emoji: c.default_reaction_emoji.clone().flatten(),
        default_sort_order: c.default_sort_order.flatten(),
        default_forum_layout: c.default_forum_layout.unwrap_or(0),
        default_thread_rate_limit_per_user: c.default_thread_rate_limit_per_user.unwrap_or(0),
    })
}

/// The audit log's change entries (CHANNEL_UPDATE, type 11) of a forum's settings and
/// flags from `before` to `after`: `available_tags`, `default_reaction_emoji`,
/// `default_sort_order`, `default_forum_layout`, `default_thread_rate_limit_per_user` and
/// `flags`, each only when it changed (Discord's keys). Other channels: none.
pub fn forum_changes(before: &ChannelRow, after: &ChannelRow) -> Vec<serde_json::Value> {
    if !is_forum(after.kind) {
        return vec![];
    }
    let (b, a) = (settings(before), settings(after));
    let mut out = vec![];
    let mut diff = |key: &str, old: serde_json::Value, new: serde_json::Value| {
        if old != new {
            out.push(super::change(key, old, new));
        }
    };
    diff(
        "available_tags",
        to_value(&b.available_tags),
        to_value(&a.available_tags),
    );
    diff(
        "default_reaction_emoji",
        to_value(&b.default_reaction_emoji),
        to_value(&a.default_reaction_emoji),
    );
    diff(
        "default_sort_order",
        to_value(&b.default_sort_order),
        to_value(&a.default_sort_order),
    );
    if after.kind == 15 {
        diff(
            "default_forum_layout",
            to_value(&b.default_forum_layout),
            to_value(&a.default_forum_layout),
        );
    }
    diff(
        "default_thread_rate_limit_per_user",
        to_value(&b.default_thread_rate_limit_per_user),
        to_value(&a.default_thread_rate_limit_per_user),
    );
    diff("flags", to_value(&before.flags), to_value(&after.flags));
    out
}

fn check_emoji(
    errs: &mut FieldErrors,
    field: &str,
    id: Option<Snowflake>,
    name: Option<&String>,
    required: bool,
) {
    match (id, name) {
        (Some(_), Some(_)) => errs.add(
            field,
            "FORUM_EMOJI_INVALID",
            "Only one of emoji_id and emoji_name may be set.",
        ),
        (None, None) if required => errs.add(
            field,
            "FORUM_EMOJI_INVALID",
            "One of emoji_id and emoji_name is required.",
        ),
        (None, Some(n)) if n.is_empty() || n.chars().count() > 32 => errs.add(
            format!("{field}.emoji_name"),
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 32 in length.",
        ),
        (None, Some(n)) if !super::emoji_text::is_single_emoji(n) => errs.add(
            format!("{field}.emoji_name"),
            "FORUM_EMOJI_INVALID",
            "Must be a single Unicode emoji.",
        ),
        _ => {}
    }
}

/// A post's `applied_tags` (a JSON array of tag ids) without the tags missing from
/// `available`; `None` when every one of them is still there.
pub(super) fn kept_tags(available: &[wire::ForumTag], applied: &str) -> Result<Option<String>> {
    let tags: Vec<Snowflake> = serde_json::from_str(applied).unwrap_or_default();
    let kept: Vec<Snowflake> = tags
        .iter()
        .copied()
        .filter(|id| available.iter().any(|a| a.id == Some(*id)))
        .collect();
    if kept.len() == tags.len() {
        return Ok(None);
    }
    serde_json::to_string(&kept)
        .map(Some)
        .map_err(Error::internal)
}

impl Hearth {
    /// Applies the forum fields of a Create/Modify Channel body to `c` (a forum or media
    /// channel; for other channels only `flags: 0` is accepted). Limits: `available_tags`
    /// at most [`MAX_TAGS`], names of at most [`MAX_TAG_NAME`] characters and unique (400
    /// 40061), a tag without `id` (or with an id the channel does not have) gets a new id;
    /// an emoji is one of `emoji_id` (a guild emoji: [`Self::check_forum_emojis`]) and
    /// `emoji_name` (one Unicode emoji, [`super::emoji_text::is_single_emoji`]);
    /// `default_sort_order` 0 or 1;
    /// `default_forum_layout` 0 to 2 (forum channels only); slow modes 0 to 21600; `flags`
    /// only REQUIRE_TAG (and HIDE_MEDIA_DOWNLOAD_OPTIONS in a media channel). Field errors
    /// go to `errs` (50035).
    pub(super) fn apply_forum_body(
        &self,
        c: &mut ChannelRow,
        body: &wire::ChannelBody,
        errs: &mut FieldErrors,
    ) -> Result<()> {
        if !is_forum(c.kind) {
            if body.flags.is_some_and(|f| f != 0) {
                errs.add(
                    "flags",
                    "CHANNEL_FLAGS_INVALID",
                    "Only forum and media channels take flags.",
                );
            }
            return Ok(());
        }
        let mut s = settings(c);
        if let Some(f) = body.flags {
            let mut allowed = FLAG_REQUIRE_TAG;
            if c.kind == 16 {
                allowed |= FLAG_HIDE_MEDIA_DOWNLOAD_OPTIONS;
            }
            if f & !allowed != 0 {
                errs.add(
                    "flags",
                    "CHANNEL_FLAGS_INVALID",
                    "Only REQUIRE_TAG (and HIDE_MEDIA_DOWNLOAD_OPTIONS in media channels) can be set.",
                );
            }
            c.flags = (f & allowed) as i64;
        }
        if let Some(tags) = &body.available_tags {
            if tags.len() > MAX_TAGS {
                // Refused before anything is looked at (a long list costs nothing).
                let mut too_many = FieldErrors::new();
                too_many.add(
                    "available_tags",
                    "BASE_TYPE_MAX_LENGTH",
                    format!("Must be {MAX_TAGS} or fewer in length."),
                );
                return Err(Error::InvalidForm(too_many));
            }
            let mut names = std::collections::HashSet::new();
            let mut out = Vec::with_capacity(tags.len());
            for (i, t) in tags.iter().enumerate() {
                let name = t.name.trim().to_string();
                if name.is_empty() || name.chars().count() > MAX_TAG_NAME {
                    errs.add(
                        format!("available_tags.{i}.name"),
                        "BASE_TYPE_BAD_LENGTH",
                        format!("Must be between 1 and {MAX_TAG_NAME} in length."),
                    );
                }
                if !names.insert(name.to_lowercase()) {
                    return Err(Error::Rule(Rule::TagNamesUnique));
                }
                check_emoji(
                    errs,
                    &format!("available_tags.{i}"),
                    t.emoji_id,
                    t.emoji_name.as_ref(),
                    false,
                );
                let known =
                    t.id.filter(|id| s.available_tags.iter().any(|o| o.id == Some(*id)));
                out.push(wire::ForumTag {
                    id: Some(known.unwrap_or_else(|| Snowflake::from_db(self.next_id()))),
                    name,
                    moderated: t.moderated,
                    emoji_id: t.emoji_id,
                    emoji_name: t.emoji_name.clone(),
                });
            }
            s.available_tags = out;
        }
        if let Some(r) = &body.default_reaction_emoji {
            if let Some(r) = r {
                check_emoji(
                    errs,
                    "default_reaction_emoji",
                    r.emoji_id,
                    r.emoji_name.as_ref(),
                    true,
                );
            }
            s.default_reaction_emoji = r.clone();
        }
        if let Some(o) = body.default_sort_order {
            if o.is_some_and(|o| !(0..=1).contains(&o)) {
                errs.add(
                    "default_sort_order",
                    "BASE_TYPE_CHOICES",
                    "Value must be one of {0, 1}.",
                );
            }
            s.default_sort_order = o;
        }
        if let Some(l) = body.default_forum_layout {
            if c.kind != 15 || !(0..=2).contains(&l) {
                errs.add(
                    "default_forum_layout",
                    "BASE_TYPE_CHOICES",
                    "Value must be one of {0, 1, 2} (forum channels only).",
                );
            }
            s.default_forum_layout = l;
        }
        if let Some(r) = body.default_thread_rate_limit_per_user {
            if !(0..=21600).contains(&r) {
                errs.add(
                    "default_thread_rate_limit_per_user",
                    "NUMBER_TYPE_MAX",
                    "int value should be between 0 and 21600.",
                );
            }
            s.default_thread_rate_limit_per_user = r;
        }
        c.forum = store(&s);
        Ok(())
    }

    /// Checks that every `emoji_id` the body gives a forum's tags or default reaction is an
    /// emoji of the channel's guild (50035 at `available_tags.N.emoji_id` or
    /// `default_reaction_emoji.emoji_id`, "Unknown emoji."); ids already in the channel's
    /// settings pass (an emoji deleted since does not block resending the list). One read
    /// of the guild's emojis, only when a new id is given. Other channels: nothing.
    pub(super) async fn check_forum_emojis(
        &self,
        c: &ChannelRow,
        body: &wire::ChannelBody,
        errs: &mut FieldErrors,
    ) -> Result<()> {
        let Some(guild) = c.guild_id.filter(|_| is_forum(c.kind)) else {
            return Ok(());
        };
        let s = settings(c);
        let known: std::collections::HashSet<Snowflake> = s
            .available_tags
            .iter()
            .filter_map(|t| t.emoji_id)
            .chain(s.default_reaction_emoji.and_then(|r| r.emoji_id))
            .collect();
        let mut wanted: Vec<(String, Snowflake)> = vec![];
        for (i, t) in body.available_tags.iter().flatten().enumerate() {
            if let Some(id) = t.emoji_id.filter(|id| !known.contains(id)) {
                wanted.push((format!("available_tags.{i}.emoji_id"), id));
            }
        }
        if let Some(Some(r)) = &body.default_reaction_emoji
            && let Some(id) = r.emoji_id.filter(|id| !known.contains(id))
        {
            wanted.push(("default_reaction_emoji.emoji_id".into(), id));
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let emojis: std::collections::HashSet<i64> = self
            .db
            .emojis(guild)
            .await?
            .iter()
            .map(|e| e.row.id)
            .collect();
        for (field, id) in wanted {
            if !emojis.contains(&id.db()) {
                errs.add(field, "FORUM_EMOJI_UNKNOWN", "Unknown emoji.");
            }
        }
        Ok(())
    }

    /// After a forum's `available_tags` changed, inside the change `ch` that stores `forum`
    /// (as changed): removes the tags the forum no longer has from its posts'
    /// `applied_tags`, so no post keeps a tag that does not exist (Discord drops them too).
    /// Returns the posts changed, for [`Self::publish_post_updates`] after the commit.
    pub(super) async fn drop_removed_tags(
        ch: &mut Change,
        forum: &ChannelRow,
    ) -> Result<Vec<ThreadRow>> {
        let s = settings(forum);
        let mut changed = vec![];
        for mut t in ch.tagged_posts(forum.id).await? {
            if let Some(kept) = kept_tags(&s.available_tags, &t.applied_tags)? {
                t.applied_tags = kept;
                ch.set_applied_tags(t.channel_id, &t.applied_tags).await?;
                changed.push(t);
            }
        }
        Ok(changed)
    }

    /// THREAD_UPDATE (to those who see each post) for the posts whose tags
    /// [`Self::drop_removed_tags`] changed; after the commit. A read failing here leaves the
    /// stored state right and is only logged.
    pub(super) async fn publish_post_updates(&self, posts: &[ThreadRow]) {
        if posts.is_empty() {
            return;
        }
        let ids: Vec<i64> = posts.iter().map(|t| t.channel_id).collect();
        let read = async {
            let channels = self.db.channels_by_id(&ids).await?;
            let counts = self.db.thread_counts(&ids).await?;
            Ok::<_, Error>((channels, counts))
        };
        let (channels, counts) = match read.await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "THREAD_UPDATE of retagged posts not sent");
                return;
            }
        };
        for t in posts {
            if let Some(c) = channels.iter().find(|c| c.id == t.channel_id) {
                let w = Self::thread_wire(c, t, counts.get(&c.id).copied(), None);
                self.publish(Self::thread_event(Event::ThreadUpdate, t, to_value(&w)));
            }
        }
    }

    /// Checks a post's new tag list `after` (was `before`) against its forum: at most
    /// [`MAX_APPLIED_TAGS`] (50035), each one of the forum's tags (50035 `applied_tags.N`),
    /// adding or removing a moderated tag needs MANAGE_THREADS (403 50013), and with
    /// REQUIRE_TAG the list may not be empty (400 40067). Returns the list as stored (JSON,
    /// duplicates dropped).
    pub(super) fn check_applied_tags(
        forum: &ChannelRow,
        before: &[Snowflake],
        after: &[Snowflake],
        manage: bool,
    ) -> Result<String> {
        let s = settings(forum);
        let mut errs = FieldErrors::new();
        if after.len() > MAX_APPLIED_TAGS {
            // Refused before anything is looked at (a long list costs nothing).
            errs.add(
                "applied_tags",
                "BASE_TYPE_MAX_LENGTH",
                format!("Must be {MAX_APPLIED_TAGS} or fewer in length."),
            );
            return Err(Error::InvalidForm(errs));
        }
        let mut list: Vec<Snowflake> = vec![];
        for (i, id) in after.iter().enumerate() {
            if !s.available_tags.iter().any(|t| t.id == Some(*id)) {
                errs.add(
                    format!("applied_tags.{i}"),
                    "FORUM_TAG_UNKNOWN",
                    "Unknown tag.",
                );
            }
            if !list.contains(id) {
                list.push(*id);
            }
        }
        errs.into_result()?;
        let moderated = |id: &Snowflake| {
            s.available_tags
                .iter()
                .any(|t| t.id == Some(*id) && t.moderated)
        };
        let changed_moderated = list
            .iter()
            .filter(|t| !before.contains(t))
            .chain(before.iter().filter(|t| !list.contains(t)))
            .any(moderated);
        if changed_moderated && !manage {
            return Err(Error::MissingPermissions);
        }
        if list.is_empty() && forum.flags as u64 & FLAG_REQUIRE_TAG != 0 {
            return Err(Error::Rule(Rule::TagRequired));
        }
        serde_json::to_string(&list).map_err(Error::internal)
    }

    /// The forum parts of a PATCH of a post: `applied_tags` (the owner or MANAGE_THREADS;
    /// moderated tags MANAGE_THREADS) and `flags` (only PINNED, MANAGE_THREADS; one pinned
    /// post per forum, checked at the write). Returns the new tag list (JSON) and flags, or
    /// `None` for what is unchanged. Errors: 50035 for either field on a thread outside a
    /// forum.
    pub(super) async fn post_changes(
        &self,
        ca: &ChannelAccess,
        t: &ThreadRow,
        body: &wire::ChannelBody,
        owner: bool,
    ) -> Result<(Option<String>, Option<i64>)> {
        if body.applied_tags.is_none() && body.flags.is_none() {
            return Ok((None, None));
        }
        let manage = ca.perms & perm::MANAGE_THREADS != 0;
        let parent = self
            .db
            .channel(t.parent_id)
            .await?
            .filter(|p| is_forum(p.kind));
        let Some(parent) = parent else {
            let mut e = FieldErrors::new();
            if body.applied_tags.is_some() {
                e.add(
                    "applied_tags",
                    "FORUM_ONLY",
                    "Only threads of forum and media channels have tags.",
                );
            }
            if body.flags.is_some_and(|f| f != ca.channel.flags as u64) {
                e.add(
                    "flags",
                    "CHANNEL_FLAGS_INVALID",
                    "Only posts of forum and media channels can be pinned.",
                );
            }
            e.into_result()?;
            return Ok((None, None));
        };
        let tags = match &body.applied_tags {
            Some(after) => {
                if !owner && !manage {
                    return Err(Error::MissingPermissions);
                }
                let before: Vec<Snowflake> =
                    serde_json::from_str(&t.applied_tags).unwrap_or_default();
                Some(Self::check_applied_tags(&parent, &before, after, manage)?)
            }
            None => None,
        };
        let flags = match body.flags {
            Some(f) => {
                if f & !FLAG_PINNED != 0 {
                    let mut e = FieldErrors::new();
                    e.add(
                        "flags",
                        "CHANNEL_FLAGS_INVALID",
                        "Only PINNED can be set on a post.",
                    );
                    return Err(Error::InvalidForm(e));
                }
                if f != ca.channel.flags as u64 && !manage {
                    return Err(Error::MissingPermissions);
                }
                Some(f as i64)
            }
            None => None,
        };
        Ok((tags, flags))
    }
}
