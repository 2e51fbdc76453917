import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent, type MouseEvent, type ReactNode } from 'react';
import { format } from 'date-fns';
import { ApiError, type Rest } from '../api/rest';
import type { Attachment, Channel, GuildCreate, Message } from '../api/wire';
import { filesOf, fitImage, formatSize, isInlineImage, isPreviewable } from '../files';
import { createRenderer } from '../markdown';
import { loadHighlighter, useHighlighter } from '../highlight';
import { canPin, channelPermissions, has, P } from '../permissions';
import { appsAllowed } from '../bots';
import { compareIds, useStore, type ChannelMessages, type Pending, type Store, type Typist } from '../state/store';
import { t } from '../strings';
import { useClient } from './context';
import { ServerOf, useProfile } from './Profile';
import { emojiUrl, reactionParam } from '../emoji';
import { EmojiPicker } from './EmojiPicker';
import { Composer, displayName, refusal, type DraftFile } from './Composer';
import { groupName, isGroupDm, systemText } from './GroupDms';
import { InteractionContext, MessageComponents } from './Components';
import { Embeds } from './Embeds';
import { AppsMenu, onContextMenu, onMenuKey, toggle, useAppsMenu } from './ContextCommands';
import { MessageList, rowsOf, type MessageListHandle, type Row, type UnreadLine } from './MessageList';
import { navigate, parse } from './route';
import { ClosedComposer, composerClosedReason, CreateThreadButton, ThreadInfo, ThreadLink } from './Threads';
import { isThread, mayStartThread } from '../threads';
import { SearchBox, SearchPanel } from './Search';

const PAGE = 50;
/** How long the newest message stays on screen before it is acknowledged (read states). */
const ACK_DELAY_MS = 500;
const NO_PENDING: Pending[] = [];
const NO_TYPING: Record<string, Typist> = {};
/** The largest box of an inline image, CSS pixels. */
const IMAGE_MAX = { width: 400, height: 300 };

/** Fetches the page after the newest loaded message of a window around a jumped-to message. */
async function fetchNewer(rest: Rest, store: Store, channel: string): Promise<void> {
  const cur = store.state.messages[channel];
  const after = cur?.list[cur.list.length - 1]?.id;
  if (!cur || cur.loading || !cur.hasNewer || !after) return;
  store.setLoading(channel, true);
  try {
    const page = await rest.messages(channel, { after, limit: PAGE });
    // The list may have been replaced meanwhile (a jump, back to the present): then the page
    // belongs to no list on screen.
    if (store.state.messages[channel]?.epoch === cur.epoch) store.appendPage(channel, page, PAGE);
  } catch (err) {
    if (store.state.messages[channel]?.epoch === cur.epoch) store.setLoading(channel, false);
    store.set(() => ({ error: err instanceof ApiError ? err.detail() : String(err) }));
  }
}

/** A same-origin link to a channel or a message (`/channels/{guild|@me}/{channel}[/{message}]`,
 *  Discord's message links) is followed inside the app instead of in a new tab. */
function followAppLink(e: MouseEvent) {
  const a = (e.target as HTMLElement).closest('a');
  if (!a || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const url = new URL(a.href, location.href);
  const route = parse(url.pathname);
  if (url.origin !== location.origin || route.kind !== 'channel' || !route.channel) return;
  e.preventDefault();
  navigate(url.pathname.replace(/\/$/, ''));
}

/** Fetches the page before the oldest loaded message (the newest page first). */
async function fetchOlder(rest: Rest, store: Store, channel: string): Promise<void> {
  const cur = store.state.messages[channel];
  if (cur && (cur.loading || !cur.hasMore)) return;
  store.setLoading(channel, true);
  const epoch = store.state.messages[channel]?.epoch;
  try {
    const before = cur?.list[0]?.id;
    const page = await rest.messages(channel, { limit: PAGE, ...(before ? { before } : {}) });
    // Dropped when the list was replaced meanwhile (a window around a jumped-to message).
    if (store.state.messages[channel]?.epoch === epoch) store.prependPage(channel, page, PAGE);
  } catch (err) {
    if (store.state.messages[channel]?.epoch === epoch) store.setLoading(channel, false);
    store.set(() => ({ error: err instanceof ApiError ? err.detail() : String(err) }));
  }
}

/** What a DM allows its two participants (the server's DM permissions, src/service/mod.rs). */
const DM_PERMISSIONS = P.VIEW_CHANNEL | P.SEND_MESSAGES | P.READ_MESSAGE_HISTORY | P.ATTACH_FILES | P.PIN_MESSAGES;

/** A channel's title: `# name` in a guild, `@ name` for a DM, the name of a group DM. */
function channelTitle(channel: Channel): { heading: string; name: string; dm: boolean; group?: boolean } {
  if (channel.guild_id) return { heading: `# ${channel.name ?? ''}`, name: channel.name ?? '', dm: false };
  if (isGroupDm(channel)) return { heading: groupName(channel), name: groupName(channel), dm: true, group: true };
  const name = (channel.recipients ?? []).map((u) => u.global_name ?? u.username).join(', ');
  return { heading: `@ ${name}`, name, dm: true };
}

/** A channel's messages and composer; `guild` is null for a DM; `jump` a message to show
 *  and highlight (the route's `/channels/{guild}/{channel}/{message}`). */
export function MessageView({ guild, channel, jump = null }: { guild: GuildCreate | null; channel: Channel; jump?: string | null }) {
  const { rest, store } = useClient();
  const data: ChannelMessages | undefined = useStore(store, (s) => s.messages[channel.id]);
  const pending = useStore(store, (s) => s.pending[channel.id] ?? NO_PENDING);
  const me = useStore(store, (s) => s.me);
  const error = useStore(store, (s) => s.error);
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  // The message being edited (one at a time; Up in an empty composer picks the last own one).
  const [editingId, setEditingId] = useState<string | null>(null);
  const [showPins, setShowPins] = useState(false);
  // The text searched for (the results panel is open while set); closing it returns the
  // focus to the search box.
  const [search, setSearch] = useState<string | null>(null);
  const searchInput = useRef<HTMLInputElement>(null);
  const closeSearch = () => {
    setSearch(null);
    searchInput.current?.focus();
  };
  // Closing the pins panel returns focus to the button that opened it.
  const pinsToggle = useRef<HTMLButtonElement>(null);
  const closePins = () => {
    setShowPins(false);
    pinsToggle.current?.focus();
  };
  // A timeout ends without any event: recompute the permissions when it does.
  const [timeoutEnded, setTimeoutEnded] = useState(0);
  const until = guild?.members.find((m) => m.user?.id === me?.id)?.communication_disabled_until;
  useEffect(() => {
    const left = until ? Date.parse(until) - Date.now() : NaN;
    if (!(left > 0)) return;
    // setTimeout's delay is a 32-bit signed count of milliseconds (timeouts last 28 days at most).
    const timer = setTimeout(() => setTimeoutEnded((n) => n + 1), Math.min(left + 500, 2 ** 31 - 1));
    return () => clearTimeout(timer);
  }, [until, timeoutEnded]);
  const perms = useMemo(
    () => (!guild ? DM_PERMISSIONS : me ? channelPermissions(guild, channel, me.id) : 0n),
    // eslint-disable-next-line react-hooks/exhaustive-deps -- timeoutEnded: the clock moved past a timeout
    [guild, channel, me, timeoutEnded],
  );
  const mayPin = canPin(perms);
  // Threads: "Create thread" on messages, and why the composer is closed (null: open).
  const mayThread = !!guild && mayStartThread(channel, perms, {});
  const closed = composerClosedReason(channel, perms);
  // The "Apps" menu (MESSAGE commands) only where the server would run them.
  const appsPerms = guild && appsAllowed(perms, 3) ? perms : null;
  // As the server (and Discord): a file is a message, so it needs SEND_MESSAGES too.
  const mayAttach = has(perms, P.SEND_MESSAGES | P.ATTACH_FILES);
  const files = useDraftFiles(channel.id);
  const [dragging, setDragging] = useState(false);
  const listRef = useRef<MessageListHandle>(null);

  // highlight.js, once a code block asked for it (a new renderer then, its cache empty).
  const highlighter = useHighlighter();
  const render = useMemo(() => {
    const users = new Map<string, string>();
    for (const m of guild?.members ?? []) if (m.user) users.set(m.user.id, m.nick ?? m.user.global_name ?? m.user.username);
    for (const u of channel.recipients ?? []) users.set(u.id, u.global_name ?? u.username);
    if (me) users.set(me.id, me.global_name ?? me.username);
    return createRenderer({
      user: (id) => users.get(id),
      channel: (id) => guild?.channels.find((c) => c.id === id)?.name ?? undefined,
      role: (id) => guild?.roles.find((r) => r.id === id)?.name,
    }, { highlighter, wanted: () => void loadHighlighter() });
  }, [guild, channel.recipients, me, highlighter]);
  const title = channelTitle(channel);
  const blocked = useStore(store, (s) => s.blocked);

  const loadOlder = useCallback(() => fetchOlder(rest, store, channel.id), [rest, store, channel.id]);

  // This channel is on screen: its messages are read.
  useEffect(() => {
    store.view(channel.id);
    return () => store.view(null);
  }, [store, channel.id]);

  const loadNewer = useCallback(() => fetchNewer(rest, store, channel.id), [rest, store, channel.id]);

  // First page when the channel opens (or after a fresh gateway session cleared the cache).
  useEffect(() => {
    if (!data) void loadOlder();
  }, [data, loadOlder]);

  // A jump to a message that is not loaded: a window around it replaces the loaded messages.
  const loaded = data !== undefined;
  useEffect(() => {
    const cur = store.state.messages[channel.id];
    if (!jump || !cur || cur.list.some((m) => m.id === jump)) return;
    let stale = false;
    rest
      .messages(channel.id, { around: jump, limit: PAGE })
      .then((page) => {
        if (stale) return;
        if (!page.some((m) => m.id === jump)) return store.set(() => ({ error: t.messageNotFound }));
        store.replaceWindow(channel.id, page, PAGE, jump);
      })
      .catch((err: unknown) => stale || store.set(() => ({ error: err instanceof ApiError ? err.detail() : String(err) })));
    return () => {
      stale = true;
    };
  }, [rest, store, channel.id, jump, loaded]);

  // Back to the newest messages after a jump: the window is dropped and the latest page loaded.
  const toPresent = useCallback(() => {
    store.forgetMessages(channel.id);
    navigate(`/channels/${guild?.id ?? '@me'}/${channel.id}`);
  }, [store, guild, channel.id]);

  // Sending shows the newest messages (the present, after a jump).
  const sending = pending.length;
  const hasNewer = !!data?.hasNewer;
  const sent = useRef(sending);
  useEffect(() => {
    if (sending > sent.current) {
      if (hasNewer) toPresent();
      else listRef.current?.toBottom();
    }
    sent.current = sending;
  }, [sending, hasNewer, toPresent]);

  const list = data?.list;
  // Read states: the newest message on screen is acknowledged after ACK_DELAY_MS, and at
  // once on Esc; the other sessions of this user learn it through MESSAGE_ACK.
  const newest = list?.[list.length - 1]?.id;
  const acked = useStore(store, (s) => s.acked[channel.id]);
  const ackNow = useCallback(() => {
    if (!newest || (acked && compareIds(newest, acked) <= 0)) return;
    store.acknowledged({ channel_id: channel.id, message_id: newest, mention_count: 0 });
    rest.ack(channel.id, newest).catch(() => undefined);
  }, [rest, store, channel.id, newest, acked]);
  useEffect(() => {
    const timer = setTimeout(ackNow, ACK_DELAY_MS);
    return () => clearTimeout(timer);
  }, [ackNow]);
  useEffect(() => {
    const onKey = (e: WindowEventMap['keydown']) => {
      if (e.key === 'Escape') ackNow();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [ackNow]);
  // The unread line: where the messages the user had not read start, as the channel opened
  // (its newest message then, so that what arrives while it is on screen is not "new"); Esc
  // (mark as read) removes it.
  const [readUpTo] = useState(() => store.state.acked[channel.id] ?? null);
  const [openedAt, setOpenedAt] = useState<string | null>(null);
  const newestLoaded = list?.[list.length - 1]?.id ?? '0';
  // Set while rendering (React's "adjusting state when a prop changes"), once the first page
  // is in.
  const firstPageIn = !!data && (data.list.length > 0 || !data.loading);
  if (firstPageIn && openedAt === null) setOpenedAt(newestLoaded);
  const [lineDismissed, setLineDismissed] = useState(false);
  useEffect(() => {
    const onKey = (e: WindowEventMap['keydown']) => e.key === 'Escape' && setLineDismissed(true);
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  const line: UnreadLine | null = readUpTo && openedAt && !lineDismissed ? { readUpTo, openedAt, me: me?.id } : null;
  const lineKey = line ? `${line.readUpTo}:${line.openedAt}` : '';
  const newestMessage = list?.[list.length - 1];
  const announce =
    newestMessage && openedAt && compareIds(newestMessage.id, openedAt) > 0 && newestMessage.author.id !== me?.id && !blocked[newestMessage.author.id]
      ? t.messageLabel(displayName(newestMessage), newestMessage.content, newestMessage.attachments?.length ?? 0)
      : '';
  // eslint-disable-next-line react-hooks/exhaustive-deps -- `line` is rebuilt each render; lineKey is its value
  const rows = useMemo(() => rowsOf(list ?? [], pending, blocked, line), [list, pending, blocked, lineKey]);

  // Files dropped anywhere on the message view are attached to the draft.
  // A file dropped where attaching is not allowed is refused here too, so the browser does
  // not open it in place of the app.
  const carriesFiles = (e: DragEvent) => Array.from(e.dataTransfer.types).includes('Files');
  const drop = {
    onDragOver: (e: DragEvent) => {
      if (!carriesFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = mayAttach ? 'copy' : 'none';
      if (mayAttach) setDragging(true);
    },
    onDragLeave: (e: DragEvent) => {
      if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setDragging(false);
    },
    onDrop: (e: DragEvent) => {
      setDragging(false);
      const dropped = filesOf(e.dataTransfer);
      if (dropped.length === 0) return;
      e.preventDefault();
      if (mayAttach) files.add(dropped);
    },
  };

  const item = (m: Message, divider: boolean, grouped: boolean) => (
    <MessageItem
      m={m}
      guildId={guild?.id ?? null}
      grouped={grouped}
      divider={divider}
      mine={m.author.id === me?.id}
      html={render(m.content)}
      render={render}
      mayPin={mayPin}
      mayThread={mayThread}
      appsPerms={appsPerms}
      onReply={() => setReplyTo(m)}
      editing={editingId === m.id}
      setEditing={(on) => setEditingId((cur) => (on ? m.id : cur === m.id ? null : cur))}
    />
  );
  const renderRow = (row: Row) => {
    if (row.kind === 'pending') return <PendingItem p={row.p} channel={channel.id} author={me?.global_name ?? me?.username ?? ''} />;
    return (
      <>
        {row.unread && (
          <div className="unread-line" role="separator" aria-label={t.newMessages}>
            <span>{t.newMessages}</span>
          </div>
        )}
        {row.blocked ? <BlockedItem divider={row.divider} render={(divider) => item(row.m, divider, false)} /> : item(row.m, row.divider, row.grouped)}
      </>
    );
  };
  const header = (
    <>
      {data?.loading && <p className="muted">{t.loadingOlder}</p>}
      {data && !data.hasMore && (
        <p className="muted beginning">{title.group ? t.groupBeginning(title.name) : title.dm ? t.dmBeginning(title.name) : t.beginning(title.name)}</p>
      )}
    </>
  );

  return (
    <main className={dragging ? 'messages dragging' : 'messages'} {...drop}>
      <header>
        <h1>{title.heading}</h1>
        {guild && isThread(channel) && <ThreadInfo guild={guild} thread={channel} />}
        {channel.topic && <p className="topic">{channel.topic}</p>}
        <SearchBox onSearch={setSearch} inputRef={searchInput} />
        <button
          type="button"
          ref={pinsToggle}
          className="small secondary pins-toggle"
          aria-expanded={showPins}
          aria-controls="pins-panel"
          onClick={() => setShowPins(!showPins)}
        >
          {t.pinnedMessages}
        </button>
      </header>
      {showPins && <PinsPanel channel={channel} render={render} mayPin={mayPin} onClose={closePins} />}
      {search && <SearchPanel key={search} guild={guild} channel={channel} text={search} render={render} onClose={closeSearch} />}
      {dragging && (
        <div className="drop-hint" aria-hidden="true">
          {t.dropFiles}
        </div>
      )}
      {error && (
        <div role="alert" className="error banner">
          {error}{' '}
          <button type="button" className="link" onClick={() => store.set(() => ({ error: null }))}>
            {t.dismiss}
          </button>
        </div>
      )}
      <div className="list-frame" onClick={followAppLink}>
        {/* Mounted once the first page is in: the list's first message anchors what is prepended. */}
        {data && (data.list.length > 0 || !data.loading) ? (
          <MessageList
            key={data.epoch}
            ref={listRef}
            data={data}
            rows={rows}
            header={header}
            highlight={jump}
            me={me?.global_name ?? me?.username ?? ''}
            loadOlder={loadOlder}
            loadNewer={loadNewer}
            render={renderRow}
          />
        ) : (
          <p className="muted loading-list">{t.loadingOlder}</p>
        )}
        {data?.hasNewer && (
          <div className="present-bar">
            <span>{t.viewingOlder}</span>
            <button type="button" className="small" onClick={toPresent}>
              {t.jumpToPresent}
            </button>
          </div>
        )}
      </div>
      {/* New messages from others are announced here, not by the list (rows come and go as it scrolls). */}
      <div className="sr-only" aria-live="polite">
        {announce}
      </div>
      <Typing channel={channel.id} />
      {closed ? (
        <ClosedComposer label={title.dm ? t.dmPlaceholder(title.name) : t.messagePlaceholder(title.name)} reason={closed} />
      ) : (
      <Composer
        channel={channel}
        placeholder={title.group ? t.groupPlaceholder(title.name) : title.dm ? t.dmPlaceholder(title.name) : t.messagePlaceholder(title.name)}
        replyTo={replyTo}
        clearReply={() => setReplyTo(null)}
        files={files}
        mayAttach={mayAttach}
        guildId={guild?.id ?? null}
        onEditLast={() => {
          const last = [...(list ?? [])].reverse().find((m) => m.author.id === me?.id && !blocked[m.author.id]);
          if (last) setEditingId(last.id);
          return !!last;
        }}
      />
      )}
    </main>
  );
}

/** A message from a blocked user: collapsed as Discord does, shown on request (inside its row). */
function BlockedItem({ divider, render }: { divider: boolean; render: (divider: boolean) => ReactNode }) {
  // The day divider (if this message starts a day) shows with the message itself.
  const [shown, setShown] = useState(false);
  return (
    <>
      <div className="blocked-notice">
        <span className="muted">{t.blockedMessage}</span>{' '}
        <button type="button" className="link small" aria-expanded={shown} onClick={() => setShown(!shown)}>
          {shown ? t.hideMessage : t.showMessage}
        </button>
      </div>
      {shown && render(divider)}
    </>
  );
}

interface ItemProps {
  m: Message;
  guildId: string | null;
  grouped: boolean;
  divider: boolean;
  mine: boolean;
  html: string;
  /** The channel's markdown renderer (embed descriptions and field values). */
  render: (md: string) => string;
  mayPin: boolean;
  /** Whether "Create thread" is offered (CREATE_PUBLIC_THREADS in a text channel). */
  mayThread: boolean;
  /** The member's permissions in the channel when the "Apps" menu is offered, else null. */
  appsPerms: bigint | null;
  onReply: () => void;
  editing: boolean;
  setEditing: (on: boolean) => void;
}

/** Back to the composer after an edit (Up arrow edits come from there). */
function focusComposer() {
  document.querySelector<HTMLTextAreaElement>('.composer textarea')?.focus();
}

function MessageItem({ m, guildId, grouped, divider, mine, html, render, mayPin, mayThread, appsPerms, onReply, editing, setEditing }: ItemProps) {
  const { rest } = useClient();
  const profile = useProfile();
  const [picking, setPicking] = useState(false);
  const apps = useAppsMenu();
  // null: the message's current text (an edit starts from it).
  const [draftText, setDraft] = useState<string | null>(null);
  const draft = draftText ?? m.content;
  const [error, setError] = useState<string | null>(null);
  const ts = Date.parse(m.timestamp);
  const act = async (f: () => Promise<unknown>) => {
    setError(null);
    try {
      await f();
      if (editing) focusComposer();
      setEditing(false);
      setDraft(null);
    } catch (err) {
      setError(err instanceof ApiError ? err.detail() : String(err));
    }
  };
  const system = systemText(m);
  if (system !== null) {
    return (
      // The row's <li> (MessageList's Item) carries the id, the name (this text) and `system`.
      <div className="message-body">
        {divider && (
          <div className="divider" role="separator">
            {format(ts, 'PPP')}
          </div>
        )}
        <p className="muted">
          <span aria-hidden="true">→ </span>
          {system}{' '}
          <time dateTime={m.timestamp} title={format(ts, 'PPPPp')}>
            {format(ts, 'p')}
          </time>
        </p>
      </div>
    );
  }
  return (
    // The row's <li> (MessageList's Item) carries the message's id, name and classes.
    <div
      className="message-body"
      onContextMenu={guildId && appsPerms !== null && !editing ? onContextMenu(apps) : undefined}
      onKeyDown={guildId && appsPerms !== null && !editing ? onMenuKey(apps) : undefined}
    >
      {divider && (
        <div className="divider" role="separator">
          {format(ts, 'PPP')}
        </div>
      )}
      <InteractionContext m={m} />
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
          <button
            type="button"
            className="author"
            title={m.author.handle}
            aria-haspopup="dialog"
            onClick={(e) => profile.open({ user: m.author, guildId }, e.currentTarget)}
          >
            {displayName(m)}
            <ServerOf user={m.author} />
          </button>
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
            onKeyDown={(e) => {
              if (e.key !== 'Escape') return;
              setEditing(false);
              setDraft(null);
              focusComposer();
            }}
          />
          <button type="submit">{t.save}</button>
          <button type="button" className="secondary" onClick={() => (setEditing(false), setDraft(null))}>
            {t.cancel}
          </button>
        </form>
      ) : (
        <div className="content">
          <div className="markdown" dangerouslySetInnerHTML={{ __html: html }} />
          {m.edited_timestamp && <span className="muted small">{t.edited}</span>}
          {m.pinned && <span className="muted small pinned-mark">📌 {t.pinned}</span>}
        </div>
      )}
      <Attachments list={m.attachments ?? []} />
      <Embeds list={m.embeds} render={render} />
      <ThreadLink m={m} guildId={guildId} />
      <MessageComponents m={m} guildId={guildId} />
      {(m.reactions ?? []).length > 0 && (
        <div className="reactions">
          {(m.reactions ?? []).map((r) => {
            const label = r.emoji.name ?? '?';
            const param = r.emoji.id ? `${label}:${r.emoji.id}` : label;
            return (
              <button
                key={`${r.emoji.id ?? ''}${label}`}
                type="button"
                className={r.me ? 'reaction me' : 'reaction'}
                aria-pressed={r.me}
                aria-label={t.reaction(r.emoji.id ? `:${label}:` : label, r.count, r.me)}
                onClick={() => void act(() => rest.react(m.channel_id, m.id, param, !r.me))}
              >
                {r.emoji.id ? <img className="emoji" src={emojiUrl(r.emoji.id)} alt="" /> : label} {r.count}
              </button>
            );
          })}
        </div>
      )}
      {picking && (
        <EmojiPicker
          guildId={guildId}
          title={t.react}
          onClose={() => setPicking(false)}
          onPick={(e) => void act(() => rest.react(m.channel_id, m.id, reactionParam(e), true))}
        />
      )}
      {!editing && (
        <div className="actions" role="group" aria-label={t.messageActions}>
          <button type="button" className="small secondary" aria-haspopup="dialog" onClick={() => setPicking(true)}>
            {t.react}
          </button>
          <button type="button" className="small secondary" onClick={onReply}>
            {t.reply}
          </button>
          <button
            type="button"
            className="small secondary"
            onClick={() => void act(() => navigator.clipboard.writeText(`${location.origin}/channels/${guildId ?? '@me'}/${m.channel_id}/${m.id}`))}
          >
            {t.copyMessageLink}
          </button>
          {guildId && appsPerms !== null && (
            <button type="button" className="small secondary" aria-haspopup="menu" aria-expanded={apps.open} onClick={toggle(apps)}>
              {t.bots.apps}
            </button>
          )}
          {mayThread && guildId && !m.thread && <CreateThreadButton m={m} guildId={guildId} />}
          {mayPin && (
            <button type="button" className="small secondary" onClick={() => void act(() => rest.pin(m.channel_id, m.id, !m.pinned))}>
              {m.pinned ? t.unpin : t.pin}
            </button>
          )}
          {mine && (
            <>
          <button type="button" className="small secondary" onClick={() => (setDraft(null), setEditing(true))}>
            {t.edit}
          </button>
          <button type="button" className="small danger" onClick={() => void act(() => rest.deleteMessage(m.channel_id, m.id))}>
            {t.delete}
          </button>
            </>
          )}
        </div>
      )}
      {guildId && appsPerms !== null && (
        <AppsMenu target={{ guildId, channelId: m.channel_id, kind: 3, targetId: m.id, label: t.bots.messageBy(displayName(m)), perms: appsPerms }} menu={apps} />
      )}
      {error && <p role="alert" className="error">{error}</p>}
    </div>
  );
}

function PendingItem({ p, channel, author }: { p: Pending; channel: string; author: string }) {
  const { rest, store } = useClient();
  const retry = async () => {
    store.failPending(channel, p.nonce, false);
    try {
      store.addMessage(await rest.sendMessage(channel, { content: p.content, nonce: p.nonce }));
    } catch (err) {
      store.failPending(channel, p.nonce, true, refusal(err));
    }
  };
  return (
    <div className="message-body">
      <div className="meta">
        <span className="author">{author}</span>
        <span className="muted small">{p.failed ? t.sendFailed : t.sending}</span>
      </div>
      {p.failed && p.error && (
        <p role="alert" className="error small">
          {t.notSent(p.error)}
        </p>
      )}
      <div className="content plain">{p.content}</div>
      {p.failed && (
        <button type="button" className="small" onClick={() => void retry()}>
          {t.retry}
        </button>
      )}
    </div>
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

/**
 * The files chosen for the next message of each channel (thumbnails are object URLs, released
 * on removal), kept outside the view: switching channels or a new gateway session (which
 * renders the guilds from scratch) keeps them, as text drafts are kept. A page reload loses
 * them (a `File` cannot be stored).
 */
const keptFiles = new Map<string, File[]>();
let nextDraftKey = 0;

function draftOf(file: File): DraftFile {
  return { key: nextDraftKey++, file, preview: isPreviewable(file.type) ? URL.createObjectURL(file) : null };
}

function useDraftFiles(channel: string) {
  const [list, setList] = useState<DraftFile[]>(() => (keptFiles.get(channel) ?? []).map(draftOf));
  const current = useRef<DraftFile[]>([]);
  useEffect(() => {
    current.current = list;
    if (list.length > 0) keptFiles.set(channel, list.map((d) => d.file));
    else keptFiles.delete(channel);
  }, [list, channel]);
  // Leaving the view releases the thumbnails still shown (the files stay kept).
  useEffect(
    () => () => {
      for (const d of current.current) if (d.preview) URL.revokeObjectURL(d.preview);
    },
    [],
  );
  return useMemo(
    () => ({
      list,
      add(files: File[]) {
        const added = files.map(draftOf);
        setList((l) => [...l, ...added]);
      },
      remove(key: number) {
        const gone = list.find((d) => d.key === key);
        if (gone?.preview) URL.revokeObjectURL(gone.preview);
        setList((l) => l.filter((d) => d.key !== key));
      },
      /** After a send: the files sent go (files added meanwhile stay). */
      clear(sent: DraftFile[]) {
        for (const d of sent) if (d.preview) URL.revokeObjectURL(d.preview);
        setList((l) => l.filter((d) => !sent.includes(d)));
      },
    }),
    [list],
  );
}

/** A message's files: raster images inline (their box reserved from width/height), others as download links. */
function Attachments({ list }: { list: Attachment[] }) {
  if (list.length === 0) return null;
  return (
    <ul className="attachments" aria-label={t.attachments}>
      {list.map((a) => {
        if (isInlineImage(a)) {
          const box = fitImage(a.width ?? 0, a.height ?? 0, IMAGE_MAX.width, IMAGE_MAX.height);
          return (
            <li key={a.id}>
              <a href={a.url} target="_blank" rel="noopener noreferrer" title={t.openImage(a.filename)}>
                <img src={a.proxy_url || a.url} alt={a.filename} width={box.width} height={box.height} loading="lazy" />
              </a>
            </li>
          );
        }
        const size = formatSize(a.size);
        return (
          <li key={a.id} className="file">
            <span aria-hidden="true">📄</span>{' '}
            <a href={a.url} download={a.filename} title={t.download(a.filename, size)}>
              {a.filename}
            </a>{' '}
            <span className="muted small">{size}</span>
          </li>
        );
      })}
    </ul>
  );
}

/** The channel's pinned messages (`GET /channels/{id}/pins`), fetched again on CHANNEL_PINS_UPDATE. */
function PinsPanel({
  channel,
  render,
  mayPin,
  onClose,
}: {
  channel: Channel;
  render: (md: string) => string;
  mayPin: boolean;
  onClose: () => void;
}) {
  const { rest, store } = useClient();
  const pins = useStore(store, (s) => s.pins[channel.id]);
  const version = useStore(store, (s) => s.pinsVersion[channel.id] ?? 0);
  const [error, setError] = useState<string | null>(null);
  // Opening the panel moves focus into it (its heading), for keyboard and screen-reader users.
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  useEffect(() => {
    let live = true;
    rest.pins(channel.id).then(
      (list) => {
        if (!live) return;
        setError(null);
        store.setPins(channel.id, list);
      },
      (err: unknown) => live && setError(err instanceof ApiError ? err.detail() : String(err)),
    );
    return () => {
      live = false;
    };
  }, [rest, store, channel.id, version]);
  const unpin = (m: Message) =>
    rest.pin(channel.id, m.id, false).catch((err: unknown) => setError(err instanceof ApiError ? err.detail() : String(err)));
  return (
    <section
      id="pins-panel"
      className="pins"
      aria-labelledby="pins-title"
      onKeyDown={(e) => e.key === 'Escape' && onClose()}
    >
      <header>
        <h2 id="pins-title" ref={heading} tabIndex={-1}>
          {t.pinnedMessages}
        </h2>
        <button type="button" className="small secondary" onClick={onClose}>
          {t.close}
        </button>
      </header>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {!pins ? (
        !error && <p className="muted">{t.loadingPins}</p>
      ) : pins.length === 0 ? (
        <p className="muted">{t.noPins}</p>
      ) : (
        <ol aria-label={t.pinnedMessages}>
          {pins.map((m) => (
            <li key={m.id} className="pin" aria-label={t.messageLabel(displayName(m), m.content, m.attachments?.length ?? 0)}>
              <div className="meta">
                <span className="author">{displayName(m)}</span>
                <time dateTime={m.timestamp}>{format(Date.parse(m.timestamp), 'PPp')}</time>
                {mayPin && (
                  <button type="button" className="small secondary" onClick={() => void unpin(m)}>
                    {t.unpin}
                  </button>
                )}
              </div>
              <div className="markdown" dangerouslySetInnerHTML={{ __html: render(m.content) }} />
              <Attachments list={m.attachments ?? []} />
              <Embeds list={m.embeds} render={render} />
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

/** The server's reason for refusing a message (e.g. 50007 "Cannot send messages to this
 *  user" in a DM); none for a network failure, which a retry may fix. */
