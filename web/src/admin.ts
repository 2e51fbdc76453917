// The pure rules behind the guild administration screens (src/ui/admin/): who may edit which
// role (Discord "Topics > Permissions > Permission Hierarchy", as the server's
// `require_below` checks it), role reordering as `PATCH /guilds/{id}/roles` bodies, and the
// allow / neutral / deny state of one bit in a channel permission overwrite. The server
// decides; these only keep the screens from offering what it would refuse.
import type { AuditLog, AuditLogEntry, Channel, GuildCreate, Overwrite, Role, RolePosition, Snowflake, User } from './api/wire';
import { P, bits, channelPermissions, guildPermissions, has, topPosition } from './permissions';

/** Roles from the highest position down (@everyone last); equal positions by id. */
export function sortRoles(roles: readonly Role[]): Role[] {
  return [...roles].sort((a, b) => b.position - a.position || (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
}

/** Why `me` cannot edit `role`, or null when it can: the role must rank strictly below the
 *  editor's highest role (the owner outranks all) and MANAGE_ROLES is needed. */
export type RoleLock = 'noPermission' | 'hierarchy' | 'managed' | null;

export function roleLock(guild: GuildCreate, role: Role, me: Snowflake): RoleLock {
  if (!has(guildPermissions(guild, me), P.MANAGE_ROLES)) return 'noPermission';
  if (role.managed) return 'managed';
  return role.position < topPosition(guild, me) ? null : 'hierarchy';
}

/** Why the server would refuse `me` adding `role` to, or removing it from, `target`
 *  (`PUT`/`DELETE /guilds/{g}/members/{u}/roles/{r}`, src/service/members.rs `member_role`),
 *  or null when it would accept: `me` must be a member holding MANAGE_ROLES (ADMINISTRATOR
 *  and the owner hold it), the role must rank strictly below `me`'s highest role (the owner
 *  outranks all), it may be neither @everyone nor managed (a bot's or an integration's), and
 *  `target` must be a member. The target's own rank does not matter (as on Discord). */
export type AssignLock = 'outsider' | 'noPermission' | 'everyone' | 'managed' | 'hierarchy' | 'notMember' | null;

export function assignLock(guild: GuildCreate, me: Snowflake, target: Snowflake, role: Role): AssignLock {
  const isMember = (id: Snowflake) => id === guild.owner_id || guild.members.some((m) => m.user?.id === id);
  if (!isMember(me)) return 'outsider';
  if (!has(guildPermissions(guild, me), P.MANAGE_ROLES)) return 'noPermission';
  if (role.id === guild.id) return 'everyone';
  if (role.managed) return 'managed';
  if (!(role.position < topPosition(guild, me))) return 'hierarchy';
  return isMember(target) ? null : 'notMember';
}

/** The roles `me` may add to or remove from `target`, highest first (empty when none). */
export function assignableRoles(guild: GuildCreate, me: Snowflake, target: Snowflake): Role[] {
  return sortRoles(guild.roles).filter((r) => assignLock(guild, me, target, r) === null);
}

/** Whether `me` may kick or ban `target` as far as the hierarchy goes: not the owner, not
 *  oneself, and the target's highest role strictly below the actor's. */
export function outranks(guild: GuildCreate, me: Snowflake, target: Snowflake): boolean {
  if (target === me || target === guild.owner_id) return false;
  return topPosition(guild, target) < topPosition(guild, me);
}

/**
 * The body of `PATCH /guilds/{id}/roles` that gives the roles the order `topDown` (highest
 * first, @everyone left out): positions n..1, only the roles whose position changes. Null when
 * a role that would move is not below `top` (the editor's highest position) or would reach it:
 * the server refuses those.
 */
export function positionsFor(roles: readonly Role[], topDown: readonly Snowflake[], top: number): RolePosition[] | null {
  const byId = new Map(roles.map((r) => [r.id, r]));
  const out: RolePosition[] = [];
  topDown.forEach((id, i) => {
    const position = topDown.length - i;
    const r = byId.get(id);
    if (r && r.position !== position) out.push({ id, position });
  });
  for (const p of out) {
    const r = byId.get(p.id);
    if (!r || r.position >= top || p.position >= top) return null;
  }
  return out;
}

/** The order (highest first, without @everyone) after moving `id` by `delta` places (-1: up). */
export function moved(roles: readonly Role[], guildId: Snowflake, id: Snowflake, delta: number): Snowflake[] {
  const order = sortRoles(roles).filter((r) => r.id !== guildId).map((r) => r.id);
  const i = order.indexOf(id);
  const j = i + delta;
  if (i < 0 || j < 0 || j >= order.length) return order;
  order.splice(i, 1);
  order.splice(j, 0, id);
  return order;
}

/** The order after dropping `id` onto `target`'s place (drag and drop). */
export function dropped(roles: readonly Role[], guildId: Snowflake, id: Snowflake, target: Snowflake): Snowflake[] {
  const order = sortRoles(roles).filter((r) => r.id !== guildId).map((r) => r.id);
  const from = order.indexOf(id);
  const to = order.indexOf(target);
  if (from < 0 || to < 0) return order;
  return moved(roles, guildId, id, to - from);
}

/** One bit of an overwrite: explicitly allowed, denied, or inherited (neutral). */
export type TriState = 'allow' | 'neutral' | 'deny';

export function bitState(ow: Pick<Overwrite, 'allow' | 'deny'> | undefined, bit: bigint): TriState {
  if (!ow) return 'neutral';
  if (bits(ow.allow) & bit) return 'allow';
  if (bits(ow.deny) & bit) return 'deny';
  return 'neutral';
}

/** `ow` with `bit` set to `state` (a bit is never in both sets), as decimal strings. */
export function withBit(ow: Pick<Overwrite, 'allow' | 'deny'> | undefined, bit: bigint, state: TriState): { allow: string; deny: string } {
  let allow = bits(ow?.allow) & ~bit;
  let deny = bits(ow?.deny) & ~bit;
  if (state === 'allow') allow |= bit;
  if (state === 'deny') deny |= bit;
  return { allow: allow.toString(), deny: deny.toString() };
}

/** Whether an overwrite changes nothing (then it is deleted rather than stored). */
export function isEmptyOverwrite(ow: Pick<Overwrite, 'allow' | 'deny'>): boolean {
  return bits(ow.allow) === 0n && bits(ow.deny) === 0n;
}

/** The bits whose state differs between two overwrites (what the server checks the editor holds). */
export function changedBits(a: Pick<Overwrite, 'allow' | 'deny'> | undefined, b: Pick<Overwrite, 'allow' | 'deny'>): bigint {
  return (bits(a?.allow) ^ bits(b.allow)) | (bits(a?.deny) ^ bits(b.deny));
}

/** The bits a change of one channel's overwrites from `before` to `after` touches, as the
 *  server counts them (`touched_bits`, src/service/overwrites.rs): per target (role or member),
 *  the bits whose allow or deny state differs; an added or removed overwrite touches all its
 *  bits; when a list names a target twice the last entry counts. */
export function touchedBits(before: readonly Overwrite[], after: readonly Overwrite[]): bigint {
  const find = (list: readonly Overwrite[], id: Snowflake) => [...list].reverse().find((o) => o.id === id);
  let out = 0n;
  for (const o of [...before, ...after]) out |= changedBits(find(before, o.id), find(after, o.id) ?? { allow: '0', deny: '0' });
  return out;
}

/** Whether one of `channel`'s overwrites allows MANAGE_ROLES to `me` (its member overwrite,
 *  one of its roles' or @everyone's). */
function grantedManageRoles(guild: GuildCreate, channel: Channel, me: Snowflake): boolean {
  const roles = guild.members.find((m) => m.user?.id === me)?.roles ?? [];
  return (channel.permission_overwrites ?? []).some(
    (o) => (o.type === 1 ? o.id === me : o.id === guild.id || roles.includes(o.id)) && (bits(o.allow) & P.MANAGE_ROLES) !== 0n,
  );
}

/** Whether the server lets `me` change `channel`'s overwrites to `after` (its
 *  `may_change_overwrites`): the owner and ADMINISTRATORs always; anyone else only when every
 *  touched bit is one `me` holds in the channel, and MANAGE_ROLES itself only when an overwrite
 *  of the channel grants it to `me`. */
export function mayChangeOverwrites(guild: GuildCreate, channel: Channel, me: Snowflake, after: readonly Overwrite[]): boolean {
  if (guild.owner_id === me || has(guildPermissions(guild, me), P.ADMINISTRATOR)) return true;
  const touched = touchedBits(channel.permission_overwrites ?? [], after);
  if ((touched & ~channelPermissions(guild, channel, me)) !== 0n) return false;
  return (touched & P.MANAGE_ROLES) === 0n || grantedManageRoles(guild, channel, me);
}

/** Whether `me` may set MANAGE_ROLES in `channel`'s overwrites (the server's rule above). */
export function mayTouchManageRoles(guild: GuildCreate, channel: Channel, me: Snowflake): boolean {
  return guild.owner_id === me || has(guildPermissions(guild, me), P.ADMINISTRATOR) || grantedManageRoles(guild, channel, me);
}

/** Whether the server accepts "Sync with category" (`PATCH /guilds/{id}/channels` with
 *  `lock_permissions`, src/service/channels.rs `channel_positions`): MANAGE_CHANNELS in the
 *  guild, MANAGE_ROLES in the channel, and copying the category's overwrites passes
 *  [`mayChangeOverwrites`]. */
export function maySyncWithCategory(guild: GuildCreate, channel: Channel, category: Channel, me: Snowflake): boolean {
  return (
    has(guildPermissions(guild, me), P.MANAGE_CHANNELS) &&
    has(channelPermissions(guild, channel, me), P.MANAGE_ROLES) &&
    mayChangeOverwrites(guild, channel, me, category.permission_overwrites ?? [])
  );
}

/** `#rrggbb` ⇄ Discord's integer colour (0: no colour). */
/** Whether two overwrite lists grant the same (order aside; all-neutral entries count as
 *  absent): a channel is "synced" with its category when its list equals the category's. */
export function sameOverwrites(a: readonly Overwrite[], b: readonly Overwrite[]): boolean {
  const key = (list: readonly Overwrite[]) =>
    list
      .filter((o) => !isEmptyOverwrite(o))
      .map((o) => `${o.type}:${o.id}:${bits(o.allow)}:${bits(o.deny)}`)
      .sort()
      .join('|');
  return key(a) === key(b);
}

export function colourToInt(hex: string): number {
  const n = Number.parseInt(hex.replace(/^#/, ''), 16);
  return Number.isFinite(n) ? n & 0xffffff : 0;
}
export function intToColour(n: number): string {
  return `#${(n & 0xffffff).toString(16).padStart(6, '0')}`;
}

/** When a snowflake was made (ms since the epoch; Discord's epoch 2015-01-01). */
export function snowflakeTime(id: Snowflake): number {
  return Number((BigInt(id) >> 22n) + 1420070400000n);
}

/** What an audit log entry acted on, in words (Discord "Audit Log Events": 10–15 channels,
 *  20–28 members, 30–32 roles, 40–42 invites, 50–52 webhooks, 72–75 messages): a channel as
 *  `#name`, a member or role by name, an invite by code; the id when nothing names it. */
export function auditTarget(guild: GuildCreate, users: readonly User[], e: AuditLogEntry): string {
  const id = e.target_id;
  const change = (key: string) => {
    const c = e.changes?.find((x) => x.key === key);
    const v = c?.new_value ?? c?.old_value;
    return typeof v === 'string' ? v : undefined;
  };
  const type = e.action_type;
  if (type >= 10 && type < 20) {
    const c = guild.channels.find((x) => x.id === id);
    return `#${c?.name ?? change('name') ?? id ?? '?'}`;
  }
  if ((type >= 20 && type < 30) || type === 72) {
    const u = users.find((x) => x.id === id);
    return u ? (u.global_name ?? u.username) : (id ?? '');
  }
  if (type >= 30 && type < 40) return guild.roles.find((r) => r.id === id)?.name ?? change('name') ?? id ?? '';
  if (type >= 40 && type < 50) return change('code') ?? id ?? '';
  if (type >= 50 && type < 60) return change('name') ?? id ?? '';
  if (type === 73 || type === 74 || type === 75) {
    const ch = e.options?.['channel_id'];
    const c = guild.channels.find((x) => x.id === ch);
    return c ? `#${c.name ?? ''}` : '';
  }
  return type === 1 ? '' : (id ?? '');
}

/** "key: old → new" for an entry's changes, `;`-separated; permission bit sets are left out
 *  (numbers nobody reads). */
export function auditChanges(e: AuditLogEntry): string {
  const plain = (v: unknown) => (v === undefined || v === null ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  return (e.changes ?? [])
    .filter((c) => c.key !== 'permissions' && c.key !== 'allow' && c.key !== 'deny')
    .map((c) => `${c.key}: ${plain(c.old_value)} → ${plain(c.new_value)}`)
    .join('; ');
}

/** Entries of one audit log page (`GET /guilds/{id}/audit-logs?limit=`). */
export const AUDIT_PAGE = 100;

/** The audit log shown: the newest page followed by the older pages fetched with `before`
 *  (the oldest entry's id), newest first, each entry once, with the users of all pages. */
export function mergeAuditPages(pages: readonly AuditLog[]): AuditLog {
  const seen = new Set<Snowflake>();
  const entries: AuditLogEntry[] = [];
  const users = new Map<Snowflake, User>();
  for (const p of pages) {
    for (const e of p.audit_log_entries) {
      if (seen.has(e.id)) continue;
      seen.add(e.id);
      entries.push(e);
    }
    for (const u of p.users) users.set(u.id, u);
  }
  entries.sort((a, b) => (a.id.length !== b.id.length ? b.id.length - a.id.length : b.id < a.id ? -1 : b.id > a.id ? 1 : 0));
  return { audit_log_entries: entries, users: [...users.values()] };
}

/** The `before` of the next older page, or null when the last page was not full (no more). */
export function nextAuditBefore(pages: readonly AuditLog[]): Snowflake | null {
  const last = pages[pages.length - 1];
  if (!last || last.audit_log_entries.length < AUDIT_PAGE) return null;
  const ids = last.audit_log_entries.map((e) => e.id);
  return ids.reduce((a, b) => (a.length !== b.length ? (a.length < b.length ? a : b) : a < b ? a : b));
}
