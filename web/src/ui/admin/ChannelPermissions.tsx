// A channel's permission overwrites (MANAGE_ROLES in the channel): per role or member, each
// common bit allowed, inherited (neutral) or denied; saved with
// `PUT /channels/{id}/permissions/{overwrite_id}`, removed with DELETE (an overwrite left all
// neutral is removed too). Bits the editor does not hold in the channel are not offered (the
// server refuses changing them). The channel comes from the store, so CHANNEL_UPDATE by anyone
// shows at once. Categories (type 4) have overwrites too: new channels in a category start
// with a copy of them, and a channel of a category shows whether its overwrites are the
// category's ("synced") with a button that copies them again (`PATCH /guilds/{id}/channels`
// with `lock_permissions`, Discord's "Sync now"), shown only when the server would accept the
// copy (`maySyncWithCategory` in src/admin.ts). MANAGE_ROLES itself is offered only to whom an
// overwrite of the channel grants it (owner and administrators aside), as the server checks.
import { useState } from 'react';
import type { Channel, GuildCreate, Overwrite, Snowflake } from '../../api/wire';
import { bitState, changedBits, isEmptyOverwrite, maySyncWithCategory, mayTouchManageRoles, sameOverwrites, sortRoles, withBit, type TriState } from '../../admin';
import { ALL, P, channelPermissions, has, type PermissionName } from '../../permissions';
import { useStore } from '../../state/store';
import { t } from '../../strings';
import { useClient } from '../context';
import { userName } from '../Profile';
import { ErrorText, Modal, useAction } from './Modal';

/** The bits offered per channel (Discord's channel permission screen, text channels). */
export const CHANNEL_PERMISSIONS: PermissionName[] = [
  'VIEW_CHANNEL',
  'MANAGE_CHANNELS',
  'MANAGE_ROLES',
  'MANAGE_WEBHOOKS',
  'CREATE_INSTANT_INVITE',
  'SEND_MESSAGES',
  'SEND_MESSAGES_IN_THREADS',
  'CREATE_PUBLIC_THREADS',
  'EMBED_LINKS',
  'ATTACH_FILES',
  'ADD_REACTIONS',
  'MENTION_EVERYONE',
  'MANAGE_MESSAGES',
  'PIN_MESSAGES',
  'READ_MESSAGE_HISTORY',
  'MANAGE_THREADS',
];

/** Whether `me` may edit `channel`'s overwrites. */
export function canEditOverwrites(guild: GuildCreate, channel: Channel, me: Snowflake | undefined): boolean {
  return !!me && has(channelPermissions(guild, channel, me), P.MANAGE_ROLES);
}

const STATES: TriState[] = ['deny', 'neutral', 'allow'];

export function ChannelPermissionsDialog({ guildId, channelId, onClose }: { guildId: Snowflake; channelId: Snowflake; onClose: () => void }) {
  const { store } = useClient();
  const guild = useStore(store, (s) => s.guilds.find((g) => g.id === guildId));
  const channel = guild?.channels.find((c) => c.id === channelId);
  const me = useStore(store, (s) => s.me?.id);
  const [selected, setSelected] = useState<Snowflake>(guildId);
  const [adding, setAdding] = useState('');
  // Added here, not saved yet: shown in the list until saved or another is chosen.
  const [draft, setDraft] = useState<Overwrite | null>(null);
  if (!guild || !channel || !me) return null;
  const ows = channel.permission_overwrites ?? [];
  const label = (ow: Pick<Overwrite, 'id' | 'type'>) => {
    if (ow.id === guild.id) return '@everyone';
    if (ow.type === 0) return guild.roles.find((r) => r.id === ow.id)?.name ?? ow.id;
    const m = guild.members.find((x) => x.user?.id === ow.id);
    return m?.nick ?? (m?.user ? userName(m.user) : ow.id);
  };
  const listed: Overwrite[] = [
    ows.find((o) => o.id === guild.id) ?? { id: guild.id, type: 0, allow: '0', deny: '0' },
    ...sortRoles(guild.roles)
      .filter((r) => r.id !== guild.id)
      .flatMap((r) => ows.filter((o) => o.type === 0 && o.id === r.id)),
    ...ows.filter((o) => o.type === 1),
  ];
  if (draft && !listed.some((o) => o.id === draft.id)) listed.push(draft);
  const current = listed.find((o) => o.id === selected) ?? listed[0];
  const addable = [
    ...sortRoles(guild.roles)
      .filter((r) => r.id !== guild.id && !listed.some((o) => o.id === r.id))
      .map((r) => ({ id: r.id, type: 0, name: r.name })),
    ...guild.members
      .filter((m) => m.user && !listed.some((o) => o.id === m.user?.id))
      .map((m) => ({ id: m.user?.id ?? '', type: 1, name: `@${m.nick ?? (m.user ? userName(m.user) : '')}` })),
  ];
  const isCategory = channel.type === 4;
  return (
    <Modal title={isCategory ? t.categoryPermissions(channel.name ?? '') : t.channelPermissions(channel.name ?? '')} onClose={onClose} className="settings">
      <div className="settings-body">
        <div className="overwrite-list">
          {isCategory ? <p className="muted small">{t.categoryNote}</p> : <CategorySync guild={guild} channel={channel} me={me} />}
          <h3>{t.overwrites}</h3>
          <ul aria-label={t.overwrites}>
            {listed.map((o) => (
              <li key={o.id}>
                <button
                  type="button"
                  className={o.id === current?.id ? 'role-name active' : 'role-name'}
                  aria-current={o.id === current?.id ? 'true' : undefined}
                  onClick={() => setSelected(o.id)}
                >
                  {label(o)}
                </button>
              </li>
            ))}
          </ul>
          {addable.length > 0 && (
            <form
              onSubmit={(e) => {
                e.preventDefault();
                const x = addable.find((a) => a.id === adding) ?? addable[0];
                if (!x) return;
                setDraft({ id: x.id, type: x.type, allow: '0', deny: '0' });
                setSelected(x.id);
                setAdding('');
              }}
            >
              <label>
                {t.addOverwriteFor}
                <select value={adding} onChange={(e) => setAdding(e.target.value)}>
                  {addable.map((x) => (
                    <option key={x.id} value={x.id}>
                      {x.name}
                    </option>
                  ))}
                </select>
              </label>
              <button type="submit" className="secondary small">
                {t.add}
              </button>
            </form>
          )}
          <button type="button" className="secondary small" onClick={onClose}>
            {t.close}
          </button>
        </div>
        {current && (
          <OverwriteEditor
            key={`${current.id}|${current.allow}|${current.deny}`}
            guild={guild}
            channel={channel}
            me={me}
            overwrite={current}
            stored={ows.find((o) => o.id === current.id)}
            name={label(current)}
            onSaved={() => setDraft(null)}
          />
        )}
      </div>
    </Modal>
  );
}

function OverwriteEditor({
  guild,
  channel,
  me,
  overwrite,
  stored,
  name,
  onSaved,
}: {
  guild: GuildCreate;
  channel: Channel;
  me: Snowflake;
  overwrite: Overwrite;
  stored: Overwrite | undefined;
  name: string;
  onSaved: () => void;
}) {
  const { rest, store } = useClient();
  const [value, setValue] = useState({ allow: overwrite.allow, deny: overwrite.deny });
  const a = useAction();
  const mine = guild.owner_id === me ? ALL : channelPermissions(guild, channel, me);
  const dirty = changedBits(stored, value) !== 0n || (!stored && !isEmptyOverwrite(value));
  const apply = (ows: Overwrite[]) => store.setChannel({ ...channel, permission_overwrites: ows });
  const others = (channel.permission_overwrites ?? []).filter((o) => o.id !== overwrite.id);
  const save = () =>
    a.run(async () => {
      if (isEmptyOverwrite(value)) {
        if (stored) await rest.deleteOverwrite(channel.id, overwrite.id);
        apply(others);
      } else {
        await rest.putOverwrite(channel.id, overwrite.id, { type: overwrite.type, ...value });
        apply([...others, { id: overwrite.id, type: overwrite.type, ...value }]);
      }
      onSaved();
    });
  const remove = () =>
    a.run(async () => {
      await rest.deleteOverwrite(channel.id, overwrite.id);
      apply(others);
      onSaved();
    });
  return (
    <form
      className="role-editor"
      aria-label={t.overwriteFor(name)}
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <h3>{t.overwriteFor(name)}</h3>
      {CHANNEL_PERMISSIONS.map((p) => {
        const bit = P[p];
        const [title, desc] = t.perm[p] ?? [p, ''];
        const held = has(mine, bit) && (bit !== P.MANAGE_ROLES || mayTouchManageRoles(guild, channel, me));
        const state = bitState(value, bit);
        return (
          <fieldset key={p} className="tri" disabled={!held} aria-describedby={`ow-${p}-desc`}>
            <legend>{title}</legend>
            <p id={`ow-${p}-desc`} className="muted small">
              {desc}
              {!held && ` ${t.notHeld}`}
            </p>
            <div className="tri-options">
              {STATES.map((st) => (
                <label key={st} className={`tri-option ${st}${state === st ? ' on' : ''}`}>
                  <input type="radio" name={`ow-${p}`} value={st} checked={state === st} onChange={() => setValue(withBit(value, bit, st))} />
                  {t.triState[st]}
                </label>
              ))}
            </div>
          </fieldset>
        );
      })}
      <ErrorText error={a.error} />
      <div className="row">
        {stored && overwrite.id !== guild.id && (
          <button type="button" className="danger" disabled={a.busy} onClick={() => void remove()}>
            {t.removeOverwrite}
          </button>
        )}
        <button type="submit" disabled={a.busy || !dirty}>
          {t.saveChanges}
        </button>
      </div>
    </form>
  );
}

/** Whether `channel`'s overwrites are its category's, and the button that copies them. */
function CategorySync({ guild, channel, me }: { guild: GuildCreate; channel: Channel; me: Snowflake }) {
  const { rest } = useClient();
  const a = useAction();
  const category = guild.channels.find((c) => c.id === channel.parent_id && c.type === 4);
  if (!category) return null;
  const synced = sameOverwrites(channel.permission_overwrites ?? [], category.permission_overwrites ?? []);
  // Only when the server would accept the copy (it refuses a change of a bit the editor
  // does not hold in the channel, or of MANAGE_ROLES without an overwrite granting it).
  const may = maySyncWithCategory(guild, channel, category, me);
  return (
    <div className="category-sync">
      <p role="status" className="muted small">
        {synced ? t.syncedWith(category.name ?? '') : t.notSyncedWith(category.name ?? '')}
      </p>
      {!synced && may && (
        <button type="button" className="secondary small" disabled={a.busy} onClick={() => void a.run(() => rest.syncWithCategory(guild.id, channel.id, category.id))}>
          {t.syncNow}
        </button>
      )}
      <ErrorText error={a.error} />
    </div>
  );
}
