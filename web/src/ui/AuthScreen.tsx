import { useState, type FormEvent } from 'react';
import { ApiError, type Rest } from '../api/rest';
import type { TokenPair } from '../api/wire';
import { t } from '../strings';

/** Register or log in, on one screen. */
export function AuthScreen({ rest, onToken, notice }: { rest: Rest; onToken: (p: TokenPair) => void; notice?: string }) {
  const [mode, setMode] = useState<'login' | 'register'>('register');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [email, setEmail] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const pair =
        mode === 'register'
          ? await rest.register({ username, password, ...(email ? { email } : {}) })
          : await rest.login({ login: username, password });
      onToken(pair);
    } catch (err) {
      setError(err instanceof ApiError ? err.detail() : String(err));
    } finally {
      setBusy(false);
    }
  }

  const title = mode === 'register' ? t.register : t.login;
  return (
    <main className="auth">
      <form className="card" onSubmit={submit} aria-labelledby="auth-title">
        <h1 id="auth-title">{title}</h1>
        {notice && <p className="notice">{notice}</p>}
        <label>
          {mode === 'register' ? t.username : t.loginField}
          <input name="username" autoComplete="username" required value={username} onChange={(e) => setUsername(e.target.value)} />
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
