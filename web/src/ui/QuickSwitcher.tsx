// The quick switcher (Ctrl+K / Cmd+K): a combobox over the channels, DMs and servers the
// user can open. The text field keeps the focus; Up/Down move the active option
// (aria-activedescendant), Enter opens it, Esc closes and the focus goes back (Modal).
import { useId, useMemo, useState } from 'react';
import { useStore } from '../state/store';
import { moveActive, rankItems, switcherItems } from '../quick';
import { t } from '../strings';
import { Modal } from './admin/Modal';
import { useClient } from './context';
import { navigate } from './route';

export function QuickSwitcher({ current, onClose }: { current: string | null; onClose: () => void }) {
  const { store } = useClient();
  const guilds = useStore(store, (s) => s.guilds);
  const dms = useStore(store, (s) => s.dms);
  const unread = useStore(store, (s) => s.unread);
  const me = useStore(store, (s) => s.me?.id ?? '');
  const [query, setQuery] = useState('');
  // What had the focus when this opened (the search field's autoFocus takes it before Modal
  // looks): the focus goes back there on close.
  const [opener] = useState(() => (document.activeElement instanceof HTMLElement ? document.activeElement : null));
  const [active, setActive] = useState(0);
  const all = useMemo(() => switcherItems(guilds, dms, unread, me), [guilds, dms, unread, me]);
  const list = useMemo(() => rankItems(all, query, current), [all, query, current]);
  const id = useId();
  const at = Math.min(active, list.length - 1);
  const open = (i: number) => {
    const item = list[i];
    if (!item) return;
    onClose();
    navigate(item.href);
  };
  const onKeyDown = (e: React.KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const next = moveActive(at, list.length, e.key);
      setActive(next);
      document.getElementById(`${id}-${next}`)?.scrollIntoView({ block: 'nearest' });
    } else if (e.key === 'Enter') {
      e.preventDefault();
      open(at);
    }
  };
  return (
    <Modal title={t.quickSwitcher} onClose={onClose} className="switcher" returnTo={opener}>
      <p className="muted small" id={`${id}-hint`}>
        {t.quickSwitcherHint}
      </p>
      <input
        type="text"
        role="combobox"
        autoFocus
        aria-label={t.quickSwitcherSearch}
        aria-describedby={`${id}-hint`}
        aria-expanded={list.length > 0}
        aria-controls={`${id}-list`}
        aria-autocomplete="list"
        aria-activedescendant={at >= 0 ? `${id}-${at}` : undefined}
        placeholder={t.quickSwitcherSearch}
        value={query}
        onChange={(e) => {
          setQuery(e.target.value);
          setActive(0);
        }}
        onKeyDown={onKeyDown}
      />
      <ul id={`${id}-list`} role="listbox" aria-label={t.quickSwitcherResults} className="switcher-list">
        {list.map((item, i) => (
          <li
            key={`${item.kind}${item.id}`}
            id={`${id}-${i}`}
            role="option"
            aria-selected={i === at}
            className={[i === at && 'active', item.unread && 'unread'].filter(Boolean).join(' ') || undefined}
            onMouseMove={() => i !== at && setActive(i)}
            onClick={() => open(i)}
          >
            <span className="label">{item.kind === 'guild' ? `${t.server}: ${item.label}` : item.label}</span>
            {item.detail && <span className="muted small"> {item.detail}</span>}
            {item.mentions > 0 && (
              <span className="badge" aria-hidden="true">
                {t.mentionBadge(item.mentions)}
              </span>
            )}
            {item.unread && <span className="sr-only">, {item.mentions > 0 ? t.mentionCount(item.mentions) : t.unread}</span>}
          </li>
        ))}
        {list.length === 0 && (
          <li role="option" aria-selected={false} aria-disabled="true" className="muted">
            {t.noMatches}
          </li>
        )}
      </ul>
    </Modal>
  );
}
