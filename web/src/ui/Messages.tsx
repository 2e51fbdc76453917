import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { format, isSameDay } from 'date-fns';
import { ApiError, type Rest } from '../api/rest';
import type { Channel, GuildCreate, Message } from '../api/wire';
import { createRenderer } from '../markdown';
import { useStore, type ChannelMessages, type Pending, type Store, type Typist } from '../state/store';
import { t } from '../strings';
import { useClient } from './context';

const PAGE = 50;
const GROUP_MS = 7 * 60 * 1000;
const NO_PENDING: Pending[] = [];
const NO_TYPING: Record<string, Typist> = {};

/** Fetches the page before the oldest loaded message (the newest page first). */
async function fetchOlder(rest: Rest, store: Store, channel: string): Promise<void> {
  const cur = store.state.messages[channel];
  if (cur && (cur.loading || !cur.hasMore)) return;
  store.setLoading(channel, true);
  try {
    const before = cur?.list[0]?.id;
    const page = await rest.messages(channel, { limit: PAGE, ...(before ? { before } : {}) });
    store.prependPage(channel, page, PAGE);
  } catch (err) {
    store.setLoading(channel, false);
    store.set(() => ({ error: err instanceof ApiError ? err.detail() : String(err) }));
  }
}

function displayName(m: Message): string {
  return m.member?.nick ?? m.author.global_name ?? m.author.username;
}

function newNonce(): string {
  // Discord's nonce: up to 25 characters; a random integer string here.
  return String(Math.floor(Math.random() * 2 ** 52));
}

export function MessageView({ guild, channel }: { guild: GuildCreate; channel: Channel }) {
  const { rest, store } = useClient();
  const data: ChannelMessages | undefined = useStore(store, (s) => s.messages[channel.id]);
  const pending = useStore(store, (s) => s.pending[channel.id] ?? NO_PENDING);
  const me = useStore(store, (s) => s.me);
  const error = useStore(store, (s) => s.error);
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const top = useRef<HTMLDivElement>(null);
  const anchor = useRef<{ first: string | undefined; height: number; atBottom: boolean }>({ first: undefined, height: 0, atBottom: true });

  const render = useMemo(() => {
    const users = new Map<string, string>();
    for (const m of guild.members) if (m.user) users.set(m.user.id, m.nick ?? m.user.global_name ?? m.user.username);
    return createRenderer({
      user: (id) => users.get(id),
      channel: (id) => guild.channels.find((c) => c.id === id)?.name ?? undefined,
      role: (id) => guild.roles.find((r) => r.id === id)?.name,
    });
  }, [guild]);

  const loadOlder = useCallback(() => fetchOlder(rest, store, channel.id), [rest, store, channel.id]);

  // First page when the channel opens (or after a fresh gateway session cleared the cache).
  useEffect(() => {
    if (!data) void loadOlder();
  }, [data, loadOlder]);

  // Older pages when the top of the history scrolls into view.
  useEffect(() => {
    const el = top.current;
    if (!el || !scroller.current) return;
    const io = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && void loadOlder(), {
      root: scroller.current,
      rootMargin: '200px 0px 0px 0px',
    });
    io.observe(el);
    return () => io.disconnect();
  }, [loadOlder, data?.hasMore]);

  // Keep the view still when older messages are prepended; follow new ones at the bottom.
  const list = data?.list;
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el || !list) return;
    const a = anchor.current;
    if (a.first !== undefined && list[0]?.id !== a.first && !a.atBottom) {
      el.scrollTop += el.scrollHeight - a.height;
    } else if (a.atBottom) {
      el.scrollTop = el.scrollHeight;
    }
    anchor.current = { first: list[0]?.id, height: el.scrollHeight, atBottom: a.atBottom };
  }, [list, pending]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    anchor.current = {
      ...anchor.current,
      height: el.scrollHeight,
      atBottom: el.scrollHeight - el.scrollTop - el.clientHeight < 40,
    };
  };

  return (
    <main className="messages">
      <header>
        <h1># {channel.name}</h1>
        {channel.topic && <p className="topic">{channel.topic}</p>}
      </header>
      {error && (
        <div role="alert" className="error banner">
          {error}{' '}
          <button type="button" className="link" onClick={() => store.set(() => ({ error: null }))}>
            {t.dismiss}
          </button>
        </div>
      )}
      <div className="scroller" ref={scroller} onScroll={onScroll}>
        <div ref={top} />
        {data?.loading && <p className="muted">{t.loadingOlder}</p>}
        {data && !data.hasMore && <p className="muted beginning">{t.beginning(channel.name ?? '')}</p>}
        <ol className="list" aria-label={t.messages} aria-live="polite">
          {(list ?? []).map((m, i) => {
            const prev = i > 0 ? list?.[i - 1] : undefined;
            const grouped =
              !!prev && prev.author.id === m.author.id && Date.parse(m.timestamp) - Date.parse(prev.timestamp) < GROUP_MS;
            const newDay = !prev || !isSameDay(Date.parse(prev.timestamp), Date.parse(m.timestamp));
            return (
              <MessageItem
                key={m.id}
                m={m}
                grouped={grouped && !newDay}
                divider={newDay}
                mine={m.author.id === me?.id}
                html={render(m.content)}
                onReply={() => setReplyTo(m)}
              />
            );
          })}
          {pending.map((p) => (
            <PendingItem key={p.nonce} p={p} channel={channel.id} author={me?.global_name ?? me?.username ?? ''} />
          ))}
        </ol>
      </div>
      <Typing channel={channel.id} />
      <Composer channel={channel} replyTo={replyTo} clearReply={() => setReplyTo(null)} />
    </main>
  );
}

interface ItemProps {
  m: Message;
  grouped: boolean;
  divider: boolean;
  mine: boolean;
  html: string;
  onReply: () => void;
}

function MessageItem({ m, grouped, divider, mine, html, onReply }: ItemProps) {
  const { rest } = useClient();
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(m.content);
  const [error, setError] = useState<string | null>(null);
  const ts = Date.parse(m.timestamp);
  const act = async (f: () => Promise<unknown>) => {
    setError(null);
    try {
      await f();
      setEditing(false);
    } catch (err) {
      setError(err instanceof ApiError ? err.detail() : String(err));
    }
  };
  return (
    <li className={grouped ? 'message grouped' : 'message'} data-message-id={m.id} aria-label={`${displayName(m)}: ${m.content}`}>
      {divider && (
        <div className="divider" role="separator">
          {format(ts, 'PPP')}
        </div>
      )}
      {m.message_reference && m.referenced_message !== undefined && (
        <div className="reply-context muted small">
          ↱{' '}
          {m.referenced_message ? (
            <>
              <span className="author">{displayName(m.referenced_message)}</span> {m.referenced_message.content.slice(0, 120)}
            </>
          ) : (
            t.originalDeleted
          )}
        </div>
      )}
      {(!grouped || m.message_reference) && (
        <div className="meta">
          <span className="author" title={m.author.handle}>{displayName(m)}</span>
          <time dateTime={m.timestamp} title={format(ts, 'PPPPp')}>
            {format(ts, 'p')}
          </time>
        </div>
      )}
      {editing ? (
        <form
          className="edit"
          onSubmit={(e) => {
            e.preventDefault();
            void act(() => rest.editMessage(m.channel_id, m.id, draft));
          }}
        >
          <textarea
            aria-label={t.edit}
            autoFocus
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={(e) => e.key === 'Escape' && setEditing(false)}
          />
          <button type="submit">{t.save}</button>
          <button type="button" className="secondary" onClick={() => setEditing(false)}>
            {t.cancel}
          </button>
        </form>
      ) : (
        <div className="content">
          <div className="markdown" dangerouslySetInnerHTML={{ __html: html }} />
          {m.edited_timestamp && <span className="muted small">{t.edited}</span>}
        </div>
      )}
      {!editing && (
        <div className="actions" role="group" aria-label={t.messageActions}>
          <button type="button" className="small secondary" onClick={onReply}>
            {t.reply}
          </button>
          {mine && (
            <>
          <button type="button" className="small secondary" onClick={() => (setDraft(m.content), setEditing(true))}>
            {t.edit}
          </button>
          <button type="button" className="small danger" onClick={() => void act(() => rest.deleteMessage(m.channel_id, m.id))}>
            {t.delete}
          </button>
            </>
          )}
        </div>
      )}
      {error && <p role="alert" className="error">{error}</p>}
    </li>
  );
}

function PendingItem({ p, channel, author }: { p: Pending; channel: string; author: string }) {
  const { rest, store } = useClient();
  const retry = async () => {
    store.failPending(channel, p.nonce, false);
    try {
      store.addMessage(await rest.sendMessage(channel, { content: p.content, nonce: p.nonce }));
    } catch {
      store.failPending(channel, p.nonce, true);
    }
  };
  return (
    <li className="message pending" aria-label={`${author}: ${p.content}`}>
      <div className="meta">
        <span className="author">{author}</span>
        <span className="muted small">{p.failed ? t.sendFailed : t.sending}</span>
      </div>
      <div className="content plain">{p.content}</div>
      {p.failed && (
        <button type="button" className="small" onClick={() => void retry()}>
          {t.retry}
        </button>
      )}
    </li>
  );
}

function Typing({ channel }: { channel: string }) {
  const { store } = useClient();
  const typing = useStore(store, (s) => s.typing[channel] ?? NO_TYPING);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const i = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(i);
  }, []);
  const names = Object.values(typing)
    .filter((x) => x.until > now)
    .map((x) => x.name);
  return (
    <div className="typing" aria-live="polite">
      {names.length > 0 ? t.typing(names) : '\u00a0'}
    </div>
  );
}

/** Drafts are kept per channel across reloads (localStorage holds drafts, never tokens). */
const draftKey = (channel: string) => `hearth.draft.${channel}`;

function Composer({ channel, replyTo, clearReply }: { channel: Channel; replyTo: Message | null; clearReply: () => void }) {
  const { rest, store } = useClient();
  const [text, setTextState] = useState(() => localStorage.getItem(draftKey(channel.id)) ?? '');
  const setText = (v: string) => {
    setTextState(v);
    if (v) localStorage.setItem(draftKey(channel.id), v);
    else localStorage.removeItem(draftKey(channel.id));
  };
  const lastTyping = useRef(0);
  const send = async () => {
    const content = text.trim();
    if (!content) return;
    setText('');
    const nonce = newNonce();
    const reference = replyTo ? { message_reference: { message_id: replyTo.id } } : {};
    clearReply();
    store.addPending(channel.id, { nonce, content, failed: false });
    try {
      store.addMessage(await rest.sendMessage(channel.id, { content, nonce, ...reference }));
    } catch {
      store.failPending(channel.id, nonce, true);
    }
  };
  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void send();
    }
  };
  const onChange = (v: string) => {
    setText(v);
    if (v && Date.now() - lastTyping.current > 8000) {
      lastTyping.current = Date.now();
      rest.typing(channel.id).catch(() => undefined);
    }
  };
  return (
    <form
      className="composer"
      onSubmit={(e) => {
        e.preventDefault();
        void send();
      }}
    >
      {replyTo && (
        <div className="replying muted small">
          {t.replyingTo(displayName(replyTo))}{' '}
          <button type="button" className="link" onClick={clearReply}>
            {t.cancelReply}
          </button>
        </div>
      )}
      <textarea
        rows={1}
        aria-label={t.messagePlaceholder(channel.name ?? '')}
        placeholder={t.messagePlaceholder(channel.name ?? '')}
        value={text}
        onChange={(e) => onChange(e.target.value)}
        onKeyDown={onKey}
      />
      <button type="submit">{t.send}</button>
    </form>
  );
}
