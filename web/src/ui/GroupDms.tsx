// Group DMs (Discord channel type 3): the "New group DM" dialog of the DM list (pick people by
// name among those the user shares a server or a conversation with), the member panel of a
// group DM's screen (owner, add people, rename, leave, the owner's "Remove") and the text of
// its system messages (someone added, removed, left; renamed).
import { useMemo, useState } from 'react';
import { ChannelType, SystemMessageType, type Channel, type Message, type Snowflake, type User } from '../api/wire';
import { useStore, type State } from '../state/store';
import { t } from '../strings';
import { useClient } from './context';
import { Confirm, ErrorText, Modal, useAction } from './admin/Modal';
import { Avatar, useProfile } from './Profile';
import { navigate } from './route';

/** Discord's limit: 10 people in a group DM, its owner included. */
export const MAX_GROUP = 10;

const nameOf = (u: User) => u.global_name ?? u.username;

/** Whether a channel is a group DM. */
export const isGroupDm = (c: Channel) => c.type === ChannelType.GroupDm;

/** The name a group DM shows: its name, else its other recipients' names (else "you"). */
export function groupName(c: Channel): string {
  if (c.name) return c.name;
  const names = (c.recipients ?? []).map(nameOf);
  return names.length > 0 ? names.join(', ') : t.you;
}

/** The people this user knows (guild members and DM recipients), by name, without bots and
 *  without `except`. */
export function knownPeople(s: Pick<State, 'guilds' | 'dms' | 'me'>, except: Set<Snowflake>): User[] {
  const found = new Map<Snowflake, User>();
  for (const g of s.guilds) for (const m of g.members) if (m.user) found.set(m.user.id, m.user);
  for (const c of s.dms) for (const u of c.recipients ?? []) found.set(u.id, u);
  return [...found.values()]
    .filter((u) => !u.bot && u.id !== s.me?.id && !except.has(u.id))
    .sort((a, b) => nameOf(a).localeCompare(nameOf(b)));
}

/** The text of a group DM system message, or null for other messages. */
export function systemText(m: Message): string | null {
  const who = nameOf(m.author);
  const whom = m.mentions?.[0];
  switch (m.type) {
    case SystemMessageType.RecipientAdd:
      return t.groupAdded(who, whom ? nameOf(whom) : '?');
    case SystemMessageType.RecipientRemove:
      return !whom || whom.id === m.author.id ? t.groupLeft(who) : t.groupRemoved(who, nameOf(whom));
    case SystemMessageType.ChannelNameChange:
      return t.groupRenamed(who, m.content);
    default:
      return null;
  }
}

/** Picks people by name: a filter field and a checkbox list, at most `max` chosen. */
function PeoplePicker({ people, chosen, setChosen, max }: { people: User[]; chosen: Snowflake[]; setChosen: (v: Snowflake[]) => void; max: number }) {
  const [filter, setFilter] = useState('');
  const shown = people.filter((u) => `${nameOf(u)} ${u.username}`.toLowerCase().includes(filter.trim().toLowerCase()));
  return (
    <fieldset className="people-picker">
      <legend>{t.people}</legend>
      <label>
        {t.findPeople}
        <input type="search" autoFocus value={filter} onChange={(e) => setFilter(e.target.value)} />
      </label>
      <p className="muted small" aria-live="polite">
        {t.selectedPeople(chosen.length, max)}
      </p>
      {people.length === 0 ? (
        <p className="muted small">{t.noPeople}</p>
      ) : (
        <ul className="people">
          {shown.map((u) => {
            const on = chosen.includes(u.id);
            return (
              <li key={u.id}>
                <label className="choice">
                  <input
                    type="checkbox"
                    checked={on}
                    disabled={!on && chosen.length >= max}
                    onChange={() => setChosen(on ? chosen.filter((x) => x !== u.id) : [...chosen, u.id])}
                  />
                  <Avatar user={u} size={20} />
                  <span>{nameOf(u)}</span> <span className="muted small">{u.handle}</span>
                </label>
              </li>
            );
          })}
        </ul>
      )}
    </fieldset>
  );
}

/** "New group DM": people and an optional name; opens the new group. */
export function NewGroupDmDialog({ onClose }: { onClose: () => void }) {
  const { rest, store } = useClient();
  const guilds = useStore(store, (s) => s.guilds);
  const dms = useStore(store, (s) => s.dms);
  const me = useStore(store, (s) => s.me);
  const people = useMemo(() => knownPeople({ guilds, dms, me }, new Set()), [guilds, dms, me]);
  const [chosen, setChosen] = useState<Snowflake[]>([]);
  const [name, setName] = useState('');
  const a = useAction();
  return (
    <Modal title={t.newGroupDm} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void a.run(async () => {
            const c = await rest.createGroupDm(chosen, name.trim() || undefined);
            store.setChannel(c);
            onClose();
            navigate(`/channels/@me/${c.id}`);
          });
        }}
      >
        <PeoplePicker people={people} chosen={chosen} setChosen={setChosen} max={MAX_GROUP - 1} />
        <label>
          {t.groupName}
          <input maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <ErrorText error={a.error} />
        <div className="row">
          <button type="button" className="secondary" onClick={onClose}>
            {t.cancel}
          </button>
          <button type="submit" disabled={a.busy || chosen.length === 0}>
            {t.createGroup}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** "Add people" to a group DM (any recipient may). */
function AddPeopleDialog({ channel, onClose }: { channel: Channel; onClose: () => void }) {
  const { rest, store } = useClient();
  const guilds = useStore(store, (s) => s.guilds);
  const dms = useStore(store, (s) => s.dms);
  const me = useStore(store, (s) => s.me);
  const inside = useMemo(() => new Set((channel.recipients ?? []).map((u) => u.id)), [channel]);
  const people = useMemo(() => knownPeople({ guilds, dms, me }, inside), [guilds, dms, me, inside]);
  const [chosen, setChosen] = useState<Snowflake[]>([]);
  const room = Math.max(0, MAX_GROUP - 1 - inside.size);
  const a = useAction();
  return (
    <Modal title={t.addPeople} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void a
            .run(async () => {
              for (const u of chosen) await rest.addRecipient(channel.id, u);
            })
            .then((ok) => ok && onClose());
        }}
      >
        <PeoplePicker people={people} chosen={chosen} setChosen={setChosen} max={room} />
        <ErrorText error={a.error} />
        <div className="row">
          <button type="button" className="secondary" onClick={onClose}>
            {t.cancel}
          </button>
          <button type="submit" disabled={a.busy || chosen.length === 0}>
            {t.addToGroup}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function RenameDialog({ channel, onClose }: { channel: Channel; onClose: () => void }) {
  const { rest } = useClient();
  const [name, setName] = useState(channel.name ?? '');
  const a = useAction();
  return (
    <Modal title={t.renameGroup} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void a.run(() => rest.modifyChannel(channel.id, { name: name.trim() })).then((ok) => ok && onClose());
        }}
      >
        <label>
          {t.groupName}
          <input autoFocus maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <ErrorText error={a.error} />
        <div className="row">
          <button type="button" className="secondary" onClick={onClose}>
            {t.cancel}
          </button>
          <button type="submit" disabled={a.busy}>
            {t.save}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** The member panel of a group DM: who is in it (the owner marked), and its actions. */
export function GroupDmPanel({ channel }: { channel: Channel }) {
  const { rest, store } = useClient();
  const profile = useProfile();
  const me = useStore(store, (s) => s.me);
  const [dialog, setDialog] = useState<'add' | 'rename' | 'leave' | { remove: User } | null>(null);
  const people = [...(me ? [me] : []), ...(channel.recipients ?? [])];
  const owner = channel.owner_id === me?.id;
  return (
    <aside className="members group-members" aria-label={t.members}>
      <div className="group-actions">
        <button type="button" className="small" aria-haspopup="dialog" onClick={() => setDialog('add')}>
          {t.addPeople}
        </button>
        <button type="button" className="small secondary" aria-haspopup="dialog" onClick={() => setDialog('rename')}>
          {t.renameGroup}
        </button>
        <button type="button" className="small danger" aria-haspopup="dialog" onClick={() => setDialog('leave')}>
          {t.leaveGroup}
        </button>
      </div>
      <h3>{t.groupMembers(people.length)}</h3>
      <ul>
        {people.map((u) => (
          <li key={u.id} className="member" title={u.handle}>
            <button type="button" className="member-name" aria-haspopup="dialog" onClick={(e) => profile.open({ user: u, guildId: null }, e.currentTarget)}>
              {nameOf(u)}
              {u.id === me?.id && <span className="muted small"> ({t.you})</span>}
            </button>
            {u.id === channel.owner_id && (
              <span className="badge owner" title={t.groupOwner}>
                {t.groupOwner}
              </span>
            )}
            {owner && u.id !== me?.id && (
              <button
                type="button"
                className="small secondary"
                aria-haspopup="dialog"
                aria-label={t.removeFromGroup(nameOf(u))}
                title={t.removeFromGroup(nameOf(u))}
                onClick={() => setDialog({ remove: u })}
              >
                ✕
              </button>
            )}
          </li>
        ))}
      </ul>
      {dialog === 'add' && <AddPeopleDialog channel={channel} onClose={() => setDialog(null)} />}
      {dialog === 'rename' && <RenameDialog channel={channel} onClose={() => setDialog(null)} />}
      {dialog === 'leave' && (
        <Confirm
          title={t.leaveGroup}
          text={t.leaveGroupText}
          action={t.leaveGroup}
          onClose={() => setDialog(null)}
          run={async () => {
            await rest.leaveGroupDm(channel.id);
            store.setChannel(channel, true);
            navigate('/channels/@me');
          }}
        />
      )}
      {dialog && typeof dialog === 'object' && (
        <Confirm
          title={t.removeFromGroup(nameOf(dialog.remove))}
          text={t.removeFromGroupText(nameOf(dialog.remove))}
          action={t.remove}
          onClose={() => setDialog(null)}
          run={() => rest.removeRecipient(channel.id, dialog.remove.id)}
        />
      )}
    </aside>
  );
}
