//! Discord's permission bits and the permission algorithm.
//!
//! Source: Discord API docs, "Topics > Permissions" (bit values, "Permission Hierarchy",
//! "Permission Overwrites" and the pseudo-code `compute_base_permissions` /
//! `compute_overwrites`). Permissions travel as decimal strings on the wire and as
//! `BIGINT` in storage; every bit used here is below 2^63.

use crate::snowflake::Snowflake;
use crate::wire::OverwriteType;

/// A permission bit set (Discord's "Bitwise Permission Flags").
pub type Permissions = u64;

pub const CREATE_INSTANT_INVITE: u64 = 1 << 0;
pub const KICK_MEMBERS: u64 = 1 << 1;
pub const BAN_MEMBERS: u64 = 1 << 2;
pub const ADMINISTRATOR: u64 = 1 << 3;
pub const MANAGE_CHANNELS: u64 = 1 << 4;
pub const MANAGE_GUILD: u64 = 1 << 5;
pub const ADD_REACTIONS: u64 = 1 << 6;
pub const VIEW_AUDIT_LOG: u64 = 1 << 7;
pub const PRIORITY_SPEAKER: u64 = 1 << 8;
pub const STREAM: u64 = 1 << 9;
pub const VIEW_CHANNEL: u64 = 1 << 10;
pub const SEND_MESSAGES: u64 = 1 << 11;
pub const SEND_TTS_MESSAGES: u64 = 1 << 12;
pub const MANAGE_MESSAGES: u64 = 1 << 13;
pub const EMBED_LINKS: u64 = 1 << 14;
pub const ATTACH_FILES: u64 = 1 << 15;
pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
pub const MENTION_EVERYONE: u64 = 1 << 17;
pub const USE_EXTERNAL_EMOJIS: u64 = 1 << 18;
pub const VIEW_GUILD_INSIGHTS: u64 = 1 << 19;
pub const CONNECT: u64 = 1 << 20;
pub const SPEAK: u64 = 1 << 21;
pub const MUTE_MEMBERS: u64 = 1 << 22;
pub const DEAFEN_MEMBERS: u64 = 1 << 23;
pub const MOVE_MEMBERS: u64 = 1 << 24;
pub const USE_VAD: u64 = 1 << 25;
pub const CHANGE_NICKNAME: u64 = 1 << 26;
pub const MANAGE_NICKNAMES: u64 = 1 << 27;
pub const MANAGE_ROLES: u64 = 1 << 28;
pub const MANAGE_WEBHOOKS: u64 = 1 << 29;
pub const MANAGE_GUILD_EXPRESSIONS: u64 = 1 << 30;
pub const USE_APPLICATION_COMMANDS: u64 = 1 << 31;
pub const REQUEST_TO_SPEAK: u64 = 1 << 32;
pub const MANAGE_EVENTS: u64 = 1 << 33;
pub const MANAGE_THREADS: u64 = 1 << 34;
pub const CREATE_PUBLIC_THREADS: u64 = 1 << 35;
pub const CREATE_PRIVATE_THREADS: u64 = 1 << 36;
pub const USE_EXTERNAL_STICKERS: u64 = 1 << 37;
pub const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;
pub const USE_EMBEDDED_ACTIVITIES: u64 = 1 << 39;
pub const MODERATE_MEMBERS: u64 = 1 << 40;
pub const VIEW_CREATOR_MONETIZATION_ANALYTICS: u64 = 1 << 41;
pub const USE_SOUNDBOARD: u64 = 1 << 42;
pub const CREATE_GUILD_EXPRESSIONS: u64 = 1 << 43;
pub const CREATE_EVENTS: u64 = 1 << 44;
pub const USE_EXTERNAL_SOUNDS: u64 = 1 << 45;
pub const SEND_VOICE_MESSAGES: u64 = 1 << 46;
pub const SEND_POLLS: u64 = 1 << 49;
pub const USE_EXTERNAL_APPS: u64 = 1 << 50;
pub const PIN_MESSAGES: u64 = 1 << 51;

/// Permissions that need an MFA-enabled account in a guild whose MFA level is elevated
/// (Discord "Topics > Permissions", the flags marked "requires two-factor").
pub const MFA_REQUIRED: u64 = KICK_MEMBERS
    | BAN_MEMBERS
    | ADMINISTRATOR
    | MANAGE_CHANNELS
    | MANAGE_GUILD
    | MANAGE_MESSAGES
    | MANAGE_ROLES
    | MANAGE_WEBHOOKS
    | MANAGE_GUILD_EXPRESSIONS
    | MANAGE_THREADS
    | MODERATE_MEMBERS;
pub const BYPASS_SLOWMODE: u64 = 1 << 52;

/// Every bit Discord documents; anything outside is stripped from input.
pub const ALL: u64 =
    ((1 << 47) - 1) | SEND_POLLS | USE_EXTERNAL_APPS | PIN_MESSAGES | BYPASS_SLOWMODE;

/// What `@everyone` gets in a new guild: the non-managing defaults Discord grants.
pub const EVERYONE_DEFAULT: u64 = CREATE_INSTANT_INVITE
    | CHANGE_NICKNAME
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | SEND_MESSAGES_IN_THREADS
    | CREATE_PUBLIC_THREADS
    | EMBED_LINKS
    | ATTACH_FILES
    | ADD_REACTIONS
    | USE_EXTERNAL_EMOJIS
    | READ_MESSAGE_HISTORY
    | CONNECT
    | SPEAK
    | USE_VAD
    | STREAM
    | USE_APPLICATION_COMMANDS;

/// The permissions that exist only at guild level and are meaningless in a channel
/// overwrite; kept in computed channel permissions as Discord does.
/// A channel permission overwrite (Discord "Overwrite Object").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overwrite {
    pub id: Snowflake,
    pub kind: OverwriteType,
    pub allow: Permissions,
    pub deny: Permissions,
}

/// Guild-level facts needed to compute a member's permissions.
#[derive(Debug, Clone, Copy)]
pub struct MemberContext<'a> {
    pub guild_id: Snowflake,
    pub owner_id: Snowflake,
    pub user_id: Snowflake,
    /// Permissions of the `@everyone` role (id == guild id).
    pub everyone: Permissions,
    /// `(role id, permissions)` of every role the member has, `@everyone` excluded.
    pub roles: &'a [(Snowflake, Permissions)],
    /// The member is timed out now (`communication_disabled_until` in the future).
    pub timed_out: bool,
}

/// What a timed-out member keeps (Discord "Modify Guild Member", `communication_disabled_until`):
/// they can read, nothing else. Owners and administrators are never restricted.
pub const TIMED_OUT_KEEPS: Permissions = VIEW_CHANNEL | READ_MESSAGE_HISTORY;

/// Discord's `compute_base_permissions`: owner -> all; `@everyone` | roles; ADMINISTRATOR -> all.
pub fn base_permissions(m: &MemberContext<'_>) -> Permissions {
    if m.user_id == m.owner_id {
        return ALL;
    }
    let mut p = m.everyone;
    for (_, rp) in m.roles {
        p |= rp;
    }
    if p & ADMINISTRATOR != 0 {
        ALL
    } else if m.timed_out {
        p & TIMED_OUT_KEEPS
    } else {
        p
    }
}

/// Discord's `compute_overwrites`: applies `@everyone`, then the union of the member's role
/// overwrites, then the member overwrite (each deny-then-allow). ADMINISTRATOR (or owner)
/// bypasses overwrites. A result without VIEW_CHANNEL is empty: nothing else applies in a
/// channel one cannot see.
pub fn channel_permissions(m: &MemberContext<'_>, overwrites: &[Overwrite]) -> Permissions {
    let base = base_permissions(m);
    if base & ADMINISTRATOR != 0 || m.user_id == m.owner_id {
        return ALL;
    }
    let mut p = base;
    if let Some(ow) = overwrites
        .iter()
        .find(|o| o.kind == OverwriteType::Role && o.id == m.guild_id)
    {
        p &= !ow.deny;
        p |= ow.allow;
    }
    let (mut allow, mut deny) = (0u64, 0u64);
    for ow in overwrites
        .iter()
        .filter(|o| o.kind == OverwriteType::Role && o.id != m.guild_id)
    {
        if m.roles.iter().any(|(rid, _)| *rid == ow.id) {
            allow |= ow.allow;
            deny |= ow.deny;
        }
    }
    p &= !deny;
    p |= allow;
    if let Some(ow) = overwrites
        .iter()
        .find(|o| o.kind == OverwriteType::Member && o.id == m.user_id)
    {
        p &= !ow.deny;
        p |= ow.allow;
    }
    if m.timed_out {
        p &= TIMED_OUT_KEEPS;
    }
    if p & VIEW_CHANNEL == 0 { 0 } else { p }
}

/// Whether `have` includes every bit of `need`.
pub fn has(have: Permissions, need: Permissions) -> bool {
    have & need == need
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: Snowflake = Snowflake(100);
    const OWNER: Snowflake = Snowflake(1);
    const U: Snowflake = Snowflake(2);
    const MOD: Snowflake = Snowflake(200);
    const MUTED: Snowflake = Snowflake(201);

    fn ctx<'a>(everyone: u64, roles: &'a [(Snowflake, u64)], user: Snowflake) -> MemberContext<'a> {
        MemberContext {
            guild_id: G,
            owner_id: OWNER,
            user_id: user,
            everyone,
            roles,
            timed_out: false,
        }
    }
    fn ow(id: Snowflake, kind: u8, allow: u64, deny: u64) -> Overwrite {
        Overwrite {
            id,
            kind: OverwriteType::from(kind),
            allow,
            deny,
        }
    }

    /// Table-driven cases of Discord's algorithm: (name, everyone, roles, overwrites, user, expected check).
    #[test]
    fn permission_algorithm_table() {
        let base = VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY;
        struct Case {
            name: &'static str,
            everyone: u64,
            roles: Vec<(Snowflake, u64)>,
            overwrites: Vec<Overwrite>,
            user: Snowflake,
            expect: u64,
        }
        let cases = vec![
            Case {
                name: "owner gets everything even when denied",
                everyone: 0,
                roles: vec![],
                overwrites: vec![ow(OWNER, 1, 0, ALL)],
                user: OWNER,
                expect: ALL,
            },
            Case {
                name: "everyone base applies",
                everyone: base,
                roles: vec![],
                overwrites: vec![],
                user: U,
                expect: base,
            },
            Case {
                name: "roles add to base",
                everyone: base,
                roles: vec![(MOD, MANAGE_MESSAGES)],
                overwrites: vec![],
                user: U,
                expect: base | MANAGE_MESSAGES,
            },
            Case {
                name: "administrator grants all and ignores overwrites",
                everyone: base,
                roles: vec![(MOD, ADMINISTRATOR)],
                overwrites: vec![ow(G, 0, 0, VIEW_CHANNEL)],
                user: U,
                expect: ALL,
            },
            Case {
                name: "everyone overwrite denies send",
                everyone: base,
                roles: vec![],
                overwrites: vec![ow(G, 0, 0, SEND_MESSAGES)],
                user: U,
                expect: VIEW_CHANNEL | READ_MESSAGE_HISTORY,
            },
            Case {
                name: "role overwrite allow beats everyone overwrite deny",
                everyone: base,
                roles: vec![(MOD, 0)],
                overwrites: vec![ow(G, 0, 0, SEND_MESSAGES), ow(MOD, 0, SEND_MESSAGES, 0)],
                user: U,
                expect: base,
            },
            Case {
                name: "role allow wins over another role's deny",
                everyone: base,
                roles: vec![(MOD, 0), (MUTED, 0)],
                overwrites: vec![ow(MUTED, 0, 0, SEND_MESSAGES), ow(MOD, 0, SEND_MESSAGES, 0)],
                user: U,
                expect: base,
            },
            Case {
                name: "member overwrite beats role overwrite",
                everyone: base,
                roles: vec![(MOD, 0)],
                overwrites: vec![ow(MOD, 0, SEND_MESSAGES, 0), ow(U, 1, 0, SEND_MESSAGES)],
                user: U,
                expect: VIEW_CHANNEL | READ_MESSAGE_HISTORY,
            },
            Case {
                name: "overwrite for a role the member lacks is ignored",
                everyone: base,
                roles: vec![],
                overwrites: vec![ow(MUTED, 0, 0, SEND_MESSAGES)],
                user: U,
                expect: base,
            },
            Case {
                name: "overwrite for another member is ignored",
                everyone: base,
                roles: vec![],
                overwrites: vec![ow(Snowflake(3), 1, 0, VIEW_CHANNEL)],
                user: U,
                expect: base,
            },
            Case {
                name: "no view channel means nothing",
                everyone: base | MANAGE_MESSAGES,
                roles: vec![],
                overwrites: vec![ow(G, 0, 0, VIEW_CHANNEL)],
                user: U,
                expect: 0,
            },
            Case {
                name: "member overwrite can restore view",
                everyone: base,
                roles: vec![],
                overwrites: vec![ow(G, 0, 0, VIEW_CHANNEL), ow(U, 1, VIEW_CHANNEL, 0)],
                user: U,
                expect: base,
            },
        ];
        for c in cases {
            let got = channel_permissions(&ctx(c.everyone, &c.roles, c.user), &c.overwrites);
            assert_eq!(got, c.expect, "case: {}", c.name);
        }
    }

    #[test]
    fn everyone_defaults_match_discord_and_exclude_managing_bits() {
        for bit in [
            ADMINISTRATOR,
            MANAGE_GUILD,
            MANAGE_CHANNELS,
            MANAGE_ROLES,
            MANAGE_MESSAGES,
            MENTION_EVERYONE,
            PIN_MESSAGES,
            KICK_MEMBERS,
            BAN_MEMBERS,
        ] {
            assert_eq!(EVERYONE_DEFAULT & bit, 0);
        }
        assert!(has(
            EVERYONE_DEFAULT,
            VIEW_CHANNEL | SEND_MESSAGES | ADD_REACTIONS
        ));
        assert_eq!(ALL & (1 << 47), 0);
        assert!(has(ALL, PIN_MESSAGES));
    }

    #[test]
    fn a_timed_out_member_keeps_only_view_and_history_unless_administrator() {
        let roles = [(MOD, MANAGE_MESSAGES | SEND_MESSAGES | ADD_REACTIONS)];
        let everyone = VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY;
        let mut c = ctx(everyone, &roles, U);
        c.timed_out = true;
        assert_eq!(base_permissions(&c), VIEW_CHANNEL | READ_MESSAGE_HISTORY);
        let allow_send = [ow(U, 1, SEND_MESSAGES | ADD_REACTIONS, 0)];
        assert_eq!(
            channel_permissions(&c, &allow_send),
            VIEW_CHANNEL | READ_MESSAGE_HISTORY,
            "an overwrite cannot lift a timeout"
        );
        let admin = [(MOD, ADMINISTRATOR)];
        let mut a = ctx(everyone, &admin, U);
        a.timed_out = true;
        assert_eq!(channel_permissions(&a, &[]), ALL);
    }
}
