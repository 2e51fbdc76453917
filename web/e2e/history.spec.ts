// Message history: the newest page first, older pages as the person scrolls up, until the
// beginning of the channel; the order stays right and nothing is shown twice.
import { expect, test } from '@playwright/test';
import { startHearth, type Hearth } from './server';

let hearth: Hearth;
const TOTAL = 130;

test.beforeAll(async () => {
  hearth = await startHearth({
    HEARTH_RATE_LIMITS__MESSAGE_CREATE__LIMIT: '100000',
    HEARTH_RATE_LIMITS__GLOBAL_PER_SECOND: '100000',
    HEARTH_RATE_LIMITS__DEFAULT_ROUTE__LIMIT: '100000',
  });
});

test.afterAll(async () => {
  await hearth?.stop();
});

async function api<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const res = await fetch(`${hearth.url}/api/v10${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

test('scrolling up loads older messages until the beginning', async ({ page }) => {
  const password = 'carol-correct-horse-battery';
  const { token } = await api<{ token: string }>('POST', '/auth/register', { username: 'carol', password });
  const guild = await api<{ id: string }>('POST', '/guilds', { name: 'Archive' }, token);
  const channels = await api<{ id: string; type: number }[]>('GET', `/guilds/${guild.id}/channels`, undefined, token);
  const general = channels.find((c) => c.type === 0);
  if (!general) throw new Error('no text channel');
  for (let i = 1; i <= TOTAL; i++) {
    await api('POST', `/channels/${general.id}/messages`, { content: `history ${i}` }, token);
  }

  await page.goto(`${hearth.url}/channels/${guild.id}/${general.id}`);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('Username or email').fill('carol');
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();

  const list = page.getByRole('list', { name: 'Messages' });
  await expect(list.getByText(`history ${TOTAL}`, { exact: true })).toBeVisible();
  // Only the newest page is loaded at first.
  await expect(list.getByText('history 1', { exact: true })).toHaveCount(0);

  // Scroll to the top until the channel's beginning shows.
  const scroller = page.locator('.scroller');
  const beginning = page.getByText('This is the beginning of #general.');
  await expect(async () => {
    await scroller.evaluate((el) => el.scrollTo(0, 0));
    await expect(beginning).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 20_000 });
  await expect(list.getByText('history 1', { exact: true })).toBeAttached();

  const texts = (await list.locator('.markdown').allTextContents()).map((s) => s.trim());
  expect(texts).toEqual(Array.from({ length: TOTAL }, (_, i) => `history ${i + 1}`));
});
