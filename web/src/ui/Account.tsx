// Account settings, the panels of the Settings dialog (src/ui/Security.tsx) loaded on first
// opening: profile (display name, avatar), login sessions with revoke, password change,
// two-factor authentication with an authenticator app (TOTP) and its backup codes, and the
// DM policy. Every call is the server's public API; its refusals are shown next to the form.
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError } from '../api/rest';
import { DmPolicy, type AuthSession, type BackupCode, type User } from '../api/wire';
import {
  describeAgent,
  groupSecret,
  newTotpSecret,
  otpauthUri,
  passwordProblem,
  profilePatch,
  serverOfHandle,
} from '../account';
import { useStore } from '../state/store';
import { t } from '../strings';
import { useClient } from './context';
import { ImageChooser } from './ImageChooser';
import { ErrorText, useAction } from './admin/Modal';

const errorText = (e: unknown) => (e instanceof ApiError ? e.detail() : String(e));

/** The signed-in user as the store holds it, updated with what a REST answer returned. */
function useMe() {
  const { store } = useClient();
  const me = useStore(store, (s) => s.me);
  const update = useCallback((u: Partial<User>) => store.set((s) => (s.me ? { me: { ...s.me, ...u } } : {})), [store]);
  return { me, update };
}

const when = (iso: string) => new Date(iso).toLocaleString();

/** Display name and avatar (`PATCH /users/@me`); the avatar is previewed before saving. */
export function ProfilePanel() {
  const { rest } = useClient();
  const { me, update } = useMe();
  // undefined until edited: the field shows the current name (another session may change
  // it meanwhile), and an untouched field is not sent.
  const [edited, setName] = useState<string | undefined>(undefined);
  // undefined: unchanged; null: removed; a data URI: the chosen image.
  const [avatar, setAvatar] = useState<string | null | undefined>(undefined);
  const [status, setStatus] = useState<string | null>(null);
  const a = useAction();
  if (!me) return null;
  const name = edited ?? me.global_name ?? '';
  const shown = avatar === undefined ? (me.avatar ? `/avatars/${me.id}/${me.avatar}.png?size=128` : null) : avatar;

  const save = (e: FormEvent) => {
    e.preventDefault();
    setStatus(null);
    const body = profilePatch(me, { globalName: name, avatar });
    if (!body) {
      setStatus(t.nothingToSave);
      return;
    }
    void a.run(async () => {
      const u = await rest.modifyMe(body);
      update(u);
      setAvatar(undefined);
      setName(u.global_name ?? '');
      setStatus(t.profileSaved);
    });
  };

  return (
    <form onSubmit={save} aria-labelledby="profile-title">
      <h3 id="profile-title">{t.profile}</h3>
      <div className="icon-row">
        {shown ? (
          <img
            className="guild-icon"
            src={shown}
            alt={avatar === undefined ? t.yourAvatar : t.avatarPreview}
            width={64}
            height={64}
          />
        ) : (
          <span className="guild-icon" aria-hidden="true">
            {(name.trim() || me.username).slice(0, 1).toUpperCase()}
          </span>
        )}
        <ImageChooser label={t.chooseAvatar} onChosen={setAvatar} onError={a.setError} />
        {shown && (
          <button type="button" className="secondary small" onClick={() => setAvatar(null)}>
            {t.removeAvatar}
          </button>
        )}
      </div>
      <p className="small">{t.avatarHelp}</p>
      <label>
        {t.displayName}
        <input maxLength={32} value={name} placeholder={me.username} aria-describedby="display-name-help" onChange={(e) => setName(e.target.value)} />
      </label>
      <p className="small" id="display-name-help">
        {t.displayNameHelp}
      </p>
      <ErrorText error={a.error} />
      {status && !a.error && <p role="status">{status}</p>}
      <div className="row">
        <button type="submit" disabled={a.busy}>
          {t.saveChanges}
        </button>
      </div>
    </form>
  );
}

/** The login sessions (`GET /auth/sessions`), this one first; others can be revoked. */
export function SessionsPanel() {
  const { rest } = useClient();
  const [list, setList] = useState<AuthSession[] | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const a = useAction();
  const heading = useRef<HTMLHeadingElement>(null);
  const { setError } = a;
  const reload = useCallback(
    () =>
      rest.sessions().then(
        (l) =>
          setList(
            [...l].sort((x, y) => Number(y.current) - Number(x.current) || y.last_refreshed_at.localeCompare(x.last_refreshed_at)),
          ),
        (e: unknown) => setError(errorText(e)),
      ),
    [rest, setError],
  );
  useEffect(() => {
    void reload();
  }, [reload]);

  const revoke = (s: AuthSession) => {
    setStatus(null);
    void a.run(async () => {
      await rest.revokeSession(s.id);
      await reload();
      setStatus(t.sessionRevoked);
      heading.current?.focus();
    });
  };

  return (
    <section aria-labelledby="sessions-title">
      <h3 id="sessions-title" ref={heading} tabIndex={-1}>
        {t.sessions}
      </h3>
      <p className="small">{t.sessionsHelp}</p>
      {!list && !a.error && <p>{t.loading}</p>}
      <ul className="admin-list" aria-labelledby="sessions-title">
        {list?.map((s) => {
          const d = describeAgent(s.user_agent);
          const device = d ? t.device(d.browser, d.os) : t.unknownDevice;
          const created = when(s.created_at);
          return (
            <li key={s.id} data-session-id={s.id} aria-current={s.current ? 'true' : undefined}>
              <div>
                <strong>{device}</strong>
                {s.current && <span className="tag">{t.thisSession}</span>}
                <p className="small">{t.sessionDetail(s.ip ?? t.unknownAddress, created, when(s.last_refreshed_at))}</p>
              </div>
              {!s.current && (
                <button
                  type="button"
                  className="secondary small"
                  aria-label={t.revokeSession(device, created)}
                  disabled={a.busy}
                  onClick={() => revoke(s)}
                >
                  {t.revoke}
                </button>
              )}
            </li>
          );
        })}
      </ul>
      <ErrorText error={a.error} />
      {status && !a.error && <p role="status">{status}</p>}
    </section>
  );
}

/** `PATCH /users/@me` `{password, new_password}`: the server ends the other sessions. */
export function PasswordSection() {
  const { rest } = useClient();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [done, setDone] = useState(false);
  const a = useAction();

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setDone(false);
    if (passwordProblem(next, confirm)) {
      a.setError(t.passwordMismatch);
      return;
    }
    void a.run(async () => {
      await rest.modifyMe({ password: current, new_password: next });
      setCurrent('');
      setNext('');
      setConfirm('');
      setDone(true);
    });
  };

  return (
    <section aria-labelledby="password-title">
      <h3 id="password-title">{t.changePassword}</h3>
      <form onSubmit={submit} aria-labelledby="password-title">
        <label>
          {t.currentPassword}
          <input type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} />
        </label>
        <label>
          {t.newPassword}
          <input type="password" autoComplete="new-password" required value={next} onChange={(e) => setNext(e.target.value)} />
        </label>
        <label>
          {t.confirmPassword}
          <input type="password" autoComplete="new-password" required value={confirm} onChange={(e) => setConfirm(e.target.value)} />
        </label>
        <ErrorText error={a.error} />
        {done && !a.error && <p role="status">{t.passwordChanged}</p>}
        <div className="row">
          <button type="submit" disabled={a.busy}>
            {t.changePassword}
          </button>
        </div>
      </form>
    </section>
  );
}

/** The QR code of the key URI, drawn as SVG from `uqr`'s matrix (its own chunk, fetched when
 *  the setup opens). */
function QrCode({ text }: { text: string }) {
  const [matrix, setMatrix] = useState<{ text: string; data: boolean[][] } | null>(null);
  useEffect(() => {
    let live = true;
    import('uqr').then(
      ({ encode }) => {
        if (live) setMatrix({ text, data: encode(text, { ecc: 'M', border: 2 }).data });
      },
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [text]);
  if (!matrix || matrix.text !== text) return <div className="qr" aria-hidden="true" />;
  const n = matrix.data.length;
  const d = matrix.data.map((row, y) => row.map((on, x) => (on ? `M${x} ${y}h1v1h-1z` : '')).join('')).join('');
  return (
    <svg className="qr" role="img" aria-label={t.totpQr} viewBox={`0 0 ${n} ${n}`} width={n * 5} height={n * 5} shapeRendering="crispEdges">
      <rect width={n} height={n} fill="#fff" />
      <path d={d} fill="#000" />
    </svg>
  );
}

/** Backup codes shown once, after enabling or regenerating. */
function CodesList({ codes, onDone }: { codes: BackupCode[]; onDone: () => void }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  return (
    <div>
      <h4 id="backup-codes-title" ref={heading} tabIndex={-1}>
        {t.backupCodes}
      </h4>
      <p className="small">{t.backupCodesHelp}</p>
      <ol className="backup-codes" aria-labelledby="backup-codes-title">
        {codes.map((c) => (
          <li key={c.code}>
            <code>{c.code}</code>
          </li>
        ))}
      </ol>
      <div className="row">
        <button type="button" onClick={onDone}>
          {t.done}
        </button>
      </div>
    </div>
  );
}

type Stage = { kind: 'idle' } | { kind: 'setup'; secret: string } | { kind: 'codes'; codes: BackupCode[] };

/** TOTP: set up (secret, QR code, confirm with a code and the password), backup codes
 *  (regenerated with the password), turn off (a code). */
export function TwoFactorSection() {
  const { rest } = useClient();
  const { me, update } = useMe();
  const [stage, setStage] = useState<Stage>({ kind: 'idle' });
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  const a = useAction();
  const { setError } = a;
  const on = me?.totp_enabled === true;

  if (!me) return null;
  const reset = () => {
    setCode('');
    setPassword('');
  };
  const act = (e: FormEvent, f: () => Promise<void>) => {
    e.preventDefault();
    setNotice(null);
    void a.run(f);
  };

  const enable = (e: FormEvent, secret: string) =>
    act(e, async () => {
      const codes = await rest.enableTotp(secret, code.replace(/\s/g, ''), password);
      reset();
      update({ mfa_enabled: true, totp_enabled: true });
      setNotice(t.totpEnabled);
      setStage({ kind: 'codes', codes });
    });
  const regenerate = (e: FormEvent) =>
    act(e, async () => {
      const codes = await rest.regenerateBackupCodes(password);
      reset();
      setStage({ kind: 'codes', codes });
    });
  const disable = (e: FormEvent) =>
    act(e, async () => {
      await rest.disableTotp(code.trim());
      reset();
      setStage({ kind: 'idle' });
      setNotice(t.totpDisabled);
      const me = await rest.me();
      update({ mfa_enabled: me.mfa_enabled ?? false, totp_enabled: me.totp_enabled ?? false });
    });

  let body;
  if (stage.kind === 'codes') {
    body = (
      <CodesList
        codes={stage.codes}
        onDone={() => {
          setNotice(null);
          setStage({ kind: 'idle' });
        }}
      />
    );
  } else if (stage.kind === 'setup') {
    const uri = otpauthUri(stage.secret, me.handle, serverOfHandle(me.handle));
    body = (
      <form onSubmit={(e) => enable(e, stage.secret)} aria-label={t.enableTotp}>
        <p>{t.totpStep1}</p>
        <QrCode text={uri} />
        <label>
          {t.totpSecret}
          <input readOnly className="mono" value={groupSecret(stage.secret)} onFocus={(e) => e.target.select()} />
        </label>
        <label>
          {t.totpUri}
          <input readOnly className="mono" value={uri} onFocus={(e) => e.target.select()} />
        </label>
        <label>
          {t.totpCode}
          <input
            autoFocus
            required
            inputMode="numeric"
            autoComplete="one-time-code"
            pattern="\s*(\d\s*){6}"
            value={code}
            onChange={(e) => setCode(e.target.value)}
          />
        </label>
        <label>
          {t.password}
          <input type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <p className="small">{t.totpConfirmHelp}</p>
        <ErrorText error={a.error} />
        <div className="row">
          <button
            type="button"
            className="secondary"
            onClick={() => {
              reset();
              setError(null);
              setStage({ kind: 'idle' });
            }}
          >
            {t.cancel}
          </button>
          <button type="submit" disabled={a.busy}>
            {t.confirmEnable}
          </button>
        </div>
      </form>
    );
  } else if (!on) {
    body = (
      <>
        <p>{t.twoFactorOff}</p>
        {me.mfa_enabled && <p className="small">{t.twoFactorPasskeyNote}</p>}
        <ErrorText error={a.error} />
        <div className="row">
          <button
            type="button"
            onClick={() => {
              setError(null);
              setNotice(null);
              setStage({ kind: 'setup', secret: newTotpSecret() });
            }}
          >
            {t.enableTotp}
          </button>
        </div>
      </>
    );
  } else {
    body = (
      <>
        <p>{t.twoFactorOn}</p>
        <form onSubmit={regenerate} aria-label={t.regenerateCodes}>
          <p className="small">{t.backupCodesRegenerateHelp}</p>
          <label>
            {t.password}
            <input type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
          </label>
          <div className="row">
            <button type="submit" className="secondary" disabled={a.busy}>
              {t.regenerateCodes}
            </button>
          </div>
        </form>
        <form onSubmit={disable} aria-label={t.disableTotp}>
          <label>
            {t.disableTotpCode}
            <input autoComplete="one-time-code" required value={code} onChange={(e) => setCode(e.target.value)} />
          </label>
          <div className="row">
            <button type="submit" className="danger" disabled={a.busy}>
              {t.disableTotp}
            </button>
          </div>
        </form>
        <ErrorText error={a.error} />
      </>
    );
  }
  return (
    <section aria-labelledby="totp-title">
      <h3 id="totp-title">{t.twoFactor}</h3>
      {notice && <p role="status">{notice}</p>}
      {body}
    </section>
  );
}

/** `dm_policy` of `PATCH /users/@me`: who may open a DM and message the user. */
export function PrivacyPanel() {
  const { rest } = useClient();
  const { me, update } = useMe();
  const [saved, setSaved] = useState(false);
  // The choice being sent, shown checked until the server answers (then the store holds it).
  const [sending, setSending] = useState<DmPolicy | null>(null);
  const a = useAction();
  if (!me) return null;
  const policy = sending ?? me.dm_policy ?? DmPolicy.Anyone;
  const choose = (p: DmPolicy) => {
    setSaved(false);
    setSending(p);
    void a
      .run(async () => {
        update(await rest.modifyMe({ dm_policy: p }));
        setSaved(true);
      })
      .finally(() => setSending(null));
  };
  const options: [DmPolicy, string][] = [
    [DmPolicy.Anyone, t.dmPolicyAnyone],
    [DmPolicy.SharedServer, t.dmPolicyShared],
  ];
  return (
    <section aria-labelledby="privacy-title">
      <h3 id="privacy-title">{t.privacy}</h3>
      <fieldset className="choices" disabled={a.busy} aria-describedby="dm-policy-help">
        <legend>{t.dmPolicy}</legend>
        {options.map(([value, label]) => (
          <label key={value} className="choice">
            <input type="radio" name="dm-policy" value={value} checked={policy === value} onChange={() => choose(value)} />
            {label}
          </label>
        ))}
      </fieldset>
      <p className="small" id="dm-policy-help">
        {t.dmPolicyHelp}
      </p>
      <ErrorText error={a.error} />
      {saved && !a.error && <p role="status">{t.dmPolicySaved}</p>}
    </section>
  );
}
