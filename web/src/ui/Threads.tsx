// Threads in the interface: the threads under their parent in the channel list, the thread
// link under a message that started one, "Create thread" on a message (a dialog), the
// thread's header line (its parent, archived/locked) and the closed composer with its reason.
// The rules are in ../threads.ts.
import { useEffect, useState } from 'react';
import type { Channel, GuildCreate, Message, Snowflake } from '../api/wire';
import { useStore } from '../state/store';
import { t } from '../strings';
import { isThread, sidebarThreads, threadComposerBlock } from '../threads';
import { useClient } from './context';
import { navigate } from './route';
import { ErrorText, Modal, useAction } from './admin/Modal';

/** The threads listed under channel `parent` in the channel list (a nested list). */
export function SidebarThreads({ guild, parent, current }: { guild: GuildCreate; parent: Channel; current: Snowflake | null }) {
  const { store } = useClient();
  const me = useStore(store, (s) => s.me?.id);
  const unread = useStore(store, (s) => s.unread);
  const list = sidebarThreads(guild, parent.id, me, current);
  if (list.length === 0) return null;
  return (
    <ul className="threads" aria-label={t.threads.threadsOf(parent.name ?? '')}>
      {list.map((th) => {
        const u = unread[th.id];
        const name = th.name ?? '';
        return (
          <li key={th.id}>
            <a
              href={`/channels/${guild.id}/${th.id}`}
              aria-current={th.id === current ? 'page' : undefined}
              aria-label={u ? t.unreadChannel(name, u.mentions) : undefined}
              className={['thread', th.id === current && 'active', u && 'unread'].filter(Boolean).join(' ')}
              onClick={(e) => {
                e.preventDefault();
                navigate(`/channels/${guild.id}/${th.id}`);
              }}
            >
              <span aria-hidden="true">↳ </span>
              {name}
              {(u?.mentions ?? 0) > 0 && (
                <span className="badge" aria-hidden="true">
                  {t.mentionBadge(u?.mentions ?? 0)}
                </span>
              )}
            </a>
          </li>
        );
      })}
    </ul>
  );
}

/** Under a message that started a thread: a link to it with its name and reply count (the
 *  store's copy of the thread, which counts live messages, when it has one). */
export function ThreadLink({ m, guildId }: { m: Message; guildId: Snowflake | null }) {
  const { store } = useClient();
  const id = m.thread?.id;
  const known = useStore(store, (s) => (id ? s.guilds.find((g) => g.id === guildId)?.threads?.find((x) => x.id === id) : undefined));
  const th = known ?? m.thread;
  if (!th || !guildId) return null;
  const n = th.message_count ?? 0;
  const href = `/channels/${guildId}/${th.id}`;
  return (
    <a
      className="thread-link"
      href={href}
      aria-label={t.threads.threadLink(th.name ?? '', n)}
      onClick={(e) => {
        e.preventDefault();
        e.stopPropagation();
        navigate(href);
      }}
    >
      <span className="thread-name">{th.name}</span> <span className="muted small">{t.threads.replies(n)}</span>
      <ThreadState thread={th} />
    </a>
  );
}

/** "Archived" / "Locked" marks of a thread. */
export function ThreadState({ thread }: { thread: Channel }) {
  const meta = thread.thread_metadata;
  if (!meta?.archived && !meta?.locked) return null;
  return (
    <>
      {meta.archived && <span className="tag state">{t.threads.archived}</span>}
      {meta.locked && <span className="tag state">🔒 {t.threads.locked}</span>}
    </>
  );
}

/** "Create thread" on a message: a dialog asking the name, then the thread opens. */
export function CreateThreadButton({ m, guildId }: { m: Message; guildId: Snowflake }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" className="small secondary" aria-haspopup="dialog" onClick={() => setOpen(true)}>
        {t.threads.createThread}
      </button>
      {open && <CreateThreadDialog m={m} guildId={guildId} onClose={() => setOpen(false)} />}
    </>
  );
}

function CreateThreadDialog({ m, guildId, onClose }: { m: Message; guildId: Snowflake; onClose: () => void }) {
  const { rest, store } = useClient();
  const [name, setName] = useState(() => m.content.replace(/\s+/g, ' ').trim().slice(0, 40) || t.threads.defaultName);
  const a = useAction();
  return (
    <Modal title={t.threads.createThread} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void a.run(async () => {
            const th = await rest.startThreadFromMessage(m.channel_id, m.id, { name: name.trim() });
            store.setThreads(guildId, [th]);
            store.updateMessage({ id: m.id, channel_id: m.channel_id, thread: th });
            onClose();
            navigate(`/channels/${guildId}/${th.id}`);
          });
        }}
      >
        <label>
          {t.threads.threadName}
          <input value={name} maxLength={100} required autoFocus onChange={(e) => setName(e.target.value)} />
        </label>
        <ErrorText error={a.error} />
        <div className="row">
          <button type="submit" disabled={a.busy || !name.trim()}>
            {t.create}
          </button>
          <button type="button" className="secondary" onClick={onClose}>
            {t.cancel}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** The header line of a thread: its parent (a link back) and its state. */
export function ThreadInfo({ guild, thread }: { guild: GuildCreate; thread: Channel }) {
  const parent = guild.channels.find((c) => c.id === thread.parent_id);
  return (
    <p className="thread-info small">
      {parent && (
        <a
          href={`/channels/${guild.id}/${parent.id}`}
          aria-label={t.threads.parentLink(parent.name ?? '')}
          onClick={(e) => {
            e.preventDefault();
            navigate(`/channels/${guild.id}/${parent.id}`);
          }}
        >
          {t.threads.inParent(parent.name ?? '')}
        </a>
      )}{' '}
      <ThreadState thread={thread} />
    </p>
  );
}

/** Why the user cannot write in a thread (null: the composer is open). */
export function composerClosedReason(channel: Channel, perms: bigint): string | null {
  const block = threadComposerBlock(channel, perms);
  return block === 'archived'
    ? t.threads.archivedReason
    : block === 'locked'
      ? t.threads.lockedReason
      : block === 'permission'
        ? t.threads.permissionReason
        : null;
}

/** The composer of a thread the user cannot write in: disabled, with the reason. */
export function ClosedComposer({ label, reason }: { label: string; reason: string }) {
  return (
    <form className="composer closed" onSubmit={(e) => e.preventDefault()}>
      <p id="composer-closed-reason" className="muted small">
        {reason}
      </p>
      <textarea rows={1} aria-label={label} aria-describedby="composer-closed-reason" disabled placeholder={reason} />
      <button type="submit" disabled>
        {t.send}
      </button>
    </form>
  );
}

/** The thread `id` of `guild` (null: none asked): the store's copy, or, when the client does
 *  not hold it (an archived thread, a link), `GET /channels/{id}` once, kept in the store
 *  when it is a thread of this guild. */
export function useThread(guild: GuildCreate | undefined, id: Snowflake | null): Channel | undefined {
  const { rest, store } = useClient();
  const found = id ? guild?.threads?.find((x) => x.id === id) : undefined;
  const guildId = guild?.id;
  const missing = !!id && !!guildId && !found;
  useEffect(() => {
    if (!missing || !id || !guildId) return;
    let live = true;
    rest.channel(id).then(
      (c) => live && c.guild_id === guildId && isThread(c) && store.setThreads(guildId, [c]),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [rest, store, missing, id, guildId]);
  return found;
}
