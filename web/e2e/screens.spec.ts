// Every main screen, scanned whole by axe-core (no serious or critical violation) in the dark
// and the light theme, and the chat at 360 px wide, with a screenshot of each in
// test-results/screens/: the login and sign-up screens, an invite opened by a visitor, the
// guild chat (markdown, a reply, reactions, mentions, an unread line, a member list with a
// coloured role, online and offline members), a message link jumped to (the message shown
// and highlighted, "Jump to present" back), direct messages, the server settings' sections
// and the user settings. Dialogs are scanned within themselves: the page behind them is
// dimmed and inert.
import { expect, test, type Page } from '@playwright/test';
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


/** The scan in both themes, and a screenshot of each. */
async function bothThemes(page: Page, screen: string, within?: string) {
  for (const scheme of ['dark', 'light'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await accessible(page, `${screen} (${scheme})`, within);
    await page.screenshot({ path: `test-results/screens/${screen.replaceAll(' ', '-')}-${scheme}.png` });
  }
  await page.emulateMedia({ colorScheme: 'dark' });
}

const messages = (page: Page) => page.getByRole('list', { name: 'Messages' });

test('every main screen passes the accessibility scan, in both themes and at 360 px', async ({ browser }) => {
  // A long walk: about 30 scans and screenshots.
  test.setTimeout(180_000);
  const olga = await register(hearth, 'olga');
  const bob = await register(hearth, 'bob');
  await register(hearth, 'quiet'); // an offline member
  const guild = await hearth.api<{ id: string }>('POST', '/guilds', { name: 'Garden' }, olga.token);
  const channels = await hearth.api<{ id: string; type: number }[]>('GET', `/guilds/${guild.id}/channels`, undefined, olga.token);
  const general = channels.find((c) => c.type === 0)?.id ?? '';
  const invite = await hearth.api<{ code: string }>('POST', `/channels/${general}/invites`, {}, olga.token);
  await hearth.api('POST', `/invites/${invite.code}`, {}, bob.token);
  const quiet = await hearth.api<{ token: string }>('POST', '/auth/login', { login: 'quiet', password: password('quiet') });
  await hearth.api('POST', `/invites/${invite.code}`, {}, quiet.token);
  const role = await hearth.api<{ id: string }>('POST', `/guilds/${guild.id}/roles`, { name: 'Gardener', color: 0x1f8b4c, hoist: true }, olga.token);
  await hearth.api('PUT', `/guilds/${guild.id}/members/${bob.id}/roles/${role.id}`, undefined, olga.token);

  // A history longer than a page, the first message of which is linked to later.
  const first = await hearth.api<{ id: string }>('POST', `/channels/${general}/messages`, { content: 'the very first message' }, olga.token);
  // Four lines each: the 25 messages after the linked one (half the window a jump loads) are
  // taller than the screen, so newer pages load only when the reader scrolls down.
  for (let i = 1; i <= 160; i++) {
    await hearth.api('POST', `/channels/${general}/messages`, { content: `filler ${i}\nsecond line\nthird line\nfourth line` }, olga.token);
  }

  // Visitors: the login screen, the sign-up screen, an invite.
  const visitor = await (await browser.newContext()).newPage();
  await visitor.goto(`${hearth.url}/`);
  await expect(visitor.getByRole('button', { name: 'Log in' })).toBeVisible();
  await bothThemes(visitor, 'login');
  await visitor.goto(`${hearth.url}/invite/${invite.code}`);
  await expect(visitor.getByText('Garden').first()).toBeVisible();
  await bothThemes(visitor, 'invite as visitor');

  // Olga reads up to the fillers; Bob writes afterwards: her unread line shows on return.
  const o = await logIn(browser, hearth, `/channels/${guild.id}/${general}`, 'olga', password('olga'));
  await expect(messages(o).getByRole('listitem').filter({ hasText: 'filler 160' })).toBeVisible();
  await o.keyboard.press('Escape'); // mark as read at once
  await o.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: 'Direct messages' }).click();
  await expect(o.getByRole('navigation', { name: 'Direct messages' })).toBeVisible();
  const b = await logIn(browser, hearth, `/channels/${guild.id}/${general}`, 'bob', password('bob'));
  const composer = b.getByRole('textbox', { name: 'Message #general' });
  await composer.fill(`**Hello** <@${olga.id}>, a reply and a ||spoiler||\n> quoted\n\`\`\`rust\nfn main() {}\n\`\`\``);
  await composer.press('Enter');
  const hello = messages(b).getByRole('listitem').filter({ hasText: 'Hello' });
  await expect(hello).toBeVisible();
  await composer.fill(`the first message: ${hearth.url}/channels/${guild.id}/${general}/${first.id}`);
  await composer.press('Enter');
  await expect(messages(b).getByRole('listitem').filter({ hasText: 'the first message:' })).toBeVisible();

  // Back in the guild: the unread line above Bob's first new message.
  await o.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: /Garden/ }).click();
  await expect(o.getByRole('separator', { name: 'New messages' })).toBeVisible();
  const newest = messages(o).getByRole('listitem').filter({ hasText: 'Hello' });
  await expect(newest.getByRole('separator', { name: 'New messages' })).toBeVisible();
  await newest.hover();
  await newest.getByRole('button', { name: 'Add reaction' }).click();
  await o.getByRole('dialog').getByLabel('Find an emoji').fill('thumbs up');
  await o.getByRole('dialog').getByRole('option').first().click();
  await expect(newest.getByRole('button', { name: /👍/ })).toBeVisible();
  const members = o.getByRole('complementary', { name: 'Members' });
  await expect(members.getByRole('button', { name: 'quiet', exact: true })).toBeVisible();
  await bothThemes(o, 'chat');

  // The message link: followed inside the app, the first message shown and highlighted, and
  // back to the present.
  await messages(o).getByRole('link', { name: new RegExp(first.id) }).click();
  await expect(o).toHaveURL(new RegExp(`/channels/${guild.id}/${general}/${first.id}$`));
  const linked = messages(o).locator(`li[data-message-id="${first.id}"]`);
  await expect(linked).toBeVisible();
  await expect(linked).toHaveClass(/highlight/);
  await expect(o.getByRole('button', { name: 'Jump to present' })).toBeVisible();
  await bothThemes(o, 'message link');
  await o.getByRole('button', { name: 'Jump to present' }).click();
  await expect(messages(o).getByRole('listitem').filter({ hasText: 'the first message:' })).toBeVisible();
  await expect(o.getByRole('button', { name: 'Jump to present' })).toHaveCount(0);

  // The link again, and this time scrolling down: newer pages load until the present, with a
  // message Bob sends meanwhile (held while the window does not reach it) at the end.
  await messages(o).getByRole('link', { name: new RegExp(first.id) }).click();
  await expect(linked).toBeVisible();
  await expect(o.getByRole('button', { name: 'Jump to present' })).toBeVisible();
  await composer.fill('sent while olga reads old messages');
  await composer.press('Enter');
  const latest = messages(o).getByRole('listitem').filter({ hasText: 'sent while olga reads old messages' });
  await expect(async () => {
    await o.locator('.scroller').evaluate((el) => el.scrollBy(0, el.clientHeight));
    await expect(latest).toBeVisible({ timeout: 500 });
  }).toPass({ timeout: 30_000 });
  await expect(o.getByRole('button', { name: 'Jump to present' })).toHaveCount(0);
  await expect(messages(o).getByRole('listitem').filter({ hasText: 'filler 100' })).toHaveCount(0); // virtualized away
  const seen = await messages(o).locator('li[data-message-id]').evaluateAll((ls) => ls.map((l) => l.getAttribute('data-message-id') ?? ''));
  expect(seen.map(BigInt)).toEqual([...seen.map(BigInt)].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));

  // Narrow screens.
  await o.setViewportSize({ width: 360, height: 740 });
  await expect(messages(o)).toBeVisible();
  await bothThemes(o, 'chat at 360 px');
  await o.setViewportSize({ width: 1280, height: 720 });

  // Server settings: each section.
  await o.getByRole('button', { name: 'Server settings' }).click();
  const settings = o.getByRole('dialog', { name: /Server settings/ });
  await expect(settings).toBeVisible();
  for (const tab of await settings.getByRole('tab').all()) {
    const name = (await tab.textContent())?.trim() ?? '';
    await tab.click();
    await expect(tab).toHaveAttribute('aria-selected', 'true');
    await expect(settings.getByRole('tabpanel')).toBeVisible();
    await bothThemes(o, `server settings ${name}`, '[role=dialog]');
  }
  await o.keyboard.press('Escape');
  await expect(settings).toHaveCount(0);

  // User settings.
  await o.getByRole('button', { name: 'Settings', exact: true }).click();
  await expect(o.getByRole('dialog', { name: 'Settings' })).toBeVisible();
  await bothThemes(o, 'user settings', '[role=dialog]');
  await o.keyboard.press('Escape');

  // Direct messages.
  await members.getByRole('button', { name: 'bob', exact: true }).click();
  await o.getByRole('dialog', { name: 'bob' }).getByRole('button', { name: 'Message' }).click();
  await o.getByRole('textbox', { name: 'Message @bob' }).fill('a private word');
  await o.keyboard.press('Enter');
  await expect(messages(o).getByRole('listitem').filter({ hasText: 'a private word' })).toBeVisible();
  await bothThemes(o, 'direct messages');
});
