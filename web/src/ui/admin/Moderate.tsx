// Kick and ban from a member's profile popout, after a confirm dialog with an optional
// reason (sent as `X-Audit-Log-Reason`) and, for a ban, how much of their recent messages to
// delete. Offered with KICK_MEMBERS / BAN_MEMBERS against members ranked below the actor
// (src/admin.ts `outranks`), as the server checks.
import { useState } from 'react';
import type { GuildCreate, Snowflake, User } from '../../api/wire';
import { outranks } from '../../admin';
import { P, guildPermissions, has } from '../../permissions';
import { t } from '../../strings';
import { useClient } from '../context';
import { userName } from '../Profile';
import { Confirm } from './Modal';

export type ModerationKind = 'kick' | 'ban';

/** What `me` may do to `target` in `guild`: kick, ban, both or neither. */
export function moderationFor(guild: GuildCreate | undefined, me: Snowflake | undefined, target: Snowflake): ModerationKind[] {
  if (!guild || !me || !guild.members.some((m) => m.user?.id === target) || !outranks(guild, me, target)) return [];
  const perms = guildPermissions(guild, me);
  const out: ModerationKind[] = [];
  if (has(perms, P.KICK_MEMBERS)) out.push('kick');
  if (has(perms, P.BAN_MEMBERS)) out.push('ban');
  return out;
}

const SPANS = [0, 3600, 86400, 604800];

export function ModerateDialog({
  kind,
  guild,
  user,
  onClose,
  returnTo,
}: {
  kind: ModerationKind;
  guild: GuildCreate;
  user: User;
  onClose: () => void;
  returnTo: HTMLElement | null;
}) {
  const { rest } = useClient();
  const [reason, setReason] = useState('');
  const [span, setSpan] = useState(0);
  const name = userName(user);
  const ban = kind === 'ban';
  return (
    <Confirm
      title={ban ? t.banUser(name) : t.kickUser(name)}
      text={ban ? t.confirmBan(name, guild.name) : t.confirmKick(name, guild.name)}
      action={ban ? t.ban : t.kick}
      returnTo={returnTo}
      onClose={onClose}
      run={() =>
        ban
          ? rest.ban(guild.id, user.id, { delete_message_seconds: span }, reason || undefined)
          : rest.kick(guild.id, user.id, reason || undefined)
      }
    >
      <label>
        {t.reason}
        <input maxLength={512} value={reason} onChange={(e) => setReason(e.target.value)} />
      </label>
      {ban && (
        <label>
          {t.deleteMessages}
          <select value={span} onChange={(e) => setSpan(Number(e.target.value))}>
            {SPANS.map((s) => (
              <option key={s} value={s}>
                {t.deleteSpans[s]}
              </option>
            ))}
          </select>
        </label>
      )}
    </Confirm>
  );
}
