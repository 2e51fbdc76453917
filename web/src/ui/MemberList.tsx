import type { GuildCreate, Member, Role } from '../api/wire';
import { useStore } from '../state/store';
import { t } from '../strings';
import { useClient } from './context';
import { ServerOf, useProfile } from './Profile';
import { AppsMenu, onContextMenu, onMenuKey, toggle, useAppsMenu } from './ContextCommands';
import { appsAllowed } from '../bots';
import { channelPermissions } from '../permissions';
import { PANEL_BACKGROUND, readable, useDarkTheme } from '../colour';

interface Group {
  key: string;
  title: string;
  members: Member[];
}

/** Discord's grouping: online members under their highest hoisted role, else "Online"; then "Offline". */
export function groupMembers(guild: GuildCreate, presence: Record<string, string>): Group[] {
  const roles = new Map(guild.roles.map((r) => [r.id, r]));
  const hoisted = (m: Member): Role | undefined =>
    m.roles
      .map((id) => roles.get(id))
      .filter((r): r is Role => !!r && r.hoist)
      .sort((a, b) => b.position - a.position)[0];
  const groups = new Map<string, Group>();
  const add = (key: string, title: string, m: Member) => {
    const g = groups.get(key) ?? { key, title, members: [] };
    g.members.push(m);
    groups.set(key, g);
  };
  for (const m of guild.members) {
    if (!m.user) continue;
    const status = presence[m.user.id] ?? 'offline';
    if (status === 'offline') add('offline', t.offline, m);
    else {
      const r = hoisted(m);
      if (r) add(`role:${r.id}`, r.name, m);
      else add('online', t.online, m);
    }
  }
  const byName = (a: Member, b: Member) => name(a).localeCompare(name(b));
  const ordered = [...groups.values()].sort((a, b) => rank(a, roles) - rank(b, roles));
  for (const g of ordered) g.members.sort(byName);
  return ordered;
}

function rank(g: Group, roles: Map<string, Role>): number {
  if (g.key === 'online') return 1e9;
  if (g.key === 'offline') return 2e9;
  return -(roles.get(g.key.slice(5))?.position ?? 0);
}

function name(m: Member): string {
  return m.nick ?? m.user?.global_name ?? m.user?.username ?? '';
}

/** The colour of the member's highest coloured role, as CSS made readable on the list's
 *  background in the current theme (src/colour.ts; undefined: the default). */
function colour(guild: GuildCreate, m: Member, dark: boolean): string | undefined {
  const r = guild.roles
    .filter((x) => m.roles.includes(x.id) && x.color !== 0)
    .sort((a, b) => b.position - a.position)[0];
  return r ? readable(r.color, dark ? PANEL_BACKGROUND.dark : PANEL_BACKGROUND.light, dark) : undefined;
}

/** The member list; a right-click on a member (or the context-menu key) opens the "Apps"
 *  menu of USER commands, run in `channelId` (none without a channel, or where the server
 *  would refuse them: without USE_APPLICATION_COMMANDS there). */
export function MemberList({ guild, channelId }: { guild: GuildCreate; channelId: string | null }) {
  const { store } = useClient();
  const profile = useProfile();
  const presence = useStore(store, (s) => s.presence);
  const me = useStore(store, (s) => s.me?.id);
  const channel = guild.channels.find((c) => c.id === channelId);
  const perms = channel && me ? channelPermissions(guild, channel, me) : 0n;
  const appsIn = channel && appsAllowed(perms, 2) ? { channelId: channel.id, perms } : null;
  const groups = groupMembers(guild, presence);
  return (
    <aside className="members" aria-label={t.members}>
      {groups.map((g) => (
        <section key={g.key}>
          <h3>
            {g.title} — {g.members.length}
          </h3>
          <ul>
            {g.members.map((m) =>
              m.user ? (
                <MemberRow key={m.user.id} guild={guild} m={m} status={presence[m.user.id] ?? 'offline'} appsIn={appsIn} onOpen={(el) => m.user && profile.open({ user: m.user, guildId: guild.id }, el)} />
              ) : null,
            )}
          </ul>
        </section>
      ))}
    </aside>
  );
}

interface AppsIn {
  channelId: string;
  perms: bigint;
}

function MemberRow({ guild, m, status, appsIn, onOpen }: { guild: GuildCreate; m: Member; status: string; appsIn: AppsIn | null; onOpen: (el: HTMLElement) => void }) {
  const apps = useAppsMenu();
  const dark = useDarkTheme();
  const user = m.user;
  if (!user) return null;
  return (
    <li className={status === 'offline' ? 'member offline' : 'member'} title={user.handle} onContextMenu={appsIn ? onContextMenu(apps) : undefined} onKeyDown={appsIn ? onMenuKey(apps) : undefined}>
      <span className={`dot ${status}`} role="img" aria-label={t.status[status] ?? status} />
      <button type="button" className="member-name" aria-haspopup="dialog" style={{ color: status === 'offline' ? undefined : colour(guild, m, dark) }} onClick={(e) => onOpen(e.currentTarget)}>
        {name(m)}
        <ServerOf user={user} />
      </button>
      {appsIn && (
        <button type="button" className="member-apps small secondary" aria-haspopup="menu" aria-expanded={apps.open} aria-label={t.bots.appsFor(name(m))} title={t.bots.appsFor(name(m))} onClick={toggle(apps)}>
          {t.bots.apps}
        </button>
      )}
      {appsIn && <AppsMenu target={{ guildId: guild.id, channelId: appsIn.channelId, kind: 2, targetId: user.id, label: name(m), perms: appsIn.perms }} menu={apps} />}
    </li>
  );
}
