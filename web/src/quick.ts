// Pure rules of the quick switcher and the keyboard shortcuts: the fuzzy score, which
// channels, DMs and servers the switcher offers and in which order, the previous/next
// (unread) channel and server. No DOM here; `src/ui/QuickSwitcher.tsx` and
// `src/ui/Shortcuts.tsx` use them.
import { ChannelType, type Channel, type GuildCreate, type Snowflake } from './api/wire';
import { channelPermissions, has, P } from './permissions';

/**
 * A scored subsequence match, case-insensitive: every character of `query` must appear in
 * `text` in order. Returns null when it does not; otherwise a score, higher is better:
 * consecutive characters, matches at word starts (after a space, `-`, `_` or at the start)
 * and a prefix score more; a longer text scores a little less. An empty query scores 0.
 */
export function fuzzyScore(query: string, text: string): number | null {
  const q = query.trim().toLowerCase();
  if (!q) return 0;
  const s = text.toLowerCase();
  let score = 0;
  let from = 0;
  let prev = -2;
  for (const ch of q) {
    const i = s.indexOf(ch, from);
    if (i < 0) return null;
    score += 1;
    if (i === prev + 1) score += 5;
    if (i === 0 || /[\s\-_#@.]/.test(s[i - 1] ?? '')) score += 3;
    prev = i;
    from = i + 1;
  }
  if (s.startsWith(q)) score += 10;
  return score - s.length * 0.01;
}

/** One entry of the quick switcher. */
export interface SwitcherItem {
  kind: 'channel' | 'dm' | 'guild';
  id: Snowflake;
  /** What is matched and shown: `# general`, `@ alice`, the server's name. */
  label: string;
  /** The server a channel belongs to. */
  detail: string;
  /** The route it opens. */
  href: string;
  unread: boolean;
  mentions: number;
}

type Unread = Record<Snowflake, { count: number; mentions: number } | undefined>;

/** The channel's name as the switcher and sidebars show it. */
function dmLabel(c: Channel): string {
  return `@ ${(c.recipients ?? []).map((u) => u.global_name ?? u.username).join(', ') || '?'}`;
}

/**
 * Everything the switcher offers: each guild's text and forum channels and active threads the user may see
 * (VIEW_CHANNEL, `src/permissions.ts`), the DMs, and the servers themselves (with the
 * unread and mention sums of their channels), in guild order.
 */
export function switcherItems(guilds: GuildCreate[], dms: Channel[], unread: Unread, me: Snowflake): SwitcherItem[] {
  const out: SwitcherItem[] = [];
  for (const g of guilds) {
    // Text and forum channels, then the active threads (whose permissions are their parent's).
    const listed = [
      ...g.channels.filter((c) => c.type === ChannelType.GuildText || c.type === ChannelType.GuildForum || c.type === ChannelType.GuildMedia),
      ...(g.threads ?? []).filter((c) => !c.thread_metadata?.archived),
    ];
    const visible = listed.filter((c) => has(channelPermissions(g, c, me), P.VIEW_CHANNEL));
    for (const c of visible) {
      const u = unread[c.id];
      out.push({ kind: 'channel', id: c.id, label: `# ${c.name ?? ''}`, detail: g.name, href: `/channels/${g.id}/${c.id}`, unread: !!u, mentions: u?.mentions ?? 0 });
    }
    const us = visible.map((c) => unread[c.id]).filter((x) => !!x);
    out.push({ kind: 'guild', id: g.id, label: g.name, detail: '', href: `/channels/${g.id}`, unread: us.length > 0, mentions: us.reduce((n, x) => n + x.mentions, 0) });
  }
  for (const c of dms) {
    const u = unread[c.id];
    out.push({ kind: 'dm', id: c.id, label: dmLabel(c), detail: '', href: `/channels/@me/${c.id}`, unread: !!u, mentions: u?.mentions ?? 0 });
  }
  return out;
}

/**
 * The switcher's list for `query`. Empty: channels and DMs with mentions first (most
 * mentions first), then unread ones, then the rest in their order; the one on screen
 * (`current`) last. Otherwise only the matches, best score first (ties: unread first,
 * then the original order). At most `limit` entries.
 */
export function rankItems(items: SwitcherItem[], query: string, current: Snowflake | null = null, limit = 50): SwitcherItem[] {
  const indexed = items.map((item, i) => ({ item, i }));
  if (!query.trim()) {
    const rank = (x: SwitcherItem) => (x.id === current ? 3 : x.mentions > 0 ? 0 : x.unread ? 1 : 2);
    return indexed
      .sort((a, b) => rank(a.item) - rank(b.item) || (rank(a.item) === 0 ? b.item.mentions - a.item.mentions : 0) || a.i - b.i)
      .slice(0, limit)
      .map((x) => x.item);
  }
  // A leading `#` or `@` narrows the kind, as on Discord; `*` would be servers.
  let q = query.trim();
  let kind: SwitcherItem['kind'] | null = null;
  if (q.startsWith('#')) kind = 'channel';
  else if (q.startsWith('@')) kind = 'dm';
  else if (q.startsWith('*')) kind = 'guild';
  if (kind) q = q.slice(1);
  const scored: { item: SwitcherItem; i: number; score: number }[] = [];
  for (const { item, i } of indexed) {
    if (kind && item.kind !== kind) continue;
    // The label without its `# ` / `@ ` sigil, so "gen" prefixes "# general".
    const score = fuzzyScore(q, item.label.replace(/^[#@] /, ''));
    if (score !== null) scored.push({ item, i, score });
  }
  return scored
    .sort((a, b) => b.score - a.score || Number(b.item.unread) - Number(a.item.unread) || a.i - b.i)
    .slice(0, limit)
    .map((x) => x.item);
}

/**
 * The channel `step` places from `current` in `ids` (Alt+Up / Alt+Down), or null at either
 * end. With `unread`, the nearest unread one in that direction, wrapping around the list
 * (Alt+Shift+Up / Alt+Shift+Down), or null when no other is unread.
 */
export function stepChannel(ids: Snowflake[], current: Snowflake | null, step: 1 | -1, unread?: Unread): Snowflake | null {
  const i = current ? ids.indexOf(current) : -1;
  if (!unread) {
    const next = i < 0 ? (step > 0 ? 0 : ids.length - 1) : i + step;
    return ids[next] ?? null;
  }
  const n = ids.length;
  for (let k = 1; k <= n; k++) {
    const j = (((i < 0 ? (step > 0 ? -1 : n) : i) + step * k) % n + n) % n;
    const id = ids[j];
    if (id !== undefined && id !== current && unread[id]) return id;
  }
  return null;
}

/** The server `step` places from `current` in `ids` (Ctrl+Alt+Up/Down), wrapping around;
 *  `current` null (the DM home) counts as before the first. */
export function stepGuild(ids: Snowflake[], current: Snowflake | null, step: 1 | -1): Snowflake | null {
  if (ids.length === 0) return null;
  const i = current ? ids.indexOf(current) : -1;
  if (i < 0) return (step > 0 ? ids[0] : ids[ids.length - 1]) ?? null;
  return ids[(i + step + ids.length) % ids.length] ?? null;
}

/** The active option after an arrow key in a list of `n` (wrapping), or in a grid of `cols`
 *  columns (Up/Down move a row, staying in bounds). Home/End go to the ends. */
export function moveActive(i: number, n: number, key: string, cols = 1): number {
  if (n === 0) return -1;
  switch (key) {
    case 'ArrowDown':
      return cols === 1 ? (i + 1) % n : Math.min(i + cols, n - 1);
    case 'ArrowUp':
      return cols === 1 ? (i - 1 + n) % n : Math.max(i - cols, 0);
    case 'ArrowRight':
      return Math.min(i + 1, n - 1);
    case 'ArrowLeft':
      return Math.max(i - 1, 0);
    case 'Home':
      return 0;
    case 'End':
      return n - 1;
    default:
      return i;
  }
}

/** Whether a key event comes from a place where typing goes (inputs, text areas, editable
 *  content), so plain shortcuts must not fire. */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!target || typeof (target as { tagName?: unknown }).tagName !== 'string') return false;
  const el = target as HTMLElement;
  return el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable;
}
