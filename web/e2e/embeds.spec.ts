// Rich embeds and highlighted code in the browser: a webhook posts an embed with hostile
// content (HTML in the title, `javascript:` links, an image from another origin) and the open
// client shows its title, description and fields as text, with no script run, no unsafe link
// and the image as a link (the CSP allows no foreign images); a code block with a language is
// highlighted once highlight.js (its own chunk, not loaded at start) arrives. Both themes pass
// axe.
import { expect, test, type Page } from '@playwright/test';
import { accessible } from './a11y';
import { logIn, password, register } from './people';
import { startHearth, type Hearth } from './server';

let hearth: Hearth;

test.beforeAll(async () => {
  hearth = await startHearth();
});

test.afterAll(async () => {
  await hearth?.stop();
});

const messages = (page: Page) => page.getByRole('list', { name: 'Messages', exact: true });

const HOSTILE_TITLE = 'Deploy <img src=x onerror="window.pwned=1"> <b>done</b>';

test('a webhook’s embed shows safely; a code block is highlighted', async ({ browser }) => {
  const owner = await register(hearth, 'ezra');
  const guild = await hearth.api<{ id: string }>('POST', '/guilds', { name: 'Embeds' }, owner.token);
  const channels = await hearth.api<{ id: string; type: number }[]>('GET', `/guilds/${guild.id}/channels`, undefined, owner.token);
  const general = channels.find((c) => c.type === 0);
  if (!general) throw new Error('no text channel');
  const hook = await hearth.api<{ id: string; token: string }>('POST', `/channels/${general.id}/webhooks`, { name: 'CI' }, owner.token);

  const page = await logIn(browser, hearth, `/channels/${guild.id}/${general.id}`, 'ezra', password('ezra'));
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  const scripts: string[] = [];
  page.on('request', (r) => {
    if (r.resourceType() === 'script') scripts.push(r.url());
  });
  await expect(page.getByRole('heading', { name: '# general' })).toBeVisible();
  // highlight.js is not part of the start.
  expect(scripts.filter((u) => /\/assets\/common-/.test(u))).toEqual([]);

  const embed = {
    title: HOSTILE_TITLE,
    url: 'javascript:window.pwned=2',
    description: 'All **checks** passed. <script>window.pwned=3</script> [details](javascript:window.pwned=4)',
    color: 0x2e7d32,
    author: { name: 'Build bot', url: 'https://ci.example/runs/7' },
    fields: [
      { name: 'Branch', value: '`main`', inline: true },
      { name: 'Duration', value: '42 s', inline: true },
      { name: 'Changes', value: '3 files', inline: false },
    ],
    image: { url: 'https://images.example/screenshot.png' },
    footer: { text: 'hearth-ci' },
    timestamp: '2026-01-02T03:04:05.000Z',
  };
  const sent = await hearth.api<{ id: string; embeds: { title: string }[] }>('POST', `/webhooks/${hook.id}/${hook.token}?wait=true`, {
    embeds: [embed],
  });
  expect(sent.embeds.map((e) => e.title)).toEqual([HOSTILE_TITLE]);
  // The server keeps the embed as sent; what the client makes safe is up to the client.
  const stored = await hearth.api<{ id: string; embeds: { title: string; url: string }[] }[]>(
    'GET',
    `/channels/${general.id}/messages?limit=5`,
    undefined,
    owner.token,
  );
  expect(stored.find((m) => m.id === sent.id)?.embeds[0]).toMatchObject({ title: HOSTILE_TITLE, url: embed.url });

  const card = messages(page).getByRole('article', { name: `Embed: ${HOSTILE_TITLE}` });
  await expect(card).toBeVisible();
  // The title is its text, not a link (its URL was javascript:), and no element came of its HTML.
  await expect(card.getByText(HOSTILE_TITLE, { exact: true })).toBeVisible();
  await expect(card.locator('img, b, script')).toHaveCount(0);
  await expect(card.getByRole('link', { name: HOSTILE_TITLE })).toHaveCount(0);
  // The description through the markdown renderer; its javascript: link is no link.
  await expect(card.locator('strong').filter({ hasText: 'checks' })).toBeVisible();
  await expect(card.getByText(/^All checks passed\./)).toBeVisible();
  // Fields side by side (inline) and on their own row.
  const terms = card.getByRole('term');
  await expect(terms).toHaveText(['Branch', 'Duration', 'Changes']);
  await expect(card.getByRole('definition')).toHaveText(['main', '42 s', '3 files']);
  const [branch, duration, changes] = await Promise.all(
    ['Branch', 'Duration', 'Changes'].map((n) => card.getByRole('term').filter({ hasText: n }).boundingBox()),
  );
  expect(branch?.y).toBe(duration?.y);
  expect(duration?.x ?? 0).toBeGreaterThan(branch?.x ?? 0);
  expect(changes?.y ?? 0).toBeGreaterThan(branch?.y ?? 0);
  // Links: http(s) only, each opening apart with noopener noreferrer.
  const author = card.getByRole('link', { name: 'Build bot' });
  await expect(author).toHaveAttribute('href', 'https://ci.example/runs/7');
  const image = card.getByRole('link', { name: 'Image: https://images.example/screenshot.png' });
  await expect(image).toBeVisible();
  for (const a of await card.locator('a[href]').all()) {
    expect(await a.getAttribute('href')).toMatch(/^https?:/);
    expect(await a.getAttribute('rel')).toContain('noopener noreferrer');
  }
  await expect(card.locator('time')).toHaveAttribute('datetime', embed.timestamp);
  await expect(card.getByText('hearth-ci')).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
  expect(dialogs).toEqual([]);

  // A code block with a language: plain at first, highlighted once highlight.js has loaded.
  await page.getByLabel('Message #general').fill('```rust\nfn main() { let answer = 42; }\n```');
  await page.keyboard.press('Enter');
  const code = messages(page).locator('pre code.language-rust');
  await expect(code).toHaveText('fn main() { let answer = 42; }');
  await expect(code.locator('.hljs-keyword').first()).toHaveText('fn');
  await expect(code.locator('.hljs-number')).toHaveText('42');
  expect(scripts.filter((u) => /\/assets\/common-/.test(u))).toHaveLength(1);
  const keyword = await code.locator('.hljs-keyword').first().evaluate((e) => getComputedStyle(e).color);
  const plain = await code.evaluate((e) => getComputedStyle(e).color);
  expect(keyword).not.toBe(plain);

  await accessible(page, 'embed and highlighted code (dark)', '[aria-label="Messages"]');
  await page.screenshot({ path: 'test-results/screens/embeds-dark.png' });
  await page.emulateMedia({ colorScheme: 'light' });
  await expect(page.getByRole('heading', { name: '# general' })).toBeVisible();
  await accessible(page, 'embed and highlighted code (light)', '[aria-label="Messages"]');
  await page.screenshot({ path: 'test-results/screens/embeds-light.png' });
});
