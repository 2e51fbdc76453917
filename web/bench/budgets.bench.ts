// The web client's budgets, measured against a real hearth in Chromium (web/README.md
// "Budgets"; the figures: initial JavaScript ≤ 250 KiB compressed, the app shell's
// first render on loopback ≤ 1 s, a channel of 10,000 messages scrolling without jank, 50
// guilds of 100 channels each staying responsive). A measuring script: it prints figures
// and writes test-results/budgets.json; it fails only when the app does not work (a screen
// that never shows), never on a time. Run it with `npm run bench:budgets` (see
// bench/playwright.config.ts); BENCHMARKS.md "Web client budgets" has real runs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { expect, test, type Browser, type Page } from '@playwright/test';
import { startHearth, type Hearth } from '../e2e/server';

const TINY = process.env.BUDGET_SCALE === 'tiny';
const SCALE = TINY
  ? { messages: 300, guilds: 3, channels: 10, reloads: 3, history: 200, switches: 3 }
  : { messages: 10_000, guilds: 50, channels: 100, reloads: 7, history: 2_000, switches: 10 };
const BUDGET = { initialJsKiB: 250, shellMs: 1000, frameMs: 50 };
const PASSWORD = 'budget-correct-horse-battery';

let hearth: Hearth;
const figures: Record<string, unknown> = { scale: TINY ? 'tiny' : 'full', budget: BUDGET };

test.beforeAll(async () => {
  hearth = await startHearth({
    HEARTH_RATE_LIMITS__MESSAGE_CREATE__LIMIT: '1000000',
    HEARTH_RATE_LIMITS__GLOBAL_PER_SECOND: '1000000',
    HEARTH_RATE_LIMITS__DEFAULT_ROUTE__LIMIT: '1000000',
  });
});

test.afterAll(async () => {
  await hearth?.stop();
  mkdirSync('test-results', { recursive: true });
  writeFileSync(process.env.BUDGET_OUT ?? 'test-results/budgets.json', JSON.stringify(figures, null, 2));
  console.warn(`budgets: ${JSON.stringify(figures, null, 2)}`);
});

/** `count` calls of `f` with at most `width` in flight. */
async function pool(width: number, count: number, f: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await f(next++);
    }),
  );
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0) : 0;
}
const round = (x: number) => Math.round(x * 10) / 10;
const summary = (xs: number[]) => ({ n: xs.length, median: round(quantile(xs, 0.5)), p95: round(quantile(xs, 0.95)), max: round(Math.max(0, ...xs)) });

/** The bytes of `path` as they travel (no decoding), with the encodings a browser offers. */
function transferred(path: string): Promise<{ bytes: number; encoding: string; body: string }> {
  return new Promise((ok, fail) => {
    const req = httpRequest(`${hearth.url}${path}`, { headers: { 'accept-encoding': 'gzip, deflate, br, zstd' } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const body = Buffer.concat(parts);
        ok({ bytes: body.length, encoding: String(res.headers['content-encoding'] ?? 'identity'), body: body.toString('latin1') });
      });
      res.on('error', fail);
    });
    req.on('error', fail);
    req.end();
  });
}

async function register(name: string): Promise<string> {
  const { token } = await hearth.api<{ token: string }>('POST', '/auth/register', { username: name, password: PASSWORD });
  return token;
}

/** A tab logged in as `name` on `path`, recording when the app shell first shows
 *  (`window.__shellAt`, ms since navigation start) and every long animation frame. */
async function tab(browser: Browser, name: string, path: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: hearth.url });
  await context.addInitScript(() => {
    const w = window as unknown as { __shellAt?: number; __loginAt?: number; __loaf: number[] };
    w.__loaf = [];
    try {
      new PerformanceObserver((l) => l.getEntries().forEach((e) => w.__loaf.push(e.duration))).observe({ type: 'long-animation-frame' });
    } catch {
      // Without the Long Animation Frames API nothing is recorded.
    }
    const check = () => {
      if (w.__loginAt === undefined && document.querySelector('form button[type="submit"]')) w.__loginAt = performance.now();
      if (w.__shellAt === undefined && document.querySelector('nav[aria-label="Servers"]') && document.querySelector('ol[aria-label="Messages"] > li')) {
        w.__shellAt = performance.now();
      }
    };
    new MutationObserver(check).observe(document, { subtree: true, childList: true });
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  await page.goto(path);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('Username or email').fill(name);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.locator('ol[aria-label="Messages"] > li').first()).toBeVisible();
  return page;
}

/** Reloads `page` `n` times: when the shell showed after each, in ms since navigation start. */
async function shellTimes(page: Page, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    await page.reload();
    await expect(page.locator('ol[aria-label="Messages"] > li').first()).toBeVisible();
    out.push(await page.evaluate(() => (window as unknown as { __shellAt: number }).__shellAt));
  }
  return out;
}

/** Scrolls the message list by `px` per animation frame for `steps` frames (negative: up):
 *  the frame intervals, the long animation frames meanwhile and the rows in the document. */
async function scrollFrames(page: Page, steps: number, px: number) {
  return page.evaluate(
    async ({ steps, px }) => {
      const w = window as unknown as { __loaf: number[] };
      const el = document.querySelector<HTMLElement>('.scroller');
      if (!el) throw new Error('no message scroller');
      const loafBefore = w.__loaf.length;
      const frame = () => new Promise<number>((r) => requestAnimationFrame(r));
      const deltas: number[] = [];
      let last = await frame();
      let rows = 0;
      for (let i = 0; i < steps; i++) {
        el.scrollTop += px;
        const now = await frame();
        deltas.push(now - last);
        last = now;
        rows = Math.max(rows, document.querySelectorAll('ol[aria-label="Messages"] > li').length);
      }
      return { deltas, loaf: w.__loaf.slice(loafBefore), maxRows: rows };
    },
    { steps, px },
  );
}

test('bundle: initial JavaScript as it travels', async () => {
  const index = await transferred('/');
  const scripts = [...index.body.matchAll(/<script[^>]*\ssrc="([^"]+)"/g), ...index.body.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g)].map((m) => m[1] ?? '');
  expect(scripts.length).toBeGreaterThan(0);
  const files = await Promise.all(scripts.map(async (s) => ({ path: s, ...(await transferred(s)) })));
  const kib = files.reduce((n, f) => n + f.bytes, 0) / 1024;
  figures.initialJs = { files: files.map((f) => ({ path: f.path, kib: round(f.bytes / 1024), encoding: f.encoding })), totalKiB: round(kib), budgetKiB: BUDGET.initialJsKiB };
});

test('a channel of many messages: first render, virtualized scrolling, history, a jump', async ({ browser }) => {
  const token = await register('reader');
  const guild = await hearth.api<{ id: string }>('POST', '/guilds', { name: 'Archive' }, token);
  const channels = await hearth.api<{ id: string; type: number }[]>('GET', `/guilds/${guild.id}/channels`, undefined, token);
  const general = channels.find((c) => c.type === 0)?.id ?? '';
  const ids: string[] = new Array(SCALE.messages);
  const seedStart = Date.now();
  // Sent in order (one writer per tenth), so ids grow with the index within each writer's run.
  await pool(8, SCALE.messages, async (i) => {
    const m = await hearth.api<{ id: string }>('POST', `/channels/${general}/messages`, { content: `message ${i + 1}: ${'lorem ipsum '.repeat(1 + (i % 7))}` }, token);
    ids[i] = m.id;
  });
  ids.sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  figures.seed = { messages: SCALE.messages, seconds: round((Date.now() - seedStart) / 1000) };

  const page = await tab(browser, 'reader', `/channels/${guild.id}/${general}`);
  const shell = await shellTimes(page, SCALE.reloads);
  const login = await page.evaluate(() => (window as unknown as { __loginAt?: number }).__loginAt ?? null);

  // Scrolling up from the newest message: older pages load as the top comes near.
  const up = await scrollFrames(page, 300, -80);
  // Loading history up to `SCALE.history` messages back, as fast as the top is reached.
  const target = ids[Math.max(0, ids.length - SCALE.history)] ?? '';
  const historyStart = Date.now();
  // Loaded that far back when the oldest row at the top is the target or older (the rows are
  // virtualized: the target itself may be out of the document by then).
  await expect(async () => {
    const oldest = await page.locator('.scroller').evaluate((el) => {
      el.scrollTo(0, 0);
      return document.querySelector('ol[aria-label="Messages"] > li[data-message-id]')?.getAttribute('data-message-id') ?? null;
    });
    expect(oldest !== null && BigInt(oldest) <= BigInt(target)).toBe(true);
  }).toPass({ timeout: 10 * 60_000, intervals: [100] });
  const historySeconds = (Date.now() - historyStart) / 1000;
  // Scrolling down through what is loaded: rendering only, no loading.
  const down = await scrollFrames(page, 600, 80);

  // A jump to one of the first messages (a message link), with the window around it loaded.
  const early = ids[4] ?? '';
  const jumpMs: number | null = await page.evaluate(
    async ({ path, id }) => {
      const t0 = performance.now();
      history.pushState(null, '', path);
      dispatchEvent(new PopStateEvent('popstate'));
      while (!document.querySelector(`li.highlight[data-message-id="${id}"]`)) {
        if (performance.now() - t0 > 30_000) throw new Error('the jump never showed its message');
        await new Promise((r) => requestAnimationFrame(r));
      }
      return performance.now() - t0;
    },
    { path: `/channels/${guild.id}/${general}/${early}`, id: early },
  ).catch(() => null); // a client without message links (a "before" run) records none

  figures.channel = {
    messages: SCALE.messages,
    loginScreenMs: login === null ? null : round(login),
    shellFirstRenderMs: summary(shell),
    scrollUpWhileLoading: { frameMs: summary(up.deltas), longFrames: up.loaf.filter((d) => d > BUDGET.frameMs).length, maxRowsInDocument: up.maxRows },
    history: { messages: SCALE.history, seconds: round(historySeconds) },
    scrollDownLoaded: { frameMs: summary(down.deltas), longFrames: down.loaf.filter((d) => d > BUDGET.frameMs).length, maxRowsInDocument: down.maxRows },
    jumpToFirstMessagesMs: jumpMs === null ? null : round(jumpMs),
  };
  // Virtualized: the document holds a window of rows, not the history; the jump showed.
  expect(down.maxRows).toBeLessThan(SCALE.history);
  expect(jumpMs).not.toBeNull();
  await expect(page.locator(`li.highlight[data-message-id="${early}"]`)).toBeVisible();
});

test('many guilds of many channels: first render, switching guilds, the quick switcher', async ({ browser }) => {
  const token = await register('member');
  const seedStart = Date.now();
  const guilds: { id: string; name: string }[] = [];
  for (let g = 0; g < SCALE.guilds; g++) {
    guilds.push(await hearth.api<{ id: string; name: string }>('POST', '/guilds', { name: `Guild ${g + 1}` }, token));
  }
  await pool(8, SCALE.guilds * SCALE.channels, async (i) => {
    const g = guilds[Math.floor(i / SCALE.channels)];
    await hearth.api('POST', `/guilds/${g?.id}/channels`, { name: `channel-${(i % SCALE.channels) + 1}`, type: 0 }, token);
  });
  const first = guilds[0];
  const channels = await hearth.api<{ id: string; type: number }[]>('GET', `/guilds/${first?.id}/channels`, undefined, token);
  await hearth.api('POST', `/channels/${channels[0]?.id}/messages`, { content: 'hello' }, token);
  figures.seedGuilds = { guilds: SCALE.guilds, channelsEach: SCALE.channels, seconds: round((Date.now() - seedStart) / 1000) };

  const page = await tab(browser, 'member', `/channels/${first?.id}/${channels[0]?.id}`);
  const shell = await shellTimes(page, SCALE.reloads);

  // Switching guilds: from the click to the guild's channel list showing its last channel.
  const switches: number[] = [];
  const loafBefore = await page.evaluate(() => (window as unknown as { __loaf: number[] }).__loaf.length);
  for (let k = 1; k <= SCALE.switches; k++) {
    const g = guilds[Math.floor((k * (SCALE.guilds - 1)) / SCALE.switches)];
    if (!g) continue;
    switches.push(
      await page.evaluate(
        async ({ name, last }) => {
          const link = document.querySelector<HTMLElement>(`nav[aria-label="Servers"] a[aria-label="${name}"]`);
          if (!link) throw new Error(`no guild ${name}`);
          const t0 = performance.now();
          link.click();
          const shown = () =>
            Array.from(document.querySelectorAll('nav[aria-label="Channels"] a')).some((a) => a.textContent?.includes(last)) &&
            document.querySelector('ol[aria-label="Messages"]');
          while (!shown()) {
            if (performance.now() - t0 > 30_000) throw new Error(`guild ${name} never showed`);
            await new Promise((r) => requestAnimationFrame(r));
          }
          return performance.now() - t0;
        },
        { name: g.name, last: `channel-${SCALE.channels}` },
      ),
    );
  }
  const loaf = await page.evaluate((n) => (window as unknown as { __loaf: number[] }).__loaf.slice(n), loafBefore);

  // The quick switcher over every channel: Ctrl+K, a query, its best match (includes
  // Playwright's round trips).
  const t0 = await page.evaluate(() => performance.now());
  await page.keyboard.press('Control+k');
  await page.keyboard.type(`channel-${SCALE.channels - 1}`);
  await expect(page.getByRole('option').first()).toContainText(`channel-${SCALE.channels - 1}`);
  const switcherMs = (await page.evaluate(() => performance.now())) - t0;

  figures.guilds = {
    guilds: SCALE.guilds,
    channelsEach: SCALE.channels,
    shellFirstRenderMs: summary(shell),
    guildSwitchMs: summary(switches),
    longFramesWhileSwitching: loaf.filter((d) => d > BUDGET.frameMs).length,
    quickSwitcherMs: round(switcherMs),
  };
});
