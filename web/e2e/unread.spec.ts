// Read states kept by the server: bob, in two tabs (two sessions), sees a channel he is not
// viewing turn unread with a mention badge; reading it in one tab clears it live in the other
// (MESSAGE_ACK), and after a reload the state comes back from READY.
import { expect, test, type Browser, type Page } from '@playwright/test';
import { startHearth, type Hearth } from './server';

let hearth: Hearth;

test.beforeAll(async () => {
  hearth = await startHearth();
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

async function tab(browser: Browser, path: string, name: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: hearth.url });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  await page.goto(path);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('Username or email').fill(name);
  await page.getByLabel('Password').fill(password(name));
  await page.getByRole('button', { name: 'Log in' }).click();
  return page;
}

test('unread channels and mentions follow read states across sessions and reloads', async ({ browser }) => {
  const alice = await register('alice');
  const bob = await register('bob');
  const guild = await hearth.api<{ id: string }>('POST', '/guilds', { name: 'Club' }, alice.token);
  const channels = await hearth.api<{ id: string; type: number }[]>('GET', `/guilds/${guild.id}/channels`, undefined, alice.token);
  const general = channels.find((c) => c.type === 0)?.id ?? '';
  const news = (await hearth.api<{ id: string }>('POST', `/guilds/${guild.id}/channels`, { name: 'news' }, alice.token)).id;
  const invite = await hearth.api<{ code: string }>('POST', `/channels/${general}/invites`, {}, alice.token);
  await hearth.api('POST', `/invites/${invite.code}`, {}, bob.token);

  // Bob has two tabs on #general.
  const one = await tab(browser, `/channels/${guild.id}/${general}`, 'bob');
  const two = await tab(browser, `/channels/${guild.id}/${general}`, 'bob');
  for (const p of [one, two]) await expect(p.getByRole('heading', { name: '# general' })).toBeVisible();

  // Alice mentions bob in #news: both tabs show it unread with one mention, on the server icon too.
  await hearth.api('POST', `/channels/${news}/messages`, { content: `news for <@${bob.id}>` }, alice.token);
  for (const p of [one, two]) {
    await expect(p.getByRole('link', { name: '# news, 1 mention' })).toBeVisible();
    await expect(p.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: 'Club, 1 mention' })).toBeVisible();
  }

  // Bob reads #news in the first tab: the second tab's marker goes live (MESSAGE_ACK).
  await one.getByRole('link', { name: '# news, 1 mention' }).click();
  await expect(one.getByRole('heading', { name: '# news' })).toBeVisible();
  await expect(two.getByRole('link', { name: '# news', exact: true })).toBeVisible();
  await expect(two.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: 'Club', exact: true })).toBeVisible();

  // After a reload the second tab still shows #news read (READY's read state).
  await two.reload();
  await expect(two.getByRole('heading', { name: '# general' })).toBeVisible();
  await expect(two.getByRole('link', { name: '# news', exact: true })).toBeVisible();

  // A plain message in #news while bob is elsewhere: unread without a badge, also after a reload.
  await one.getByRole('link', { name: '# general' }).click();
  await expect(one.getByRole('heading', { name: '# general' })).toBeVisible();
  await hearth.api('POST', `/channels/${news}/messages`, { content: 'more news' }, alice.token);
  await expect(two.getByRole('link', { name: '# news, unread' })).toBeVisible();
  await two.reload();
  await expect(two.getByRole('heading', { name: '# general' })).toBeVisible();
  await expect(two.getByRole('link', { name: '# news, unread' })).toBeVisible();
});
