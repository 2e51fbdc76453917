// Message search: the header's search box and the results panel (Discord's search: words and
// filters such as from:name in:channel has:link; the syntax in src/search.ts). Results come a
// page of 25 at a time, newest first, only from channels the server lets the user read; each
// one jumps to the message in its channel (a message link, see MessageList.tsx).
import { useEffect, useRef, useState, type Ref } from 'react';
import { format } from 'date-fns';
import { ApiError } from '../api/rest';
import type { Channel, GuildCreate, Member, Message } from '../api/wire';
import { moreResults, parseSearch, SEARCH_COUNTED, searchParams, type SearchQuery } from '../search';
import { t } from '../strings';
import { useClient } from './context';
import { displayName } from './Composer';
import { navigate } from './route';

/** The search box of the channel header: Enter opens the results panel for its text. */
export function SearchBox({ onSearch, inputRef }: { onSearch: (text: string) => void; inputRef?: Ref<HTMLInputElement> }) {
  const [text, setText] = useState('');
  return (
    <form
      role="search"
      aria-label={t.search.label}
      className="search-box"
      onSubmit={(e) => {
        e.preventDefault();
        if (text.trim()) onSearch(text.trim());
      }}
    >
      <input ref={inputRef} type="search" aria-label={t.search.label} placeholder={t.search.placeholder} title={t.search.help} value={text} onChange={(e) => setText(e.target.value)} />
    </form>
  );
}

interface Page {
  total: number;
  results: Message[];
}

/** The results of `text` in `guild` (or in the DM `channel`); Esc or Close closes it. Keyed
 *  by `text` where it is used: each search is a new panel. */
export function SearchPanel({
  guild,
  channel,
  text,
  render,
  onClose,
}: {
  guild: GuildCreate | null;
  channel: Channel;
  text: string;
  render: (md: string) => string;
  onClose: () => void;
}) {
  const { rest } = useClient();
  const [page, setPage] = useState<Page | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(true);
  const heading = useRef<HTMLHeadingElement>(null);
  // In a DM, from: and mentions: name its recipients.
  const people = guild?.members ?? (channel.recipients ?? []).map((user) => ({ user, nick: null, roles: [] }) as unknown as Member);
  const parsed = parseSearch(text, people, guild?.channels ?? []);
  const query: SearchQuery | null = parsed.ok ? parsed.query : null;
  const key = query ? JSON.stringify(query) : null;

  const fetchPage = async (q: SearchQuery, offset: number): Promise<Page> => {
    const r = await rest.search(guild ? { guild: guild.id } : { channel: channel.id }, searchParams(q, offset));
    return { total: r.total_results, results: r.messages.flatMap((group) => group.slice(0, 1)) };
  };

  // The first page, and the focus on the panel's heading (a new search remounts the panel:
  // its parent keys it by the text).
  useEffect(() => {
    heading.current?.focus();
    if (!key) return;
    let live = true;
    fetchPage(JSON.parse(key) as SearchQuery, 0).then(
      (p) => live && (setPage(p), setBusy(false)),
      (err: unknown) => live && (setError(err instanceof ApiError ? err.detail() : String(err)), setBusy(false)),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- `key` is the query's value
  }, [key, guild?.id, channel.id]);

  const more = async () => {
    if (!query || !page) return;
    setBusy(true);
    try {
      const next = await fetchPage(query, page.results.length);
      setPage({ total: next.total, results: [...page.results, ...next.results] });
    } catch (err) {
      setError(err instanceof ApiError ? err.detail() : String(err));
    } finally {
      setBusy(false);
    }
  };
  const channelName = (id: string) => guild?.channels.find((c) => c.id === id)?.name ?? null;

  return (
    <section
      className="pins search-results"
      aria-label={t.search.resultsLabel}
      onKeyDown={(e) => {
        if (e.key !== 'Escape') return;
        // Esc closes the panel only (not also "mark as read" on the window).
        e.stopPropagation();
        onClose();
      }}
    >
      <header>
        <h2 id="search-title" ref={heading} tabIndex={-1}>
          {page ? t.search.results(page.total, text, page.total >= SEARCH_COUNTED) : parsed.ok && !error ? t.search.searching(text) : t.search.label}
        </h2>
        <button type="button" className="small secondary" onClick={onClose}>
          {t.close}
        </button>
      </header>
      {!parsed.ok && (
        <p role="alert" className="error">
          {parsed.error}
        </p>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {page && page.results.length === 0 && <p className="muted">{t.search.none}</p>}
      {page && page.results.length > 0 && (
        <ol aria-label={t.search.resultsLabel}>
          {page.results.map((m) => {
            const where = channelName(m.channel_id);
            return (
              <li key={m.id} className="pin" aria-label={t.messageLabel(displayName(m), m.content, m.attachments?.length ?? 0)}>
                <div className="meta">
                  {where && <span className="muted small">#{where}</span>}
                  <span className="author">{displayName(m)}</span>
                  <time dateTime={m.timestamp}>{format(Date.parse(m.timestamp), 'PPp')}</time>
                  <button
                    type="button"
                    className="small secondary"
                    aria-label={t.search.jumpTo(displayName(m))}
                    onClick={() => navigate(`/channels/${guild?.id ?? '@me'}/${m.channel_id}/${m.id}`)}
                  >
                    {t.search.jump}
                  </button>
                </div>
                <div className="markdown" dangerouslySetInnerHTML={{ __html: render(m.content) }} />
              </li>
            );
          })}
        </ol>
      )}
      {page && moreResults(page.results.length, page.total) && (
        <button type="button" className="small" disabled={busy} onClick={() => void more()}>
          {t.search.more}
        </button>
      )}
    </section>
  );
}
