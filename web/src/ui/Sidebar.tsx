import { useState } from 'react';
import { ChannelType, type Channel, type GuildCreate, type Snowflake } from '../api/wire';
import { compareIds, useStore } from '../state/store';
import { t } from '../strings';
import { useClient } from './context';
import { CreateGuildDialog, InviteDialog, JoinGuildDialog } from './Dialogs';
import { Avatar } from './Profile';
import { navigate } from './route';
import { SettingsDialog } from './Security';
import { NewGroupDmDialog, groupName, isGroupDm } from './GroupDms';
import { ChannelPermissionsDialog, canEditOverwrites } from './admin/ChannelPermissions';
import { GuildSettingsButton } from './admin/GuildSettings';
import { P, channelPermissions, guildPermissions, has } from '../permissions';
import { isForum } from '../threads';
import { SidebarThreads } from './Threads';

function initials(name: string): string {
  return name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 3)
    .map((w) => w[0])
    .join('');
}

export function GuildBar({ current }: { current: string | null }) {
  const { store } = useClient();
  const guilds = useStore(store, (s) => s.guilds);
  const unread = useStore(store, (s) => s.unread);
  const dms = useStore(store, (s) => s.dms);
  const [dialog, setDialog] = useState<'create' | 'join' | 'settings' | null>(null);
  const dmUnread = dms.map((c) => unread[c.id]).filter((x) => !!x);
  const dmMentions = dmUnread.reduce((n, x) => n + x.mentions, 0);
  const home = current === '@me';
  return (
    <nav className="guildbar" aria-label={t.guilds}>
      <ul>
        <li className={dmUnread.length > 0 ? 'has-unread' : undefined}>
          <a
            href="/channels/@me"
            className={home ? 'guild home active' : 'guild home'}
            aria-current={home ? 'page' : undefined}
            title={t.directMessages}
            aria-label={dmUnread.length > 0 ? t.unreadChannel(t.directMessages, dmMentions) : t.directMessages}
            onClick={(e) => {
              e.preventDefault();
              navigate('/channels/@me');
            }}
          >
            <span aria-hidden="true">✉</span>
          </a>
          {dmMentions > 0 && <span className="badge" aria-hidden="true">{t.mentionBadge(dmMentions)}</span>}
        </li>
        {guilds.map((g) => {
          const u = g.channels.map((c) => unread[c.id]).filter((x) => !!x);
          const mentions = u.reduce((n, x) => n + x.mentions, 0);
          return (
          <li key={g.id} className={u.length > 0 ? 'has-unread' : undefined}>
            <a
              href={`/channels/${g.id}`}
              className={g.id === current ? 'guild active' : 'guild'}
              aria-current={g.id === current ? 'page' : undefined}
              title={g.name}
              aria-label={u.length > 0 ? t.unreadChannel(g.name, mentions) : g.name}
              onClick={(e) => {
                e.preventDefault();
                navigate(`/channels/${g.id}`);
              }}
            >
              {initials(g.name)}
            </a>
            {mentions > 0 && <span className="badge" aria-hidden="true">{t.mentionBadge(mentions)}</span>}
          </li>
          );
        })}
      </ul>
      <button type="button" className="guild add" title={t.createGuild} aria-label={t.createGuild} onClick={() => setDialog('create')}>
        +
      </button>
      <button type="button" className="guild add" title={t.joinGuild} aria-label={t.joinGuild} onClick={() => setDialog('join')}>
        ⇥
      </button>
      <button type="button" className="guild add" title={t.settings} aria-label={t.settings} onClick={() => setDialog('settings')}>
        ⚙
      </button>
      {dialog === 'create' && <CreateGuildDialog onClose={() => setDialog(null)} />}
      {dialog === 'join' && <JoinGuildDialog onClose={() => setDialog(null)} />}
      {dialog === 'settings' && <SettingsDialog onClose={() => setDialog(null)} />}
    </nav>
  );
}

/** The channels listed as text channels: text, forum and media. */
const LISTED: number[] = [ChannelType.GuildText, ChannelType.GuildForum, ChannelType.GuildMedia];

/** Text (and forum) channels in position order, grouped under their categories; a channel whose category
 *  the user cannot see (or that is gone) is listed with the uncategorized ones, as on Discord.
 *  Empty categories are left out, except, with `editor` (the signed-in user, for the sidebar),
 *  for one this user may edit: MANAGE_CHANNELS in the guild or its overwrites' MANAGE_ROLES
 *  (Discord shows an empty category only to those who can manage it). */
export function textChannels(g: GuildCreate, editor?: Snowflake): { category: Channel | null; channels: Channel[] }[] {
  const byPos = (a: Channel, b: Channel) => (a.position ?? 0) - (b.position ?? 0) || (a.id < b.id ? -1 : 1);
  const cats = g.channels.filter((c) => c.type === ChannelType.GuildCategory).sort(byPos);
  const texts = g.channels.filter((c) => LISTED.includes(c.type)).sort(byPos);
  const known = new Set(cats.map((c) => c.id));
  const groups = [{ category: null as Channel | null, channels: texts.filter((c) => !c.parent_id || !known.has(c.parent_id)) }];
  for (const cat of cats) groups.push({ category: cat, channels: texts.filter((c) => c.parent_id === cat.id) });
  const managesChannels = !!editor && has(guildPermissions(g, editor), P.MANAGE_CHANNELS);
  const mayEdit = (cat: Channel) => managesChannels || canEditOverwrites(g, cat, editor);
  return groups.filter((x) => x.channels.length > 0 || (x.category && mayEdit(x.category)));
}

/** Collapsed categories, kept across reloads. */
const COLLAPSED = 'hearth.collapsed';
function loadCollapsed(): Set<string> {
  try {
    return new Set(JSON.parse(localStorage.getItem(COLLAPSED) ?? '[]') as string[]);
  } catch {
    return new Set();
  }
}

/** The signed-in user and the log-out button, at the foot of the channel or DM list. */
function AccountFooter() {
  const { store, logout } = useClient();
  const me = useStore(store, (s) => s.me);
  return (
    <footer>
      <span className="me" title={me?.handle}>{me?.global_name ?? me?.username}</span>
      <button type="button" className="secondary small" onClick={logout}>
        {t.logout}
      </button>
    </footer>
  );
}

/** The name a DM shows: its recipients' names; a group DM's name if it has one. */
export function dmName(c: Channel): string {
  if (isGroupDm(c)) return groupName(c);
  return (c.recipients ?? []).map((u) => u.global_name ?? u.username).join(', ') || '?';
}

/** The DM list of the "Direct messages" home: newest conversation first, unread like channels. */
export function DmList({ current }: { current: string | null }) {
  const { store } = useClient();
  const dms = useStore(store, (s) => s.dms);
  const unread = useStore(store, (s) => s.unread);
  const latest = useStore(store, (s) => s.latest);
  const newest = (c: Channel) => latest[c.id] ?? c.last_message_id ?? c.id;
  const sorted = [...dms].sort((a, b) => compareIds(newest(b), newest(a)));
  const [creating, setCreating] = useState(false);
  return (
    <aside className="channels">
      <header>
        <h2>{t.directMessages}</h2>
        <button type="button" className="secondary small" aria-haspopup="dialog" onClick={() => setCreating(true)}>
          {t.newGroupDm}
        </button>
      </header>
      <nav aria-label={t.directMessages}>
        {sorted.length === 0 ? (
          <p className="muted small">{t.noDms}</p>
        ) : (
          <ul>
            {sorted.map((c) => {
              const name = dmName(c);
              const u = unread[c.id];
              const group = isGroupDm(c);
              const other = group ? undefined : c.recipients?.[0];
              const label = group ? name : `@ ${name}`;
              return (
                <li key={c.id}>
                  <a
                    href={`/channels/@me/${c.id}`}
                    aria-current={c.id === current ? 'page' : undefined}
                    aria-label={u ? t.unreadChannel(label, u.mentions) : undefined}
                    className={['dm', c.id === current && 'active', u && 'unread'].filter(Boolean).join(' ')}
                    onClick={(e) => {
                      e.preventDefault();
                      navigate(`/channels/@me/${c.id}`);
                    }}
                  >
                    {other && <Avatar user={other} size={24} />}
                    {group && (
                      <span className="group-icon" aria-hidden="true">
                        ⁂
                      </span>
                    )}
                    <span className="dm-name">{label}</span>
                    {u && u.mentions > 0 ? (
                      <span className="badge" aria-hidden="true">
                        {t.mentionBadge(u.mentions)}
                      </span>
                    ) : (
                      u && <span className="dot unread-dot" aria-hidden="true" />
                    )}
                  </a>
                </li>
              );
            })}
          </ul>
        )}
      </nav>
      <AccountFooter />
      {creating && <NewGroupDmDialog onClose={() => setCreating(false)} />}
    </aside>
  );
}

/** A channel's name in the list: `# name`, or a forum's 💬 (named "Forum name"). */
function ChannelName({ c }: { c: Channel }) {
  return isForum(c) ? (
    <>
      <span aria-hidden="true">💬 </span>
      <span className="sr-only">{t.threads.forum('')}</span>
      {c.name}
    </>
  ) : (
    <># {c.name}</>
  );
}

/** `current` is the channel (or thread) on screen; `currentParent` a thread's parent, whose
 *  category stays open and which lists the thread. */
export function ChannelList({ guild, current, currentParent = null }: { guild: GuildCreate; current: string | null; currentParent?: string | null }) {
  const { store } = useClient();
  const unread = useStore(store, (s) => s.unread);
  const me = useStore(store, (s) => s.me?.id);
  const [inviting, setInviting] = useState(false);
  const [editing, setEditing] = useState<string | null>(null);
  const [collapsed, setCollapsed] = useState(loadCollapsed);
  const toggle = (id: string) => {
    const next = new Set(collapsed);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    localStorage.setItem(COLLAPSED, JSON.stringify([...next]));
    setCollapsed(next);
  };
  const groups = textChannels(guild, me);
  const target = currentParent ?? current ?? groups.flatMap((x) => x.channels)[0]?.id ?? null;
  // "Invite people" needs CREATE_INSTANT_INVITE in the channel the invite leads to.
  const targetChannel = guild.channels.find((c) => c.id === target);
  const canInvite = !!me && !!targetChannel && has(channelPermissions(guild, targetChannel, me), P.CREATE_INSTANT_INVITE);
  return (
    <aside className="channels">
      <header>
        <h2>{guild.name}</h2>
        {target && canInvite && (
          <button type="button" className="secondary small" onClick={() => setInviting(true)}>
            {t.invitePeople}
          </button>
        )}
        <GuildSettingsButton guild={guild} />
      </header>
      <nav aria-label={t.channels}>
        {groups.map(({ category, channels }) => (
          <section key={category?.id ?? 'none'}>
            {category && (
              <h3>
                <button
                  type="button"
                  className="category"
                  aria-expanded={!collapsed.has(category.id)}
                  title={collapsed.has(category.id) ? t.expand(category.name ?? '') : t.collapse(category.name ?? '')}
                  onClick={() => toggle(category.id)}
                >
                  {collapsed.has(category.id) ? '▸' : '▾'} {category.name}
                </button>
                {canEditOverwrites(guild, category, me) && (
                  <button
                    type="button"
                    className="channel-gear"
                    aria-haspopup="dialog"
                    aria-label={t.editCategoryPermissions(category.name ?? '')}
                    title={t.editCategoryPermissions(category.name ?? '')}
                    onClick={() => setEditing(category.id)}
                  >
                    ⚙
                  </button>
                )}
              </h3>
            )}
            <ul>
              {channels.filter((c) => !category || !collapsed.has(category.id) || c.id === current || c.id === currentParent).map((c) => (
                <li key={c.id}>
                  <a
                    href={`/channels/${guild.id}/${c.id}`}
                    aria-current={c.id === current ? 'page' : undefined}
                    aria-label={unread[c.id] ? t.unreadChannel(isForum(c) ? t.threads.forum(c.name ?? '') : `# ${c.name}`, unread[c.id]?.mentions ?? 0) : undefined}
                    className={[c.id === current && 'active', unread[c.id] && 'unread'].filter(Boolean).join(' ') || undefined}
                    onClick={(e) => {
                      e.preventDefault();
                      navigate(`/channels/${guild.id}/${c.id}`);
                    }}
                  >
                    <ChannelName c={c} />
                    {(unread[c.id]?.mentions ?? 0) > 0 && <span className="badge" aria-hidden="true">{t.mentionBadge(unread[c.id]?.mentions ?? 0)}</span>}
                  </a>
                  {canEditOverwrites(guild, c, me) && (
                    <button
                      type="button"
                      className="channel-gear"
                      aria-haspopup="dialog"
                      aria-label={t.editChannelPermissions(c.name ?? '')}
                      title={t.editChannelPermissions(c.name ?? '')}
                      onClick={() => setEditing(c.id)}
                    >
                      ⚙
                    </button>
                  )}
                  <SidebarThreads guild={guild} parent={c} current={current} />
                </li>
              ))}
            </ul>
          </section>
        ))}
      </nav>
      <AccountFooter />
      {inviting && target && canInvite && <InviteDialog guild={guild} channel={target} onClose={() => setInviting(false)} />}
      {editing && <ChannelPermissionsDialog guildId={guild.id} channelId={editing} onClose={() => setEditing(null)} />}
    </aside>
  );
}
