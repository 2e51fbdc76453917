// The client's state: one immutable snapshot replaced on every change, read by components
// through `useStore` (React's useSyncExternalStore). Fed by REST answers and gateway
// dispatches; nothing here talks to the network.
import { useSyncExternalStore } from 'react';
import type {
  AutocompleteResponse,
  InteractionClientEvent,
  InteractionModalCreate,
  Channel,
  ChannelRecipient,
  ChannelPinsUpdate,
  GuildCreate,
  GuildRoleDelete,
  GuildRoleEvent,
  Member,
  Message,
  MessageAck,
  MessageDelete,
  PassiveUpdate,
  PresenceUpdate,
  Reaction,
  ReactionEvent,
  Ready,
  RelationshipRemove,
  Snowflake,
  ThreadDelete,
  ThreadListSync,
  TypingStart,
  User,
} from '../api/wire';
import { countMessage, removeThread, syncThreads, upsertThreads } from './threads';
import { RelationshipType } from '../api/wire';
import type { GatewayStatus } from '../api/gateway';

export interface Pending {
  nonce: string;
  content: string;
  failed: boolean;
  /** Why the server refused it (its error message, e.g. 50007 in a DM), when it answered. */
  error?: string;
}

export interface Typist {
  name: string;
  until: number;
}

export interface ChannelMessages {
  /** Oldest first. */
  list: Message[];
  /** Whether older messages may exist on the server. */
  hasMore: boolean;
  /** Whether newer messages than the last loaded one may exist on the server: the list is a
   *  window around a message jumped to, not the channel's latest page. New messages are not
   *  appended to such a window; they are fetched when the view reaches its end. */
  hasNewer?: boolean;
  /** Messages created while a window was shown (`hasNewer`): added once it reaches the present. */
  held?: Message[];
  loading: boolean;
  /** Which list this is: each new list (first page, window around a message) gets a new
   *  number; a page answer for an older one is dropped, and the view starts anew with it. */
  epoch: number;
}

let nextEpoch = 1;
/** An empty list that older pages will fill. */
const freshList = (): ChannelMessages => ({ list: [], hasMore: true, loading: false, epoch: nextEpoch++ });

export interface State {
  me: User | null;
  status: GatewayStatus;
  guilds: GuildCreate[];
  /** The user's DM channels (READY's `private_channels`, CHANNEL_CREATE, opened here). */
  dms: Channel[];
  /** Users this user blocked (READY's `relationships` of type 2, and blocks made here). */
  blocked: Record<Snowflake, true>;
  messages: Record<Snowflake, ChannelMessages>;
  pending: Record<Snowflake, Pending[]>;
  /** channel → user id → who is typing until when (ms since epoch). */
  typing: Record<Snowflake, Record<Snowflake, Typist>>;
  /** The channel on screen (its new messages are read). */
  viewing: Snowflake | null;
  /** Unread channels: how many new messages this session saw (1 for those READY reported
   *  unread), and how many mention me. Fed by READY's read states, MESSAGE_CREATE in
   *  channels not on screen, and MESSAGE_ACK (this user read it, here or elsewhere). */
  unread: Record<Snowflake, { count: number; mentions: number }>;
  /** channel → the last message this user acknowledged (READY, MESSAGE_ACK, our own acks). */
  acked: Record<Snowflake, Snowflake>;
  /** channel → the newest message id known (GUILD_CREATE's `last_message_id`, MESSAGE_CREATE). */
  latest: Record<Snowflake, Snowflake>;
  /** READY's read states not yet matched with their channel's GUILD_CREATE (mention counts). */
  readState: Record<Snowflake, { last: Snowflake; mentions: number }>;
  /** user id → online, idle, dnd or offline. */
  presence: Record<Snowflake, string>;
  /** channel → its pinned messages (newest pin first), once the pins panel fetched them. */
  pins: Record<Snowflake, Message[]>;
  /** channel → how many CHANNEL_PINS_UPDATE arrived: the pins panel fetches again when it changes. */
  pinsVersion: Record<Snowflake, number>;
  /** guild → how many administration dispatches arrived (bans, invites, webhooks, roles,
   *  channels, the guild itself): the settings lists fetch again when it changes. */
  adminVersion: Record<Snowflake, number>;
  /** READY's gateway session id (sent with interactions). */
  sessionId: string | null;
  /** Interactions this session started, by nonce (src/bots.ts; INTERACTION_SUCCESS /
   *  _FAILURE / _MODAL_CREATE, the HTTP answer or a client timeout settle them). */
  interactions: Record<string, Interaction>;
  /** The modal an application opened for an interaction of this session, until closed. */
  modal: (InteractionModalCreate & { guildId: Snowflake }) | null;
  /** The latest autocomplete choices for an interaction of this session. */
  autocomplete: AutocompleteResponse | null;
  /** The guild on screen: the gateway subscribes to it (op 37), so it is not passive. */
  openGuild: Snowflake | null;
  /** Guilds this session got PASSIVE_UPDATE_V1 for since it last opened them: their edits,
   *  deletions and reactions were not sent, so their message pages are fetched again when
   *  the guild is opened (spec/gateway.md "Passive guilds"). */
  passiveGuilds: Record<Snowflake, true>;
  error: string | null;
}

/** How long the entry of a settled interaction is kept (late events of it, a modal or
 *  autocomplete choices, still find it) before it is dropped, so that `interactions` does not
 *  grow for the whole session. Its control keeps showing the outcome it saw. */
export const INTERACTION_KEEP_MS = 30_000;

/** An interaction's progress as its controls show it. */
export interface Interaction {
  status: 'pending' | 'done' | 'failed';
  guildId: Snowflake;
  /** The server's refusal (HTTP error), when there was one. */
  error?: string;
}

const initial: State = {
  me: null,
  status: 'closed',
  guilds: [],
  dms: [],
  blocked: {},
  messages: {},
  pending: {},
  typing: {},
  presence: {},
  viewing: null,
  unread: {},
  acked: {},
  latest: {},
  readState: {},
  pins: {},
  pinsVersion: {},
  adminVersion: {},
  sessionId: null,
  interactions: {},
  modal: null,
  autocomplete: null,
  openGuild: null,
  passiveGuilds: {},
  error: null,
};

type Listener = () => void;

export class Store {
  state: State = initial;
  private listeners = new Set<Listener>();

  subscribe = (l: Listener): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };

  set(update: (s: State) => Partial<State>): void {
    this.state = { ...this.state, ...update(this.state) };
    for (const l of this.listeners) l();
  }

  reset(): void {
    this.set(() => initial);
  }

  guild(id: Snowflake | undefined): GuildCreate | undefined {
    return this.state.guilds.find((g) => g.id === id);
  }

  /** Notes an interaction this session sends; it fails after `timeoutMs` unless settled
   *  (0: no timeout, for autocomplete). */
  startInteraction(nonce: string, guildId: Snowflake, timeoutMs: number): void {
    // Autocomplete (no timeout: 0) gets no success event; it is noted to accept its choices.
    const status = timeoutMs > 0 ? 'pending' : 'done';
    this.set((s) => ({ interactions: { ...s.interactions, [nonce]: { status, guildId } } }));
    if (timeoutMs > 0)
      setTimeout(() => {
        if (this.state.interactions[nonce]?.status === 'pending') this.settleInteraction(nonce, 'failed');
      }, timeoutMs);
    else this.dropLater(nonce);
  }

  settleInteraction(nonce: string | null, status: Interaction['status'], error?: string): void {
    const i = nonce ? this.state.interactions[nonce] : undefined;
    if (!nonce || !i || i.status === 'failed') return;
    this.set((s) => ({ interactions: { ...s.interactions, [nonce]: { ...i, status, ...(error ? { error } : {}) } } }));
    if (status !== 'pending') this.dropLater(nonce);
  }

  /** Drops a settled interaction's entry after INTERACTION_KEEP_MS. */
  private dropLater(nonce: string): void {
    setTimeout(() => {
      const i = this.state.interactions[nonce];
      if (!i || i.status === 'pending') return;
      this.set((s) => ({ interactions: Object.fromEntries(Object.entries(s.interactions).filter(([n]) => n !== nonce)) }));
    }, INTERACTION_KEEP_MS);
  }

  closeModal(): void {
    this.set(() => ({ modal: null }));
  }

  upsertGuild(g: GuildCreate): void {
    this.set((s) => ({ guilds: [...s.guilds.filter((x) => x.id !== g.id), g] }));
  }

  setChannel(c: Channel, remove = false): void {
    if (!c.guild_id) {
      this.set((s) => ({ dms: [...s.dms.filter((x) => x.id !== c.id), ...(remove ? [] : [c])] }));
      return;
    }
    this.set((s) => ({
      guilds: s.guilds.map((g) =>
        g.id !== c.guild_id ? g : { ...g, channels: [...g.channels.filter((x) => x.id !== c.id), ...(remove ? [] : [c])] },
      ),
    }));
  }

  /** Threads of `guildId` learned by REST (a new thread, a forum's archived posts). */
  setThreads(guildId: Snowflake, threads: Channel[]): void {
    this.set((s) => ({ guilds: upsertThreads(s.guilds, guildId, threads) }));
  }

  /** A group DM gained or lost a recipient (CHANNEL_RECIPIENT_ADD/REMOVE). */
  recipientChanged(r: ChannelRecipient, added: boolean): void {
    this.set((s) => ({
      dms: s.dms.map((c) => {
        if (c.id !== r.channel_id) return c;
        const others = (c.recipients ?? []).filter((u) => u.id !== r.user.id);
        return { ...c, recipients: added ? [...others, r.user] : others };
      }),
    }));
  }

  /** The DM channels as `GET /users/@me/channels` answered (a DM first seen by a message). */
  setDms(list: Channel[]): void {
    this.set((s) => {
      const known = new Map(s.dms.map((c) => [c.id, c]));
      for (const c of list) known.set(c.id, c);
      return { dms: [...known.values()] };
    });
    this.unreadFromReadStates(list);
  }

  /** A block made or lifted by this user. */
  setBlocked(user: Snowflake, blocked: boolean): void {
    this.set((s) => ({
      blocked: blocked
        ? { ...s.blocked, [user]: true }
        : Object.fromEntries(Object.entries(s.blocked).filter(([id]) => id !== user)),
    }));
  }

  /** A user's name as this client knows it (guild members, DM recipients), or undefined. */
  userName(id: Snowflake, guildId?: Snowflake | null): string | undefined {
    const m = this.state.guilds.find((g) => g.id === guildId)?.members.find((x) => x.user?.id === id);
    if (m) return m.nick ?? m.user?.global_name ?? m.user?.username;
    const u = this.state.dms.flatMap((c) => c.recipients ?? []).find((x) => x.id === id);
    return u ? (u.global_name ?? u.username) : undefined;
  }

  /** Older messages fetched by scrolling up (`page` newest first, as the API answers). */
  prependPage(channel: Snowflake, page: Message[], limit: number): void {
    this.set((s) => {
      const cur = s.messages[channel] ?? freshList();
      const known = new Set(cur.list.map((m) => m.id));
      const older = page.filter((m) => !known.has(m.id)).reverse();
      return {
        messages: {
          ...s.messages,
          [channel]: { ...cur, list: [...older, ...cur.list], hasMore: page.length >= limit, loading: false },
        },
      };
    });
  }

  /** A window of messages around `target`, which was jumped to (`GET .../messages?around=`
   *  with `limit`: up to `limit - limit/2` messages from `target` on and `limit/2` before it,
   *  as src/storage/chat.rs answers), replacing what was loaded. */
  replaceWindow(channel: Snowflake, page: Message[], limit: number, target: Snowflake): void {
    const newer = page.filter((m) => compareIds(m.id, target) >= 0).length;
    this.set((s) => ({
      messages: {
        ...s.messages,
        [channel]: {
          list: [...page].sort((a, b) => compareIds(a.id, b.id)),
          hasMore: page.length - newer >= Math.floor(limit / 2),
          hasNewer: newer >= limit - Math.floor(limit / 2),
          loading: false,
          epoch: nextEpoch++,
        },
      },
    }));
  }

  /** Newer messages after a window's end (`GET .../messages?after=`); `page` in any order. */
  appendPage(channel: Snowflake, page: Message[], limit: number): void {
    this.set((s) => {
      const cur = s.messages[channel];
      if (!cur) return {};
      const hasNewer = page.length >= limit;
      const known = new Set(cur.list.map((m) => m.id));
      const newer = [...page, ...(hasNewer ? [] : (cur.held ?? []))].filter((m) => {
        if (known.has(m.id)) return false;
        known.add(m.id);
        return true;
      });
      const list = [...cur.list, ...newer].sort((a, b) => compareIds(a.id, b.id));
      return {
        messages: { ...s.messages, [channel]: { ...cur, list, hasNewer, held: hasNewer ? cur.held : [], loading: false } },
      };
    });
  }

  /** Drops a channel's loaded messages (back to the present after a jump: the view loads the
   *  newest page again). */
  forgetMessages(channel: Snowflake): void {
    this.set((s) => ({ messages: Object.fromEntries(Object.entries(s.messages).filter(([c]) => c !== channel)) }));
  }

  setLoading(channel: Snowflake, loading: boolean): void {
    this.set((s) => {
      const cur = s.messages[channel] ?? freshList();
      return { messages: { ...s.messages, [channel]: { ...cur, loading } } };
    });
  }

  addPending(channel: Snowflake, p: Pending): void {
    this.set((s) => ({ pending: { ...s.pending, [channel]: [...(s.pending[channel] ?? []), p] } }));
  }

  failPending(channel: Snowflake, nonce: string, failed: boolean, error?: string): void {
    this.set((s) => ({
      pending: {
        ...s.pending,
        [channel]: (s.pending[channel] ?? []).map((p) => {
          if (p.nonce !== nonce) return p;
          const next: Pending = { nonce: p.nonce, content: p.content, failed };
          if (error) next.error = error;
          return next;
        }),
      },
    }));
  }

  dropPending(channel: Snowflake, nonce: string | number | undefined): void {
    if (nonce === undefined) return;
    this.set((s) => ({
      pending: { ...s.pending, [channel]: (s.pending[channel] ?? []).filter((p) => p.nonce !== String(nonce)) },
    }));
  }

  /** The channel now on screen: its unread marker goes. */
  view(channel: Snowflake | null): void {
    this.set((s) => {
      if (!channel) return { viewing: null };
      const unread = Object.fromEntries(Object.entries(s.unread).filter(([id]) => id !== channel));
      return { viewing: channel, unread };
    });
  }

  /** The guild now on screen (`null`: none). A guild that was passive meanwhile drops its
   *  message pages, which are fetched again when shown. */
  openGuild(id: Snowflake | null): void {
    this.set((s) => {
      if (id === s.openGuild) return {};
      if (!id || !s.passiveGuilds[id]) return { openGuild: id };
      const channels = new Set((this.guild(id)?.channels ?? []).map((c) => c.id));
      return {
        openGuild: id,
        messages: Object.fromEntries(Object.entries(s.messages).filter(([c]) => !channels.has(c))),
        passiveGuilds: Object.fromEntries(Object.entries(s.passiveGuilds).filter(([g]) => g !== id)),
      };
    });
  }

  /** PASSIVE_UPDATE_V1: new messages this session was not sent (a passive guild). Each channel
   *  whose newest message moved is unread (unless read up to it) and its held page is dropped
   *  (fetched again when shown); mentions still come as MESSAGE_CREATE. */
  passiveUpdate(u: PassiveUpdate): void {
    this.set((s) => {
      const latest = { ...s.latest };
      const unread = { ...s.unread };
      const moved = new Set<Snowflake>();
      for (const c of u.channels) {
        const prev = latest[c.id];
        if (prev && compareIds(c.last_message_id, prev) <= 0) continue;
        latest[c.id] = c.last_message_id;
        moved.add(c.id);
        const acked = s.acked[c.id];
        if (c.id !== s.viewing && (!acked || compareIds(acked, c.last_message_id) < 0)) {
          const cur = unread[c.id] ?? { count: 0, mentions: 0 };
          unread[c.id] = { count: cur.count + 1, mentions: cur.mentions };
        }
      }
      return {
        latest,
        unread,
        messages: Object.fromEntries(Object.entries(s.messages).filter(([c]) => !moved.has(c))),
        passiveGuilds: { ...s.passiveGuilds, [u.guild_id]: true },
      };
    });
  }

  /** A new message from someone else in a channel not on screen. */
  private markUnread(m: Message): void {
    const me = this.state.me;
    const newest = this.state.latest[m.channel_id];
    if (!newest || compareIds(newest, m.id) < 0) this.set((s) => ({ latest: { ...s.latest, [m.channel_id]: m.id } }));
    if (!me || m.author.id === me.id || m.channel_id === this.state.viewing) return;
    const mine = this.guild(m.guild_id ?? undefined)?.members.find((x) => x.user?.id === me.id)?.roles ?? [];
    // In a DM every message is for me: it counts as a mention (Discord's unread badge).
    const mentioned =
      !m.guild_id || m.mention_everyone || m.mentions.some((u) => u.id === me.id) || m.mention_roles.some((r) => mine.includes(r));
    this.set((s) => {
      const cur = s.unread[m.channel_id] ?? { count: 0, mentions: 0 };
      return {
        unread: { ...s.unread, [m.channel_id]: { count: cur.count + 1, mentions: cur.mentions + (mentioned ? 1 : 0) } },
      };
    });
  }

  /** A guild's channels (or DM channels) met READY's read states: a channel whose newest
   *  message is after the acknowledged one is unread, with the server's mention count.
   *  Channels without a read state count as read. */
  private unreadFromReadStates(channels: Channel[]): void {
    this.set((s) => {
      const unread = { ...s.unread };
      const acked = { ...s.acked };
      const latest = { ...s.latest };
      for (const c of channels) {
        if (c.last_message_id && (!latest[c.id] || compareIds(latest[c.id] ?? '', c.last_message_id) < 0)) {
          latest[c.id] = c.last_message_id;
        }
        const rs = s.readState[c.id];
        if (!rs) continue;
        acked[c.id] = rs.last;
        const newest = latest[c.id];
        if (c.id !== s.viewing && ((newest && compareIds(rs.last, newest) < 0) || rs.mentions > 0)) {
          // Every unread DM message counts as a mention (as in Discord); the server's count
          // covers only explicit mentions, so an unread DM shows at least one.
          unread[c.id] = { count: 1, mentions: c.guild_id ? rs.mentions : Math.max(1, rs.mentions) };
        }
      }
      return { unread, acked, latest };
    });
  }

  /** MESSAGE_ACK (or our own ack): read up to `message_id`, `mention_count` mentions left. */
  acknowledged(a: Pick<MessageAck, 'channel_id' | 'message_id' | 'mention_count'>): void {
    this.set((s) => {
      const acked = { ...s.acked, [a.channel_id]: a.message_id };
      const newest = s.latest[a.channel_id];
      const stillUnread =
        a.channel_id !== s.viewing && ((newest && compareIds(a.message_id, newest) < 0) || a.mention_count > 0);
      const unread = stillUnread
        ? { ...s.unread, [a.channel_id]: { count: s.unread[a.channel_id]?.count ?? 1, mentions: a.mention_count } }
        : Object.fromEntries(Object.entries(s.unread).filter(([id]) => id !== a.channel_id));
      return { acked, unread };
    });
  }

  /** A message created here or elsewhere (REST answer or MESSAGE_CREATE): kept once, in order. */
  addMessage(m: Message): void {
    this.dropPending(m.channel_id, m.nonce);
    this.set((s) => {
      const cur = s.messages[m.channel_id];
      const typing = { ...s.typing, [m.channel_id]: { ...(s.typing[m.channel_id] ?? {}) } };
      delete typing[m.channel_id]?.[m.author.id];
      if (cur?.hasNewer) {
        const held = [...(cur.held ?? []).filter((x) => x.id !== m.id), m];
        return { messages: { ...s.messages, [m.channel_id]: { ...cur, held } }, typing };
      }
      if (!cur || cur.list.some((x) => x.id === m.id)) return { typing };
      const list = [...cur.list, m].sort((a, b) => compareIds(a.id, b.id));
      return { messages: { ...s.messages, [m.channel_id]: { ...cur, list } }, typing };
    });
  }

  updateMessage(m: Partial<Message> & { id: Snowflake; channel_id: Snowflake }): void {
    this.set((s) => {
      const cur = s.messages[m.channel_id];
      const messages = cur
        ? {
            ...s.messages,
            [m.channel_id]: {
              ...cur,
              list: cur.list.map((x) => (x.id === m.id ? { ...x, ...m } : x)),
              held: cur.held?.map((x) => (x.id === m.id ? { ...x, ...m } : x)),
            },
          }
        : s.messages;
      // The pins panel's copy: edited in place, gone when unpinned (a new pin arrives with
      // CHANNEL_PINS_UPDATE, which fetches the list again).
      const pinned = s.pins[m.channel_id];
      const pins = pinned
        ? {
            ...s.pins,
            [m.channel_id]:
              m.pinned === false ? pinned.filter((x) => x.id !== m.id) : pinned.map((x) => (x.id === m.id ? { ...x, ...m } : x)),
          }
        : s.pins;
      return { messages, pins };
    });
  }

  deleteMessage(d: MessageDelete): void {
    this.set((s) => {
      const cur = s.messages[d.channel_id];
      const pinned = s.pins[d.channel_id];
      return {
        messages: cur
          ? { ...s.messages, [d.channel_id]: { ...cur, list: cur.list.filter((x) => x.id !== d.id), held: cur.held?.filter((x) => x.id !== d.id) } }
          : s.messages,
        pins: pinned ? { ...s.pins, [d.channel_id]: pinned.filter((x) => x.id !== d.id) } : s.pins,
      };
    });
  }

  /**
   * The pinned messages of a channel as `GET /channels/{id}/pins` answered. A MESSAGE_UPDATE
   * that arrived while the request was in flight is newer than the answer: where the loaded
   * copy of a message was edited later (`edited_timestamp`), that copy wins.
   */
  setPins(channel: Snowflake, list: Message[]): void {
    this.set((s) => {
      const loaded = new Map((s.messages[channel]?.list ?? []).map((m) => [m.id, m]));
      const edited = (m: Message | undefined) => (m?.edited_timestamp ? Date.parse(m.edited_timestamp) : 0);
      const merged = list.map((m) => {
        const mine = loaded.get(m.id);
        return mine && edited(mine) > edited(m) ? { ...m, ...mine, pinned: m.pinned } : m;
      });
      return { pins: { ...s.pins, [channel]: merged } };
    });
  }

  /** GUILD_ROLE_CREATE / _UPDATE (`role`) and GUILD_ROLE_DELETE (`role_id`): permissions follow. */
  role(guildId: Snowflake, role: GuildRoleEvent['role'] | null, removed?: Snowflake): void {
    this.set((s) => ({
      guilds: s.guilds.map((g) => {
        if (g.id !== guildId) return g;
        const gone = removed ?? role?.id;
        const roles = [...g.roles.filter((r) => r.id !== gone), ...(role ? [role] : [])];
        const members = removed ? g.members.map((m) => ({ ...m, roles: m.roles.filter((id) => id !== removed) })) : g.members;
        return { ...g, roles, members };
      }),
    }));
  }

  /** MESSAGE_REACTION_ADD (`delta` 1) and MESSAGE_REACTION_REMOVE (`delta` -1). */
  reaction(e: ReactionEvent, delta: 1 | -1): void {
    const mine = e.user_id === this.state.me?.id;
    const same = (r: Reaction) => (e.emoji.id ? r.emoji.id === e.emoji.id : r.emoji.name === e.emoji.name);
    this.set((s) => {
      const cur = s.messages[e.channel_id];
      if (!cur) return {};
      const react = (m: Message): Message => {
        if (m.id !== e.message_id) return m;
        const rs = m.reactions ?? [];
        const found = rs.find(same);
        let next: Reaction[];
        if (found) {
          next = rs
            .map((r) => (same(r) ? { ...r, count: r.count + delta, me: mine ? delta > 0 : r.me } : r))
            .filter((r) => r.count > 0);
        } else if (delta > 0) {
          next = [...rs, { count: 1, me: mine, emoji: e.emoji }];
        } else {
          next = rs;
        }
        return { ...m, reactions: next };
      };
      return { messages: { ...s.messages, [e.channel_id]: { ...cur, list: cur.list.map(react), held: cur.held?.map(react) } } };
    });
  }

  typingStart(t: TypingStart): void {
    if (t.user_id === this.state.me?.id) return;
    const m = t.member;
    const name = m?.nick ?? m?.user?.global_name ?? m?.user?.username ?? this.userName(t.user_id, t.guild_id) ?? t.user_id;
    this.set((s) => ({
      typing: { ...s.typing, [t.channel_id]: { ...(s.typing[t.channel_id] ?? {}), [t.user_id]: { name, until: Date.now() + 10_000 } } },
    }));
  }

  /** GUILD_MEMBER_ADD / GUILD_MEMBER_UPDATE (`guild_id` + member) and GUILD_MEMBER_REMOVE. */
  member(d: Member & { guild_id: Snowflake }, remove = false): void {
    const id = d.user?.id;
    if (!id) return;
    this.set((s) => ({
      guilds: s.guilds.map((g) =>
        g.id !== d.guild_id
          ? g
          : { ...g, members: [...g.members.filter((m) => m.user?.id !== id), ...(remove ? [] : [{ ...d }])] },
      ),
    }));
  }

  /** Applies one gateway dispatch. */
  dispatch(event: string, d: unknown): void {
    if (ADMIN_EVENTS.has(event)) {
      const g = (d as { guild_id?: Snowflake; id?: Snowflake } | null) ?? {};
      const id = g.guild_id ?? (event === 'GUILD_UPDATE' ? g.id : undefined);
      if (id) this.set((s) => ({ adminVersion: { ...s.adminVersion, [id]: (s.adminVersion[id] ?? 0) + 1 } }));
    }
    switch (event) {
      case 'READY': {
        const r = d as Ready;
        // A fresh session may have missed events: message pages are fetched again.
        const readState = Object.fromEntries(
          (r.read_state?.entries ?? []).map((e) => [e.id, { last: e.last_message_id, mentions: e.mention_count }]),
        );
        const blocked: Record<Snowflake, true> = {};
        for (const x of r.relationships ?? []) if (x.type === RelationshipType.Blocked) blocked[x.id] = true;
        const dms = r.private_channels ?? [];
        this.set(() => ({ sessionId: r.session_id, me: r.user, guilds: [], dms, blocked, messages: {}, pins: {}, error: null, unread: {}, acked: {}, readState, passiveGuilds: {} }));
        this.unreadFromReadStates(dms);
        break;
      }
      case 'USER_UPDATE': {
        // Sent to the user's own sessions (display name, avatar, MFA, DM policy).
        const u = d as User;
        if (this.state.me?.id === u.id) this.set((s) => ({ me: s.me ? { ...s.me, ...u } : u }));
        break;
      }
      case 'INTERACTION_SUCCESS':
      case 'INTERACTION_FAILURE': {
        const e = d as InteractionClientEvent;
        this.settleInteraction(e.nonce, event === 'INTERACTION_SUCCESS' ? 'done' : 'failed');
        break;
      }
      case 'INTERACTION_MODAL_CREATE': {
        const m = d as InteractionModalCreate;
        const i = m.nonce ? this.state.interactions[m.nonce] : undefined;
        if (!i) break;
        this.settleInteraction(m.nonce, 'done');
        this.set(() => ({ modal: { ...m, guildId: i.guildId } }));
        break;
      }
      case 'APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE': {
        const a = d as AutocompleteResponse;
        if (a.nonce && this.state.interactions[a.nonce]) this.set(() => ({ autocomplete: a }));
        break;
      }
      case 'GUILD_CREATE': {
        const g = d as GuildCreate;
        this.upsertGuild(g);
        this.unreadFromReadStates(g.channels);
        const seen = Object.fromEntries((g.presences ?? []).map((p) => [p.user.id, p.status]));
        this.set((s) => ({ presence: { ...s.presence, ...seen } }));
        break;
      }
      case 'PRESENCE_UPDATE': {
        const p = d as PresenceUpdate;
        this.set((s) => ({ presence: { ...s.presence, [p.user.id]: p.status } }));
        break;
      }
      case 'GUILD_UPDATE': {
        const g = d as GuildCreate;
        const old = this.guild(g.id);
        if (old) this.upsertGuild({ ...old, ...g, channels: old.channels, members: old.members });
        break;
      }
      case 'GUILD_DELETE': {
        const id = (d as { id: Snowflake }).id;
        this.set((s) => ({ guilds: s.guilds.filter((g) => g.id !== id) }));
        break;
      }
      case 'CHANNEL_CREATE':
      case 'CHANNEL_UPDATE':
        this.setChannel(d as Channel);
        break;
      case 'CHANNEL_DELETE':
        this.setChannel(d as Channel, true);
        break;
      case 'THREAD_CREATE':
      case 'THREAD_UPDATE': {
        const c = d as Channel;
        if (c.guild_id) this.setThreads(c.guild_id, [c]);
        break;
      }
      case 'THREAD_DELETE':
        this.set((s) => ({ guilds: removeThread(s.guilds, d as ThreadDelete) }));
        break;
      case 'THREAD_LIST_SYNC':
        this.set((s) => ({ guilds: syncThreads(s.guilds, d as ThreadListSync) }));
        break;
      case 'CHANNEL_RECIPIENT_ADD':
      case 'CHANNEL_RECIPIENT_REMOVE':
        this.recipientChanged(d as ChannelRecipient, event === 'CHANNEL_RECIPIENT_ADD');
        break;
      case 'MESSAGE_CREATE':
        this.set((s) => ({ guilds: countMessage(s.guilds, d as Message) }));
        this.markUnread(d as Message);
        this.addMessage(d as Message);
        break;
      case 'MESSAGE_ACK':
        this.acknowledged(d as MessageAck);
        break;
      case 'PASSIVE_UPDATE_V1':
        this.passiveUpdate(d as PassiveUpdate);
        break;
      case 'RELATIONSHIP_ADD':
      case 'RELATIONSHIP_REMOVE': {
        const r = d as RelationshipRemove;
        if (r.type === RelationshipType.Blocked) this.setBlocked(r.id, event === 'RELATIONSHIP_ADD');
        break;
      }
      case 'MESSAGE_UPDATE':
        this.updateMessage(d as Message);
        break;
      case 'MESSAGE_DELETE':
        this.deleteMessage(d as MessageDelete);
        break;
      case 'GUILD_MEMBER_ADD':
      case 'GUILD_MEMBER_UPDATE': {
        const m = d as Member & { guild_id: Snowflake };
        const old = this.guild(m.guild_id)?.members.find((x) => x.user?.id === m.user?.id);
        this.member({ ...old, ...m });
        break;
      }
      case 'GUILD_MEMBER_REMOVE':
        this.member({ ...(d as { guild_id: Snowflake; user: User }), nick: null, roles: [], joined_at: '' }, true);
        break;
      case 'MESSAGE_REACTION_ADD':
        this.reaction(d as ReactionEvent, 1);
        break;
      case 'MESSAGE_REACTION_REMOVE':
        this.reaction(d as ReactionEvent, -1);
        break;
      case 'MESSAGE_REACTION_REMOVE_ALL': {
        const e = d as { channel_id: Snowflake; message_id: Snowflake };
        this.updateMessage({ id: e.message_id, channel_id: e.channel_id, reactions: [] });
        break;
      }
      case 'TYPING_START':
        this.typingStart(d as TypingStart);
        break;
      case 'CHANNEL_PINS_UPDATE': {
        const p = d as ChannelPinsUpdate;
        this.set((s) => ({ pinsVersion: { ...s.pinsVersion, [p.channel_id]: (s.pinsVersion[p.channel_id] ?? 0) + 1 } }));
        break;
      }
      case 'GUILD_ROLE_CREATE':
      case 'GUILD_ROLE_UPDATE': {
        const r = d as GuildRoleEvent;
        this.role(r.guild_id, r.role);
        break;
      }
      case 'GUILD_ROLE_DELETE': {
        const r = d as GuildRoleDelete;
        this.role(r.guild_id, null, r.role_id);
        break;
      }
    }
  }
}

/** Dispatches after which the administration lists (invites, bans, webhooks, audit log) may
 *  have changed. */
const ADMIN_EVENTS = new Set([
  'GUILD_UPDATE',
  'GUILD_BAN_ADD',
  'GUILD_BAN_REMOVE',
  'INVITE_CREATE',
  'INVITE_DELETE',
  'WEBHOOKS_UPDATE',
  'GUILD_ROLE_CREATE',
  'GUILD_ROLE_UPDATE',
  'GUILD_ROLE_DELETE',
  'CHANNEL_CREATE',
  'CHANNEL_UPDATE',
  'CHANNEL_DELETE',
  'GUILD_MEMBER_REMOVE',
  'GUILD_MEMBER_UPDATE',
  'GUILD_AUDIT_LOG_ENTRY_CREATE',
]);

/** Snowflakes compare as integers; as strings they compare by length, then text. */
export function compareIds(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

export function useStore<T>(store: Store, select: (s: State) => T): T {
  return useSyncExternalStore(store.subscribe, () => select(store.state));
}
