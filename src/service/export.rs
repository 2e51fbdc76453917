//! The user's data (issue 17, "User data"): the data export (spec/account.md §5; account
//! deletion is [`super::deletion`]).
//!
//! - `GET /users/@me/export` answers one JSON document ([`wire::DataExport`]): the profile,
//!   settings, memberships, the caller's messages (at most [`EXPORT_MAX_MESSAGES`], oldest
//!   first, each with its channel and guild), plain DM channels and the security log. MLS
//!   DMs are end-to-end encrypted: the server holds only ciphertext and the export says so
//!   in `notes`. Read page by page ([`EXPORT_PAGE`] messages a statement).

use super::{Actor, Hearth};
use crate::error::{Error, Result};
use crate::snowflake::Snowflake;
use crate::storage::now_ms;
use crate::wire;

/// Most messages one export holds (the oldest ones; `notes` says when some were left out).
pub const EXPORT_MAX_MESSAGES: usize = 100_000;
/// Messages read per statement while exporting.
pub const EXPORT_PAGE: i64 = 1_000;

impl Hearth {
    /// `GET /users/@me/export`. Errors: 403 20001 for bot tokens.
    pub async fn export_data(&self, actor: &Actor) -> Result<wire::DataExport> {
        Self::human_session(actor)?;
        let uid = actor.user.id;
        let user = self.db.user(uid).await?.ok_or(Error::Unauthorized)?;
        let mut guilds = vec![];
        for (gid, name, owner, nick, joined_at) in self.db.memberships_of(uid).await? {
            guilds.push(wire::ExportMembership {
                guild_id: Snowflake::from_db(gid),
                guild_name: name,
                nick,
                roles: self
                    .db
                    .member_role_ids(gid, uid)
                    .await?
                    .into_iter()
                    .map(Snowflake::from_db)
                    .collect(),
                joined_at: wire::iso(joined_at),
                owner: owner == uid,
            });
        }
        let mut messages = vec![];
        let mut after = 0;
        let mut truncated = false;
        loop {
            let page = self.db.messages_by_author(uid, after, EXPORT_PAGE).await?;
            let full = page.len() as i64 == EXPORT_PAGE;
            for m in page {
                if messages.len() == EXPORT_MAX_MESSAGES {
                    truncated = true;
                    break;
                }
                after = m.id;
                let id = Snowflake::from_db(m.id);
                messages.push(wire::ExportMessage {
                    id,
                    channel_id: Snowflake::from_db(m.channel_id),
                    guild_id: m.guild_id.map(Snowflake::from_db),
                    channel_name: m.channel_name,
                    content: m.content,
                    timestamp: wire::iso(id.timestamp_ms() as i64),
                    edited_timestamp: m.edited_at.map(wire::iso),
                });
            }
            if !full || truncated {
                break;
            }
        }
        let dm_channels = self
            .db
            .dm_pairs_of(uid)
            .await?
            .into_iter()
            .map(|(c, other)| wire::ExportDm {
                channel_id: Snowflake::from_db(c),
                recipients: vec![Snowflake::from_db(other)],
            })
            .collect();
        let blocked = self
            .db
            .relationships_of(uid)
            .await?
            .into_iter()
            .filter(|(_, kind)| *kind == 2)
            .map(|(t, _)| Snowflake::from_db(t))
            .collect();
        let mut notes = vec![
            "End-to-end encrypted DMs (MLS) are not included: this server holds only their \
             ciphertext and cannot read them; your devices hold the keys."
                .to_owned(),
        ];
        if truncated {
            notes.push(format!(
                "Only your oldest {EXPORT_MAX_MESSAGES} messages are included."
            ));
        }
        let security_log = self
            .db
            .security_log(uid, None, 10_000)
            .await?
            .into_iter()
            .map(Self::security_wire)
            .collect();
        Ok(wire::DataExport {
            version: 1,
            exported_at: wire::iso(now_ms()),
            settings: wire::ExportSettings {
                dm_policy: user.dm_policy,
                blocked_user_ids: blocked,
                mfa_enabled: user.mfa_enabled,
                email: user.email.clone(),
                email_verified: user.email_verified,
            },
            user: self.user_wire(&user, true),
            guilds,
            messages,
            dm_channels,
            notes,
            security_log,
            passkeys: self
                .db
                .passkeys(uid)
                .await?
                .iter()
                .map(Self::passkey_wire)
                .collect(),
        })
    }
}
