// Pure rules of message search (src/ui/Search.tsx): Discord's search box syntax turned into
// the query of `GET /guilds/{id}/messages/search` (or the channel form for DMs), Discord
// "Search Guild Messages"; limits as the server's (crates/wire/src/search.rs).
//
//   hello "exact words" from:alice mentions:bob in:general has:link pinned:true
//   before:2026-12-01 after:2026-11-01
import type { Channel, Member } from './api/wire';

/** The server's page size (SEARCH_LIMIT_MAX). */
export const SEARCH_PAGE = 25;
/** The server counts matches up to this many (README "Search"): a `total_results` of it
 *  means "at least". */
export const SEARCH_COUNTED = 5_000;
/** The matches pages can reach: `offset` ≤ 9,975 (SEARCH_OFFSET_MAX) plus one page. */
export const SEARCH_REACHABLE = 10_000;

/** Whether the server may have more results after `shown` of a search that counted `total`:
 *  the last page was full and the count (or, at the cap, the reachable matches) goes on. */
export function moreResults(shown: number, total: number): boolean {
  const end = total >= SEARCH_COUNTED ? SEARCH_REACHABLE : total;
  return shown > 0 && shown % SEARCH_PAGE === 0 && shown < end;
}

/** The server's longest `content` (SEARCH_CONTENT_MAX), characters. */
export const SEARCH_CONTENT_MAX = 1024;
/** What `has:` takes (the server's list). */
export const HAS = ['link', 'embed', 'file', 'image', 'video', 'sound', 'sticker', 'poll', 'snapshot'] as const;
/** Discord's epoch (2015-01-01T00:00:00Z), the origin of snowflake timestamps, ms. */
const DISCORD_EPOCH_MS = 1_420_070_400_000;

export type SearchQuery = Record<string, string | string[]>;

export type Parsed = { ok: true; query: SearchQuery; filters: string[] } | { ok: false; error: string };

/** The smallest snowflake of a moment (ms since the Unix epoch). */
export function snowflakeAt(ms: number): string {
  return ((BigInt(Math.max(0, ms - DISCORD_EPOCH_MS)) << 22n)).toString();
}

const nameOf = (m: Member) => [m.user?.username, m.user?.global_name, m.nick].filter((x): x is string => !!x).map((x) => x.toLowerCase());

/** Splits the box's text into words, keeping `"quoted phrases"` (and `key:"quoted value"`) whole. */
export function words(input: string): string[] {
  return [...input.matchAll(/(?:\S+?:)?"[^"]*"|\S+/g)].map((m) => m[0]);
}

/**
 * The search query of `input`: `from:`/`mentions:` name a member (username, display name or
 * nickname), `in:` a channel of `channels` (with or without `#`), `has:` one of `HAS` (`-x`
 * excludes), `pinned:` true/false, `before:`/`after:` a date (YYYY-MM-DD, local midnight) or
 * a snowflake; other words (quotes kept) are the content. An unknown name or value is an
 * error naming it; a search with neither words nor filters is refused too.
 */
export function parseSearch(input: string, members: Member[], channels: Channel[]): Parsed {
  const query: SearchQuery = {};
  const filters: string[] = [];
  const content: string[] = [];
  const push = (k: string, v: string) => {
    const cur = query[k];
    query[k] = Array.isArray(cur) ? [...cur, v] : [v];
  };
  for (const word of words(input)) {
    const m = /^(from|mentions|in|has|pinned|before|after):(.+)$/i.exec(word);
    if (!m) {
      content.push(word);
      continue;
    }
    const key = (m[1] ?? '').toLowerCase();
    const value = (m[2] ?? '').replace(/^"(.*)"$/, '$1');
    filters.push(word);
    switch (key) {
      case 'from':
      case 'mentions': {
        const wanted = value.replace(/^@/, '').toLowerCase();
        const member = members.find((x) => nameOf(x).includes(wanted));
        if (!member?.user) return { ok: false, error: `No member named “${value}”.` };
        push(key === 'from' ? 'author_id' : 'mentions', member.user.id);
        break;
      }
      case 'in': {
        const wanted = value.replace(/^#/, '').toLowerCase();
        const channel = channels.find((c) => (c.name ?? '').toLowerCase() === wanted);
        if (!channel) return { ok: false, error: `No channel named “${value}”.` };
        push('channel_id', channel.id);
        break;
      }
      case 'has': {
        const v = value.toLowerCase();
        if (!(HAS as readonly string[]).includes(v.replace(/^-/, ''))) return { ok: false, error: `has: takes ${HAS.join(', ')}.` };
        push('has', v);
        break;
      }
      case 'pinned': {
        if (value !== 'true' && value !== 'false') return { ok: false, error: 'pinned: takes true or false.' };
        query.pinned = value;
        break;
      }
      default: {
        const id = /^\d{1,20}$/.test(value) ? value : dateId(value);
        if (!id) return { ok: false, error: `${key}: takes a date (YYYY-MM-DD).` };
        query[key === 'before' ? 'max_id' : 'min_id'] = id;
      }
    }
  }
  const text = content.join(' ').trim();
  if (text.length > SEARCH_CONTENT_MAX) return { ok: false, error: `Search for at most ${SEARCH_CONTENT_MAX} characters.` };
  if (text) query.content = text;
  if (!text && filters.length === 0) return { ok: false, error: 'Type words to search for, or a filter such as from:name.' };
  return { ok: true, query, filters };
}

function dateId(value: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return null;
  const ms = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])).getTime();
  return Number.isNaN(ms) ? null : snowflakeAt(ms);
}

/** `query` with its page as a URL query string (repeatable keys repeated). */
export function searchParams(query: SearchQuery, offset: number): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) for (const x of Array.isArray(v) ? v : [v]) q.append(k, x);
  q.set('limit', String(SEARCH_PAGE));
  if (offset > 0) q.set('offset', String(offset));
  return q.toString();
}
