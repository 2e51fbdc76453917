// Passive guilds (spec/gateway.md): with a threshold of one member, a server bob shares with
// alice is passive while bob looks at another one. The client asks for passive guilds at
// IDENTIFY; a plain message there still marks the server and channel unread (PASSIVE_UPDATE_V1),
// a mention still counts; opening the server subscribes to it (op 37), the channel's messages
// are fetched, and new ones arrive live.
import { expect, test, type Browser, type Page } from '@playwright/test';
import { startHearth, type Hearth } from './server';

let hearth: Hearth;

test.beforeAll(async () => {
  hearth = await startHearth({ HEARTH_GATEWAY__PASSIVE_GUILD_THRESHOLD: '1' });
});

test.afterAll(async () => {
  await hearth?.stop();
});

const password = (name: string) => `${name}-correct-horse-battery`;

async function register(name: string): Promise<{ token: string; id: string }> {
  const { token } = await hearth.api<{ token: string }>('POST', '/auth/register', { username: name, password: password(name) });
  const me = await hearth.api<{ id: string }>('GET', '/users/@me', undefined, token);
  return { token, id: me.id };
}

interface Frame {
  op: number;
  d: { capabilities?: number; subscriptions?: Record<string, unknown> } | null;
}

async function tab(browser: Browser, path: string, name: string, sent: Frame[]): Promise<Page> {
  const context = await browser.newContext({ baseURL: hearth.url });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  // What the client sends on the gateway (its frames are plain JSON text).
  page.on('websocket', (ws) =>
    ws.on('framesent', (f) => {
      if (typeof f.payload === 'string') sent.push(JSON.parse(f.payload) as Frame);
    }),
  );
  await page.goto(path);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('Username or email').fill(name);
  await page.getByLabel('Password').fill(password(name));
  await page.getByRole('button', { name: 'Log in' }).click();
  return page;
}

async function textChannel(guild: string, token: string): Promise<string> {
  const channels = await hearth.api<{ id: string; type: number }[]>('GET', `/guilds/${guild}/channels`, undefined, token);
  return channels.find((c) => c.type === 0)?.id ?? '';
}

test('a passive server shows unread channels and mentions; opening it subscribes', async ({ browser }) => {
  const alice = await register('alice');
  const bob = await register('bob');
  const big = await hearth.api<{ id: string }>('POST', '/guilds', { name: 'Big' }, alice.token);
  const general = await textChannel(big.id, alice.token);
  const news = (await hearth.api<{ id: string }>('POST', `/guilds/${big.id}/channels`, { name: 'news' }, alice.token)).id;
  const invite = await hearth.api<{ code: string }>('POST', `/channels/${general}/invites`, {}, alice.token);
  await hearth.api('POST', `/invites/${invite.code}`, {}, bob.token);
  // Bob alone: one member, never passive.
  const home = await hearth.api<{ id: string }>('POST', '/guilds', { name: 'Home' }, bob.token);
  const homeGeneral = await textChannel(home.id, bob.token);

  const sent: Frame[] = [];
  const page = await tab(browser, `/channels/${home.id}/${homeGeneral}`, 'bob', sent);
  await expect(page.getByRole('heading', { name: '# general' })).toBeVisible();
  await expect.poll(() => sent.some((f) => f.op === 2 && f.d?.capabilities === 2048)).toBe(true);
  await expect.poll(() => sent.some((f) => f.op === 37 && home.id in (f.d?.subscriptions ?? {}))).toBe(true);
  const servers = page.getByRole('navigation', { name: 'Servers' });

  // A plain message in Big (passive): the server turns unread.
  await hearth.api('POST', `/channels/${news}/messages`, { content: 'quiet news' }, alice.token);
  await expect(servers.getByRole('link', { name: 'Big, unread' })).toBeVisible();
  // A mention still arrives as a message: a mention badge.
  await hearth.api('POST', `/channels/${general}/messages`, { content: `hey <@${bob.id}>` }, alice.token);
  await expect(servers.getByRole('link', { name: 'Big, 1 mention' })).toBeVisible();

  // Bob opens Big: the client subscribes to it; #news is unread and shows the message.
  await servers.getByRole('link', { name: 'Big, 1 mention' }).click();
  await expect(page.getByRole('heading', { name: '# general' })).toBeVisible();
  await expect.poll(() => sent.some((f) => f.op === 37 && big.id in (f.d?.subscriptions ?? {}))).toBe(true);
  await expect(page.getByRole('link', { name: '# news, unread' })).toBeVisible();
  await page.getByRole('link', { name: '# news, unread' }).click();
  await expect(page.getByRole('heading', { name: '# news' })).toBeVisible();
  await expect(page.getByText('quiet news')).toBeVisible();
  // Active now: a new message shows live.
  await hearth.api('POST', `/channels/${news}/messages`, { content: 'live news' }, alice.token);
  await expect(page.getByRole('list', { name: 'Messages' }).getByText('live news')).toBeVisible();
});
