// Starts a real hearth server for a test file: a fresh data directory (SQLite), a free port
// on 127.0.0.1, and the binary from HEARTH_BIN (default: the cargo debug build).
//
// The binary embeds the client it was built with. HEARTH_WEB_E2E_DIST=<dir> (a `npm run
// build` output, e.g. `dist`) tests another one without rebuilding hearth: a front on the
// public port serves that directory's files and passes every other request (WebSockets
// included) to hearth, whose client pages (HTML answers outside its server paths) are
// replaced by the directory's index.html with hearth's own headers (its CSP included).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';

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

/** hearth's own paths (src/web.rs SERVER_PREFIXES): never the client's page. */
const SERVER_PREFIXES = ['/api', '/gateway', '/_hearth', '/.well-known'];
const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** A certificate and its private key (PEM). */
export interface Tls {
  cert: Buffer;
  key: Buffer;
}

/** The front described above: listens on `port`, passes to hearth on `upstream`; resolves
 *  to its closer. Without `dist` it only passes (the TLS front of `startFederation`); with
 *  `tls` it speaks HTTPS. */
function webFront(dist: string | undefined, port: number, upstream: number, tls?: Tls): Promise<() => Promise<void>> {
  const root = dist ? resolve(dist) : '';
  const index = dist ? readFileSync(join(root, 'index.html')) : Buffer.alloc(0);
  const fileOf = (path: string): string | null => {
    if (!dist || path === '/') return null;
    const f = normalize(join(root, decodeURIComponent(path)));
    if (!f.startsWith(root + '/')) return null;
    try {
      return statSync(f).isFile() ? f : null;
    } catch {
      return null;
    }
  };
  const pass = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const file = req.method === 'GET' || req.method === 'HEAD' ? fileOf(path) : null;
    if (file) {
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(req.method === 'HEAD' ? undefined : readFileSync(file));
      return;
    }
    const up = httpRequest({ host: '127.0.0.1', port: upstream, method: req.method, path: req.url, headers: req.headers }, (r) => {
      const clientPage =
        !!dist &&
        (req.method === 'GET' || req.method === 'HEAD') &&
        r.statusCode === 200 &&
        String(r.headers['content-type'] ?? '').startsWith('text/html') &&
        !SERVER_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`));
      if (!clientPage) {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
        return;
      }
      r.resume();
      const headers = { ...r.headers, 'content-length': String(index.length) };
      delete headers['etag'];
      res.writeHead(200, headers);
      res.end(req.method === 'HEAD' ? undefined : index);
    });
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  };
  const front = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, pass) : createHttpServer(pass);
  front.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
    const up = connect(upstream, '127.0.0.1', () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) up.write(head);
      socket.pipe(up).pipe(socket);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
    socket.on('close', () => up.destroy());
    up.on('close', () => socket.destroy());
  });
  return new Promise((ok, fail) => {
    front.once('error', fail);
    front.listen(port, '127.0.0.1', () =>
      ok(
        () =>
          new Promise<void>((done) => {
            front.closeAllConnections();
            front.close(() => done());
          }),
      ),
    );
  });
}

/**
 * Starts a server. `host` is the name the browser uses: `localhost` gives the server a public
 * URL `http://localhost:{port}` (WebAuthn needs a domain name as relying party id; it listens
 * on 127.0.0.1 either way). `tls` puts an HTTPS front on the public port (URL
 * `https://{host}:{port}`); `env` may then name the port through `{port}`
 * (`HEARTH_SERVER_NAME: 'a.localhost:{port}'`).
 */
export async function startHearth(env: Record<string, string> = {}, opts: { host?: string; tls?: Tls } = {}): Promise<Hearth> {
  const bin = binary();
  if (!existsSync(bin)) throw new Error(`no hearth binary at ${bin}: build it (cargo build --bin hearth) or set HEARTH_BIN`);
  const dir = mkdtempSync(join(tmpdir(), 'hearth-web-e2e-'));
  const dist = process.env.HEARTH_WEB_E2E_DIST;
  const port = await freePort();
  // With a front, hearth listens on a port of its own behind it.
  let inner = port;
  while ((dist || opts.tls) && inner === port) inner = await freePort();
  const closeFront = dist || opts.tls ? await webFront(dist, port, inner, opts.tls) : async () => {};
  const probe = `http://127.0.0.1:${inner}`;
  const url = `${opts.tls ? 'https' : 'http'}://${opts.host ?? '127.0.0.1'}:${port}`;
  const publicUrl: Record<string, string> = opts.host ? { HEARTH_ACCOUNT__PUBLIC_URL: url } : {};
  env = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.replaceAll('{port}', String(port))]));
  const log: string[] = [];

  const launch = async (): Promise<ChildProcess> => {
    const child = spawn(bin, ['serve'], {
      env: { ...process.env, ...publicUrl, ...env, HEARTH_LISTEN: `127.0.0.1:${inner}`, HEARTH_DATA_DIR: dir, HEARTH_LOG: 'warn' },
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
      await closeFront();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Two federating servers and what the browser needs to reach them. */
export interface Federation {
  a: Hearth;
  b: Hearth;
  /** The server names (`a.localhost:{port}`, `b.localhost:{port}`): the `server` of handles. */
  aName: string;
  bName: string;
  stop(): Promise<void>;
}

/**
 * Starts two federating servers, `a.localhost:{port}` and `b.localhost:{port}`, as
 * scripts/lib/two-servers.sh does but the way a server behind a TLS-terminating reverse proxy
 * is deployed: each one's public port is an HTTPS front (certificate for `a.localhost` or
 * `b.localhost`, issued by a throwaway openssl CA) that passes everything, the client API, the
 * gateway and the federation routes (`federation.listen` unset: they are on the main
 * listener), to hearth on its own loopback port. The server name is the public URL's host and
 * port, so an invite link `https://a.localhost:{port}/invite/CODE` names its server.
 * `*.localhost` is the loopback address (RFC 6761) for hearth and for Chromium alike.
 * Each server trusts the CA through its configuration (`federation.extra_ca_certs`), with
 * `federation.allow_private_addresses` for loopback; browsers must be given
 * `ignoreHTTPSErrors` (the CA is not theirs).
 */
export async function startFederation(env: Record<string, string> = {}): Promise<Federation> {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-web-e2e-ca-'));
  const openssl = (...args: string[]) => execFileSync(process.env.OPENSSL ?? 'openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-days', '2', '-subj', '/CN=Hearth e2e CA', '-keyout', 'ca.key', '-out', 'ca.pem',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  const certFor = (host: string): Tls => {
    openssl('req', ...ec, '-subj', `/CN=${host}`, '-keyout', `${host}.key`, '-out', `${host}.csr`);
    writeFileSync(join(dir, `${host}.ext`), ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth', `subjectAltName=DNS:${host}`].join('\n'));
    openssl('x509', '-req', '-in', `${host}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2',
      '-extfile', `${host}.ext`, '-out', `${host}.pem`);
    return { cert: readFileSync(join(dir, `${host}.pem`)), key: readFileSync(join(dir, `${host}.key`)) };
  };
  const start = (host: string) =>
    startHearth(
      {
        HEARTH_SERVER_NAME: `${host}:{port}`,
        HEARTH_FEDERATION__EXTRA_CA_CERTS: JSON.stringify([join(dir, 'ca.pem')]),
        HEARTH_FEDERATION__ALLOW_PRIVATE_ADDRESSES: 'true',
        ...env,
      },
      { host, tls: certFor(host) },
    );
  const started = await Promise.allSettled([start('a.localhost'), start('b.localhost')]);
  const [a, b] = started.map((r) => (r.status === 'fulfilled' ? r.value : null));
  if (!a || !b) {
    await Promise.all([a?.stop(), b?.stop()]);
    rmSync(dir, { recursive: true, force: true });
    const failed = started.find((r) => r.status === 'rejected');
    throw failed?.status === 'rejected' ? failed.reason : new Error('a server did not start');
  }
  return {
    a,
    b,
    aName: new URL(a.url).host,
    bName: new URL(b.url).host,
    async stop() {
      await Promise.all([a.stop(), b.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
