// Context-menu commands (Discord "Application Commands > User Commands / Message Commands"):
// a right-click on a member or a message (or Shift+F10 / the context-menu key on it, or the
// "Apps" button of a message or a member row) opens the "Apps" menu, the USER or MESSAGE
// commands the user may use in the channel from `GET /channels/{id}/application-command-index`
// (fetched at each opening, as the `/` list is).
// Choosing one sends `POST /interactions` type 2 with `data.target_id`; the server resolves
// the target for the application and the answer is a message in the channel like any other.
// The menu follows the WAI-ARIA menu pattern: focus on the first item, Up/Down/Home/End
// move, Enter runs, Esc/Tab/a click outside close, the focus goes back where it was.
import { useEffect, useMemo, useRef, useState, type KeyboardEvent, type MouseEvent as ReactMouseEvent } from 'react';
import { ApiError } from '../api/rest';
import { contextBody, contextEntries, type ContextEntry } from '../bots';
import { t } from '../strings';
import { useClient } from './context';
import { InteractionStatus, sendInteraction } from './Components';

export interface AppsTarget {
  guildId: string;
  channelId: string;
  /** 2: a user (USER commands), 3: a message of the channel (MESSAGE commands). */
  kind: 2 | 3;
  targetId: string;
  /** What the menu is about, for its accessible name ("Apps for mia"). */
  label: string;
  /** The member's permissions in the channel: commands whose `default_member_permissions`
   *  they lack are not listed. */
  perms: bigint;
}

/** Open state of an "Apps" menu, with the element to refocus when it closes. */
export function useAppsMenu() {
  const [open, setOpen] = useState(false);
  const back = useRef<HTMLElement | null>(null);
  return useMemo(
    () => ({
      open,
      show: () => {
        back.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
        setOpen(true);
      },
      hide: (refocus: boolean) => {
        setOpen(false);
        if (refocus) back.current?.focus();
      },
    }),
    [open],
  );
}

export type AppsMenuState = ReturnType<typeof useAppsMenu>;

/** A menu button's click: opens the menu, or closes it when open. */
export function toggle(menu: AppsMenuState) {
  return () => (menu.open ? menu.hide(true) : menu.show());
}

/** A keydown handler that opens `menu` on the keyboard's context-menu keys (Shift+F10, the
 *  ContextMenu key), as a right-click does. */
export function onMenuKey(menu: AppsMenuState) {
  return (e: KeyboardEvent) => {
    const el = e.target as HTMLElement;
    if (el.closest('input, textarea, select, .apps-menu')) return;
    if (e.key === 'ContextMenu' || (e.shiftKey && e.key === 'F10')) {
      e.preventDefault();
      if (!menu.open) menu.show();
    }
  };
}

/** A `contextmenu` handler that opens `menu` (the browser's own menu stays for links and
 *  selected text, as in Discord's client). */
export function onContextMenu(menu: AppsMenuState) {
  return (e: ReactMouseEvent) => {
    const el = e.target as HTMLElement;
    if (el.closest('a, input, textarea, select, .apps-menu') || !window.getSelection()?.isCollapsed) return;
    e.preventDefault();
    if (!menu.open) menu.show();
  };
}

/** The menu (when open) and the status line of the last command run from it. */
export function AppsMenu({ target, menu }: { target: AppsTarget; menu: AppsMenuState }) {
  const { rest, store } = useClient();
  const [entries, setEntries] = useState<ContextEntry[] | null>(null);
  // Why the list could not be fetched (the menu says so instead of "No apps").
  const [error, setError] = useState<string | null>(null);
  const [nonce, setNonce] = useState<string | null>(null);
  const ref = useRef<HTMLUListElement>(null);
  const { open } = menu;
  useEffect(() => {
    if (!open) return;
    let live = true;
    rest.commandIndex(target.channelId).then(
      (index) => live && setEntries(contextEntries(index, target.kind, target.perms)),
      (err: unknown) => {
        if (!live) return;
        setError(err instanceof ApiError ? err.detail() : String(err));
        setEntries([]);
      },
    );
    return () => {
      live = false;
      setEntries(null);
      setError(null);
    };
  }, [rest, open, target.channelId, target.kind, target.perms]);
  // The first item takes the focus once the list is known.
  useEffect(() => {
    if (open) ref.current?.querySelector<HTMLElement>('[role=menuitem]')?.focus();
  }, [open, entries]);
  // A click outside closes the menu (the focus stays where the click put it).
  useEffect(() => {
    if (!open) return;
    // (Not on the open menu's own button: its click closes it.)
    const down = (e: MouseEvent) => {
      const el = e.target instanceof Element ? e.target : null;
      if (!ref.current?.contains(el) && !el?.closest('[aria-haspopup="menu"][aria-expanded="true"]')) menu.hide(false);
    };
    document.addEventListener('mousedown', down);
    return () => document.removeEventListener('mousedown', down);
  }, [open, menu]);
  const run = (e: ContextEntry) => {
    menu.hide(true);
    setNonce(
      sendInteraction(rest, store, target.guildId, (n, sessionId) =>
        contextBody({ applicationId: e.command.application_id, guildId: target.guildId, channelId: target.channelId, sessionId, nonce: n }, e, target.targetId),
      ),
    );
  };
  const keys = (e: KeyboardEvent) => {
    const items = [...(ref.current?.querySelectorAll<HTMLElement>('[role=menuitem]') ?? [])];
    const at = items.indexOf(document.activeElement as HTMLElement);
    const go = (i: number) => items[(i + items.length) % items.length]?.focus();
    if (e.key === 'ArrowDown') go(at + 1);
    else if (e.key === 'ArrowUp') go(at - 1);
    else if (e.key === 'Home') go(0);
    else if (e.key === 'End') go(items.length - 1);
    else if (e.key === 'Escape' || e.key === 'Tab') {
      menu.hide(e.key === 'Escape');
      if (e.key === 'Escape') e.stopPropagation();
      else return;
    } else return;
    e.preventDefault();
  };
  return (
    <>
      {open && (
        <ul ref={ref} role="menu" aria-label={t.bots.appsFor(target.label)} className="apps-menu" onKeyDown={keys}>
          {entries === null && (
            <li role="menuitem" aria-disabled="true" tabIndex={-1} className="muted">
              {t.bots.loading}
            </li>
          )}
          {entries?.length === 0 && (
            <li role="menuitem" aria-disabled="true" tabIndex={-1} className="muted">
              {error === null ? t.bots.noApps : t.bots.appsUnavailable}
            </li>
          )}
          {entries?.map((e) => (
            <li key={e.command.id} role="menuitem" tabIndex={-1} onClick={() => run(e)} onKeyDown={(k) => (k.key === 'Enter' || k.key === ' ') && (k.preventDefault(), run(e))}>
              {e.command.name} <span className="muted small">{t.bots.by(e.application)}</span>
            </li>
          ))}
        </ul>
      )}
      {open && error !== null && (
        <p role="alert" className="error small">
          {t.bots.appsFailed(error)}
        </p>
      )}
      <InteractionStatus nonce={nonce} />
    </>
  );
}
