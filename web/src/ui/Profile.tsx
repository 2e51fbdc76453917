// Profile popouts: clicking a member in the member list or an author in the message view
// opens a small dialog with the user's avatar, names, roles (in a guild) and the actions
// "Message" (opens the DM) and "Block"/"Unblock" (relationships); in a guild also "Kick" and
// "Ban" for those allowed (a confirm dialog, src/ui/admin/Moderate.tsx). Those who may assign
// roles (src/admin.ts `assignLock`, the server's rule) get a remove button on each role they may
// take away and an "Add role" choice of the roles they may give; the server's refusal shows in
// the popout. Esc, a click outside or the close button closes it, and focus returns to what
// opened it.
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { ApiError } from '../api/rest';
import type { Role, Snowflake, User } from '../api/wire';
import { useStore } from '../state/store';
import { t } from '../strings';
import { useClient } from './context';
import { navigate } from './route';
import { remoteServer } from '../names';
import { ModerateDialog, moderationFor, type ModerationKind } from './admin/Moderate';
import { assignableRoles } from '../admin';

/** Whom a popout shows: a user, and the guild whose roles it lists (none in DMs). */
export interface ProfileTarget {
  user: User;
  guildId?: Snowflake | null;
}

interface ProfileApi {
  /** Opens the popout next to `opener`, which gets the focus back when it closes. */
  open(target: ProfileTarget, opener: HTMLElement): void;
}

const ProfileContext = createContext<ProfileApi>({ open: () => undefined });

export function useProfile(): ProfileApi {
  return useContext(ProfileContext);
}

export function ProfileProvider({ children }: { children: ReactNode }) {
  const [open, setOpen] = useState<{ target: ProfileTarget; opener: HTMLElement } | null>(null);
  const [moderating, setModerating] = useState<{ kind: ModerationKind; target: ProfileTarget; opener: HTMLElement } | null>(null);
  const api = useMemo<ProfileApi>(() => ({ open: (target, opener) => setOpen({ target, opener }) }), []);
  const { store } = useClient();
  const modGuild = useStore(store, (s) => s.guilds.find((g) => g.id === moderating?.target.guildId));
  const opener = open?.opener;
  const close = useCallback(
    (returnFocus: boolean) => {
      setOpen(null);
      if (returnFocus && opener?.isConnected) opener.focus();
    },
    [opener],
  );
  return (
    <ProfileContext.Provider value={api}>
      {children}
      {open && (
        <ProfilePopout
          key={open.target.user.id}
          target={open.target}
          opener={open.opener}
          onClose={close}
          onModerate={(kind) => {
            setModerating({ kind, target: open.target, opener: open.opener });
            setOpen(null);
          }}
        />
      )}
      {moderating && modGuild && (
        <ModerateDialog
          kind={moderating.kind}
          guild={modGuild}
          user={moderating.target.user}
          returnTo={moderating.opener}
          onClose={() => setModerating(null)}
        />
      )}
    </ProfileContext.Provider>
  );
}

/** `#rrggbb` of a role colour (0: none). */
export function roleColour(r: Pick<Role, 'color'>): string | undefined {
  return r.color ? `#${r.color.toString(16).padStart(6, '0')}` : undefined;
}

export function userName(u: Pick<User, 'global_name' | 'username'>): string {
  return u.global_name ?? u.username;
}

/** `@server` after the name of a user of another server: remote users show as
 *  `name@server` (src/names.ts); nothing for users of this server. */
export function ServerOf({ user }: { user: Pick<User, 'handle'> | undefined }) {
  const { store } = useClient();
  const me = useStore(store, (s) => s.me?.handle);
  const server = remoteServer(user, me);
  return server ? <span className="server">@{server}</span> : null;
}

/** The user's avatar (`/avatars/{id}/{hash}.png` on this server's CDN) or their initial. */
export function Avatar({ user, size }: { user: User; size: number }) {
  const style = { width: size, height: size, fontSize: size / 2.4 };
  if (user.avatar) {
    return <img className="avatar" src={`/avatars/${user.id}/${user.avatar}.png?size=${size * 2}`} alt="" style={style} />;
  }
  return (
    <span className="avatar" aria-hidden="true" style={style}>
      {userName(user).slice(0, 1).toUpperCase()}
    </span>
  );
}

const WIDTH = 300;

function ProfilePopout({
  target,
  opener,
  onClose,
  onModerate,
}: {
  target: ProfileTarget;
  opener: HTMLElement;
  onClose: (returnFocus: boolean) => void;
  onModerate: (kind: ModerationKind) => void;
}) {
  const { rest, store } = useClient();
  const { user } = target;
  const me = useStore(store, (s) => s.me);
  const blocked = useStore(store, (s) => !!s.blocked[user.id]);
  const guild = useStore(store, (s) => s.guilds.find((g) => g.id === target.guildId));
  const member = guild?.members.find((m) => m.user?.id === user.id);
  const roles = useMemo(
    () =>
      guild && member
        ? guild.roles.filter((r) => r.id !== guild.id && member.roles.includes(r.id)).sort((a, b) => b.position - a.position)
        : [],
    [guild, member],
  );
  // Roles `me` may add or remove (none outside a guild, or when the user is not a member).
  const assignable = useMemo(
    () => (guild && member && me ? assignableRoles(guild, me.id, user.id) : []),
    [guild, member, me, user.id],
  );
  const addable = assignable.filter((r) => !member?.roles.includes(r.id));
  const [adding, setAdding] = useState('');
  const toAdd = addable.some((r) => r.id === adding) ? adding : (addable[0]?.id ?? '');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);

  // Opening moves focus into the popout (its heading), for keyboard and screen-reader users.
  useEffect(() => heading.current?.focus(), []);
  // A press outside the popout (and its opener, which toggles it) closes it.
  useEffect(() => {
    const onDown = (e: PointerEvent) => {
      const at = e.target as Node;
      if (!box.current?.contains(at) && !opener.contains(at)) onClose(false);
    };
    document.addEventListener('pointerdown', onDown);
    return () => document.removeEventListener('pointerdown', onDown);
  }, [opener, onClose]);
  // Esc closes it wherever the focus is (an action may have removed the focused element).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      e.stopPropagation();
      onClose(true);
    };
    document.addEventListener('keydown', onKey, true);
    return () => document.removeEventListener('keydown', onKey, true);
  }, [onClose]);

  // Placed beside the opener, inside the window.
  const r = opener.getBoundingClientRect();
  const left = r.right + 8 + WIDTH < window.innerWidth ? r.right + 8 : Math.max(8, r.left - WIDTH - 8);
  const top = Math.max(8, Math.min(r.top, window.innerHeight - 360));

  const act = async (f: () => Promise<void>) => {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      await f();
    } catch (err) {
      setError(err instanceof ApiError ? err.detail() : String(err));
    } finally {
      setBusy(false);
    }
  };
  const message = () =>
    act(async () => {
      const c = await rest.openDm(user.id);
      store.setChannel(c);
      onClose(false);
      navigate(`/channels/@me/${c.id}`);
    });
  const toggleBlock = () =>
    act(async () => {
      await rest.setBlocked(user.id, !blocked);
      store.setBlocked(user.id, !blocked);
    });
  const setRole = (roleId: Snowflake, add: boolean) =>
    act(async () => {
      if (!guild) return;
      await rest.memberRole(guild.id, user.id, roleId, add);
      // GUILD_MEMBER_UPDATE follows; the popout shows the change as soon as it arrives.
    });
  const self = me?.id === user.id;
  const moderation = moderationFor(guild, me?.id, user.id);
  const name = member?.nick ?? userName(user);

  return (
    <div
      ref={box}
      className="popout"
      role="dialog"
      aria-labelledby="profile-name"
      aria-busy={busy}
      style={{ left, top, width: WIDTH }}
    >
      <div className="popout-head">
        <Avatar user={user} size={64} />
        <div>
          <h2 id="profile-name" ref={heading} tabIndex={-1}>
            {name}
          </h2>
          <p className="muted small">{user.handle}</p>
          {member?.nick && <p className="muted small">{userName(user)}</p>}
        </div>
      </div>
      {blocked && <p className="notice small">{t.youBlocked}</p>}
      {(roles.length > 0 || addable.length > 0) && (
        <section aria-labelledby="profile-roles">
          <h3 id="profile-roles">{t.roles}</h3>
          {roles.length > 0 && (
            <ul className="roles" aria-label={t.memberRoles(name)}>
              {roles.map((role) => (
                <li key={role.id} className="role">
                  <span className="role-dot" aria-hidden="true" style={{ background: roleColour(role) ?? 'var(--muted)' }} />
                  {role.name}
                  {assignable.some((r) => r.id === role.id) && (
                    <button
                      type="button"
                      className="role-remove"
                      aria-label={t.removeRole(role.name)}
                      title={t.removeRole(role.name)}
                      disabled={busy}
                      onClick={() => void setRole(role.id, false)}
                    />
                  )}
                </li>
              ))}
            </ul>
          )}
          {addable.length > 0 && (
            <form
              className="row role-add"
              aria-label={t.addRole}
              onSubmit={(e) => {
                e.preventDefault();
                if (toAdd) void setRole(toAdd, true);
              }}
            >
              <select aria-label={t.roleToAdd} value={toAdd} onChange={(e) => setAdding(e.target.value)}>
                {addable.map((r) => (
                  <option key={r.id} value={r.id}>
                    {r.name}
                  </option>
                ))}
              </select>
              <button type="submit" className="small" disabled={busy || !toAdd}>
                {t.addRole}
              </button>
            </form>
          )}
        </section>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <div className="row">
        {!self && (
          <>
            <button type="button" disabled={blocked} onClick={() => void message()}>
              {t.message}
            </button>
            <button type="button" className={blocked ? 'secondary' : 'danger'} onClick={() => void toggleBlock()}>
              {blocked ? t.unblock : t.block}
            </button>
          </>
        )}
        {moderation.map((kind) => (
          <button key={kind} type="button" className="danger" aria-haspopup="dialog" onClick={() => onModerate(kind)}>
            {kind === 'ban' ? t.ban : t.kick}
          </button>
        ))}
        <button type="button" className="secondary" onClick={() => onClose(true)}>
          {t.close}
        </button>
      </div>
    </div>
  );
}
