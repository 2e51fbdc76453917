import { describe, expect, it } from 'vitest';
import type { Channel, Message } from '../api/wire';
import dmChannel from '../../wire-fixtures/dm_channel.json';
import message from '../../wire-fixtures/message.json';
import relationship from '../../wire-fixtures/relationship.json';
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
  it('a pins answer older than an edit seen meanwhile keeps the edited text', () => {
    const s = new Store();
    const a = msg('1', { pinned: true, content: 'old', edited_timestamp: null });
    s.prependPage(a.channel_id, [{ ...a, content: 'new', edited_timestamp: '2026-12-04T10:00:00.000Z' }], 50);
    s.setPins(a.channel_id, [a, msg('2', { pinned: true, content: 'other' })]);
    expect(s.state.pins[a.channel_id]?.map((m) => [m.id, m.content, m.pinned])).toEqual([
      ['1', 'new', true],
      ['2', 'other', true],
    ]);
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

describe('read states in the store', () => {
  const me = msg('1').author;
  const other = { ...me, id: '77', username: 'other' };
  const guild = (lastMessage: string) => ({
    id: 'g', name: 'g', icon: null, description: null, owner_id: 'o', roles: [], joined_at: '', member_count: 2,
    members: [{ user: me, nick: null, roles: ['5'], joined_at: '' }],
    channels: [{ id: 'c', type: 0, guild_id: 'g', name: 'news', position: 0, last_message_id: lastMessage }],
  });
  it('READY entries make channels with newer messages unread, with the server’s mention count', () => {
    const s = new Store();
    s.dispatch('READY', { v: 10, user: me, session_id: 's', guilds: [], read_state: { version: 1, partial: false, entries: [
      { id: 'c', last_message_id: '10', mention_count: 2, last_pin_timestamp: null, flags: 0 },
    ] } });
    s.dispatch('GUILD_CREATE', guild('12'));
    expect(s.state.unread.c).toEqual({ count: 1, mentions: 2 });
    // Read in another session: MESSAGE_ACK up to the newest message clears it.
    s.dispatch('MESSAGE_ACK', { channel_id: 'c', message_id: '12', version: 2, mention_count: 0, ack_type: 0 });
    expect(s.state.unread.c).toBeUndefined();
    // A new message mentioning one of my roles, in a channel not on screen.
    s.dispatch('MESSAGE_CREATE', msg('13', { channel_id: 'c', guild_id: 'g', author: other, mentions: [], mention_everyone: false, mention_roles: ['5'] }));
    expect(s.state.unread.c).toEqual({ count: 1, mentions: 1 });
    // "Mark unread" elsewhere: unread again with the count the server gives.
    s.dispatch('MESSAGE_ACK', { channel_id: 'c', message_id: '12', version: 3, mention_count: 1, ack_type: 0 });
    expect(s.state.unread.c).toEqual({ count: 1, mentions: 1 });
  });
  it('channels without a read state, or read up to their newest message, are read', () => {
    const s = new Store();
    s.dispatch('READY', { v: 10, user: me, session_id: 's', guilds: [], read_state: { version: 1, partial: false, entries: [
      { id: 'c', last_message_id: '12', mention_count: 0, last_pin_timestamp: null, flags: 0 },
    ] } });
    s.dispatch('GUILD_CREATE', guild('12'));
    expect(s.state.unread).toEqual({});
    const t = new Store();
    t.dispatch('READY', { v: 10, user: me, session_id: 's', guilds: [] });
    t.dispatch('GUILD_CREATE', guild('12'));
    expect(t.state.unread).toEqual({});
  });
});

describe('direct messages and blocks in the store', () => {
  const me = { ...msg('1').author, id: '77', username: 'me', handle: 'me@localhost' };
  const ready = (extra: object) => ({ v: 10, user: me, session_id: 's', guilds: [], ...extra });
  it('USER_UPDATE of the signed-in user updates `me`; another user is ignored', () => {
    const s = new Store();
    s.dispatch('READY', ready({}));
    s.dispatch('USER_UPDATE', { ...me, global_name: 'Me Renamed', avatar: 'abc', mfa_enabled: true, dm_policy: 1 });
    expect(s.state.me).toMatchObject({ id: '77', global_name: 'Me Renamed', avatar: 'abc', mfa_enabled: true, dm_policy: 1 });
    s.dispatch('USER_UPDATE', { ...me, id: '78', global_name: 'Someone else' });
    expect(s.state.me?.global_name).toBe('Me Renamed');
  });
  it('READY gives the DMs (unread by read state) and the blocked users', () => {
    const s = new Store();
    const dm = dmChannel as Channel;
    s.dispatch(
      'READY',
      ready({
        private_channels: [dm],
        relationships: [relationship],
        read_state: { version: 1, partial: false, entries: [{ id: dm.id, last_message_id: '1', mention_count: 0, last_pin_timestamp: null, flags: 0 }] },
      }),
    );
    expect(s.state.dms.map((c) => c.id)).toEqual([dm.id]);
    expect(s.state.blocked).toEqual({ [relationship.id]: true });
    // An unread DM counts as a mention (Discord's badge), though the server counted none.
    expect(s.state.unread[dm.id]).toEqual({ count: 1, mentions: 1 });
    s.dispatch('RELATIONSHIP_REMOVE', { id: relationship.id, type: 2 });
    expect(s.state.blocked).toEqual({});
    s.dispatch('RELATIONSHIP_ADD', relationship);
    expect(s.state.blocked).toEqual({ [relationship.id]: true });
  });
  it('CHANNEL_CREATE of a DM joins the list; a DM message not on screen is unread; names come from recipients', () => {
    const s = new Store();
    s.dispatch('READY', ready({}));
    const dm = dmChannel as Channel;
    s.dispatch('CHANNEL_CREATE', dm);
    expect(s.state.dms.map((c) => c.id)).toEqual([dm.id]);
    const author = dm.recipients?.[0] ?? me;
    const plain: Message = msg('5', { channel_id: dm.id, author });
    delete plain.guild_id;
    delete plain.member;
    s.dispatch('MESSAGE_CREATE', plain);
    expect(s.state.unread[dm.id]).toEqual({ count: 1, mentions: 1 });
    s.dispatch('MESSAGE_CREATE', { ...plain, id: '6' });
    expect(s.state.unread[dm.id]).toEqual({ count: 2, mentions: 2 });
    s.dispatch('TYPING_START', { channel_id: dm.id, guild_id: null, user_id: author.id, timestamp: 1 });
    expect(s.state.typing[dm.id]?.[author.id]?.name).toBe(author.username);
  });
});

describe('administration lists in the store', () => {
  it('bans, invites, webhooks and role changes bump the guild’s admin version; others do not', () => {
    const s = new Store();
    s.dispatch('GUILD_BAN_ADD', { guild_id: '9', user: { id: '5' } });
    s.dispatch('GUILD_BAN_REMOVE', { guild_id: '9', user: { id: '5' } });
    s.dispatch('INVITE_DELETE', { guild_id: '9', channel_id: '3', code: 'abc' });
    s.dispatch('WEBHOOKS_UPDATE', { guild_id: '8', channel_id: '3' });
    s.dispatch('GUILD_UPDATE', { id: '8', name: 'renamed' });
    s.dispatch('TYPING_START', { guild_id: '9', channel_id: '3', user_id: '5', timestamp: 0 });
    expect(s.state.adminVersion).toEqual({ '9': 3, '8': 2 });
  });
});

describe('passive guilds in the store', () => {
  const me = msg('1').author;
  const guild = {
    id: 'g', name: 'g', icon: null, description: null, owner_id: 'o', roles: [], joined_at: '', member_count: 5000,
    members: [{ user: me, nick: null, roles: [], joined_at: '' }],
    channels: [
      { id: 'c', type: 0, guild_id: 'g', name: 'news', position: 0, last_message_id: '10' },
      { id: 'd', type: 0, guild_id: 'g', name: 'talk', position: 1, last_message_id: '10' },
    ],
  };
  it('PASSIVE_UPDATE_V1 makes channels with newer messages unread and drops their pages', () => {
    const s = new Store();
    s.dispatch('READY', { v: 10, user: me, session_id: 's', guilds: [], read_state: { version: 1, partial: false, entries: [
      { id: 'c', last_message_id: '10', mention_count: 0, last_pin_timestamp: null, flags: 0 },
      { id: 'd', last_message_id: '10', mention_count: 0, last_pin_timestamp: null, flags: 0 },
    ] } });
    s.dispatch('GUILD_CREATE', guild);
    s.prependPage('c', [msg('10', { channel_id: 'c', guild_id: 'g' })], 50);
    s.prependPage('d', [msg('10', { channel_id: 'd', guild_id: 'g' })], 50);
    expect(s.state.unread).toEqual({});
    s.dispatch('PASSIVE_UPDATE_V1', { guild_id: 'g', channels: [{ id: 'c', last_message_id: '12' }, { id: 'd', last_message_id: '10' }] });
    expect(s.state.unread).toEqual({ c: { count: 1, mentions: 0 } });
    expect(s.state.latest.c).toBe('12');
    expect(s.state.messages.c).toBeUndefined();
    expect(s.state.messages.d?.list.map((m) => m.id)).toEqual(['10']);
    // Opening the guild drops the rest of its pages (edits were not sent meanwhile), once.
    s.openGuild('g');
    expect(s.state.openGuild).toBe('g');
    expect(s.state.messages.d).toBeUndefined();
    s.prependPage('d', [msg('11', { channel_id: 'd', guild_id: 'g' })], 50);
    s.openGuild(null);
    s.openGuild('g');
    expect(s.state.messages.d?.list.map((m) => m.id)).toEqual(['11']);
  });
});

describe('a window of history around a jumped-to message', () => {
  // Ids 100..199 in one channel; `around 150` with limit 50 answers 125..174 (newest first),
  // as src/storage/chat.rs does: 25 from the target on, 25 before it.
  const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => String(from + i));
  const page = (list: string[]) => list.map((id) => msg(id)).reverse();
  const channel = msg('1').channel_id;
  const loaded = (s: Store) => s.state.messages[channel]?.list.map((m) => m.id);

  it('replaces the loaded messages, knows both ends are open, and starts a new list', () => {
    const s = new Store();
    s.prependPage(channel, page(ids(150, 199)), 50);
    const before = s.state.messages[channel]?.epoch;
    s.replaceWindow(channel, page(ids(125, 174)), 50, '150');
    const w = s.state.messages[channel];
    expect(loaded(s)).toEqual(ids(125, 174));
    expect([w?.hasMore, w?.hasNewer]).toEqual([true, true]);
    expect(w?.epoch).not.toBe(before);
    // Near the present: fewer than 25 from the target on.
    s.replaceWindow(channel, page(ids(165, 199)), 50, '190');
    expect(s.state.messages[channel]?.hasNewer).toBe(false);
  });

  it('holds live messages until the newer pages reach the present, then adds them once, in order', () => {
    const s = new Store();
    s.replaceWindow(channel, page(ids(125, 174)), 50, '150');
    s.addMessage(msg('300'));
    s.addMessage(msg('301'));
    s.dispatch('MESSAGE_UPDATE', { ...msg('300'), content: 'edited while held' });
    s.dispatch('MESSAGE_DELETE', { id: '301', channel_id: channel, guild_id: null });
    expect(loaded(s)).toEqual(ids(125, 174));
    // A full newer page: still not the present.
    s.appendPage(channel, page(ids(175, 224)), 50);
    expect(loaded(s)).toEqual(ids(125, 224));
    expect(s.state.messages[channel]?.hasNewer).toBe(true);
    // The last page (short, overlapping what is loaded; answered before 300 was stored): the
    // present, with the held message as edited meanwhile.
    s.appendPage(channel, page(ids(220, 240)), 50);
    expect(loaded(s)).toEqual([...ids(125, 240), '300']);
    expect(s.state.messages[channel]?.list.at(-1)?.content).toBe('edited while held');
    expect(s.state.messages[channel]?.hasNewer).toBe(false);
    // Live messages are appended again.
    s.addMessage(msg('302'));
    expect(loaded(s)?.at(-1)).toBe('302');
  });
});
