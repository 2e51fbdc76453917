// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import type { Channel, GuildCreate, Message, User } from './api/wire';
import { Store } from './state/store';
import { groupName, knownPeople, systemText } from './ui/GroupDms';

const user = (id: string, username: string, bot = false): User => ({ id, username, global_name: null, bot }) as User;
const alice = user('1', 'alice');
const bob = user('2', 'bob');
const carol = user('3', 'carol');
const robot = user('4', 'robot', true);

describe('group DMs', () => {
  it('names a group by its name, else its other recipients', () => {
    const g = { id: 'c', type: 3, recipients: [bob, carol] } as Channel;
    expect(groupName(g)).toBe('bob, carol');
    expect(groupName({ ...g, name: 'Weekend' })).toBe('Weekend');
    expect(groupName({ ...g, recipients: [] })).toBe('you');
  });
  it('offers the people of shared guilds and DMs, sorted, without me, bots and those inside', () => {
    const guilds = [{ id: 'g', members: [{ user: alice }, { user: carol }, { user: robot }] }] as unknown as GuildCreate[];
    const dms = [{ id: 'd', type: 1, recipients: [bob] }] as Channel[];
    const people = knownPeople({ guilds, dms, me: alice }, new Set());
    expect(people.map((u) => u.username)).toEqual(['bob', 'carol']);
    expect(knownPeople({ guilds, dms, me: alice }, new Set(['3'])).map((u) => u.username)).toEqual(['bob']);
  });
  it('words the system messages: added, removed, left, renamed', () => {
    const m = (type: number, author: User, mentions: User[], content = '') => ({ type, author, mentions, content }) as unknown as Message;
    expect(systemText(m(1, alice, [bob]))).toBe('alice added bob to the group.');
    expect(systemText(m(2, alice, [bob]))).toBe('alice removed bob from the group.');
    expect(systemText(m(2, bob, [bob]))).toBe('bob left the group.');
    expect(systemText(m(4, carol, [], 'Picnic'))).toBe('carol renamed the group to Picnic.');
    expect(systemText(m(0, carol, [], 'hi'))).toBeNull();
  });
  it('keeps a group DM’s recipients in step with CHANNEL_RECIPIENT_ADD/REMOVE', () => {
    const s = new Store();
    s.setChannel({ id: 'c', type: 3, recipients: [bob] } as Channel);
    s.dispatch('CHANNEL_RECIPIENT_ADD', { channel_id: 'c', user: carol });
    expect(s.state.dms[0]?.recipients?.map((u) => u.id)).toEqual(['2', '3']);
    s.dispatch('CHANNEL_RECIPIENT_REMOVE', { channel_id: 'c', user: bob });
    expect(s.state.dms[0]?.recipients?.map((u) => u.id)).toEqual(['3']);
    s.dispatch('CHANNEL_DELETE', { id: 'c', type: 3 });
    expect(s.state.dms).toEqual([]);
  });
});
