// The list screens of the server settings: invites (MANAGE_GUILD lists and revokes;
// CREATE_INSTANT_INVITE creates), bans (BAN_MEMBERS), the audit log (VIEW_AUDIT_LOG) and
// webhooks (MANAGE_WEBHOOKS). Each list is fetched when shown and again after the dispatches
// that change it (the store's `adminVersion`: GUILD_BAN_ADD/REMOVE, INVITE_CREATE/DELETE,
// WEBHOOKS_UPDATE, role, channel and member changes).
import { useEffect, useState } from 'react';
import { formatDistanceToNow } from 'date-fns';
import type { AuditLog, Ban, Channel, GuildCreate, Invite, Snowflake, Webhook } from '../../api/wire';
import { auditChanges, auditTarget, mergeAuditPages, nextAuditBefore, snowflakeTime } from '../../admin';
import { P, channelPermissions, has } from '../../permissions';
import { useStore } from '../../state/store';
import { t } from '../../strings';
import { useClient } from '../context';
import { userName } from '../Profile';
import { textChannels } from '../Sidebar';
import { ErrorText, useAction } from './Modal';

/** `load()` now and after each administration dispatch of the guild; null while loading. */
function useLive<T>(guildId: Snowflake, load: () => Promise<T>, deps: unknown[] = []): { data: T | null; error: string | null; reload: () => void } {
  const { store } = useClient();
  const version = useStore(store, (s) => s.adminVersion[guildId] ?? 0);
  const [data, setData] = useState<T | null>(null);
  const [tick, setTick] = useState(0);
  const a = useAction();
  const { run } = a;
  useEffect(() => {
    let live = true;
    void run(async () => {
      const d = await load();
      if (live) setData(d);
    });
    return () => {
      live = false;
    };
    // `load` is a new closure each render; what it reads is in `deps`.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [guildId, version, tick, ...deps]);
  return { data, error: a.error, reload: () => setTick((n) => n + 1) };
}

/** Copies `text`; says whether it worked (browsers may refuse the clipboard). */
export function CopyButton({ text, what }: { text: string; what: string }) {
  const [said, setSaid] = useState<string | null>(null);
  return (
    <>
      <button
        type="button"
        className="secondary small"
        aria-label={t.copyLink(what)}
        onClick={() => {
          const done = navigator.clipboard?.writeText(text);
          if (!done) setSaid(t.copyFailed);
          else done.then(() => setSaid(t.copied), () => setSaid(t.copyFailed));
        }}
      >
        {t.copy}
      </button>
      {said && <span role="status" className="muted small">{said}</span>}
    </>
  );
}

export function inviteLink(code: string): string {
  return `${location.origin}/invite/${code}`;
}

const AGES = [1800, 3600, 21600, 43200, 86400, 604800, 0];
const USES = [0, 1, 5, 10, 25, 50, 100];

/** The text channels where `me` may create an invite. */
export function inviteChannels(guild: GuildCreate, me: Snowflake): Channel[] {
  return textChannels(guild)
    .flatMap((x) => x.channels)
    .filter((c) => has(channelPermissions(guild, c, me), P.CREATE_INSTANT_INVITE));
}

/** Creates an invite with an expiry and a use limit, then shows its link with a copy button. */
export function InviteForm({ guild, me, channel, onCreated }: { guild: GuildCreate; me: Snowflake; channel?: Snowflake; onCreated?: () => void }) {
  const { rest } = useClient();
  const channels = inviteChannels(guild, me);
  const [target, setTarget] = useState(channel ?? channels[0]?.id ?? '');
  const [maxAge, setMaxAge] = useState(86400);
  const [maxUses, setMaxUses] = useState(0);
  const [made, setMade] = useState<Invite | null>(null);
  const a = useAction();
  if (channels.length === 0) return null;
  return (
    <form
      className="invite-form"
      onSubmit={(e) => {
        e.preventDefault();
        void a.run(async () => {
          setMade(await rest.createInvite(target, { max_age: maxAge, max_uses: maxUses }));
          onCreated?.();
        });
      }}
    >
      {!channel && (
        <label>
          {t.inviteChannel}
          <select value={target} onChange={(e) => setTarget(e.target.value)}>
            {channels.map((c) => (
              <option key={c.id} value={c.id}>
                # {c.name}
              </option>
            ))}
          </select>
        </label>
      )}
      <label>
        {t.expiresAfter}
        <select value={maxAge} onChange={(e) => setMaxAge(Number(e.target.value))}>
          {AGES.map((s) => (
            <option key={s} value={s}>
              {t.ages[s]}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t.maxUses}
        <select value={maxUses} onChange={(e) => setMaxUses(Number(e.target.value))}>
          {USES.map((n) => (
            <option key={n} value={n}>
              {n === 0 ? t.noLimit : t.uses(n)}
            </option>
          ))}
        </select>
      </label>
      <ErrorText error={a.error} />
      <div className="row">
        <button type="submit" disabled={a.busy || !target}>
          {t.createInvite}
        </button>
      </div>
      {made && (
        <div className="made">
          <p>
            {t.inviteReady} <code data-testid="invite-code">{made.code}</code>
          </p>
          <div className="copy-row">
            <input readOnly aria-label={t.inviteLink} value={inviteLink(made.code)} onFocus={(e) => e.target.select()} />
            <CopyButton text={inviteLink(made.code)} what={t.inviteLink} />
          </div>
        </div>
      )}
    </form>
  );
}

export function InvitesPanel({ guild, me }: { guild: GuildCreate; me: Snowflake }) {
  const { rest } = useClient();
  const list = useLive(guild.id, () => rest.guildInvites(guild.id));
  const a = useAction();
  const channelName = (id: Snowflake | undefined) => guild.channels.find((c) => c.id === id)?.name ?? '?';
  return (
    <div>
      <h3>{t.invites}</h3>
      <InviteForm guild={guild} me={me} onCreated={list.reload} />
      <ErrorText error={list.error ?? a.error} />
      {!list.data ? (
        <p className="muted">{t.loading}</p>
      ) : list.data.length === 0 ? (
        <p className="muted">{t.noInvites}</p>
      ) : (
        <ul className="admin-list" aria-label={t.invites}>
          {list.data.map((inv) => (
            <li key={inv.code}>
              <div>
                <code>{inv.code}</code> <span className="muted">{t.inChannel(channelName(inv.channel?.id ?? inv.channel_id))}</span>
                <p className="muted small">
                  {[
                    inv.inviter && t.inviter(userName(inv.inviter)),
                    t.usesOf(inv.uses ?? 0, inv.max_uses ?? 0),
                    inv.expires_at ? t.expires(formatDistanceToNow(new Date(inv.expires_at), { addSuffix: true })) : t.never,
                  ]
                    .filter(Boolean)
                    .join(' · ')}
                </p>
              </div>
              <CopyButton text={inviteLink(inv.code)} what={`${t.inviteLink} ${inv.code}`} />
              <button
                type="button"
                className="danger small"
                aria-label={t.revokeInvite(inv.code)}
                disabled={a.busy}
                onClick={() => void a.run(async () => rest.revokeInvite(inv.code)).then(list.reload)}
              >
                {t.revoke}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function BansPanel({ guild }: { guild: GuildCreate }) {
  const { rest } = useClient();
  const list = useLive<Ban[]>(guild.id, () => rest.bans(guild.id));
  const a = useAction();
  return (
    <div>
      <h3>{t.bans}</h3>
      <ErrorText error={list.error ?? a.error} />
      {!list.data ? (
        <p className="muted">{t.loading}</p>
      ) : list.data.length === 0 ? (
        <p className="muted">{t.noBans}</p>
      ) : (
        <ul className="admin-list" aria-label={t.bans}>
          {list.data.map((b) => (
            <li key={b.user.id}>
              <div>
                <strong>{userName(b.user)}</strong> <span className="muted small">{b.user.handle ?? b.user.username}</span>
                {b.reason && <p className="muted small">{t.auditReason(b.reason)}</p>}
              </div>
              <button
                type="button"
                className="secondary small"
                aria-label={t.unbanUser(userName(b.user))}
                disabled={a.busy}
                onClick={() => void a.run(async () => rest.unban(guild.id, b.user.id)).then(list.reload)}
              >
                {t.unban}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function AuditLogPanel({ guild }: { guild: GuildCreate }) {
  const { rest } = useClient();
  const [action, setAction] = useState<number | null>(null);
  const head = useLive(guild.id, () => rest.auditLog(guild.id, action ?? undefined), [action]);
  // Older pages (`before` the oldest entry shown), kept while the newest page reloads live.
  const [older, setOlder] = useState<{ action: number | null; pages: AuditLog[] }>({ action: null, pages: [] });
  const olderPages = older.action === action ? older.pages : [];
  const pages = head.data ? [head.data, ...olderPages] : [];
  const log = { data: head.data ? mergeAuditPages(pages) : null, error: head.error };
  const before = nextAuditBefore(pages);
  const more = useAction();
  return (
    <div>
      <h3>{t.auditLog}</h3>
      <label>
        {t.filterByAction}
        <select value={action ?? ''} onChange={(e) => setAction(e.target.value === '' ? null : Number(e.target.value))}>
          <option value="">{t.allActions}</option>
          {Object.entries(t.auditActionFilter).map(([n, label]) => (
            <option key={n} value={n}>
              {label}
            </option>
          ))}
        </select>
      </label>
      <ErrorText error={log.error} />
      {!log.data ? (
        <p className="muted">{t.loading}</p>
      ) : log.data.audit_log_entries.length === 0 ? (
        <p className="muted">{t.noEntries}</p>
      ) : (
        <ul className="admin-list audit" aria-label={t.auditLog}>
          {log.data.audit_log_entries.map((e) => {
            const data = log.data as AuditLog;
            const who = data.users.find((u) => u.id === e.user_id);
            const when = new Date(snowflakeTime(e.id));
            const changes = auditChanges(e);
            return (
              <li key={e.id}>
                <div>
                  <span>
                    {t.auditEntry(who ? userName(who) : e.user_id, t.auditActions[e.action_type] ?? t.auditAction(e.action_type), auditTarget(guild, data.users, e))}
                  </span>{' '}
                  <time className="muted small" dateTime={when.toISOString()} title={when.toLocaleString()}>
                    {formatDistanceToNow(when, { addSuffix: true })}
                  </time>
                  {changes && <p className="muted small">{changes}</p>}
                  {e.reason && <p className="muted small">{t.auditReason(e.reason)}</p>}
                </div>
              </li>
            );
          })}
        </ul>
      )}
      <ErrorText error={more.error} />
      {before && (
        <button
          type="button"
          className="secondary"
          disabled={more.busy}
          onClick={() =>
            void more.run(async () => {
              const page = await rest.auditLog(guild.id, action ?? undefined, before);
              setOlder({ action, pages: [...olderPages, page] });
            })
          }
        >
          {more.busy ? t.loading : t.olderEntries}
        </button>
      )}
    </div>
  );
}

export function WebhooksPanel({ guild, me }: { guild: GuildCreate; me: Snowflake }) {
  const { rest } = useClient();
  const list = useLive<Webhook[]>(guild.id, () => rest.webhooks(guild.id));
  const channels = textChannels(guild)
    .flatMap((x) => x.channels)
    .filter((c) => has(channelPermissions(guild, c, me), P.MANAGE_WEBHOOKS));
  const [name, setName] = useState('');
  const [channel, setChannel] = useState(channels[0]?.id ?? '');
  const [made, setMade] = useState<Webhook | null>(null);
  const a = useAction();
  const channelName = (id: Snowflake | null) => guild.channels.find((c) => c.id === id)?.name ?? '?';
  return (
    <div>
      <h3>{t.webhooks}</h3>
      {channels.length > 0 && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void a.run(async () => {
              setMade(await rest.createWebhook(channel, { name }));
              setName('');
              list.reload();
            });
          }}
        >
          <label>
            {t.webhookName}
            <input required maxLength={80} value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <label>
            {t.inviteChannel}
            <select value={channel} onChange={(e) => setChannel(e.target.value)}>
              {channels.map((c) => (
                <option key={c.id} value={c.id}>
                  # {c.name}
                </option>
              ))}
            </select>
          </label>
          <div className="row">
            <button type="submit" disabled={a.busy}>{t.createWebhook}</button>
          </div>
        </form>
      )}
      {made?.url && (
        <div className="copy-row">
          <input readOnly aria-label={t.webhookUrl} value={made.url} onFocus={(e) => e.target.select()} />
          <CopyButton text={made.url} what={t.webhookUrl} />
        </div>
      )}
      <ErrorText error={list.error ?? a.error} />
      {!list.data ? (
        <p className="muted">{t.loading}</p>
      ) : list.data.length === 0 ? (
        <p className="muted">{t.noWebhooks}</p>
      ) : (
        <ul className="admin-list" aria-label={t.webhooks}>
          {list.data.map((w) => (
            <li key={w.id}>
              <div>
                <strong>{w.name}</strong> <span className="muted">{t.inChannel(channelName(w.channel_id))}</span>
              </div>
              <button
                type="button"
                className="danger small"
                aria-label={t.deleteWebhook(w.name ?? w.id)}
                disabled={a.busy}
                onClick={() => void a.run(async () => rest.deleteWebhook(w.id)).then(list.reload)}
              >
                {t.delete}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
