//! Signed summaries of discoverable guilds (spec/registrar.md "Guild directory") and the
//! permanent invite each is joined through.

use crate::error::{Error, Result};
use crate::s2s::{Federation, now_ms};
use crate::service::Hearth;
use crate::snowflake::Snowflake;
use crate::storage::{DiscoverableGuildRow, InviteRow};
use hearth_federation::sign::{self, Purpose};
use rand::Rng as _;
use serde_json::{Value, json};

pub(super) const INVITE_ALPHABET: &[u8] =
    b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// Whether a stored channel kind is a guild text channel.
pub(super) fn is_text(kind: i64) -> bool {
    crate::wire::ChannelType::from_db(kind) == crate::wire::ChannelType::GuildText
}

/// The permanent invite a discoverable guild is joined through: an existing one that never
/// expires, or a new one in the system channel (else the first text channel) by the owner.
pub(super) async fn directory_invite(
    h: &Hearth,
    g: &DiscoverableGuildRow,
) -> Result<Option<String>> {
    let invites = h.db.invites_of_guild(g.id).await?;
    if let Some(i) = invites
        .iter()
        .find(|i| i.max_age == 0 && i.max_uses == 0 && !i.temporary)
    {
        return Ok(Some(i.code.clone()));
    }
    let channels = h.db.channels(g.id).await?;
    let channel = g
        .system_channel_id
        .filter(|id| channels.iter().any(|c| c.id == *id && is_text(c.kind)))
        .or_else(|| channels.iter().find(|c| is_text(c.kind)).map(|c| c.id));
    let Some(channel_id) = channel else {
        return Ok(None);
    };
    let code: String = {
        let mut rng = rand::rng();
        (0..10)
            .map(|_| INVITE_ALPHABET[rng.random_range(0..INVITE_ALPHABET.len())] as char)
            .collect()
    };
    h.db.insert_invite(&InviteRow {
        code: code.clone(),
        guild_id: g.id,
        channel_id,
        inviter_id: g.owner_id,
        max_age: 0,
        max_uses: 0,
        uses: 0,
        temporary: false,
        created_at: crate::storage::now_ms(),
    })
    .await?;
    Ok(Some(code))
}

/// The signed summary of guild `guild_id` (with `online_count` members online), or `None`
/// when it is not discoverable, not hosted here, or gone (spec/registrar.md "Guild summary").
///
/// # Errors
/// Database errors.
pub async fn guild_summary(
    h: &Hearth,
    fed: &Federation,
    guild_id: i64,
    online_count: i64,
) -> Result<Option<Value>> {
    let Some(g) = h.db.discoverable_guild(guild_id).await? else {
        return Ok(None);
    };
    if !g.discoverable || g.host_server.is_some() {
        return Ok(None);
    }
    let Some(invite) = directory_invite(h, &g).await? else {
        return Ok(None);
    };
    let member_count = h.db.member_count(g.id).await?;
    let last_activity =
        h.db.guild_last_message_id(g.id)
            .await?
            .map(|id| Snowflake::from_db(id).timestamp_ms())
            .unwrap_or_else(|| Snowflake::from_db(g.id).timestamp_ms());
    let tags: Vec<&str> = g.discovery_tags.split_whitespace().collect();
    let mut v = json!({
        "server_name": fed.server_name,
        "guild_id": g.id.to_string(),
        "name": g.name,
        "description": g.description,
        "icon": g.icon,
        "member_count": member_count,
        "online_count": online_count,
        "tags": tags,
        "language": g.preferred_locale,
        "invite_code": invite,
        "last_activity_ts": last_activity,
        "ts": now_ms(),
    });
    sign::sign_json(
        Purpose::GuildSummary,
        &mut v,
        &fed.server_name,
        &fed.keyring.current(),
    )
    .map_err(Error::internal)?;
    Ok(Some(v))
}
