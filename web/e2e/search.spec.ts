// Message search from the channel header: words and filters (from:, in:, has:), results only
// from channels the member may read, paging, a filter naming nobody refused with a reason, and
// a result's Jump opening the message (highlighted) in its channel.
import { expect, test } from '@playwright/test';
import { accessible } from './a11y';
import { logIn, password, register } from './people';
import { startHearth, type Hearth } from './server';

let hearth: Hearth;

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


test('search finds what the member may read, pages, filters and jumps', async ({ browser }) => {
  const olga = await register(hearth, 'olga');
  const mia = await register(hearth, 'mia');
  const guild = await hearth.api<{ id: string }>('POST', '/guilds', { name: 'Library' }, olga.token);
  const channels = await hearth.api<{ id: string; type: number }[]>('GET', `/guilds/${guild.id}/channels`, undefined, olga.token);
  const general = channels.find((c) => c.type === 0)?.id ?? '';
  const notes = await hearth.api<{ id: string }>('POST', `/guilds/${guild.id}/channels`, { name: 'notes', type: 0 }, olga.token);
  // A channel @everyone may not view: its messages never reach Mia's results.
  const secret = await hearth.api<{ id: string }>(
    'POST',
    `/guilds/${guild.id}/channels`,
    { name: 'staff', type: 0, permission_overwrites: [{ id: guild.id, type: 0, allow: '0', deny: String(1 << 10) }] },
    olga.token,
  );
  const invite = await hearth.api<{ code: string }>('POST', `/channels/${general}/invites`, {}, olga.token);
  await hearth.api('POST', `/invites/${invite.code}`, {}, mia.token);

  const first = await hearth.api<{ id: string }>('POST', `/channels/${general}/messages`, { content: 'the walrus said hello' }, olga.token);
  for (let i = 1; i <= 30; i++) await hearth.api('POST', `/channels/${general}/messages`, { content: `walrus fact ${i}` }, olga.token);
  await hearth.api('POST', `/channels/${notes.id}/messages`, { content: 'a walrus in the notes https://example.com/walrus' }, mia.token);
  await hearth.api('POST', `/channels/${secret.id}/messages`, { content: 'the secret walrus plan' }, olga.token);
  for (let i = 1; i <= 60; i++) await hearth.api('POST', `/channels/${general}/messages`, { content: `unrelated ${i}` }, olga.token);

  const page = await logIn(browser, hearth, `/channels/${guild.id}/${general}`, 'mia', password('mia'));
  await expect(page.getByRole('heading', { name: '# general' })).toBeVisible();
  const box = page.getByRole('search', { name: 'Search messages' }).getByRole('searchbox');
  const panel = page.getByRole('region', { name: 'Search results' });
  const results = panel.getByRole('list', { name: 'Search results' }).getByRole('listitem');

  // 32 matches Mia may read (the staff channel's is not among them): a first page of 25.
  await box.fill('walrus');
  await box.press('Enter');
  await expect(panel.getByRole('heading', { name: '32 results for “walrus”' })).toBeVisible();
  await expect(results).toHaveCount(25);
  await expect(results.first()).toContainText('#notes');
  await expect(panel.getByText('secret walrus')).toHaveCount(0);
  await accessible(page, 'search results');
  await panel.getByRole('button', { name: 'More results' }).click();
  await expect(results).toHaveCount(32);
  await expect(panel.getByRole('button', { name: 'More results' })).toHaveCount(0);

  // Filters.
  await box.fill('walrus from:mia has:link');
  await box.press('Enter');
  await expect(panel.getByRole('heading', { name: /^1 result for/ })).toBeVisible();
  await expect(results).toHaveText([/a walrus in the notes/]);
  await box.fill('walrus in:general');
  await box.press('Enter');
  await expect(panel.getByRole('heading', { name: /^31 results for/ })).toBeVisible();
  await box.fill('from:nobody');
  await box.press('Enter');
  await expect(panel.getByRole('alert')).toHaveText('No member named “nobody”.');

  // Jump: the first walrus message, far up the history, shown highlighted.
  await box.fill('"said hello"');
  await box.press('Enter');
  await expect(results).toHaveCount(1);
  await results.first().getByRole('button', { name: /Jump to the message/ }).click();
  await expect(page).toHaveURL(new RegExp(`/channels/${guild.id}/${general}/${first.id}$`));
  const target = page.getByRole('list', { name: 'Messages' }).locator(`li[data-message-id="${first.id}"]`);
  await expect(target).toBeVisible();
  await expect(target).toHaveClass(/highlight/);
  await page.keyboard.press('Escape');
  await page.screenshot({ path: 'test-results/screens/search.png' });
});
