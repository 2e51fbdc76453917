// A small router over the History API: `/channels/{guild}/{channel}[/{message}]`, `/invite/{code}`.
import { useSyncExternalStore } from 'react';

export type Route =
  | { kind: 'home' }
  | { kind: 'channel'; guild: string; channel: string | null; message: string | null }
  | { kind: 'invite'; code: string };

export function parse(path: string): Route {
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'channels' && parts[1]) {
    // A message id is a snowflake: anything else in its place is ignored.
    const message = parts[3] && /^\d{1,20}$/.test(parts[3]) ? parts[3] : null;
    return { kind: 'channel', guild: parts[1], channel: parts[2] ?? null, message };
  }
  if (parts[0] === 'invite' && parts[1]) return { kind: 'invite', code: decodeURIComponent(parts[1]) };
  return { kind: 'home' };
}

const listeners = new Set<() => void>();
window.addEventListener('popstate', () => listeners.forEach((l) => l()));

export function navigate(path: string, replace = false): void {
  if (location.pathname === path) return;
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  listeners.forEach((l) => l());
}

export function useRoute(): Route {
  const path = useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => location.pathname,
  );
  return parse(path);
}

/**
 * What to accept for `input`: a code, `code@server`, or an invite link
 * (`https://host/invite/code` or `host/invite/code`). A link of this server (`here`, the
 * page's host) gives its code; a link of another server gives `code@host`, the code on that
 * server, joined through federation: a server's invite links name it by its public host,
 * which is its server name (a server name with a port when the link has one).
 */
export function inviteCode(input: string, here: string = location.host): string {
  const s = input.trim();
  const m = /^(?:(https?):\/\/)?([^/?#\s]+)\/invite\/([^/?#\s]+)/i.exec(s);
  if (!m?.[2] || !m[3]) {
    const path = /\/invite\/([^/?#\s]+)/.exec(s);
    return path?.[1] ? decodeURIComponent(path[1]) : s;
  }
  const code = decodeURIComponent(m[3]);
  if (code.includes('@')) return code;
  let host: string;
  try {
    host = new URL(`${m[1]?.toLowerCase() ?? 'https'}://${m[2]}`).host;
  } catch {
    return code;
  }
  return host === here.toLowerCase() ? code : `${code}@${host}`;
}
