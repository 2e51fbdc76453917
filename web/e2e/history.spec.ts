// Message history: the newest page first, older pages as the person scrolls up, until the
// beginning of the channel; the order stays right, nothing is shown twice, and the list is
// virtualized (the document never holds the whole history).
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

test('scrolling up loads older messages until the beginning', async ({ page }) => {
  const password = 'carol-correct-horse-battery';
  const { token } = await hearth.api<{ token: string }>('POST', '/auth/register', { username: 'carol', password });
  const guild = await hearth.api<{ id: string }>('POST', '/guilds', { name: 'Archive' }, token);
  const channels = await hearth.api<{ id: string; type: number }[]>('GET', `/guilds/${guild.id}/channels`, undefined, token);
  const general = channels.find((c) => c.type === 0);
  if (!general) throw new Error('no text channel');
  for (let i = 1; i <= TOTAL; i++) {
    await hearth.api('POST', `/channels/${general.id}/messages`, { content: `history ${i}` }, token);
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
  // (The last page may land just after a scroll: the top is reached again until both show.)
  await expect(async () => {
    await scroller.evaluate((el) => el.scrollTo(0, 0));
    await expect(beginning).toBeVisible({ timeout: 1000 });
    await expect(list.getByText('history 1', { exact: true })).toBeAttached({ timeout: 1000 });
  }).toPass({ timeout: 20_000 });

  // The list is virtualized: the document holds the rows near the viewport only. Reading it
  // from the top down, screen by screen, gives every message once and in order.
  const seen = new Map<string, string>();
  let rowsInDocument = 0;
  for (let screen = 0; screen < 100; screen++) {
    const rows = await list
      .locator('li[data-message-id]')
      .evaluateAll((ls) => ls.map((l) => [l.getAttribute('data-message-id') ?? '', l.querySelector('.markdown')?.textContent?.trim() ?? ''] as const));
    const ids = rows.map(([id]) => BigInt(id));
    expect(ids, 'rows in the document are in order').toEqual([...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    rowsInDocument = Math.max(rowsInDocument, rows.length);
    for (const [id, text] of rows) seen.set(id, text);
    const atEnd = await scroller.evaluate((el) => {
      const end = el.scrollTop + el.clientHeight >= el.scrollHeight - 2;
      el.scrollBy(0, el.clientHeight * 0.8);
      return end;
    });
    if (atEnd) break;
  }
  const texts = [...seen.entries()].sort(([a], [b]) => (BigInt(a) < BigInt(b) ? -1 : 1)).map(([, text]) => text);
  expect(texts).toEqual(Array.from({ length: TOTAL }, (_, i) => `history ${i + 1}`));
  expect(rowsInDocument).toBeLessThan(TOTAL);
});
