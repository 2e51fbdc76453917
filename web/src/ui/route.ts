// A small router over the History API: `/channels/{guild}/{channel}`, `/invite/{code}`.
import { useSyncExternalStore } from 'react';

export type Route =
  | { kind: 'home' }
  | { kind: 'channel'; guild: string; channel: string | null }
  | { kind: 'invite'; code: string };

export function parse(path: string): Route {
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'channels' && parts[1]) return { kind: 'channel', guild: parts[1], channel: parts[2] ?? null };
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

/** The invite code in `code`, `https://host/invite/code` or `host/invite/code`. */
export function inviteCode(input: string): string {
  const s = input.trim();
  const m = /\/invite\/([^/?#\s]+)/.exec(s);
  return m?.[1] ? decodeURIComponent(m[1]) : s;
}
