// The emoji picker: a dialog with a search field and the emoji by category (recently used,
// the guild's own, then Unicode's groups). The search field keeps the focus; the arrow keys
// move the active emoji through the grid (aria-activedescendant), Enter chooses it, Esc
// closes, and the focus goes back to the button that opened it (Modal). The skin-tone button
// (Discord's hand) opens the six tones; the chosen one applies to every emoji that has
// tones (in the grid and in what is sent) and is kept in localStorage.
import { useEffect, useId, useMemo, useState } from 'react';
import {
  emojiUrl,
  fromGuild,
  GROUPS,
  loadRecent,
  loadTone,
  loadUnicodeEmoji,
  pushRecent,
  resolveRecent,
  saveRecent,
  saveTone,
  searchEmoji,
  toneSample,
  TONES,
  withTone,
  type PickerEmoji,
  type Tone,
} from '../emoji';
import { moveActive } from '../quick';
import { useStore } from '../state/store';
import { t } from '../strings';
import { Modal } from './admin/Modal';
import { useClient } from './context';

/** Emoji per row of the grid (the CSS grid has as many columns). */
const COLS = 8;

export function EmojiGlyph({ e }: { e: PickerEmoji }) {
  return e.unicode ? (
    <span aria-hidden="true">{e.unicode}</span>
  ) : (
    <img className="emoji" src={emojiUrl(e.id ?? '', e.animated)} alt="" width={24} height={24} loading="lazy" />
  );
}

export function EmojiPicker({ guildId, title, onPick, onClose }: { guildId: string | null; title: string; onPick: (e: PickerEmoji) => void; onClose: () => void }) {
  const { rest, store } = useClient();
  const guildName = useStore(store, (s) => s.guilds.find((g) => g.id === guildId)?.name ?? '');
  const [unicode, setUnicode] = useState<PickerEmoji[] | null>(null);
  const [custom, setCustom] = useState<PickerEmoji[]>([]);
  const [failed, setFailed] = useState(false);
  const [query, setQuery] = useState('');
  // What had the focus when this opened (the search field's autoFocus takes it before Modal
  // looks): the focus goes back there on close.
  const [opener] = useState(() => (document.activeElement instanceof HTMLElement ? document.activeElement : null));
  const [active, setActive] = useState(0);
  const [tone, setTone] = useState<Tone>(() => loadTone());
  const [tones, setTones] = useState(false);
  const id = useId();
  useEffect(() => {
    loadUnicodeEmoji().then(setUnicode, () => setFailed(true));
  }, []);
  useEffect(() => {
    if (guildId) rest.guildEmojis(guildId).then((l) => setCustom(fromGuild(l)), () => undefined);
  }, [rest, guildId]);
  const sections = useMemo(() => {
    const all = [...custom, ...(unicode ?? [])];
    if (query.trim()) return [{ title: t.emoji.search, list: searchEmoji(all, query) }];
    const out: { title: string; list: PickerEmoji[] }[] = [{ title: t.emoji.recent, list: resolveRecent(loadRecent(), all) }];
    if (custom.length > 0) out.push({ title: t.emoji.custom(guildName), list: custom });
    GROUPS.forEach((g, i) => out.push({ title: g, list: (unicode ?? []).filter((e) => e.group === i) }));
    return out.filter((s) => s.list.length > 0);
  }, [custom, unicode, query, guildName]);
  const pickTone = (n: Tone) => {
    setTone(n);
    saveTone(n);
    setTones(false);
    document.getElementById(`${id}-search`)?.focus();
  };
  const flat = useMemo(() => sections.flatMap((s) => s.list), [sections]);
  const at = Math.min(active, flat.length - 1);
  const choose = (e: PickerEmoji | undefined) => {
    if (!e) return;
    saveRecent(pushRecent(loadRecent(), e.key));
    onClose();
    onPick(withTone(e, tone));
  };
  const onKeyDown = (e: React.KeyboardEvent<HTMLInputElement>) => {
    // All four arrows move through the grid (the field's caret keeps Home/End).
    if (['ArrowDown', 'ArrowUp', 'ArrowLeft', 'ArrowRight'].includes(e.key)) {
      e.preventDefault();
      const next = moveActive(at, flat.length, e.key, COLS);
      setActive(next);
      document.getElementById(`${id}-${next}`)?.scrollIntoView({ block: 'nearest' });
    } else if (e.key === 'Enter') {
      e.preventDefault();
      choose(flat[at]);
    }
  };
  let offset = 0;
  const current = flat[at];
  return (
    <Modal title={title} onClose={onClose} className="emoji-picker" returnTo={opener}>
      <div className="emoji-top">
        <input
          id={`${id}-search`}
          type="search"
          role="combobox"
          autoFocus
          aria-label={t.emoji.search}
          placeholder={t.emoji.search}
          aria-expanded={flat.length > 0}
          aria-controls={`${id}-grid`}
          aria-autocomplete="list"
          aria-activedescendant={current ? `${id}-${at}` : undefined}
          aria-describedby={`${id}-hint`}
          value={query}
          onChange={(e) => {
            setQuery(e.target.value);
            setActive(0);
          }}
          onKeyDown={onKeyDown}
        />
        <button
          type="button"
          className="secondary tone-button"
          aria-expanded={tones}
          aria-controls={`${id}-tones`}
          aria-label={t.emoji.tone(t.emoji.tones[tone])}
          title={t.emoji.tone(t.emoji.tones[tone])}
          onClick={() => setTones(!tones)}
        >
          <span aria-hidden="true">{toneSample(tone)}</span>
        </button>
      </div>
      {tones && (
        <div id={`${id}-tones`} role="group" aria-label={t.emoji.tonesLabel} className="tones">
          {TONES.map((n) => (
            <button key={n} type="button" className="secondary" aria-pressed={n === tone} aria-label={t.emoji.tones[n]} title={t.emoji.tones[n]} onClick={() => pickTone(n)}>
              <span aria-hidden="true">{toneSample(n)}</span>
            </button>
          ))}
        </div>
      )}
      <p id={`${id}-hint`} className="muted small">
        {current ? `:${current.name.replace(/\s+/g, '_')}:` : '\u00a0'} — {t.emoji.hint}
      </p>
      {failed && <p role="alert" className="error">{t.emoji.failed}</p>}
      {!unicode && !failed && <p className="muted">{t.emoji.loading}</p>}
      {unicode && flat.length === 0 && <p className="muted">{t.emoji.none}</p>}
      <div id={`${id}-grid`} role="listbox" aria-label={title} className="emoji-grid">
        {sections.map((s, si) => {
          const start = offset;
          offset += s.list.length;
          return (
            <div key={`${si}${s.title}`} role="group" aria-labelledby={`${id}-s${si}`}>
              {/* The group's name (a heading is not allowed inside a listbox). */}
              <div id={`${id}-s${si}`} className="emoji-section" aria-hidden="true">
                {s.title}
              </div>
              <div className="emoji-cells" role="none">
                {s.list.map((e, i) => (
                  <div
                    key={e.key}
                    id={`${id}-${start + i}`}
                    role="option"
                    aria-selected={start + i === at}
                    aria-label={e.unicode ? e.name : `:${e.name}:`}
                    title={`:${e.name.replace(/\s+/g, '_')}:`}
                    className={start + i === at ? 'emoji-cell active' : 'emoji-cell'}
                    onMouseDown={(ev) => ev.preventDefault()}
                    onClick={() => choose(e)}
                  >
                    <EmojiGlyph e={withTone(e, tone)} />
                  </div>
                ))}
              </div>
            </div>
          );
        })}
      </div>
    </Modal>
  );
}
