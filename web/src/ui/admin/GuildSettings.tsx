// The server settings dialog: one section per administration screen, each offered only to
// members holding its permission (src/permissions.ts), the same bits the server checks:
// Overview and Invites MANAGE_GUILD, Roles MANAGE_ROLES, Bans BAN_MEMBERS, Audit log
// VIEW_AUDIT_LOG, Webhooks MANAGE_WEBHOOKS. Everything shown follows the gateway: the guild
// and its roles from the store, the lists fetched again on the dispatches that change them.
import { useState } from 'react';
import type { GuildCreate, Snowflake } from '../../api/wire';
import { P, guildPermissions, has } from '../../permissions';
import { useStore } from '../../state/store';
import { t } from '../../strings';
import { useClient } from '../context';
import { ImageChooser } from '../ImageChooser';
import { VerticalTabs } from '../Tabs';
import { AuditLogPanel, BansPanel, InvitesPanel, WebhooksPanel } from './Lists';
import { ErrorText, Modal, useAction } from './Modal';
import { RolesPanel } from './Roles';

export type Section = 'overview' | 'roles' | 'invites' | 'bans' | 'audit' | 'webhooks';

const SECTIONS: { id: Section; need: bigint; label: string }[] = [
  { id: 'overview', need: P.MANAGE_GUILD, label: t.overview },
  { id: 'roles', need: P.MANAGE_ROLES, label: t.roles },
  { id: 'invites', need: P.MANAGE_GUILD, label: t.invites },
  { id: 'bans', need: P.BAN_MEMBERS, label: t.bans },
  { id: 'audit', need: P.VIEW_AUDIT_LOG, label: t.auditLog },
  { id: 'webhooks', need: P.MANAGE_WEBHOOKS, label: t.webhooks },
];

/** The sections `me` may open in `guild` (none: no settings entry at all). */
export function settingsSections(guild: GuildCreate, me: Snowflake | undefined): Section[] {
  if (!me) return [];
  const perms = guildPermissions(guild, me);
  return SECTIONS.filter((s) => has(perms, s.need)).map((s) => s.id);
}

/** The "Server settings" button of the channel list header, shown only with a section to open. */
export function GuildSettingsButton({ guild }: { guild: GuildCreate }) {
  const { store } = useClient();
  const me = useStore(store, (s) => s.me?.id);
  const [open, setOpen] = useState(false);
  if (settingsSections(guild, me).length === 0) return null;
  return (
    <>
      <button type="button" className="secondary small" aria-haspopup="dialog" onClick={() => setOpen(true)}>
        {t.serverSettings}
      </button>
      {open && <GuildSettings guildId={guild.id} onClose={() => setOpen(false)} />}
    </>
  );
}

export function GuildSettings({ guildId, onClose }: { guildId: Snowflake; onClose: () => void }) {
  const { store } = useClient();
  const guild = useStore(store, (s) => s.guilds.find((g) => g.id === guildId));
  const me = useStore(store, (s) => s.me?.id);
  const sections = guild ? settingsSections(guild, me) : [];
  const [chosen, setChosen] = useState<Section | null>(null);
  // Permissions can go while the dialog is open (a role changed): so does the section.
  const current = chosen && sections.includes(chosen) ? chosen : sections[0];
  if (!guild || !me || !current) {
    return (
      <Modal title={t.serverSettings} onClose={onClose}>
        <p>{t.roleLocked.noPermission}</p>
        <div className="row">
          <button type="button" onClick={onClose}>{t.close}</button>
        </div>
      </Modal>
    );
  }
  return (
    <Modal title={t.serverSettingsOf(guild.name)} onClose={onClose} className="settings">
      <div className="settings-body">
        <div className="settings-nav">
          <VerticalTabs
            label={t.settingsSections}
            idPrefix=""
            tabs={sections.map((id) => ({ id, label: SECTIONS.find((x) => x.id === id)?.label ?? id }))}
            current={current}
            onChoose={setChosen}
          />
          <button type="button" className="secondary small" onClick={onClose}>
            {t.close}
          </button>
        </div>
        <section role="tabpanel" id={`panel-${current}`} aria-labelledby={`tab-${current}`} className="settings-panel">
          {current === 'overview' && <Overview guild={guild} />}
          {current === 'roles' && <RolesPanel guild={guild} me={me} />}
          {current === 'invites' && <InvitesPanel guild={guild} me={me} />}
          {current === 'bans' && <BansPanel guild={guild} />}
          {current === 'audit' && <AuditLogPanel guild={guild} />}
          {current === 'webhooks' && <WebhooksPanel guild={guild} me={me} />}
        </section>
      </div>
    </Modal>
  );
}

/** Name, description and icon (`PATCH /guilds/{id}`); the form starts again from the guild
 *  whenever a GUILD_UPDATE changes its name or description. */
function Overview({ guild }: { guild: GuildCreate }) {
  const { rest, store } = useClient();
  const [name, setName] = useState(guild.name);
  const [description, setDescription] = useState(guild.description ?? '');
  const [saved, setSaved] = useState(false);
  const [base, setBase] = useState({ name: guild.name, description: guild.description });
  if (base.name !== guild.name || base.description !== guild.description) {
    setBase({ name: guild.name, description: guild.description });
    setName(guild.name);
    setDescription(guild.description ?? '');
  }
  const a = useAction();
  const apply = (g: Awaited<ReturnType<typeof rest.modifyGuild>>) => {
    const old = store.guild(guild.id);
    if (old) store.upsertGuild({ ...old, name: g.name, icon: g.icon, description: g.description });
  };
  const save = () =>
    a.run(async () => {
      apply(await rest.modifyGuild(guild.id, { name, description: description || null }));
      setSaved(true);
    });
  const setIcon = (icon: string | null) => a.run(async () => apply(await rest.modifyGuild(guild.id, { icon })));
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <h3>{t.overview}</h3>
      <div className="icon-row">
        {guild.icon ? (
          <img className="guild-icon" src={`/icons/${guild.id}/${guild.icon}.png?size=128`} alt={t.serverIcon} width={64} height={64} />
        ) : (
          <span className="guild-icon" aria-hidden="true">{guild.name.slice(0, 1)}</span>
        )}
        <ImageChooser label={t.changeIcon} onChosen={(uri) => void setIcon(uri)} onError={a.setError} />
        {guild.icon && (
          <button type="button" className="secondary small" onClick={() => void setIcon(null)}>
            {t.removeIcon}
          </button>
        )}
      </div>
      <label>
        {t.guildName}
        <input required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
      </label>
      <label>
        {t.description}
        <textarea maxLength={120} rows={2} value={description} onChange={(e) => setDescription(e.target.value)} />
      </label>
      <ErrorText error={a.error} />
      {saved && !a.error && <p role="status">{t.saved}</p>}
      <div className="row">
        <button type="submit" disabled={a.busy}>{t.saveChanges}</button>
      </div>
    </form>
  );
}
