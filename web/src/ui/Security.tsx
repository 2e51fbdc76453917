// Account security in the browser: the Settings dialog (its tabs; the account panels are in
// ./Account, lazy-loaded), its passkey section (add, list, rename, delete) and the
// re-authentication prompt shown when an action answers 401 60003.
import { lazy, Suspense, useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiError, type ReauthProof } from '../api/rest';
import { VerticalTabs } from './Tabs';
import { createPasskey, getPasskey, passkeysSupported } from '../api/webauthn';
import type { ReauthRequest, WebauthnCredential } from '../api/wire';
import { t } from '../strings';
import { useClient } from './context';
import { FederationPeers } from './admin/Instance';
import { Dialog } from './Dialogs';

function message(err: unknown): string {
  if (err instanceof ApiError) return err.detail();
  if (err instanceof DOMException && err.name === 'NotAllowedError') return t.passkeyCancelled;
  return String(err);
}

// The account panels live in ./Account, fetched when the dialog first shows one (the
// initial bundle does not carry them).
const ProfilePanel = lazy(() => import('./Account').then((m) => ({ default: m.ProfilePanel })));
const SessionsPanel = lazy(() => import('./Account').then((m) => ({ default: m.SessionsPanel })));
const PrivacyPanel = lazy(() => import('./Account').then((m) => ({ default: m.PrivacyPanel })));
const PasswordSection = lazy(() => import('./Account').then((m) => ({ default: m.PasswordSection })));
const TwoFactorSection = lazy(() => import('./Account').then((m) => ({ default: m.TwoFactorSection })));

type Tab = 'security' | 'profile' | 'sessions' | 'privacy';
const TABS: { id: Tab; label: string }[] = [
  { id: 'security', label: t.securityTab },
  { id: 'profile', label: t.profileTab },
  { id: 'sessions', label: t.sessionsTab },
  { id: 'privacy', label: t.privacyTab },
];

/** Settings: tabs for security (password, two-factor, passkeys), profile, sessions and
 *  privacy; the instance administrator's federation peers; logging out. */
export function SettingsDialog({ onClose }: { onClose: () => void }) {
  const { logout } = useClient();
  const [tab, setTab] = useState<Tab>('security');
  return (
    <Dialog title={t.settings} onClose={onClose} className="settings">
      <div className="settings-body">
        <div className="settings-nav">
          <VerticalTabs label={t.accountSections} idPrefix="account-" tabs={TABS} current={tab} onChoose={setTab} />
          <button type="button" className="secondary small" onClick={logout}>
            {t.logout}
          </button>
          <button type="button" className="small" onClick={onClose}>
            {t.close}
          </button>
        </div>
        <div
          role="tabpanel"
          id={`account-panel-${tab}`}
          aria-labelledby={`account-tab-${tab}`}
          className="settings-panel"
        >
          <Suspense fallback={<p>{t.loading}</p>}>
            {tab === 'security' && (
              <>
                <PasswordSection />
                <TwoFactorSection />
                <PasskeysSection />
              </>
            )}
            {tab === 'profile' && <ProfilePanel />}
            {tab === 'sessions' && <SessionsPanel />}
            {tab === 'privacy' && <PrivacyPanel />}
          </Suspense>
          <FederationPeers />
        </div>
      </div>
    </Dialog>
  );
}

/** The account's passkeys: add, rename, delete (adding and deleting need a recent proof). */
function PasskeysSection() {
  const { rest } = useClient();
  const [keys, setKeys] = useState<WebauthnCredential[] | null>(null);
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const reload = useCallback(() => {
    rest.passkeys().then(setKeys, (e: unknown) => setError(message(e)));
  }, [rest]);
  useEffect(reload, [reload]);

  async function run(action: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await action();
      reload();
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  }

  function add(e: FormEvent) {
    e.preventDefault();
    void run(async () => {
      const c = await rest.addPasskeyStart();
      const credential = await createPasskey(c.challenge);
      await rest.addPasskeyFinish(name.trim(), c.ticket, credential);
      setName('');
    });
  }

  return (
    <section aria-labelledby="passkeys-title">
      <h3 id="passkeys-title">{t.passkeys}</h3>
      <p className="small">{t.passkeysHelp}</p>
      {keys && keys.length === 0 && <p>{t.noPasskeys}</p>}
      <ul className="passkeys" aria-label={t.passkeys}>
        {keys?.map((k) => (
          <PasskeyItem key={k.id} passkey={k} busy={busy} run={run} />
        ))}
      </ul>
      {passkeysSupported() ? (
        <form onSubmit={add}>
          <label>
            {t.passkeyName}
            <input required maxLength={32} value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <div className="row">
            <button type="submit" disabled={busy}>
              {t.addPasskey}
            </button>
          </div>
        </form>
      ) : (
        <p>{t.passkeysUnsupported}</p>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </section>
  );
}

function PasskeyItem({
  passkey,
  busy,
  run,
}: {
  passkey: WebauthnCredential;
  busy: boolean;
  run: (action: () => Promise<void>) => Promise<void>;
}) {
  const { rest } = useClient();
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(passkey.name);
  const added = new Date(passkey.created_at).toLocaleDateString();
  if (editing) {
    return (
      <li>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void run(async () => {
              await rest.renamePasskey(passkey.id, name.trim());
              setEditing(false);
            });
          }}
        >
          <input aria-label={t.passkeyName} required maxLength={32} value={name} onChange={(e) => setName(e.target.value)} />
          <button type="submit" className="small" disabled={busy}>
            {t.save}
          </button>
          <button type="button" className="secondary small" onClick={() => setEditing(false)}>
            {t.cancel}
          </button>
        </form>
      </li>
    );
  }
  return (
    <li>
      <span className="passkey-name">{passkey.name}</span> <span className="small">{t.passkeyAdded(added)}</span>{' '}
      <button type="button" className="secondary small" aria-label={t.renamePasskey(passkey.name)} onClick={() => setEditing(true)}>
        {t.rename}
      </button>{' '}
      <button
        type="button"
        className="secondary small"
        aria-label={t.deletePasskey(passkey.name)}
        disabled={busy}
        onClick={() => void run(() => rest.deletePasskey(passkey.id))}
      >
        {t.delete}
      </button>
    </li>
  );
}

/**
 * The re-authentication prompt (401 60003): the password, a TOTP or backup code, or a
 * passkey, proven with `POST /mfa/finish`; `done(true)` lets the action be sent again.
 */
export function ReauthDialog({ request, done }: { request: ReauthRequest; done: (ok: boolean) => void }) {
  const { rest } = useClient();
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const totp = request.methods.some((m) => m.type === 'totp');
  const webauthn = request.methods.find((m) => m.type === 'webauthn')?.challenge;
  const [passkeyUsed, setPasskeyUsed] = useState(false);

  async function prove(proof: () => Promise<ReauthProof>) {
    setBusy(true);
    setError(null);
    try {
      await rest.mfaFinish(await proof());
      done(true);
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    const code = secret.replace(/\s/g, '');
    const kind = totp && /^\d{6}$/.test(code) ? 'totp' : totp && /^[a-z0-9-]{8,9}$/i.test(code) ? 'backup' : 'password';
    void prove(async () => ({ mfa_type: kind, data: kind === 'password' ? secret : code }));
  }

  return (
    <Dialog title={t.reauthTitle} onClose={() => done(false)}>
      <p>{t.reauthHelp}</p>
      {webauthn && !passkeyUsed && (
        <div className="row">
          <button
            type="button"
            disabled={busy}
            onClick={() => {
              setPasskeyUsed(true);
              void prove(async () => ({
                mfa_type: 'webauthn',
                ticket: request.ticket,
                data: JSON.stringify(await getPasskey(webauthn)),
              }));
            }}
          >
            {t.usePasskey}
          </button>
        </div>
      )}
      <form onSubmit={submit}>
        <label>
          {totp ? t.reauthSecretOrCode : t.password}
          <input
            type="password"
            autoComplete="current-password"
            autoFocus={!webauthn}
            required
            value={secret}
            onChange={(e) => setSecret(e.target.value)}
          />
        </label>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <div className="row">
          <button type="button" className="secondary" onClick={() => done(false)}>
            {t.cancel}
          </button>
          <button type="submit" disabled={busy}>
            {t.verify}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
