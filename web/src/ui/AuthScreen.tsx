import { useEffect, useState, type FormEvent } from 'react';
import { ApiError, type Rest } from '../api/rest';
import { getPasskey, passkeysSupported } from '../api/webauthn';
import type { MfaChallenge, TokenPair } from '../api/wire';
import { t } from '../strings';

function message(err: unknown): string {
  if (err instanceof ApiError) return err.detail();
  if (err instanceof DOMException && err.name === 'NotAllowedError') return t.passkeyCancelled;
  return String(err);
}

/**
 * The setup token of a `/setup#TOKEN` link (the link the server prints at a start without an
 * administrator; the fragment never reaches a server log), `''` on `/setup` without one, or
 * `null` elsewhere.
 */
export function setupTokenOf(pathname: string, hash: string): string | null {
  if (pathname.replace(/\/+$/, '') !== '/setup') return null;
  const raw = hash.replace(/^#/, '');
  try {
    return decodeURIComponent(raw).trim();
  } catch {
    return raw.trim(); // not percent-encoded text: taken as written
  }
}

/**
 * Register or log in, on one screen; a second step for accounts with two-factor. On `/setup`
 * the registration carries the setup token, so the account becomes the instance administrator.
 */
export function AuthScreen({ rest, onToken, notice }: { rest: Rest; onToken: (p: TokenPair) => void; notice?: string }) {
  const [setupToken, setSetupToken] = useState(() => setupTokenOf(location.pathname, location.hash));
  // The token now lives in this screen only: out of the address bar and the history at once.
  useEffect(() => {
    if (setupToken !== null && location.hash) history.replaceState(null, '', location.pathname);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- once, at the first render
  }, []);
  const [mode, setMode] = useState<'login' | 'register'>('register');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [email, setEmail] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [mfa, setMfa] = useState<MfaChallenge | null>(null);

  async function run(action: () => Promise<void>) {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    void run(async () => {
      if (mode === 'register') {
        const claim = setupToken ? { setup_token: setupToken } : {};
        const pair = await rest.register({ username, password, ...(email ? { email } : {}), ...claim });
        // The token is used up: take it out of the address bar and history.
        if (setupToken !== null) history.replaceState(null, '', '/');
        onToken(pair);
        return;
      }
      const answer = await rest.login({ login: username, password });
      if ('mfa' in answer && answer.mfa) setMfa(answer);
      else onToken(answer as TokenPair);
    });
  }

  /** Passwordless: the browser offers this site's passkeys; the server names the account. */
  function withPasskey() {
    void run(async () => {
      const c = await rest.passkeyStart();
      const assertion = await getPasskey(c.challenge);
      onToken(await rest.passkeyFinish(c.ticket, assertion));
    });
  }

  if (mfa) {
    return <SecondFactor rest={rest} challenge={mfa} onToken={onToken} onBack={() => setMfa(null)} />;
  }

  const setup = setupToken !== null && mode === 'register';
  const title = setup ? t.setupTitle : mode === 'register' ? t.register : t.login;
  return (
    <main className="auth">
      <form className="card" onSubmit={submit} aria-labelledby="auth-title">
        <h1 id="auth-title">{title}</h1>
        {notice && <p className="notice">{notice}</p>}
        {setup && <p className="notice">{t.setupNotice}</p>}
        {setup && (
          <label>
            {t.setupToken}
            <input name="setup_token" autoComplete="off" required value={setupToken ?? ''} onChange={(e) => setSetupToken(e.target.value.trim())} />
          </label>
        )}
        <label>
          {mode === 'register' ? t.username : t.loginField}
          <input name="username" autoComplete="username webauthn" required value={username} onChange={(e) => setUsername(e.target.value)} />
        </label>
        {mode === 'register' && (
          <label>
            {t.email}
            <input name="email" type="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} />
          </label>
        )}
        <label>
          {t.password}
          <input
            name="password"
            type="password"
            autoComplete={mode === 'register' ? 'new-password' : 'current-password'}
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {title}
        </button>
        {mode === 'login' && passkeysSupported() && (
          <button type="button" className="secondary" disabled={busy} onClick={withPasskey}>
            {t.passkeyLogin}
          </button>
        )}
        <p>
          {mode === 'register' ? t.haveAccount : t.needAccount}{' '}
          <button type="button" className="link" onClick={() => setMode(mode === 'register' ? 'login' : 'register')}>
            {mode === 'register' ? t.login : t.register}
          </button>
        </p>
      </form>
    </main>
  );
}

/** The second step of a login: a TOTP or backup code, or a passkey. */
function SecondFactor({
  rest,
  challenge,
  onToken,
  onBack,
}: {
  rest: Rest;
  challenge: MfaChallenge;
  onToken: (p: TokenPair) => void;
  onBack: () => void;
}) {
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function run(action: () => Promise<TokenPair>) {
    setBusy(true);
    setError(null);
    try {
      onToken(await action());
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    const digits = code.replace(/\s/g, '');
    void run(() => rest.loginMfa(/^\d{6}$/.test(digits) ? 'totp' : 'backup', challenge.ticket, digits));
  }

  const options = challenge.webauthn;
  return (
    <main className="auth">
      <form className="card" onSubmit={submit} aria-labelledby="mfa-title">
        <h1 id="mfa-title">{t.mfaTitle}</h1>
        {options && (
          <button
            type="button"
            disabled={busy}
            onClick={() =>
              void run(async () => rest.loginMfa('webauthn', challenge.ticket, JSON.stringify(await getPasskey(options))))
            }
          >
            {t.usePasskey}
          </button>
        )}
        {challenge.totp && (
          <>
            <label>
              {t.mfaCode}
              <input name="code" autoComplete="one-time-code" inputMode="numeric" required value={code} onChange={(e) => setCode(e.target.value)} />
            </label>
            <button type="submit" disabled={busy}>
              {t.verify}
            </button>
          </>
        )}
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="button" className="link" onClick={onBack}>
          {t.back}
        </button>
      </form>
    </main>
  );
}
