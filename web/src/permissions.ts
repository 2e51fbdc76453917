// Discord's permission algorithm ("Topics > Permissions": compute_base_permissions and
// compute_overwrites), as the server computes it (src/permissions.rs), over the guild the
// client holds from GUILD_CREATE and the role, member and channel dispatches. The client only
// uses it to hide actions the server would refuse; the server decides.
import type { Channel, GuildCreate, Member, Snowflake } from './api/wire';

/** Discord's permission bits ("Topics > Permissions > Bitwise Permission Flags") the client names. */
export const P = {
  CREATE_INSTANT_INVITE: 1n << 0n,
  KICK_MEMBERS: 1n << 1n,
  BAN_MEMBERS: 1n << 2n,
  ADMINISTRATOR: 1n << 3n,
  MANAGE_CHANNELS: 1n << 4n,
  MANAGE_GUILD: 1n << 5n,
  ADD_REACTIONS: 1n << 6n,
  VIEW_AUDIT_LOG: 1n << 7n,
  VIEW_CHANNEL: 1n << 10n,
  SEND_MESSAGES: 1n << 11n,
  MANAGE_MESSAGES: 1n << 13n,
  EMBED_LINKS: 1n << 14n,
  ATTACH_FILES: 1n << 15n,
  READ_MESSAGE_HISTORY: 1n << 16n,
  MENTION_EVERYONE: 1n << 17n,
  USE_EXTERNAL_EMOJIS: 1n << 18n,
  CHANGE_NICKNAME: 1n << 26n,
  MANAGE_NICKNAMES: 1n << 27n,
  MANAGE_ROLES: 1n << 28n,
  MANAGE_WEBHOOKS: 1n << 29n,
  MANAGE_GUILD_EXPRESSIONS: 1n << 30n,
  USE_APPLICATION_COMMANDS: 1n << 31n,
  MANAGE_THREADS: 1n << 34n,
  CREATE_PUBLIC_THREADS: 1n << 35n,
  CREATE_PRIVATE_THREADS: 1n << 36n,
  SEND_MESSAGES_IN_THREADS: 1n << 38n,
  MODERATE_MEMBERS: 1n << 40n,
  PIN_MESSAGES: 1n << 51n,
} as const;

export type PermissionName = keyof typeof P;

/** Every bit Discord documents (the server's `permissions::ALL`). */
export const ALL = ((1n << 47n) - 1n) | (1n << 49n) | (1n << 50n) | (1n << 51n) | (1n << 52n);
/** What a timed-out member keeps. */
const TIMED_OUT_KEEPS = P.VIEW_CHANNEL | P.READ_MESSAGE_HISTORY;

export const bits = (s: string | undefined | null): bigint => {
  try {
    return s ? BigInt(s) : 0n;
  } catch {
    return 0n;
  }
};

/** The guild-wide permissions of `userId` (Discord's compute_base_permissions): owner and
 *  ADMINISTRATOR hold every bit; 0 when not a member; a member timed out at `now` keeps only
 *  VIEW_CHANNEL and READ_MESSAGE_HISTORY. */
export function guildPermissions(guild: GuildCreate, userId: Snowflake, now = Date.now()): bigint {
  if (guild.owner_id === userId) return ALL;
  const member = guild.members.find((m) => m.user?.id === userId);
  if (!member) return 0n;
  let p = bits(guild.roles.find((r) => r.id === guild.id)?.permissions);
  for (const r of guild.roles) if (member.roles.includes(r.id)) p |= bits(r.permissions);
  if (p & P.ADMINISTRATOR) return ALL;
  // A timed-out member keeps only what a timeout leaves (the server's `GuildAccess::base`).
  return timedOut(member, now) ? p & TIMED_OUT_KEEPS : p;
}

/** Whether `member`'s timeout (`communication_disabled_until`) is still running at `now`. */
function timedOut(member: Member, now: number): boolean {
  const until = member.communication_disabled_until ? Date.parse(member.communication_disabled_until) : NaN;
  return until > now;
}

/** The position of `userId`'s highest role (0: only @everyone; Infinity for the owner, who
 *  outranks every role). */
export function topPosition(guild: GuildCreate, userId: Snowflake): number {
  if (guild.owner_id === userId) return Infinity;
  const member = guild.members.find((m) => m.user?.id === userId);
  if (!member) return -1;
  return Math.max(0, ...guild.roles.filter((r) => member.roles.includes(r.id)).map((r) => r.position));
}

/** Whether a channel type is a thread (10 announcement, 11 public, 12 private). */
export function isThreadType(type: number): boolean {
  return type === 10 || type === 11 || type === 12;
}

/** A thread's permissions out of its parent's (the server's `thread_perms`): threads have no
 *  overwrites of their own, and SEND_MESSAGES holds in a thread exactly when
 *  SEND_MESSAGES_IN_THREADS does. */
export function threadPermissions(parent: bigint): bigint {
  const p = parent & ~P.SEND_MESSAGES;
  return p & P.SEND_MESSAGES_IN_THREADS ? p | P.SEND_MESSAGES : p;
}

/** The permissions of `userId` in `channel` of `guild` (0 when not a member or the channel is
 *  hidden). A thread's are its parent's, through `threadPermissions` (0 when the parent is
 *  unknown). */
export function channelPermissions(guild: GuildCreate, channel: Channel, userId: Snowflake, now = Date.now()): bigint {
  if (isThreadType(channel.type)) {
    const parent = guild.channels.find((c) => c.id === channel.parent_id);
    return parent && !isThreadType(parent.type) ? threadPermissions(channelPermissions(guild, parent, userId, now)) : 0n;
  }
  if (guild.owner_id === userId) return ALL;
  const member = guild.members.find((m) => m.user?.id === userId);
  if (!member) return 0n;
  const everyone = guild.roles.find((r) => r.id === guild.id);
  let p = bits(everyone?.permissions);
  for (const r of guild.roles) if (member.roles.includes(r.id)) p |= bits(r.permissions);
  if (p & P.ADMINISTRATOR) return ALL;
  const ows = channel.permission_overwrites ?? [];
  const everyoneOw = ows.find((o) => o.type === 0 && o.id === guild.id);
  if (everyoneOw) p = (p & ~bits(everyoneOw.deny)) | bits(everyoneOw.allow);
  let allow = 0n;
  let deny = 0n;
  for (const o of ows) {
    if (o.type === 0 && o.id !== guild.id && member.roles.includes(o.id)) {
      allow |= bits(o.allow);
      deny |= bits(o.deny);
    }
  }
  p = (p & ~deny) | allow;
  const mine = ows.find((o) => o.type === 1 && o.id === userId);
  if (mine) p = (p & ~bits(mine.deny)) | bits(mine.allow);
  if (timedOut(member, now)) p &= TIMED_OUT_KEEPS;
  return p & P.VIEW_CHANNEL ? p : 0n;
}

/** Whether `have` holds every bit of `need`. */
export function has(have: bigint, need: bigint): boolean {
  return (have & need) === need;
}

/**
 * Pinning: Discord's PIN_MESSAGES (1 << 51), split from MANAGE_MESSAGES in 2025. Hearth's
 * server checks PIN_MESSAGES alone (src/service/pins.rs), so MANAGE_MESSAGES without it does
 * not show the action: the server would refuse it with 50013.
 */
export function canPin(perms: bigint): boolean {
  return has(perms, P.PIN_MESSAGES);
}
