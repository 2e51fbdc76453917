import { describe, expect, it } from 'vitest';
import type { Channel, GuildCreate, Member } from './api/wire';
import { P } from './permissions';
import { fuzzyScore, isTypingTarget, moveActive, rankItems, stepChannel, stepGuild, switcherItems, type SwitcherItem } from './quick';

const ME = '2';
const role = (id: string, p: bigint) => ({ id, name: id, color: 0, hoist: false, position: 0, permissions: p.toString(), managed: false, mentionable: false });
const user = (id: string) => ({ id, username: id, discriminator: '0', global_name: null, avatar: null, bot: false, system: false, public_flags: 0, flags: 0, handle: `${id}@x` });
const member = (id: string): Member => ({
  user: user(id),
  nick: null,
  roles: [],
  joined_at: '',
});
function guild(id: string, name: string, channels: Channel[]): GuildCreate {
  return { id, name, icon: null, description: null, owner_id: '1', roles: [role(id, P.VIEW_CHANNEL)], channels, members: [member(ME)], member_count: 1, joined_at: '' };
}
const text = (id: string, g: string, name: string, extra: Partial<Channel> = {}): Channel => ({ id, type: 0, guild_id: g, name, permission_overwrites: [], ...extra });

describe('fuzzyScore', () => {
  it('matches subsequences only, case-insensitive', () => {
    expect(fuzzyScore('gnrl', 'General')).not.toBeNull();
    expect(fuzzyScore('xyz', 'general')).toBeNull();
    expect(fuzzyScore('lg', 'general')).toBeNull();
    expect(fuzzyScore('', 'anything')).toBe(0);
  });
  it('prefers prefixes, consecutive runs and word starts', () => {
    const s = (q: string, t: string) => fuzzyScore(q, t) ?? -1;
    expect(s('gen', 'general')).toBeGreaterThan(s('gen', 'off-gen-topic'));
    expect(s('ot', 'off-topic')).toBeGreaterThan(s('ot', 'photo'));
    expect(s('ran', 'random')).toBeGreaterThan(s('ran', 'rain-and-snow'));
  });
});

describe('switcherItems', () => {
  it('lists visible text channels, servers with unread sums, and DMs', () => {
    const hidden = text('12', 'g1', 'secret', { permission_overwrites: [{ id: 'g1', type: 0, allow: '0', deny: P.VIEW_CHANNEL.toString() }] });
    const cat: Channel = { id: '13', type: 4, guild_id: 'g1', name: 'cat', permission_overwrites: [] };
    const g = guild('g1', 'Home', [text('11', 'g1', 'general'), hidden, cat]);
    const dm: Channel = { id: '50', type: 1, recipients: [user('7')] };
    const items = switcherItems([g], [dm], { '11': { count: 2, mentions: 1 } }, ME);
    expect(items.map((i) => [i.kind, i.label, i.href, i.unread, i.mentions])).toEqual([
      ['channel', '# general', '/channels/g1/11', true, 1],
      ['guild', 'Home', '/channels/g1', true, 1],
      ['dm', '@ 7', '/channels/@me/50', false, 0],
    ]);
  });
});

const item = (id: string, label: string, unread = false, mentions = 0, kind: SwitcherItem['kind'] = 'channel'): SwitcherItem => ({
  kind, id, label, detail: '', href: `/${id}`, unread, mentions,
});

describe('rankItems', () => {
  const list = [item('a', '# alpha'), item('b', '# beta', true), item('c', '# gamma', true, 2), item('d', '# delta', true, 5), item('e', 'Alpha server', false, 0, 'guild')];
  it('puts mentions (most first), then unread first for an empty query, the current one last', () => {
    expect(rankItems(list, '', 'b').map((x) => x.id)).toEqual(['d', 'c', 'a', 'e', 'b']);
  });
  it('filters and orders by score for a query', () => {
    expect(rankItems(list, 'alp').map((x) => x.id)).toEqual(['a', 'e']);
    expect(rankItems(list, 'zzz')).toEqual([]);
  });
  it('narrows the kind with a leading sigil', () => {
    expect(rankItems(list, '#alp').map((x) => x.id)).toEqual(['a']);
    expect(rankItems(list, '*alp').map((x) => x.id)).toEqual(['e']);
  });
  it('keeps at most limit entries', () => {
    expect(rankItems(list, '', null, 2)).toHaveLength(2);
  });
});

describe('stepChannel and stepGuild', () => {
  const ids = ['1', '2', '3', '4'];
  it('moves one channel, stopping at the ends', () => {
    expect(stepChannel(ids, '2', 1)).toBe('3');
    expect(stepChannel(ids, '2', -1)).toBe('1');
    expect(stepChannel(ids, '4', 1)).toBeNull();
    expect(stepChannel(ids, '1', -1)).toBeNull();
  });
  it('finds the nearest unread one in the direction, wrapping, never the current', () => {
    const unread = { '1': { count: 1, mentions: 0 }, '3': { count: 1, mentions: 0 } };
    expect(stepChannel(ids, '2', 1, unread)).toBe('3');
    expect(stepChannel(ids, '3', 1, unread)).toBe('1');
    expect(stepChannel(ids, '2', -1, unread)).toBe('1');
    expect(stepChannel(ids, '1', -1, unread)).toBe('3');
    expect(stepChannel(ids, '1', 1, { '1': { count: 1, mentions: 0 } })).toBeNull();
  });
  it('cycles servers, from the DM home to the first or last', () => {
    expect(stepGuild(['a', 'b'], 'b', 1)).toBe('a');
    expect(stepGuild(['a', 'b'], 'a', -1)).toBe('b');
    expect(stepGuild(['a', 'b'], null, 1)).toBe('a');
    expect(stepGuild(['a', 'b'], null, -1)).toBe('b');
    expect(stepGuild([], null, 1)).toBeNull();
  });
});

describe('moveActive', () => {
  it('wraps in a list', () => {
    expect(moveActive(2, 3, 'ArrowDown')).toBe(0);
    expect(moveActive(0, 3, 'ArrowUp')).toBe(2);
    expect(moveActive(1, 3, 'End')).toBe(2);
    expect(moveActive(0, 0, 'ArrowDown')).toBe(-1);
  });
  it('moves by rows in a grid, staying in bounds', () => {
    expect(moveActive(1, 20, 'ArrowDown', 8)).toBe(9);
    expect(moveActive(15, 20, 'ArrowDown', 8)).toBe(19);
    expect(moveActive(3, 20, 'ArrowUp', 8)).toBe(0);
    expect(moveActive(19, 20, 'ArrowRight', 8)).toBe(19);
    expect(moveActive(0, 20, 'ArrowLeft', 8)).toBe(0);
  });
});

describe('isTypingTarget', () => {
  it('knows fields from the rest', () => {
    expect(isTypingTarget({ tagName: 'TEXTAREA' } as unknown as EventTarget)).toBe(true);
    expect(isTypingTarget({ tagName: 'INPUT' } as unknown as EventTarget)).toBe(true);
    expect(isTypingTarget({ tagName: 'BUTTON', isContentEditable: false } as unknown as EventTarget)).toBe(false);
    expect(isTypingTarget(null)).toBe(false);
  });
});
