//! Mentions of a message: parsing `<@id>`, `<@!id>`, `<@&id>`, `@everyone`, `@here` from
//! its content and resolving them against `allowed_mentions`, the guild's members and roles
//! and the author's MENTION_EVERYONE (Discord "Resources > Message > Allowed Mentions").

use std::collections::HashMap;

use super::{ChannelAccess, Hearth};
use crate::error::Result;
use crate::permissions as perm;
use crate::storage::UserRow;
use crate::wire;

/// Parsed mentions of a message's content: unique user and role ids, `@everyone`/`@here`.
pub(super) struct Mentions {
    pub(super) users: Vec<i64>,
    pub(super) roles: Vec<i64>,
    pub(super) everyone: bool,
}

/// The mentions written in `content` (`<@id>`, `<@!id>`, `<@&id>`, `@everyone`, `@here`).
pub(super) fn parse_mentions(content: &str) -> Mentions {
    let mut users = vec![];
    let mut roles = vec![];
    let bytes = content.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'<' && i + 2 < bytes.len() && bytes[i + 1] == b'@' {
            let mut j = i + 2;
            let role = bytes.get(j) == Some(&b'&');
            if role || bytes.get(j) == Some(&b'!') {
                j += 1;
            }
            let start = j;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            if j > start && j < bytes.len() && bytes[j] == b'>' {
                if let Ok(id) = content[start..j].parse::<u64>() {
                    let id = id as i64;
                    let list = if role { &mut roles } else { &mut users };
                    if !list.contains(&id) {
                        list.push(id);
                    }
                }
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }
    Mentions {
        users,
        roles,
        everyone: content.contains("@everyone") || content.contains("@here"),
    }
}

impl Hearth {
    /// Computes mentions allowed by `allowed_mentions` and the author's permissions.
    pub(super) async fn resolve_mentions(
        &self,
        ca: &ChannelAccess,
        content: &str,
        allowed: Option<&wire::AllowedMentions>,
        replied_author: Option<i64>,
    ) -> Result<(Vec<i64>, Vec<i64>, bool, HashMap<i64, UserRow>)> {
        let parsed = parse_mentions(content);
        let parse_all = allowed.is_none();
        let parse = allowed.and_then(|a| a.parse.clone()).unwrap_or_default();
        let allow_users = parse_all || parse.iter().any(|p| p == "users");
        let allow_roles = parse_all || parse.iter().any(|p| p == "roles");
        let allow_everyone = parse_all || parse.iter().any(|p| p == "everyone");
        let explicit_users: Vec<i64> = allowed
            .and_then(|a| a.users.clone())
            .unwrap_or_default()
            .iter()
            .map(|u| u.db())
            .collect();
        let explicit_roles: Vec<i64> = allowed
            .and_then(|a| a.roles.clone())
            .unwrap_or_default()
            .iter()
            .map(|u| u.db())
            .collect();
        let mut users: Vec<i64> = parsed
            .users
            .into_iter()
            .filter(|u| allow_users || explicit_users.contains(u))
            .collect();
        // Only users who exist (and, in a guild, are members) are mentioned.
        let existing: HashMap<i64, UserRow> = self.db.users_by_id(&users).await?;
        users.retain(|u| existing.contains_key(u));
        if let Some(g) = ca.channel.guild_id {
            let mut kept = vec![];
            for u in users {
                if self.db.member(g, u).await?.is_some() {
                    kept.push(u);
                }
            }
            users = kept;
        } else {
            users.retain(|u| ca.recipients.contains(u));
        }
        let replied = allowed
            .map(|a| a.replied_user.unwrap_or(false))
            .unwrap_or(true);
        if let Some(a) = replied_author
            && replied
            && !users.contains(&a)
        {
            users.push(a);
        }
        let can_everyone = perm::has(ca.perms, perm::MENTION_EVERYONE);
        let mut roles = vec![];
        if let Some(ga) = &ca.guild {
            for r in parsed.roles {
                if let Some(role) = ga.role(r)
                    && r != ga.guild.id
                    && (allow_roles || explicit_roles.contains(&r))
                    && (role.mentionable || can_everyone)
                {
                    roles.push(r);
                }
            }
        }
        let everyone = parsed.everyone && allow_everyone && can_everyone && ca.guild.is_some();
        Ok((users, roles, everyone, existing))
    }
}
