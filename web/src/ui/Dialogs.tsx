import { useState, type FormEvent, type ReactNode } from 'react';
import { ApiError } from '../api/rest';
import { t } from '../strings';
import { useClient } from './context';
import { templateBody, TEMPLATES, type Template } from '../templates';
import { inviteCode, navigate } from './route';
import type { GuildCreate, Snowflake } from '../api/wire';
import { useStore } from '../state/store';
import { InviteForm } from './admin/Lists';
import { Modal } from './admin/Modal';

/** The app's dialogs (create or join a server, settings): the focus-managed `Modal` (focus
 *  in, Tab kept inside, Esc from anywhere, focus back to the opener). */
export function Dialog({
  title,
  onClose,
  children,
  className,
}: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  className?: string;
}) {
  return (
    <Modal title={title} onClose={onClose} {...(className ? { className } : {})}>
      {children}
    </Modal>
  );
}

export function useSubmit<T>(action: () => Promise<T>, done: (v: T) => void) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      done(await action());
    } catch (err) {
      setError(err instanceof ApiError ? err.detail() : String(err));
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, submit };
}

export function CreateGuildDialog({ onClose }: { onClose: () => void }) {
  const { rest } = useClient();
  const [name, setName] = useState('');
  const [template, setTemplate] = useState<Template['id'] | 'none'>('none');
  const { error, busy, submit } = useSubmit(
    async () => {
      const chosen = TEMPLATES.find((x) => x.id === template);
      return rest.createGuild(chosen ? templateBody(name, chosen) : { name });
    },
    (g) => {
      onClose();
      navigate(`/channels/${g.id}`);
    },
  );
  return (
    <Dialog title={t.createGuild} onClose={onClose}>
      <form onSubmit={submit}>
        <label>
          {t.guildName}
          <input autoFocus required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <fieldset className="templates">
          <legend>{t.template}</legend>
          {(['none', ...TEMPLATES.map((x) => x.id)] as const).map((id) => (
            <label key={id} className="choice">
              <input type="radio" name="template" value={id} checked={template === id} onChange={() => setTemplate(id)} />
              {t.templates[id]}
            </label>
          ))}
        </fieldset>
        {error && <p role="alert" className="error">{error}</p>}
        <div className="row">
          <button type="button" className="secondary" onClick={onClose}>{t.cancel}</button>
          <button type="submit" disabled={busy}>{busy ? t.settingUp : t.create}</button>
        </div>
      </form>
    </Dialog>
  );
}

export function JoinGuildDialog({ onClose, initial = '' }: { onClose: () => void; initial?: string }) {
  const { rest } = useClient();
  const [code, setCode] = useState(initial);
  const { error, busy, submit } = useSubmit(
    () => rest.acceptInvite(inviteCode(code)),
    (inv) => {
      onClose();
      if (inv.guild) navigate(`/channels/${inv.guild.id}${inv.channel ? `/${inv.channel.id}` : ''}`);
    },
  );
  return (
    <Dialog title={t.joinGuild} onClose={onClose}>
      <form onSubmit={submit}>
        <label>
          {t.inviteCode}
          <input autoFocus required value={code} onChange={(e) => setCode(e.target.value)} />
        </label>
        {error && <p role="alert" className="error">{error}</p>}
        <div className="row">
          <button type="button" className="secondary" onClick={onClose}>{t.cancel}</button>
          <button type="submit" disabled={busy}>{t.join}</button>
        </div>
      </form>
    </Dialog>
  );
}

/** "Invite people" (CREATE_INSTANT_INVITE): an invite to `channel` with an expiry and a use
 *  limit, its link and a copy button (src/ui/admin/Lists.tsx). */
export function InviteDialog({ guild, channel, onClose }: { guild: GuildCreate; channel: Snowflake; onClose: () => void }) {
  const { store } = useClient();
  const me = useStore(store, (s) => s.me?.id);
  return (
    <Modal title={t.invitePeople} onClose={onClose}>
      {me && <InviteForm guild={guild} me={me} channel={channel} />}
      <div className="row">
        <button type="button" className="secondary" onClick={onClose}>{t.close}</button>
      </div>
    </Modal>
  );
}
