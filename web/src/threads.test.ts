import { describe, expect, it } from 'vitest';
import type { Channel, GuildCreate, Message } from './api/wire';
import { P, channelPermissions, threadPermissions } from './permissions';
import { countMessage, removeThread, syncThreads, upsertThreads } from './state/threads';
import { switcherItems } from './quick';
import { activity, appliedTags, forumPosts, mayPost, mayStartThread, offeredTags, postTagsProblem, sidebarThreads, threadComposerBlock } from './threads';

const EVERYONE = P.VIEW_CHANNEL | P.SEND_MESSAGES | P.SEND_MESSAGES_IN_THREADS | P.CREATE_PUBLIC_THREADS | P.READ_MESSAGE_HISTORY;

const thread = (id: string, parent: string, extra: Partial<Channel> = {}): Channel => ({
  id,
  type: 11,
  guild_id: 'g',
  name: id,
  parent_id: parent,
  thread_metadata: { archived: false, auto_archive_duration: 4320, archive_timestamp: '', locked: false },
  ...extra,
});

function guild(threads: Channel[], overwrites: Channel['permission_overwrites'] = []): GuildCreate {
  return {
    id: 'g',
    name: 'G',
    icon: null,
    description: null,
    owner_id: 'owner',
    roles: [{ id: 'g', name: '@everyone', color: 0, hoist: false, position: 0, permissions: String(EVERYONE), managed: false, mentionable: false }],
    members: [{ user: { id: 'me' } as Message['author'], nick: null, roles: [], joined_at: '' }],
    channels: [
      { id: 'general', type: 0, guild_id: 'g', name: 'general', permission_overwrites: overwrites },
      { id: 'hidden', type: 0, guild_id: 'g', name: 'hidden', permission_overwrites: [{ id: 'g', type: 0, allow: '0', deny: String(P.VIEW_CHANNEL) }] },
      { id: 'forum', type: 15, guild_id: 'g', name: 'forum', flags: 16, available_tags: [{ id: 't1', name: 'bug', moderated: false, emoji_id: null, emoji_name: null }, { id: 't2', name: 'staff', moderated: true, emoji_id: null, emoji_name: '🔒' }] },
    ],
    member_count: 1,
    joined_at: '',
    threads,
  };
}

describe('thread permissions', () => {
  it('are the parent’s, with SEND_MESSAGES standing for SEND_MESSAGES_IN_THREADS', () => {
    expect(threadPermissions(P.SEND_MESSAGES) & P.SEND_MESSAGES).toBe(0n);
    expect(threadPermissions(P.SEND_MESSAGES_IN_THREADS) & P.SEND_MESSAGES).toBe(P.SEND_MESSAGES);
    const deny = [{ id: 'me', type: 1, allow: '0', deny: String(P.SEND_MESSAGES_IN_THREADS) }];
    const g = guild([thread('t', 'general')], deny);
    const th = g.threads?.[0] as Channel;
    expect(channelPermissions(g, th, 'me') & P.SEND_MESSAGES).toBe(0n);
    expect(threadComposerBlock(th, channelPermissions(g, th, 'me'))).toBe('permission');
    const open = guild([th]);
    expect(threadComposerBlock(th, channelPermissions(open, th, 'me'))).toBeNull();
    // Unknown parent: nothing.
    expect(channelPermissions(open, thread('x', 'gone'), 'me')).toBe(0n);
  });
  it('close the composer of an archived thread, and of a locked one without MANAGE_THREADS', () => {
    const meta = { archived: false, auto_archive_duration: 60, archive_timestamp: '', locked: true };
    const locked = thread('t', 'general', { thread_metadata: meta });
    expect(threadComposerBlock(locked, P.SEND_MESSAGES)).toBe('locked');
    expect(threadComposerBlock(locked, P.SEND_MESSAGES | P.MANAGE_THREADS)).toBeNull();
    expect(threadComposerBlock(thread('t', 'general', { thread_metadata: { ...meta, locked: false, archived: true } }), P.SEND_MESSAGES)).toBe('archived');
    expect(threadComposerBlock({ id: 'c', type: 0 }, 0n)).toBeNull();
  });
  it('offer "Create thread" in text channels with CREATE_PUBLIC_THREADS, once per message', () => {
    const text = { id: 'general', type: 0 } as Channel;
    const perms = P.CREATE_PUBLIC_THREADS | P.READ_MESSAGE_HISTORY;
    expect(mayStartThread(text, perms, {})).toBe(true);
    expect(mayStartThread(text, P.READ_MESSAGE_HISTORY, {})).toBe(false);
    expect(mayStartThread(text, perms, { thread: thread('t', 'general') })).toBe(false);
    expect(mayStartThread(thread('t', 'general'), perms, {})).toBe(false);
    expect(mayStartThread({ id: 'f', type: 15 }, perms, {})).toBe(false);
  });
});

describe('where threads are listed', () => {
  it('lists active threads under a visible text channel, newest activity first; archived only when on screen', () => {
    const archived = thread('old', 'general', { thread_metadata: { archived: true, auto_archive_duration: 60, archive_timestamp: '', locked: false } });
    const g = guild([thread('10', 'general', { last_message_id: '30' }), thread('20', 'general'), archived, thread('h', 'hidden'), thread('p', 'forum')]);
    expect(sidebarThreads(g, 'general', 'me', null).map((c) => c.id)).toEqual(['10', '20']);
    expect(sidebarThreads(g, 'general', 'me', 'old').map((c) => c.id)).toContain('old');
    expect(sidebarThreads(g, 'hidden', 'me', null)).toEqual([]);
    // A forum's posts are in the forum; only the one on screen shows under it.
    expect(sidebarThreads(g, 'forum', 'me', null)).toEqual([]);
    expect(sidebarThreads(g, 'forum', 'me', 'p').map((c) => c.id)).toEqual(['p']);
    expect(activity(thread('5', 'general', { last_message_id: '9' }))).toBe('9');
  });
  it('lists a forum’s posts, archived ones too, newest activity first, with their tags', () => {
    const g = guild([
      thread('100', 'forum', { applied_tags: ['t1', 'nope'] }),
      thread('200', 'forum', { thread_metadata: { archived: true, auto_archive_duration: 60, archive_timestamp: '', locked: false } }),
      thread('300', 'general'),
    ]);
    expect(forumPosts(g, 'forum').map((c) => c.id)).toEqual(['200', '100']);
    const forum = g.channels[2];
    expect(appliedTags(forum, g.threads?.[0] as Channel).map((x) => x.name)).toEqual(['bug']);
  });
});

describe('the quick switcher', () => {
  it('offers forums and active threads the user can see, not archived or hidden ones', () => {
    const archived = thread('old', 'general', { thread_metadata: { archived: true, auto_archive_duration: 60, archive_timestamp: '', locked: false } });
    const g = guild([thread('t', 'general'), thread('h', 'hidden'), archived]);
    const ids = switcherItems([g], [], {}, 'me').filter((x) => x.kind === 'channel').map((x) => x.id);
    expect(ids).toEqual(['general', 'forum', 't']);
  });
});

describe('forum posts', () => {
  const g = guild([]);
  const forum = g.channels[2] as Channel;
  it('need a tag under REQUIRE_TAG and at most 5', () => {
    expect(postTagsProblem(forum, [])).toBe('required');
    expect(postTagsProblem({ ...forum, flags: 0 }, [])).toBeNull();
    expect(postTagsProblem(forum, ['t1'])).toBeNull();
    expect(postTagsProblem(forum, ['1', '2', '3', '4', '5', '6'])).toBe('tooMany');
  });
  it('offer moderated tags to MANAGE_THREADS only; posting needs SEND_MESSAGES', () => {
    expect(offeredTags(forum, 0n).map((x) => [x.tag.name, x.allowed])).toEqual([['bug', true], ['staff', false]]);
    expect(offeredTags(forum, P.MANAGE_THREADS).every((x) => x.allowed)).toBe(true);
    expect(mayPost(P.SEND_MESSAGES)).toBe(true);
    expect(mayPost(P.SEND_MESSAGES_IN_THREADS)).toBe(false);
  });
});

describe('the store’s threads', () => {
  it('follow THREAD_CREATE/UPDATE/DELETE, THREAD_LIST_SYNC and messages', () => {
    let gs = [guild([])];
    gs = upsertThreads(gs, 'g', [thread('t', 'general', { message_count: 0, newly_created: true })]);
    gs = upsertThreads(gs, 'g', [thread('t', 'general', { name: 'renamed' })]);
    expect(gs[0]?.threads?.map((c) => [c.name, c.message_count])).toEqual([['renamed', 0]]);
    gs = countMessage(gs, { id: '50', channel_id: 't', guild_id: 'g' });
    gs = countMessage(gs, { id: '50', channel_id: 't', guild_id: 'g' });
    expect(gs[0]?.threads?.[0]?.message_count).toBe(1);
    // A forum post's starter message (its id is the thread's) is not counted.
    gs = upsertThreads(gs, 'g', [thread('p', 'forum', { message_count: 0 })]);
    gs = countMessage(gs, { id: 'p', channel_id: 'p', guild_id: 'g' });
    expect(gs[0]?.threads?.find((c) => c.id === 'p')?.message_count).toBe(0);
    const archived = thread('a', 'general', { thread_metadata: { archived: true, auto_archive_duration: 60, archive_timestamp: '', locked: false } });
    gs = upsertThreads(gs, 'g', [archived]);
    gs = syncThreads(gs, { guild_id: 'g', channel_ids: ['general'], threads: [thread('n', 'general')], members: [] });
    expect(gs[0]?.threads?.map((c) => c.id).sort()).toEqual(['a', 'n', 'p']);
    gs = removeThread(gs, { id: 'n', guild_id: 'g' });
    expect(gs[0]?.threads?.map((c) => c.id).sort()).toEqual(['a', 'p']);
  });
});
