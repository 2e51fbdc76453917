// Two federating servers (e2e/server.ts `startFederation`: a.localhost and b.localhost over
// real TLS, a throwaway CA trusted through each server's configuration). Alice, on a, hosts a
// guild; Bob, on b, joins it from b's own web client with `CODE@a.localhost:{port}`, then
// joins a second guild of a by pasting a's invite link; they chat both ways live (messages,
// an edit, reactions), each seeing the other as `name@server`.
import { expect, test, type Browser, type Page } from '@playwright/test';
import { accessible } from './a11y';
import { startFederation, type Federation, type Hearth } from './server';

let fed: Federation;

test.beforeAll(async () => {
  fed = await startFederation();
});

test.afterAll(async () => {
  await fed?.stop();
});

/** A browser context on `hearth` (its HTTPS front's certificate comes from the test's own CA,
 *  which only the servers trust). */
async function person(browser: Browser, hearth: Hearth, name: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: hearth.url, ignoreHTTPSErrors: true });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`page error (${name}): ${e.message}`));
  return page;
}

function messages(page: Page) {
  return page.getByRole('list', { name: 'Messages' });
}

function members(page: Page) {
  return page.getByRole('complementary', { name: 'Members' });
}

interface Guild {
  id: string;
  general: string;
  code: string;
}

/** Alice's guild on a, its #general and an invite (REST). */
async function hostGuild(token: string, name: string): Promise<Guild> {
  const g = await fed.a.api<{ id: string }>('POST', '/guilds', { name }, token);
  const channels = await fed.a.api<{ id: string; name: string }[]>('GET', `/guilds/${g.id}/channels`, undefined, token);
  const general = channels.find((c) => c.name === 'general')?.id ?? '';
  const invite = await fed.a.api<{ code: string }>('POST', `/channels/${general}/invites`, { max_age: 0 }, token);
  return { id: g.id, general, code: invite.code };
}

test('a user of b joins a guild of a from b’s web client and chats with a user of a', async ({ browser }) => {
  const password = 'alice-correct-horse-battery';
  const { token } = await fed.a.api<{ token: string }>('POST', '/auth/register', { username: 'alice', password });
  // Alice is a's instance administrator (the first start's setup token, from a's log).
  const setup = /\/setup#(\S+)/.exec(fed.a.log())?.[1] ?? '';
  expect(setup).not.toBe('');
  await fed.a.api('POST', '/admin/setup', { token: setup }, token);
  const club = await hostGuild(token, 'Federated Club');

  // Alice logs in on a's web client, in her guild.
  const alice = await person(browser, fed.a, 'alice');
  await alice.goto(`/channels/${club.id}/${club.general}`);
  await alice.getByRole('button', { name: 'Log in' }).click();
  await alice.getByLabel('Username or email').fill('alice');
  await alice.getByLabel('Password').fill(password);
  await alice.getByRole('button', { name: 'Log in' }).click();
  await expect(alice.getByRole('heading', { name: '# general' })).toBeVisible();

  // Bob registers on b's web client (b's own URL) and joins with CODE@a's server name.
  const bob = await person(browser, fed.b, 'bob');
  await bob.goto('/');
  await bob.getByLabel('Username').fill('bob');
  await bob.getByLabel('Password').fill('bob-correct-horse-battery');
  await bob.getByRole('button', { name: 'Create an account' }).click();
  await expect(bob.getByText('Create a server or join one')).toBeVisible();
  await bob.getByRole('button', { name: 'Join a server' }).click();
  const join = bob.getByRole('dialog', { name: 'Join a server' });
  await join.getByLabel('Invite code or link').fill(`${club.code}@${fed.aName}`);
  await join.getByRole('button', { name: 'Join' }).click();
  await expect(bob.getByRole('heading', { name: '# general' })).toBeVisible();
  await expect(bob.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: 'Federated Club' })).toBeVisible();
  expect(new URL(bob.url()).host).toBe(fed.bName);

  // Each sees the other as name@server in the member list.
  await expect(members(alice).getByRole('button', { name: `bob@${fed.bName}`, exact: true })).toBeVisible();
  await expect(members(bob).getByRole('button', { name: `alice@${fed.aName}`, exact: true })).toBeVisible();
  // Local users keep their plain name.
  await expect(members(alice).getByRole('button', { name: 'alice', exact: true })).toBeVisible();
  await expect(members(bob).getByRole('button', { name: 'bob', exact: true })).toBeVisible();

  // Bob writes through b; Alice sees it live on a, authored by bob@b.
  await bob.getByLabel('Message #general').fill('hello from **b**');
  await bob.keyboard.press('Enter');
  const fromBob = messages(alice).getByRole('listitem').filter({ hasText: 'hello from b' });
  await expect(fromBob.getByRole('button', { name: `bob@${fed.bName}`, exact: true })).toBeVisible();
  await expect(fromBob.locator('strong')).toHaveText('b');
  await expect(bob.getByText('Sending…')).toHaveCount(0);

  // Alice answers on a; Bob sees it live on b, authored by alice@a.
  await alice.getByLabel('Message #general').fill('welcome to a, bob');
  await alice.keyboard.press('Enter');
  const fromAlice = messages(bob).getByRole('listitem').filter({ hasText: 'welcome to a, bob' });
  await expect(fromAlice.getByRole('button', { name: `alice@${fed.aName}`, exact: true })).toBeVisible();

  // Bob edits his message: the edit reaches a.
  const own = messages(bob).getByRole('listitem').filter({ hasText: 'hello from b' });
  await own.hover();
  await own.getByRole('button', { name: 'Edit' }).click();
  await bob.getByRole('textbox', { name: 'Edit' }).fill('hello from b, edited');
  await bob.getByRole('button', { name: 'Save' }).click();
  const edited = messages(alice).getByRole('listitem').filter({ hasText: 'hello from b, edited' });
  await expect(edited).toBeVisible();
  await expect(edited.getByText('(edited)')).toBeVisible();

  // Alice reacts to Bob's message on a; Bob sees it on b, adds his, and Alice sees 2.
  await edited.hover();
  await edited.getByRole('button', { name: 'Add reaction' }).click();
  await alice.getByRole('dialog', { name: 'Add reaction' }).getByRole('option', { name: 'thumbs up', exact: true }).click();
  const bobView = messages(bob).getByRole('listitem').filter({ hasText: 'hello from b, edited' });
  await bobView.getByRole('button', { name: '👍 1' }).click();
  await expect(edited.getByRole('button', { name: '👍 2, including you' })).toBeVisible();
  await expect(bobView.getByRole('button', { name: '👍 2, including you' })).toHaveAttribute('aria-pressed', 'true');

  await accessible(bob, 'remote guild on b');
  await bob.screenshot({ path: 'test-results/screens/federation.png' });

  // A second guild of a, joined by pasting a's invite link (as a's client shows it) into b's
  // Join dialog: the client makes it CODE@a.
  await fed.a.api('POST', '/guilds', { name: 'Second Hearth' }, token);
  await alice.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: 'Second Hearth' }).click();
  await alice.getByRole('button', { name: 'Invite people' }).click();
  await alice.getByRole('dialog', { name: 'Invite people' }).getByRole('button', { name: 'Create' }).click();
  const link = await alice.getByRole('textbox', { name: 'Invite link' }).inputValue();
  expect(link).toMatch(new RegExp(`^https://${fed.aName}/invite/\\w+$`));
  await alice.getByRole('button', { name: 'Close' }).click();
  await bob.getByRole('button', { name: 'Join a server' }).click();
  await join.getByLabel('Invite code or link').fill(link);
  await join.getByRole('button', { name: 'Join' }).click();
  await expect(bob.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: 'Second Hearth' })).toHaveAttribute('aria-current', 'page');
  await expect(bob.getByRole('heading', { name: '# general' })).toBeVisible();
  await bob.getByLabel('Message #general').fill('joined by link');
  await bob.keyboard.press('Enter');
  await expect(messages(alice).getByRole('listitem').filter({ hasText: 'joined by link' }).getByRole('button', { name: `bob@${fed.bName}` })).toBeVisible();

  // a's instance administrator sees b among the federation peers (Settings); bob, who is not
  // b's administrator, has no such section.
  await alice.getByRole('button', { name: 'Settings', exact: true }).click();
  const peers = alice.getByRole('table', { name: 'Federation peers' });
  const row = peers.getByRole('row').filter({ has: alice.getByRole('rowheader', { name: fed.bName, exact: true }) });
  await expect(row.getByRole('cell').first()).toHaveText('2');
  await expect(peers.getByRole('row')).toHaveCount(2);
  await accessible(alice, 'settings with federation peers', '[role=dialog]');
  const refused = bob.waitForResponse((r) => r.url().endsWith('/api/v10/admin/federation/peers'));
  await bob.getByRole('button', { name: 'Settings', exact: true }).click();
  expect((await refused).status()).toBe(403);
  await expect(bob.getByRole('dialog', { name: 'Settings' }).getByRole('heading', { name: 'Passkeys' })).toBeVisible();
  await expect(bob.getByRole('heading', { name: 'Federation peers' })).toHaveCount(0);
});
