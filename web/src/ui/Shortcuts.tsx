// Discord's keyboard shortcuts for the whole window: Ctrl+K (Cmd+K) the quick switcher,
// Alt+Up/Down the previous/next channel, Alt+Shift+Up/Down the previous/next unread
// channel, Ctrl+Alt+Up/Down (or Ctrl+Shift+Up/Down) the previous/next server, Ctrl+/ this
// list. The ones with a modifier work in text fields too (as on Discord); none fires while
// a dialog is open. Esc (mark read) and Up (edit the last message) belong to the message
// view and its composer.
import { useEffect, useRef, useState } from 'react';
import type { Channel, GuildCreate } from '../api/wire';
import { stepChannel, stepGuild } from '../quick';
import { useStore } from '../state/store';
import { t } from '../strings';
import { Modal } from './admin/Modal';
import { useClient } from './context';
import { QuickSwitcher } from './QuickSwitcher';
import { navigate } from './route';

/** The rows of the help dialog: keys, what they do. */
export const SHORTCUTS: [string, string][] = [
  ['Ctrl+K', t.keys.switcher],
  ['Alt+↑ / Alt+↓', t.keys.channel],
  ['Alt+Shift+↑ / Alt+Shift+↓', t.keys.unreadChannel],
  ['Ctrl+Alt+↑ / Ctrl+Alt+↓', t.keys.server],
  ['Esc', t.keys.markRead],
  ['↑', t.keys.editLast],
  ['Ctrl+/', t.keys.help],
];

/**
 * Installs the shortcuts. `guild` is the server on screen (null on the DM home), `channels`
 * its text channels in sidebar order (or the DMs in list order on the home), `current` the
 * channel on screen.
 */
export function Shortcuts({ guild, channels, current }: { guild: GuildCreate | null; channels: Channel[]; current: string | null }) {
  const { store } = useClient();
  const unread = useStore(store, (s) => s.unread);
  const guilds = useStore(store, (s) => s.guilds);
  const [open, setOpen] = useState<'switcher' | 'help' | null>(null);
  const state = useRef({ guild, channels, current, unread, guilds, open });
  useEffect(() => {
    state.current = { guild, channels, current, unread, guilds, open };
  });
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const s = state.current;
      const ctrl = e.ctrlKey || e.metaKey;
      const vertical = e.key === 'ArrowUp' || e.key === 'ArrowDown';
      const step = e.key === 'ArrowUp' ? -1 : 1;
      // Another dialog (settings, a profile, the picker) owns the keys while it is open.
      const dialogOpen = !!document.querySelector('[role="dialog"][aria-modal="true"]');
      if (ctrl && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        if (s.open === 'switcher') setOpen(null);
        else if (!dialogOpen) setOpen('switcher');
        return;
      }
      if (ctrl && !e.altKey && (e.key === '/' || e.code === 'Slash')) {
        e.preventDefault();
        if (s.open === 'help') setOpen(null);
        else if (!dialogOpen) setOpen('help');
        return;
      }
      if (dialogOpen || !vertical) return;
      const base = (id: string | null) => (s.guild ? `/channels/${s.guild.id}/${id ?? ''}` : `/channels/@me/${id ?? ''}`);
      if (ctrl && (e.altKey || e.shiftKey)) {
        const next = stepGuild(s.guilds.map((g) => g.id), s.guild?.id ?? null, step);
        if (next) {
          e.preventDefault();
          navigate(`/channels/${next}`);
        }
      } else if (e.altKey && !ctrl) {
        const ids = s.channels.map((c) => c.id);
        const next = stepChannel(ids, s.current, step, e.shiftKey ? s.unread : undefined);
        if (next) {
          e.preventDefault();
          navigate(base(next));
        }
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
  if (open === 'switcher') return <QuickSwitcher current={current} onClose={() => setOpen(null)} />;
  if (open === 'help') return <ShortcutsHelp onClose={() => setOpen(null)} />;
  return null;
}

/** The list of shortcuts (Ctrl+/). */
export function ShortcutsHelp({ onClose }: { onClose: () => void }) {
  return (
    <Modal title={t.keys.title} onClose={onClose} className="shortcuts">
      <table className="shortcut-list">
        <thead>
          <tr>
            <th scope="col">{t.keys.keys}</th>
            <th scope="col">{t.keys.action}</th>
          </tr>
        </thead>
        <tbody>
          {SHORTCUTS.map(([keys, what]) => (
            <tr key={keys}>
              <td>
                <kbd>{keys}</kbd>
              </td>
              <td>{what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted small">{t.keys.mac}</p>
      <div className="row">
        <button type="button" onClick={onClose}>
          {t.close}
        </button>
      </div>
    </Modal>
  );
}
