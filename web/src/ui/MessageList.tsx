// The message list of a channel, virtualized with react-virtuoso: only the messages near the
// viewport are in the document, whatever the channel's length (web/README.md "Budgets").
// It opens at the newest message (or at a message jumped to), keeps the view still when older
// pages are prepended, follows new messages while the view is at the bottom, marks where the
// unread messages start, and loads newer pages after a jump until it reaches the present.
import { useEffect, useEffectEvent, useImperativeHandle, useMemo, useRef, useState, type ReactNode, type Ref } from 'react';
import { isSameDay } from 'date-fns';
import { Virtuoso, type ContextProp, type ItemProps, type ListProps, type VirtuosoHandle } from 'react-virtuoso';
import type { Message } from '../api/wire';
import { compareIds, type ChannelMessages, type Pending } from '../state/store';
import { t } from '../strings';
import { displayName } from './Composer';
import { systemText } from './GroupDms';

/** Messages of one author closer than this in time are grouped under one header. */
const GROUP_MS = 7 * 60 * 1000;
/** `firstItemIndex` of the list's first message at its first render: Virtuoso counts the rows
 *  prepended later below it (it must stay positive). */
const START = 1_000_000_000;

/** One row of the list: a stored message, or one being sent. */
export type Row =
  | {
      kind: 'message';
      key: string;
      m: Message;
      /** Under the previous message's header (same author, close in time, same day). */
      grouped: boolean;
      /** First message of its day: a date divider above it. */
      divider: boolean;
      /** The first message after what the user had read when the channel opened. */
      unread: boolean;
      blocked: boolean;
    }
  | { kind: 'pending'; key: string; p: Pending };

/** Where the unread line goes: above the first message after `readUpTo` (the last message read
 *  when the channel opened) and up to `openedAt` (the newest one then; later messages arrived
 *  while the channel was on screen), not sent by `me`. */
export interface UnreadLine {
  readUpTo: string;
  openedAt: string;
  me: string | undefined;
}

/** The rows of `list` (oldest first) then `pending`. */
export function rowsOf(list: Message[], pending: Pending[], blocked: Record<string, true>, line: UnreadLine | null): Row[] {
  const rows: Row[] = [];
  let unreadShown = line === null;
  list.forEach((m, i) => {
    const prev = i > 0 ? list[i - 1] : undefined;
    const newDay = !prev || !isSameDay(Date.parse(prev.timestamp), Date.parse(m.timestamp));
    const grouped =
      !!prev &&
      !newDay &&
      prev.author.id === m.author.id &&
      systemText(prev) === null &&
      systemText(m) === null &&
      Date.parse(m.timestamp) - Date.parse(prev.timestamp) < GROUP_MS;
    const unread =
      !unreadShown &&
      line !== null &&
      compareIds(m.id, line.readUpTo) > 0 &&
      compareIds(m.id, line.openedAt) <= 0 &&
      m.author.id !== line.me;
    if (unread) unreadShown = true;
    const isBlocked = !!blocked[m.author.id];
    rows.push({ kind: 'message', key: m.id, m, grouped: grouped && !unread && !isBlocked, divider: newDay, unread, blocked: isBlocked });
  });
  for (const p of pending) rows.push({ kind: 'pending', key: `pending-${p.nonce}`, p });
  return rows;
}

interface Ctx {
  header: ReactNode;
  highlight: string | null;
  me: string;
}

/** The list element: an `<ol>` named "Messages" (tests and assistive technology find it so). */
function List({ children, style, ref, 'data-testid': testId }: ListProps & ContextProp<Ctx>) {
  return (
    <ol className="list" aria-label={t.messages} style={style} ref={ref as Ref<HTMLOListElement>} data-testid={testId}>
      {children}
    </ol>
  );
}

/** One row's `<li>`: Virtuoso measures it (so its spacing is padding, never margin). */
function Item({ item, children, context, ...rest }: ItemProps<Row> & ContextProp<Ctx>) {
  if (item.kind === 'pending') {
    return (
      <li {...rest} className="message pending" aria-label={`${context.me}: ${item.p.content}`}>
        {children}
      </li>
    );
  }
  const { m } = item;
  const system = systemText(m);
  const classes = ['message', item.grouped && 'grouped', item.blocked && 'blocked', system !== null && 'system', context.highlight === m.id && 'highlight'];
  return (
    <li
      {...rest}
      className={classes.filter(Boolean).join(' ')}
      data-message-id={m.id}
      tabIndex={context.highlight === m.id ? -1 : undefined}
      aria-label={item.blocked ? undefined : (system ?? t.messageLabel(displayName(m), m.content, m.attachments?.length ?? 0))}
    >
      {children}
    </li>
  );
}

function Header({ context }: ContextProp<Ctx>) {
  return <div className="list-header">{context.header}</div>;
}

const components = { List, Item, Header };

/** What the message view asks of its list. */
export interface MessageListHandle {
  /** Shows the newest row (after the user sent something). */
  toBottom(): void;
}

export interface MessageListProps {
  data: ChannelMessages;
  rows: Row[];
  /** Shown above the first message: loading, or the beginning of the channel. */
  header: ReactNode;
  /** The message to show in the middle and highlight (a jump), if any. */
  highlight: string | null;
  me: string;
  loadOlder(): void;
  loadNewer(): void;
  render(row: Row): ReactNode;
  ref?: Ref<MessageListHandle>;
}

/** The list; its parent gives it a new `key` when the messages were replaced by a window
 *  around `highlight` (a jump), so it starts anew there. */
export function MessageList({ data, rows, header, highlight, me, loadOlder, loadNewer, render, ref }: MessageListProps) {
  const virtuoso = useRef<VirtuosoHandle>(null);
  // The id of the first message at the list's first render: the rows older than it were
  // prepended, and Virtuoso keeps the view still when `firstItemIndex` drops by their count.
  const [anchor] = useState(() => data.list[0]?.id ?? null);
  const older = useMemo(() => (anchor === null ? 0 : data.list.filter((m) => compareIds(m.id, anchor) < 0).length), [data.list, anchor]);
  const firstItemIndex = START - older;
  const [initial] = useState(() => {
    const at = highlight ? rows.findIndex((r) => r.key === highlight) : -1;
    return at >= 0 ? { index: at, align: 'center' as const } : { index: 'LAST' as const, align: 'end' as const };
  });

  useImperativeHandle(ref, () => ({
    toBottom: () => virtuoso.current?.scrollToIndex({ index: 'LAST', align: 'end' }),
  }));

  // A jump to a message already in the list scrolls there and moves the focus to it.
  const show = useEffectEvent((id: string): number | null => {
    const at = rows.findIndex((r) => r.key === id);
    if (at < 0) return null;
    virtuoso.current?.scrollToIndex({ index: at, align: 'center' });
    return requestAnimationFrame(() => document.querySelector<HTMLElement>(`li[data-message-id="${id}"]`)?.focus({ preventScroll: true }));
  });
  useEffect(() => {
    const focus = highlight ? show(highlight) : null;
    return () => {
      if (focus !== null) cancelAnimationFrame(focus);
    };
  }, [highlight]);

  // Virtuoso's startReached fires when the first row comes into view; when a page arrives
  // while the view is still at the very top, no scroll follows to fire it again: the rendered
  // range tells instead.
  const [firstShown, setFirstShown] = useState<number | null>(null);
  const atFirst = firstShown !== null && firstShown <= firstItemIndex;
  // Asked once per list length: after a failed page the list is unchanged, and the next try
  // waits for the reader to scroll (startReached) instead of repeating at once.
  const askedAt = useRef<number | null>(null);
  useEffect(() => {
    if (!atFirst || !data.hasMore || data.loading || askedAt.current === data.list.length) return;
    askedAt.current = data.list.length;
    loadOlder();
  }, [atFirst, data.hasMore, data.loading, data.list.length, loadOlder]);

  const context = useMemo(() => ({ header, highlight, me }), [header, highlight, me]);
  return (
    <Virtuoso<Row, Ctx>
      ref={virtuoso}
      className="scroller"
      data={rows}
      context={context}
      components={components}
      firstItemIndex={firstItemIndex}
      initialTopMostItemIndex={initial}
      computeItemKey={(_, row) => row.key}
      itemContent={(_, row) => render(row)}
      alignToBottom
      followOutput={(bottom) => (bottom && !data.hasNewer ? 'auto' : false)}
      startReached={() => data.hasMore && !data.loading && loadOlder()}
      rangeChanged={(r) => setFirstShown(r.startIndex)}
      endReached={() => data.hasNewer && !data.loading && loadNewer()}
      increaseViewportBy={{ top: 600, bottom: 600 }}
    />
  );
}
