import { describe, expect, it } from 'vitest';
import type { AuditLog, AuditLogEntry, Channel, GuildCreate, Member, Overwrite, Role, User } from './api/wire';
import {
  AUDIT_PAGE,
  assignLock,
  assignableRoles,
  mergeAuditPages,
  nextAuditBefore,
  auditChanges,
  auditTarget,
  bitState,
  changedBits,
  colourToInt,
  dropped,
  intToColour,
  isEmptyOverwrite,
  mayChangeOverwrites,
  maySyncWithCategory,
  mayTouchManageRoles,
  touchedBits,
  moved,
  outranks,
  positionsFor,
  roleLock,
  sameOverwrites,
  snowflakeTime,
  sortRoles,
  withBit,
} from './admin';
import { P, guildPermissions, topPosition } from './permissions';

const G = '100';
const OWNER = '1';
const ADMIN = '2';
const MOD = '3';
const PLAIN = '4';

const role = (id: string, name: string, position: number, p: bigint, managed = false): Role => ({
  id,
  name,
  color: 0,
  hoist: false,
  position,
  permissions: p.toString(),
  managed,
  mentionable: false,
});
const member = (id: string, roles: string[]): Member => ({
  user: { id, username: `u${id}`, discriminator: '0', global_name: null, avatar: null } as Member['user'],
  nick: null,
  roles,
  joined_at: '',
});

// Positions: admin 4, mod 3, helper 2, bot (managed) 1, @everyone 0.
const roles = [
  role(G, '@everyone', 0, P.VIEW_CHANNEL),
  role('14', 'bot', 1, 0n, true),
  role('12', 'helper', 2, 0n),
  role('11', 'mod', 3, P.MANAGE_ROLES | P.KICK_MEMBERS),
  role('10', 'admin', 4, P.ADMINISTRATOR),
];
const guild: GuildCreate = {
  id: G,
  name: 'g',
  icon: null,
  description: null,
  owner_id: OWNER,
  roles,
  channels: [],
  members: [member(OWNER, []), member(ADMIN, ['10']), member(MOD, ['11', '12']), member(PLAIN, [])],
  member_count: 4,
  joined_at: '',
};
const byName = (n: string) => roles.find((r) => r.name === n) as Role;

describe('role hierarchy', () => {
  it('sorts roles from the highest position down', () => {
    expect(sortRoles(roles).map((r) => r.name)).toEqual(['admin', 'mod', 'helper', 'bot', '@everyone']);
  });

  it('the owner edits every unmanaged role, above all positions', () => {
    expect(topPosition(guild, OWNER)).toBe(Infinity);
    expect(roleLock(guild, byName('admin'), OWNER)).toBeNull();
    expect(roleLock(guild, byName('@everyone'), OWNER)).toBeNull();
    expect(roleLock(guild, byName('bot'), OWNER)).toBe('managed');
  });

  it('a moderator edits only roles strictly below its highest role', () => {
    expect(topPosition(guild, MOD)).toBe(3);
    expect(roleLock(guild, byName('admin'), MOD)).toBe('hierarchy');
    expect(roleLock(guild, byName('mod'), MOD)).toBe('hierarchy');
    expect(roleLock(guild, byName('helper'), MOD)).toBeNull();
    expect(roleLock(guild, byName('@everyone'), MOD)).toBeNull();
  });

  it('ADMINISTRATOR gives MANAGE_ROLES but not a higher rank', () => {
    expect(guildPermissions(guild, ADMIN) & P.MANAGE_ROLES).toBe(P.MANAGE_ROLES);
    expect(roleLock(guild, byName('admin'), ADMIN)).toBe('hierarchy');
    expect(roleLock(guild, byName('mod'), ADMIN)).toBeNull();
  });

  it('a member without MANAGE_ROLES edits nothing, and an outsider neither', () => {
    expect(roleLock(guild, byName('@everyone'), PLAIN)).toBe('noPermission');
    expect(roleLock(guild, byName('helper'), '999')).toBe('noPermission');
  });

  it('kicks and bans go only downwards, never at the owner or oneself', () => {
    expect(outranks(guild, MOD, PLAIN)).toBe(true);
    expect(outranks(guild, MOD, ADMIN)).toBe(false);
    expect(outranks(guild, ADMIN, MOD)).toBe(true);
    expect(outranks(guild, ADMIN, OWNER)).toBe(false);
    expect(outranks(guild, OWNER, ADMIN)).toBe(true);
    expect(outranks(guild, OWNER, OWNER)).toBe(false);
    expect(outranks(guild, PLAIN, PLAIN)).toBe(false);
  });
});

describe('assigning roles to members (src/service/members.rs member_role)', () => {
  const names = (list: Role[]) => list.map((r) => r.name);

  it('an outsider assigns nothing', () => {
    expect(assignLock(guild, '999', PLAIN, byName('helper'))).toBe('outsider');
    expect(assignableRoles(guild, '999', PLAIN)).toEqual([]);
  });

  it('a member without MANAGE_ROLES assigns nothing, not even roles below its own', () => {
    const withHelper: GuildCreate = { ...guild, members: [...guild.members.filter((m) => m.user?.id !== PLAIN), member(PLAIN, ['12'])] };
    expect(assignLock(withHelper, PLAIN, MOD, byName('bot'))).toBe('noPermission');
    expect(assignableRoles(withHelper, PLAIN, MOD)).toEqual([]);
  });

  it('a moderator assigns only roles strictly below its highest role, to anyone', () => {
    expect(assignLock(guild, MOD, PLAIN, byName('admin'))).toBe('hierarchy');
    expect(assignLock(guild, MOD, PLAIN, byName('mod'))).toBe('hierarchy');
    expect(assignLock(guild, MOD, PLAIN, byName('helper'))).toBeNull();
    // The target's rank does not matter: the server checks only the role's.
    expect(assignLock(guild, MOD, ADMIN, byName('helper'))).toBeNull();
    expect(names(assignableRoles(guild, MOD, PLAIN))).toEqual(['helper']);
  });

  it('never @everyone nor a managed role, even for the owner', () => {
    expect(assignLock(guild, OWNER, PLAIN, byName('@everyone'))).toBe('everyone');
    expect(assignLock(guild, OWNER, PLAIN, byName('bot'))).toBe('managed');
    expect(names(assignableRoles(guild, OWNER, PLAIN))).toEqual(['admin', 'mod', 'helper']);
  });

  it('ADMINISTRATOR gives MANAGE_ROLES but not the rank of its own role', () => {
    expect(names(assignableRoles(guild, ADMIN, PLAIN))).toEqual(['mod', 'helper']);
  });

  it('the target must be a member', () => {
    expect(assignLock(guild, OWNER, '999', byName('helper'))).toBe('notMember');
  });

  it('a timed-out moderator assigns nothing until the timeout ends (the server’s base permissions)', () => {
    const until = new Date(Date.now() + 60_000).toISOString();
    const timedOut: GuildCreate = {
      ...guild,
      members: guild.members.map((m) => (m.user?.id === MOD ? { ...m, communication_disabled_until: until } : m)),
    };
    expect(assignLock(timedOut, MOD, PLAIN, byName('helper'))).toBe('noPermission');
    const ended = new Date(Date.now() - 60_000).toISOString();
    const over: GuildCreate = {
      ...guild,
      members: guild.members.map((m) => (m.user?.id === MOD ? { ...m, communication_disabled_until: ended } : m)),
    };
    expect(assignLock(over, MOD, PLAIN, byName('helper'))).toBeNull();
  });
});

describe('role reordering', () => {
  it('moves a role up by one and sends only the changed positions', () => {
    const order = moved(roles, G, '12', -1);
    expect(order).toEqual(['10', '12', '11', '14']);
    expect(positionsFor(roles, order, Infinity)).toEqual([
      { id: '12', position: 3 },
      { id: '11', position: 2 },
    ]);
  });

  it('keeps the order at the ends', () => {
    expect(moved(roles, G, '10', -1)).toEqual(['10', '11', '12', '14']);
    expect(moved(roles, G, '14', 1)).toEqual(['10', '11', '12', '14']);
    expect(positionsFor(roles, moved(roles, G, '10', -1), Infinity)).toEqual([]);
  });

  it('drops a role onto another role’s place', () => {
    expect(dropped(roles, G, '14', '11')).toEqual(['10', '14', '11', '12']);
    expect(dropped(roles, G, '10', '12')).toEqual(['11', '12', '10', '14']);
  });

  it('refuses moves that touch the editor’s own rank or above', () => {
    // The moderator (top 3) may swap helper and bot (2 and 1)…
    expect(positionsFor(roles, moved(roles, G, '14', -1), 3)).toEqual([
      { id: '14', position: 2 },
      { id: '12', position: 1 },
    ]);
    // …but not lift helper to position 3, nor move its own role.
    expect(positionsFor(roles, moved(roles, G, '12', -1), 3)).toBeNull();
    expect(positionsFor(roles, moved(roles, G, '11', 1), 3)).toBeNull();
  });
});

describe('overwrite tri-state', () => {
  const VIEW = P.VIEW_CHANNEL;
  const SEND = P.SEND_MESSAGES;

  it('reads allow, deny and neutral', () => {
    const ow = { allow: SEND.toString(), deny: VIEW.toString() };
    expect(bitState(ow, SEND)).toBe('allow');
    expect(bitState(ow, VIEW)).toBe('deny');
    expect(bitState(ow, P.ATTACH_FILES)).toBe('neutral');
    expect(bitState(undefined, VIEW)).toBe('neutral');
  });

  it('sets one bit without touching the others, never in both sets', () => {
    const ow = { allow: SEND.toString(), deny: '0' };
    expect(withBit(ow, VIEW, 'deny')).toEqual({ allow: SEND.toString(), deny: VIEW.toString() });
    expect(withBit(ow, SEND, 'deny')).toEqual({ allow: '0', deny: SEND.toString() });
    expect(withBit({ allow: '0', deny: SEND.toString() }, SEND, 'allow')).toEqual({ allow: SEND.toString(), deny: '0' });
    expect(withBit(ow, SEND, 'neutral')).toEqual({ allow: '0', deny: '0' });
    expect(withBit(undefined, P.PIN_MESSAGES, 'allow')).toEqual({ allow: (1n << 51n).toString(), deny: '0' });
  });

  it('knows an empty overwrite and the bits a change touches', () => {
    expect(isEmptyOverwrite({ allow: '0', deny: '0' })).toBe(true);
    expect(isEmptyOverwrite({ allow: '0', deny: '1024' })).toBe(false);
    const before = { allow: SEND.toString(), deny: '0' };
    const after = withBit(withBit(before, SEND, 'deny'), VIEW, 'deny');
    expect(changedBits(before, after)).toBe(SEND | VIEW);
    expect(changedBits(undefined, { allow: '0', deny: '0' })).toBe(0n);
  });
});

describe('helpers', () => {
  it('converts colours both ways', () => {
    expect(colourToInt('#e8743b')).toBe(0xe8743b);
    expect(intToColour(0x00ff00)).toBe('#00ff00');
    expect(colourToInt('nonsense')).toBe(0);
  });

  it('reads a snowflake’s time', () => {
    // 175928847299117063 is Discord's documented example: 2016-04-30T11:18:25.796Z.
    expect(new Date(snowflakeTime('175928847299117063')).toISOString()).toBe('2016-04-30T11:18:25.796Z');
  });
});

describe('audit log entries in words', () => {
  const entry = (action_type: number, target_id: string | null, changes: { key: string; old_value?: unknown; new_value?: unknown }[] = []) => ({
    id: '1',
    guild_id: G,
    user_id: OWNER,
    target_id,
    action_type,
    changes,
  });
  const users = [{ id: PLAIN, username: 'mark', global_name: null } as never];

  it('names the target by its kind', () => {
    expect(auditTarget(guild, users, entry(22, PLAIN))).toBe('mark');
    expect(auditTarget(guild, users, entry(31, '11'))).toBe('mod');
    // A deleted role: its name from the changes.
    expect(auditTarget(guild, users, entry(32, '77', [{ key: 'name', old_value: 'gone' }]))).toBe('gone');
    expect(auditTarget(guild, users, entry(40, null, [{ key: 'code', new_value: 'abc' }]))).toBe('abc');
    expect(auditTarget(guild, users, entry(10, '55', [{ key: 'name', new_value: 'lounge' }]))).toBe('#lounge');
    expect(auditTarget(guild, users, entry(1, G))).toBe('');
    expect(auditTarget(guild, users, entry(20, '404'))).toBe('404');
  });

  it('lists plain changes and leaves bit sets out', () => {
    const e = entry(31, '11', [
      { key: 'name', old_value: 'a', new_value: 'b' },
      { key: 'permissions', old_value: '0', new_value: '2' },
      { key: 'color', new_value: 255 },
    ]);
    expect(auditChanges(e)).toBe('name: a → b; color: — → 255');
  });
});

describe('audit log pages', () => {
  const entry = (id: string) => ({ id, user_id: 'u', target_id: null, action_type: 1, changes: [], reason: null }) as unknown as AuditLogEntry;
  const page = (ids: string[], users: string[] = []): AuditLog => ({
    audit_log_entries: ids.map(entry),
    users: users.map((id) => ({ id, username: id }) as unknown as User),
  });
  it('merges pages newest first, each entry and user once', () => {
    const merged = mergeAuditPages([page(['12', '10', '9'], ['a']), page(['10', '8'], ['a', 'b'])]);
    expect(merged.audit_log_entries.map((e) => e.id)).toEqual(['12', '10', '9', '8']);
    expect(merged.users.map((u) => u.id)).toEqual(['a', 'b']);
  });
  it('asks for an older page before the oldest entry only after a full page', () => {
    expect(nextAuditBefore([])).toBeNull();
    expect(nextAuditBefore([page(['3', '2'])])).toBeNull();
    const full = page(Array.from({ length: AUDIT_PAGE }, (_, i) => String(1000 + i)));
    expect(nextAuditBefore([full])).toBe('1000');
    expect(nextAuditBefore([full, page(['999'])])).toBeNull();
  });
});

describe('category sync', () => {
  const ow = (id: string, allow: string, deny: string, type = 0) => ({ id, type, allow, deny });
  it('a channel is synced when its overwrites equal those of the category, order and neutral entries aside', () => {
    const cat = [ow('g', '0', '1024'), ow('r', '1024', '0')];
    expect(sameOverwrites([ow('r', '1024', '0'), ow('g', '0', '1024')], cat)).toBe(true);
    expect(sameOverwrites([...cat, ow('u', '0', '0', 1)], cat)).toBe(true);
    expect(sameOverwrites([ow('g', '0', '1024')], cat)).toBe(false);
    expect(sameOverwrites([ow('g', '0', '2048'), ow('r', '1024', '0')], cat)).toBe(false);
    expect(sameOverwrites([ow('g', '0', '1024'), ow('r', '1024', '0', 1)], cat)).toBe(false);
    expect(sameOverwrites([], [])).toBe(true);
  });
});

describe('the overwrite rule (src/service/overwrites.rs)', () => {
  const ow = (id: string, allow: bigint, deny: bigint, type = 0): Overwrite => ({ id, type, allow: allow.toString(), deny: deny.toString() });
  const chan = (id: string, ows: Overwrite[], type = 0): Channel => ({ id, type, name: id, permission_overwrites: ows }) as Channel;
  // MANAGE_CHANNELS at guild level for the mod and SEND_MESSAGES for everyone, so only the
  // overwrite rule decides.
  const perms: Record<string, bigint> = { [G]: P.VIEW_CHANNEL | P.SEND_MESSAGES, '11': P.MANAGE_ROLES | P.MANAGE_CHANNELS };
  const g: GuildCreate = { ...guild, roles: roles.map((r) => (perms[r.id] !== undefined ? { ...r, permissions: String(perms[r.id]) } : r)) };
  it('touched bits: per target, what differs; added and removed overwrites count whole; the last entry counts', () => {
    const send = P.SEND_MESSAGES;
    const view = P.VIEW_CHANNEL;
    expect(touchedBits([ow('7', 0n, send)], [])).toBe(send);
    expect(touchedBits([], [ow('7', view, send)])).toBe(view | send);
    expect(touchedBits([ow('7', 0n, send)], [ow('7', send, 0n)])).toBe(send);
    const same = [ow('7', view, send), ow('8', 0n, P.ADMINISTRATOR)];
    expect(touchedBits(same, same)).toBe(0n);
    expect(touchedBits([ow('7', 0n, send)], [ow('7', 0n, 0n), ow('7', 0n, send)])).toBe(0n);
  });
  it('a change of a bit the editor lacks in the channel is refused; owner and admins may change anything', () => {
    // The mod is denied SEND_MESSAGES in the channel: removing that deny is refused.
    const c = chan('c', [ow('11', 0n, P.SEND_MESSAGES)]);
    expect(mayChangeOverwrites(g, c, MOD, [])).toBe(false);
    expect(mayChangeOverwrites(g, c, MOD, [ow('11', 0n, P.SEND_MESSAGES), ow(G, 0n, P.VIEW_CHANNEL)])).toBe(true);
    expect(mayChangeOverwrites(g, c, OWNER, [])).toBe(true);
    expect(mayChangeOverwrites(g, c, ADMIN, [])).toBe(true);
  });
  it('MANAGE_ROLES may be changed only by whom an overwrite of the channel grants it', () => {
    const plain = chan('c', []);
    expect(mayTouchManageRoles(g, plain, MOD)).toBe(false);
    expect(mayChangeOverwrites(g, plain, MOD, [ow('12', P.MANAGE_ROLES, 0n)])).toBe(false);
    const granted = chan('c', [ow(MOD, P.MANAGE_ROLES, 0n, 1)]);
    expect(mayTouchManageRoles(g, granted, MOD)).toBe(true);
    expect(mayChangeOverwrites(g, granted, MOD, [ow(MOD, P.MANAGE_ROLES, 0n, 1), ow('12', P.MANAGE_ROLES, 0n)])).toBe(true);
    expect(mayTouchManageRoles(g, plain, ADMIN)).toBe(true);
  });
  it('"Sync with category" is offered only when the server would accept the copy', () => {
    const cat = chan('cat', [ow(G, 0n, P.SEND_MESSAGES)], 4);
    // The copy adds a deny of SEND_MESSAGES, which the mod holds: accepted.
    expect(maySyncWithCategory(g, chan('c', []), cat, MOD)).toBe(true);
    // The channel denies the mod SEND_MESSAGES in a way the copy removes: refused.
    expect(maySyncWithCategory(g, chan('c', [ow('11', 0n, P.SEND_MESSAGES)]), cat, MOD)).toBe(false);
    // A category that grants MANAGE_ROLES: the copy touches it, refused without an overwrite granting it.
    const catRoles = chan('cat', [ow('12', P.MANAGE_ROLES, 0n)], 4);
    expect(maySyncWithCategory(g, chan('c', []), catRoles, MOD)).toBe(false);
    expect(maySyncWithCategory(g, chan('c', []), catRoles, OWNER)).toBe(true);
    expect(maySyncWithCategory(g, chan('c', []), catRoles, ADMIN)).toBe(true);
    // Without MANAGE_CHANNELS in the guild, never.
    expect(maySyncWithCategory(guild, chan('c', []), cat, MOD)).toBe(false);
  });
});
