// The client's state: one immutable snapshot replaced on every change, read by components
// through `useStore` (React's useSyncExternalStore). Fed by REST answers and gateway
// dispatches; nothing here talks to the network.
import { useSyncExternalStore } from 'react';
import type { Channel, GuildCreate, Member, Message, MessageDelete, Ready, Snowflake, TypingStart, User } from '../api/wire';
import type { GatewayStatus } from '../api/gateway';

export interface Pending {
  nonce: string;
  content: string;
  failed: boolean;
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
  loading: boolean;
}

export interface State {
  me: User | null;
  status: GatewayStatus;
  guilds: GuildCreate[];
  messages: Record<Snowflake, ChannelMessages>;
  pending: Record<Snowflake, Pending[]>;
  /** channel → user id → who is typing until when (ms since epoch). */
  typing: Record<Snowflake, Record<Snowflake, Typist>>;
  error: string | null;
}

const initial: State = {
  me: null,
  status: 'closed',
  guilds: [],
  messages: {},
  pending: {},
  typing: {},
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

  upsertGuild(g: GuildCreate): void {
    this.set((s) => ({ guilds: [...s.guilds.filter((x) => x.id !== g.id), g] }));
  }

  setChannel(c: Channel, remove = false): void {
    this.set((s) => ({
      guilds: s.guilds.map((g) =>
        g.id !== c.guild_id ? g : { ...g, channels: [...g.channels.filter((x) => x.id !== c.id), ...(remove ? [] : [c])] },
      ),
    }));
  }

  /** Older messages fetched by scrolling up (`page` newest first, as the API answers). */
  prependPage(channel: Snowflake, page: Message[], limit: number): void {
    this.set((s) => {
      const cur = s.messages[channel] ?? { list: [], hasMore: true, loading: false };
      const known = new Set(cur.list.map((m) => m.id));
      const older = page.filter((m) => !known.has(m.id)).reverse();
      return {
        messages: {
          ...s.messages,
          [channel]: { list: [...older, ...cur.list], hasMore: page.length >= limit, loading: false },
        },
      };
    });
  }

  setLoading(channel: Snowflake, loading: boolean): void {
    this.set((s) => {
      const cur = s.messages[channel] ?? { list: [], hasMore: true, loading: false };
      return { messages: { ...s.messages, [channel]: { ...cur, loading } } };
    });
  }

  addPending(channel: Snowflake, p: Pending): void {
    this.set((s) => ({ pending: { ...s.pending, [channel]: [...(s.pending[channel] ?? []), p] } }));
  }

  failPending(channel: Snowflake, nonce: string, failed: boolean): void {
    this.set((s) => ({
      pending: { ...s.pending, [channel]: (s.pending[channel] ?? []).map((p) => (p.nonce === nonce ? { ...p, failed } : p)) },
    }));
  }

  dropPending(channel: Snowflake, nonce: string | number | undefined): void {
    if (nonce === undefined) return;
    this.set((s) => ({
      pending: { ...s.pending, [channel]: (s.pending[channel] ?? []).filter((p) => p.nonce !== String(nonce)) },
    }));
  }

  /** A message created here or elsewhere (REST answer or MESSAGE_CREATE): kept once, in order. */
  addMessage(m: Message): void {
    this.dropPending(m.channel_id, m.nonce);
    this.set((s) => {
      const cur = s.messages[m.channel_id];
      const typing = { ...s.typing, [m.channel_id]: { ...(s.typing[m.channel_id] ?? {}) } };
      delete typing[m.channel_id]?.[m.author.id];
      if (!cur || cur.list.some((x) => x.id === m.id)) return { typing };
      const list = [...cur.list, m].sort((a, b) => compareIds(a.id, b.id));
      return { messages: { ...s.messages, [m.channel_id]: { ...cur, list } }, typing };
    });
  }

  updateMessage(m: Partial<Message> & { id: Snowflake; channel_id: Snowflake }): void {
    this.set((s) => {
      const cur = s.messages[m.channel_id];
      if (!cur) return {};
      const list = cur.list.map((x) => (x.id === m.id ? { ...x, ...m } : x));
      return { messages: { ...s.messages, [m.channel_id]: { ...cur, list } } };
    });
  }

  deleteMessage(d: MessageDelete): void {
    this.set((s) => {
      const cur = s.messages[d.channel_id];
      if (!cur) return {};
      return { messages: { ...s.messages, [d.channel_id]: { ...cur, list: cur.list.filter((x) => x.id !== d.id) } } };
    });
  }

  typingStart(t: TypingStart): void {
    if (t.user_id === this.state.me?.id) return;
    const known = this.state.guilds.find((g) => g.id === t.guild_id)?.members.find((m) => m.user?.id === t.user_id);
    const m = t.member ?? known;
    const name = m?.nick ?? m?.user?.global_name ?? m?.user?.username ?? t.user_id;
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
    switch (event) {
      case 'READY': {
        const r = d as Ready;
        // A fresh session may have missed events: message pages are fetched again.
        this.set(() => ({ me: r.user, guilds: [], messages: {}, error: null }));
        break;
      }
      case 'GUILD_CREATE':
        this.upsertGuild(d as GuildCreate);
        break;
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
      case 'MESSAGE_CREATE':
        this.addMessage(d as Message);
        break;
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
      case 'TYPING_START':
        this.typingStart(d as TypingStart);
        break;
    }
  }
}

/** Snowflakes compare as integers; as strings they compare by length, then text. */
export function compareIds(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

export function useStore<T>(store: Store, select: (s: State) => T): T {
  return useSyncExternalStore(store.subscribe, () => select(store.state));
}
