// The store's thread bookkeeping, as pure functions over the guild list: each guild's
// `threads` holds the threads the client knows (GUILD_CREATE's active ones, THREAD_CREATE /
// _UPDATE / _DELETE / _LIST_SYNC, REST answers such as a forum's archived posts).
import type { Channel, GuildCreate, Message, ThreadDelete, ThreadListSync } from '../api/wire';

/** Adds or replaces `threads` (all of guild `guildId`); a known thread keeps the fields an
 *  update lacks (e.g. the caller's `member`). */
export function upsertThreads(guilds: GuildCreate[], guildId: string, threads: Channel[]): GuildCreate[] {
  if (threads.length === 0) return guilds;
  return guilds.map((g) => {
    if (g.id !== guildId) return g;
    const byId = new Map((g.threads ?? []).map((t) => [t.id, t]));
    for (const t of threads) byId.set(t.id, { ...byId.get(t.id), ...t, newly_created: false });
    return { ...g, threads: [...byId.values()] };
  });
}

/** THREAD_DELETE (or access lost): the thread goes. */
export function removeThread(guilds: GuildCreate[], d: Pick<ThreadDelete, 'id' | 'guild_id'>): GuildCreate[] {
  return guilds.map((g) => (g.id !== d.guild_id || !g.threads ? g : { ...g, threads: g.threads.filter((t) => t.id !== d.id) }));
}

/** THREAD_LIST_SYNC: the active threads of `channel_ids` (the whole guild when absent) are
 *  those given; archived threads the client fetched stay. */
export function syncThreads(guilds: GuildCreate[], s: ThreadListSync): GuildCreate[] {
  return guilds.map((g) => {
    if (g.id !== s.guild_id) return g;
    const covered = (t: Channel) => !s.channel_ids || (!!t.parent_id && s.channel_ids.includes(t.parent_id));
    const kept = (g.threads ?? []).filter((t) => t.thread_metadata?.archived || !covered(t));
    const fresh = new Set(s.threads.map((t) => t.id));
    return { ...g, threads: [...kept.filter((t) => !fresh.has(t.id)), ...s.threads] };
  });
}

/** MESSAGE_CREATE in a known thread: its message count and newest message follow (Discord
 *  sends no THREAD_UPDATE for them). A forum post's starter message (its id is the
 *  thread's) is not counted, as the server does not count it. */
export function countMessage(guilds: GuildCreate[], m: Pick<Message, 'id' | 'channel_id' | 'guild_id'>): GuildCreate[] {
  const g = guilds.find((x) => x.id === m.guild_id);
  const t = g?.threads?.find((x) => x.id === m.channel_id);
  if (!g || !t || t.last_message_id === m.id) return guilds;
  const counted = m.id !== t.id ? 1 : 0;
  const next = { ...t, last_message_id: m.id, message_count: (t.message_count ?? 0) + counted };
  return guilds.map((x) => (x !== g ? x : { ...x, threads: (x.threads ?? []).map((y) => (y.id === t.id ? next : y)) }));
}
