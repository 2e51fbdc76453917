import { describe, expect, it } from 'vitest';
import type { Message } from '../api/wire';
import message from '../../wire-fixtures/message.json';
import { Store } from './store';

const msg = (id: string, extra: Partial<Message> = {}): Message => ({ ...(message as Message), id, ...extra });

describe('pins in the store', () => {
  it('CHANNEL_PINS_UPDATE bumps the channel’s version (the panel fetches again)', () => {
    const s = new Store();
    const c = msg('1').channel_id;
    s.dispatch('CHANNEL_PINS_UPDATE', { guild_id: null, channel_id: c, last_pin_timestamp: null });
    s.dispatch('CHANNEL_PINS_UPDATE', { guild_id: null, channel_id: c, last_pin_timestamp: null });
    expect(s.state.pinsVersion[c]).toBe(2);
  });
  it('MESSAGE_UPDATE edits a pinned copy and drops an unpinned one; MESSAGE_DELETE drops it', () => {
    const s = new Store();
    const a = msg('1', { pinned: true });
    const b = msg('2', { pinned: true });
    const c = msg('3', { pinned: true });
    s.setPins(a.channel_id, [a, b, c]);
    s.dispatch('MESSAGE_UPDATE', { ...a, content: 'edited' });
    s.dispatch('MESSAGE_UPDATE', { ...b, pinned: false });
    s.dispatch('MESSAGE_DELETE', { id: c.id, channel_id: c.channel_id, guild_id: null });
    expect(s.state.pins[a.channel_id]?.map((m) => [m.id, m.content])).toEqual([['1', 'edited']]);
  });
  it('GUILD_ROLE_UPDATE and _DELETE change the roles permissions are computed from', () => {
    const s = new Store();
    const role = { id: '9', name: 'mod', color: 0, hoist: false, position: 1, permissions: '0', managed: false, mentionable: false };
    s.upsertGuild({
      id: 'g', name: 'g', icon: null, description: null, owner_id: 'o', roles: [role], channels: [], joined_at: '', member_count: 1,
      members: [{ user: msg('1').author, nick: null, roles: ['9'], joined_at: '' }],
    });
    s.dispatch('GUILD_ROLE_UPDATE', { guild_id: 'g', role: { ...role, permissions: String(1n << 51n) } });
    expect(s.guild('g')?.roles.map((r) => r.permissions)).toEqual([String(1n << 51n)]);
    s.dispatch('GUILD_ROLE_DELETE', { guild_id: 'g', role_id: '9' });
    expect(s.guild('g')?.roles).toEqual([]);
    expect(s.guild('g')?.members[0]?.roles).toEqual([]);
  });
});
