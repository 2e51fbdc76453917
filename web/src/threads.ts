// Pure rules of threads and forum channels (Discord "Topics > Threads", "Resources > Channel"
// forum fields), as the server applies them (src/service/threads.rs, src/service/forums.rs):
// which threads are listed where, who may start or post, why a thread's composer is closed,
// and a new post's tag checks. The client only uses them to hide or explain what the server
// would refuse; the server decides.
import { ChannelType, REQUIRE_TAG, type Channel, type ForumTag, type GuildCreate, type Message, type Snowflake } from './api/wire';
import { P, channelPermissions, has, isThreadType } from './permissions';
import { compareIds } from './state/store';

export { isThreadType };

/** At most this many tags on a post (the server's `MAX_APPLIED_TAGS`). */
export const MAX_APPLIED_TAGS = 5;

/** Forum (15) and media (16) channels: their messages are posts, each a thread. */
export function isForum(c: Pick<Channel, 'type'> | undefined): boolean {
  return c?.type === ChannelType.GuildForum || c?.type === ChannelType.GuildMedia;
}

export function isThread(c: Pick<Channel, 'type'> | undefined): boolean {
  return !!c && isThreadType(c.type);
}

/** A thread's newest activity: its last message, or its creation (the id) without one. */
export function activity(c: Channel): Snowflake {
  const last = c.last_message_id;
  return last && compareIds(last, c.id) > 0 ? last : c.id;
}

const newestFirst = (a: Channel, b: Channel) => compareIds(activity(b), activity(a));

/** The threads listed under channel `parentId` in the channel list: the active threads of a
 *  text or announcement channel `me` can see (the parent's VIEW_CHANNEL; the server sends a
 *  private thread only to its members and MANAGE_THREADS holders), newest activity first. An
 *  archived one stays listed while it is on screen (`current`). A forum's posts are listed in
 *  the forum itself (`forumPosts`); only the one on screen shows under the forum. */
export function sidebarThreads(guild: GuildCreate, parentId: Snowflake, me: Snowflake | undefined, current: Snowflake | null): Channel[] {
  const parent = guild.channels.find((c) => c.id === parentId);
  if (!parent || !me || !has(channelPermissions(guild, parent, me), P.VIEW_CHANNEL)) return [];
  const forum = isForum(parent);
  return (guild.threads ?? [])
    .filter((t) => t.parent_id === parentId && (t.id === current || (!forum && !t.thread_metadata?.archived)))
    .sort(newestFirst);
}

/** A forum's posts the client knows (active ones from the gateway, archived ones fetched
 *  with `GET /channels/{id}/threads/archived/public`), newest activity first. */
export function forumPosts(guild: GuildCreate, forumId: Snowflake): Channel[] {
  return (guild.threads ?? []).filter((t) => t.parent_id === forumId).sort(newestFirst);
}

/** Whether "Create thread" is offered on message `m` in `channel`: a text or announcement
 *  channel, CREATE_PUBLIC_THREADS and READ_MESSAGE_HISTORY there (the server's check), and
 *  no thread started from the message yet (160004). */
export function mayStartThread(channel: Channel, perms: bigint, m: Pick<Message, 'thread'>): boolean {
  const kind = channel.type === ChannelType.GuildText || channel.type === ChannelType.GuildAnnouncement;
  return kind && !m.thread && has(perms, P.CREATE_PUBLIC_THREADS | P.READ_MESSAGE_HISTORY);
}

/** Why the composer of `channel` is closed, or null when the user may write there. Only
 *  threads are checked: archived (the server refuses with 50083), locked without
 *  MANAGE_THREADS (160005), or no SEND_MESSAGES_IN_THREADS (`perms` are the thread's, where
 *  SEND_MESSAGES stands for it). */
export function threadComposerBlock(channel: Channel, perms: bigint): 'archived' | 'locked' | 'permission' | null {
  if (!isThread(channel)) return null;
  const meta = channel.thread_metadata;
  if (meta?.archived) return 'archived';
  if (meta?.locked && !has(perms, P.MANAGE_THREADS)) return 'locked';
  if (!has(perms, P.SEND_MESSAGES)) return 'permission';
  return null;
}

/** Whether the user may start a post in a forum: SEND_MESSAGES in it (the server's check). */
export function mayPost(perms: bigint): boolean {
  return has(perms, P.SEND_MESSAGES);
}

/** The forum's tags a new post may take: a moderated tag only with MANAGE_THREADS. */
export function offeredTags(forum: Channel, perms: bigint): { tag: ForumTag & { id: Snowflake }; allowed: boolean }[] {
  const manage = has(perms, P.MANAGE_THREADS);
  return (forum.available_tags ?? [])
    .filter((x): x is ForumTag & { id: Snowflake } => !!x.id)
    .map((tag) => ({ tag, allowed: manage || !tag.moderated }));
}

/** What is wrong with a new post's tags, as the server would answer: REQUIRE_TAG and none
 *  (40067), or more than MAX_APPLIED_TAGS (50035). */
export function postTagsProblem(forum: Channel, chosen: Snowflake[]): 'required' | 'tooMany' | null {
  if (chosen.length === 0 && ((forum.flags ?? 0) & REQUIRE_TAG) !== 0) return 'required';
  if (chosen.length > MAX_APPLIED_TAGS) return 'tooMany';
  return null;
}

/** Whether a forum requires a tag on its posts. */
export function requiresTag(forum: Channel): boolean {
  return ((forum.flags ?? 0) & REQUIRE_TAG) !== 0;
}

/** The tags applied to a post, resolved against its forum's tags (unknown ids dropped). */
export function appliedTags(forum: Channel | undefined, post: Channel): ForumTag[] {
  const all = forum?.available_tags ?? [];
  return (post.applied_tags ?? []).flatMap((id) => all.filter((x) => x.id === id));
}
