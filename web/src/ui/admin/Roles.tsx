// Roles (MANAGE_ROLES): the list in position order (highest first), creation, and for the
// role chosen its name, colour, display options and permission toggles, deletion; reordering
// by drag and drop or with the move up / move down buttons (`PATCH /guilds/{id}/roles`).
// Roles at or above the editor's highest role are shown locked, with the reason, as the
// server's hierarchy check would refuse them (src/admin.ts).
import { useRef, useState } from 'react';
import type { GuildCreate, Role, Snowflake } from '../../api/wire';
import { colourToInt, dropped, intToColour, moved, positionsFor, roleLock, sortRoles } from '../../admin';
import { P, bits, guildPermissions, has, topPosition, type PermissionName } from '../../permissions';
import { t } from '../../strings';
import { useClient } from '../context';
import { Confirm, ErrorText, useAction } from './Modal';

/** The role permissions offered, in Discord's order of sections (general, membership, text, advanced). */
export const ROLE_PERMISSIONS: PermissionName[] = [
  'VIEW_CHANNEL',
  'MANAGE_CHANNELS',
  'MANAGE_ROLES',
  'MANAGE_GUILD_EXPRESSIONS',
  'VIEW_AUDIT_LOG',
  'MANAGE_WEBHOOKS',
  'MANAGE_GUILD',
  'CREATE_INSTANT_INVITE',
  'CHANGE_NICKNAME',
  'MANAGE_NICKNAMES',
  'KICK_MEMBERS',
  'BAN_MEMBERS',
  'MODERATE_MEMBERS',
  'SEND_MESSAGES',
  'SEND_MESSAGES_IN_THREADS',
  'CREATE_PUBLIC_THREADS',
  'EMBED_LINKS',
  'ATTACH_FILES',
  'ADD_REACTIONS',
  'USE_EXTERNAL_EMOJIS',
  'MENTION_EVERYONE',
  'MANAGE_MESSAGES',
  'PIN_MESSAGES',
  'READ_MESSAGE_HISTORY',
  'USE_APPLICATION_COMMANDS',
  'MANAGE_THREADS',
  'ADMINISTRATOR',
];

export function RolesPanel({ guild, me }: { guild: GuildCreate; me: Snowflake }) {
  const { rest, store } = useClient();
  const sorted = sortRoles(guild.roles);
  const [selected, setSelected] = useState<Snowflake | null>(null);
  const [dragging, setDragging] = useState<Snowflake | null>(null);
  const a = useAction();
  const top = topPosition(guild, me);
  const role = sorted.find((r) => r.id === selected) ?? sorted.find((r) => !roleLock(guild, r, me)) ?? sorted[0];

  const list = useRef<HTMLOListElement>(null);
  /** Sends the new order; a move button keeps the focus (or passes it to the role's other
   *  move button when this one cannot move further). */
  const reorder = (order: Snowflake[], focus?: { id: Snowflake; up: boolean }) => {
    const body = positionsFor(guild.roles, order, top);
    if (a.busy || !body || body.length === 0) return;
    void a
      .run(async () => {
        for (const r of await rest.rolePositions(guild.id, body)) store.role(guild.id, r);
      })
      .then(() => {
        if (!focus) return;
        requestAnimationFrame(() => {
          const row = list.current?.querySelector(`[data-role-id="${focus.id}"]`);
          const buttons = [...(row?.querySelectorAll<HTMLButtonElement>('.move button') ?? [])];
          const [up, down] = buttons;
          const target = focus.up ? (up?.disabled ? down : up) : down?.disabled ? up : down;
          target?.focus();
        });
      });
  };
  const create = () =>
    a.run(async () => {
      const r = await rest.createRole(guild.id, { name: t.newRole });
      store.role(guild.id, r);
      setSelected(r.id);
    });
  const canMove = (id: Snowflake, delta: number) => {
    const body = positionsFor(guild.roles, moved(guild.roles, guild.id, id, delta), top);
    return !!body && body.length > 0;
  };

  return (
    <div className="roles-panel">
      <div className="role-list">
        <h3>{t.roles}</h3>
        <p className="muted small" id="roles-hint">{t.dragHint}</p>
        <button type="button" className="small" disabled={a.busy} onClick={() => void create()}>
          {t.createRole}
        </button>
        <ErrorText error={a.error} />
        <ol ref={list} aria-label={t.roles} aria-describedby="roles-hint">
          {sorted.map((r) => {
            const everyone = r.id === guild.id;
            const movable = !everyone && !roleLock(guild, r, me);
            return (
              <li
                key={r.id}
                data-role-id={r.id}
                className={['role-row', r.id === role?.id && 'active', dragging === r.id && 'dragging'].filter(Boolean).join(' ')}
                draggable={movable}
                onDragStart={(e) => {
                  e.dataTransfer.setData('text/plain', r.id);
                  e.dataTransfer.effectAllowed = 'move';
                  setDragging(r.id);
                }}
                onDragEnd={() => setDragging(null)}
                onDragOver={(e) => {
                  if (dragging && !everyone && dragging !== r.id) e.preventDefault();
                }}
                onDrop={(e) => {
                  e.preventDefault();
                  const id = dragging ?? e.dataTransfer.getData('text/plain');
                  setDragging(null);
                  if (id && id !== r.id && !everyone) reorder(dropped(guild.roles, guild.id, id, r.id));
                }}
              >
                {movable && <span className="grip" aria-hidden="true">⠿</span>}
                <button
                  type="button"
                  className="role-name"
                  aria-current={r.id === role?.id ? 'true' : undefined}
                  onClick={() => setSelected(r.id)}
                >
                  <span className="role-dot" aria-hidden="true" style={{ background: r.color ? intToColour(r.color) : 'var(--muted)' }} />
                  {r.name}
                </button>
                {!everyone && (
                  <span className="move">
                    <button
                      type="button"
                      className="secondary small"
                      aria-label={t.moveUp(r.name)}
                      title={t.moveUp(r.name)}
                      disabled={!canMove(r.id, -1)}
                      onClick={() => reorder(moved(guild.roles, guild.id, r.id, -1), { id: r.id, up: true })}
                    >
                      ↑
                    </button>
                    <button
                      type="button"
                      className="secondary small"
                      aria-label={t.moveDown(r.name)}
                      title={t.moveDown(r.name)}
                      disabled={!canMove(r.id, 1)}
                      onClick={() => reorder(moved(guild.roles, guild.id, r.id, 1), { id: r.id, up: false })}
                    >
                      ↓
                    </button>
                  </span>
                )}
              </li>
            );
          })}
        </ol>
      </div>
      {role && (
        <RoleEditor
          // A role changed by anyone (GUILD_ROLE_UPDATE) starts the form again from the server's copy.
          key={`${role.id}|${role.name}|${role.color}|${role.permissions}|${role.hoist}|${role.mentionable}`}
          guild={guild}
          role={role}
          me={me}
          onDeleted={() => setSelected(null)}
        />
      )}
    </div>
  );
}

function RoleEditor({ guild, role, me, onDeleted }: { guild: GuildCreate; role: Role; me: Snowflake; onDeleted: () => void }) {
  const { rest, store } = useClient();
  const everyone = role.id === guild.id;
  const lock = roleLock(guild, role, me);
  const mine = guildPermissions(guild, me);
  const [name, setName] = useState(role.name);
  const [colour, setColour] = useState(role.color);
  const [hoist, setHoist] = useState(role.hoist);
  const [mentionable, setMentionable] = useState(role.mentionable);
  const [perms, setPerms] = useState(bits(role.permissions));
  const [deleting, setDeleting] = useState<HTMLElement | null>(null);
  const a = useAction();
  const save = () =>
    a.run(async () => {
      const r = await rest.modifyRole(guild.id, role.id, {
        ...(everyone ? {} : { name }),
        color: colour,
        hoist,
        mentionable,
        permissions: perms.toString(),
      });
      store.role(guild.id, r);
    });
  const changed =
    name !== role.name || colour !== role.color || hoist !== role.hoist || mentionable !== role.mentionable || perms !== bits(role.permissions);

  return (
    <>
      <form
        className="role-editor"
        aria-label={t.editRole(role.name)}
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <h3>{t.editRole(role.name)}</h3>
        {lock && <p className="notice small" id="role-lock">{t.roleLocked[lock]}</p>}
        {everyone && <p className="muted small">{t.everyoneHint}</p>}
        <fieldset disabled={!!lock} aria-describedby={lock ? 'role-lock' : undefined}>
          {!everyone && (
            <>
              <label>
                {t.roleName}
                <input required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
              </label>
              <label className="inline">
                {t.roleColour}
                <input type="color" value={intToColour(colour)} onChange={(e) => setColour(colourToInt(e.target.value))} />
              </label>
              <label className="choice">
                <input type="checkbox" checked={hoist} onChange={(e) => setHoist(e.target.checked)} />
                {t.hoist}
              </label>
              <label className="choice">
                <input type="checkbox" checked={mentionable} onChange={(e) => setMentionable(e.target.checked)} />
                {t.mentionable}
              </label>
            </>
          )}
          <fieldset className="perms">
            <legend>{t.permissions}</legend>
            {ROLE_PERMISSIONS.map((p) => {
              const bit = P[p];
              const [title, desc] = t.perm[p] ?? [p, ''];
              // The server refuses changing a bit the editor does not hold.
              const grantable = has(mine, bit);
              return (
                <div key={p} className="perm">
                  <input
                    id={`perm-${p}`}
                    type="checkbox"
                    role="switch"
                    checked={(perms & bit) !== 0n}
                    disabled={!grantable}
                    aria-describedby={`perm-${p}-desc`}
                    onChange={(e) => setPerms(e.target.checked ? perms | bit : perms & ~bit)}
                  />
                  <label htmlFor={`perm-${p}`}>{title}</label>
                  <p id={`perm-${p}-desc`} className="muted small">
                    {desc}
                    {!grantable && ` ${t.notHeld}`}
                  </p>
                </div>
              );
            })}
          </fieldset>
          <ErrorText error={a.error} />
          <div className="row">
            {!everyone && (
              <button type="button" className="danger" onClick={(e) => setDeleting(e.currentTarget)}>
                {t.deleteRole}
              </button>
            )}
            <button type="submit" disabled={a.busy || !changed}>
              {t.saveChanges}
            </button>
          </div>
        </fieldset>
      </form>
      {deleting && (
        <Confirm
          title={t.deleteRole}
          text={t.confirmDeleteRole(role.name)}
          action={t.delete}
          returnTo={deleting}
          onClose={() => setDeleting(null)}
          run={async () => {
            await rest.deleteRole(guild.id, role.id);
            store.role(guild.id, null, role.id);
            onDeleted();
          }}
        />
      )}
    </>
  );
}
