// Creating a server from a template makes its categories, channels and roles; categories
// collapse and stay collapsed across a reload; Alt+Down moves to the next channel. Also a
// screenshot at 360 px wide.
import { expect, test } from '@playwright/test';
import { startHearth, type Hearth } from './server';

let hearth: Hearth;

test.beforeAll(async () => {
  hearth = await startHearth();
});

test.afterAll(async () => {
  await hearth?.stop();
});

test('a server from the study-group template', async ({ page }) => {
  await page.goto(hearth.url);
  await page.getByLabel('Username').fill('frank');
  await page.getByLabel('Password').fill('frank-correct-horse');
  await page.getByRole('button', { name: 'Create an account' }).click();
  await page.getByRole('button', { name: 'Create a server' }).click();
  await page.getByLabel('Server name').fill('Study Hall');
  await page.getByLabel(/^Study group/).check();
  await page.getByRole('button', { name: 'Create', exact: true }).click();

  const nav = page.getByRole('navigation', { name: 'Channels' });
  await expect(nav.getByRole('button', { name: /^[▾▸] Information$/ })).toBeVisible();
  await expect(nav.getByRole('button', { name: /^[▾▸] Study Rooms$/ })).toBeVisible();
  for (const name of ['notes-resources', 'session-planning', 'general', 'homework-help']) {
    await expect(nav.getByRole('link', { name: `# ${name}` })).toBeVisible();
  }
  const roles = await page.evaluate(async () => {
    const tokens = JSON.parse(sessionStorage.getItem('hearth.tokens') ?? '{}') as { token: string };
    const guild = location.pathname.split('/')[2];
    const res = await fetch(`/api/v10/guilds/${guild}/roles`, { headers: { Authorization: `Bearer ${tokens.token}` } });
    return ((await res.json()) as { name: string }[]).map((r) => r.name);
  });
  expect(roles).toContain('Tutor');

  // Collapse "Information": its channels hide, and stay hidden after a reload.
  await nav.getByRole('link', { name: '# general' }).click();
  await expect(page.getByRole('heading', { name: '# general' })).toBeVisible();
  await nav.getByRole('button', { name: /^[▾▸] Information$/ }).click();
  await expect(nav.getByRole('link', { name: '# notes-resources' })).toHaveCount(0);
  await page.reload();
  await expect(nav.getByRole('link', { name: '# general' })).toBeVisible();
  await expect(nav.getByRole('link', { name: '# notes-resources' })).toHaveCount(0);

  // Alt+Down: the next channel.
  await page.getByLabel('Message #general').focus();
  await page.keyboard.press('Alt+ArrowDown');
  await expect(page.getByRole('heading', { name: '# homework-help' })).toBeVisible();

  await page.setViewportSize({ width: 360, height: 740 });
  await page.screenshot({ path: 'test-results/screens/narrow-360.png' });
});
