// Starts a real hearth server for a test file: a fresh data directory (SQLite), a free port
// on 127.0.0.1, and the binary from HEARTH_BIN (default: the cargo debug build).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface Hearth {
  url: string;
  /** A REST call to `/api/v10` (setting up a scene); throws on a non-2xx answer. */
  api<T>(method: string, path: string, body?: unknown, token?: string): Promise<T>;
  /** What the server has logged so far (stdout and stderr, `HEARTH_LOG=warn` unless `env` sets it). */
  log(): string;
  /** Stops the server, keeping its data directory. */
  halt(): Promise<void>;
  /** Starts the halted server again on the same port and data directory. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

function binary(): string {
  if (process.env.HEARTH_BIN) return process.env.HEARTH_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? resolve(import.meta.dirname, '../../target');
  return join(target, 'debug', 'hearth');
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => ok(port));
    });
  });
}

/**
 * Starts a server. `host` is the name the browser uses: `localhost` gives the server a public
 * URL `http://localhost:{port}` (WebAuthn needs a domain name as relying party id; it listens
 * on 127.0.0.1 either way).
 */
export async function startHearth(env: Record<string, string> = {}, opts: { host?: string } = {}): Promise<Hearth> {
  const bin = binary();
  if (!existsSync(bin)) throw new Error(`no hearth binary at ${bin}: build it (cargo build --bin hearth) or set HEARTH_BIN`);
  const dir = mkdtempSync(join(tmpdir(), 'hearth-web-e2e-'));
  const port = await freePort();
  const probe = `http://127.0.0.1:${port}`;
  const url = `http://${opts.host ?? '127.0.0.1'}:${port}`;
  const publicUrl: Record<string, string> = opts.host ? { HEARTH_ACCOUNT__PUBLIC_URL: url } : {};
  const log: string[] = [];

  const launch = async (): Promise<ChildProcess> => {
    const child = spawn(bin, ['serve'], {
      env: { ...process.env, ...publicUrl, ...env, HEARTH_LISTEN: `127.0.0.1:${port}`, HEARTH_DATA_DIR: dir, HEARTH_LOG: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => log.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => log.push(d.toString()));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`hearth exited (${child.exitCode}):\n${log.join('')}`);
      try {
        const res = await fetch(`${probe}/ready`);
        if (res.ok) return child;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`hearth did not become ready:\n${log.join('')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const halt = async (child: ChildProcess) => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };

  let child = await launch();
  return {
    url,
    async api<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
      const res = await fetch(`${probe}/api/v10${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      const text = await res.text();
      return (text ? JSON.parse(text) : undefined) as T;
    },
    log() {
      return log.join('');
    },
    async halt() {
      await halt(child);
    },
    async resume() {
      child = await launch();
    },
    async stop() {
      await halt(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
