// Direct messages, profile popouts and blocking, in two browser contexts: Alice opens Bob's
// profile from the member list (roles with colours, keyboard accessible, axe-clean), messages
// him; Bob sees the DM appear with a mention badge and replies live. Bob blocks Alice from her
// popout: her messages collapse ("Blocked message — Show"), her next DM is refused with the
// server's text in her composer, and the block and the DM list survive a reload (READY).
import { expect, test, type Page } from '@playwright/test';
import { accessible } from './a11y';
import { logIn } from './people';
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

const messages = (page: Page) => page.getByRole('list', { name: 'Messages' });

test('DMs from a profile popout, live replies with unread dots, blocking', async ({ browser }) => {
  const alice = await register('alice');
  const bob = await register('bob');
  const guild = await hearth.api<{ id: string }>('POST', '/guilds', { name: 'Club' }, alice.token);
  const channels = await hearth.api<{ id: string; type: number }[]>('GET', `/guilds/${guild.id}/channels`, undefined, alice.token);
  const general = channels.find((c) => c.type === 0)?.id ?? '';
  const invite = await hearth.api<{ code: string }>('POST', `/channels/${general}/invites`, {}, alice.token);
  await hearth.api('POST', `/invites/${invite.code}`, {}, bob.token);
  const role = await hearth.api<{ id: string }>('POST', `/guilds/${guild.id}/roles`, { name: 'Gardener', color: 0x1f6f3f }, alice.token);
  await hearth.api('PUT', `/guilds/${guild.id}/members/${bob.id}/roles/${role.id}`, undefined, alice.token);

  const a = await logIn(browser, hearth, `/channels/${guild.id}/${general}`, 'alice', password('alice'));
  const b = await logIn(browser, hearth, `/channels/${guild.id}/${general}`, 'bob', password('bob'));
  for (const p of [a, b]) await expect(p.getByRole('heading', { name: '# general' })).toBeVisible();

  // Alice opens Bob's profile from the member list: names, his role, the actions.
  const bobInList = a.getByRole('complementary', { name: 'Members' }).getByRole('button', { name: 'bob', exact: true });
  await bobInList.click();
  const popout = a.getByRole('dialog', { name: 'bob' });
  await expect(popout).toBeVisible();
  await expect(popout.getByText('bob@')).toBeVisible();
  await expect(popout.getByRole('list').getByRole('listitem')).toHaveText(['Gardener']);
  await expect(popout.getByRole('button', { name: 'Message' })).toBeVisible();
  await expect(popout.getByRole('button', { name: 'Block' })).toBeVisible();
  await expect(popout.getByRole('heading', { name: 'bob' })).toBeFocused();
  await accessible(a, 'profile popout');
  await a.screenshot({ path: 'test-results/screens/profile-popout.png' });

  // Esc closes it and gives the focus back to the member it was opened from; the keyboard
  // opens it again.
  await a.keyboard.press('Escape');
  await expect(popout).toBeHidden();
  await expect(bobInList).toBeFocused();
  await a.keyboard.press('Enter');
  await expect(popout).toBeVisible();

  // "Message" opens the DM; Alice writes.
  await popout.getByRole('button', { name: 'Message' }).click();
  await expect(popout).toBeHidden();
  await expect(a.getByRole('heading', { name: '@ bob' })).toBeVisible();
  await expect(a).toHaveURL(/\/channels\/@me\/\d+$/);
  await a.getByLabel('Message @bob').fill('hi **bob**, a word in private');
  await a.keyboard.press('Enter');
  await expect(messages(a).getByRole('listitem').filter({ hasText: 'a word in private' })).toBeVisible();

  // Bob, still in #general, sees the DM home turn unread, and the DM with its badge (a DM
  // message counts as a mention, as in Discord).
  const home = b.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: 'Direct messages, 1 mention' });
  await expect(home).toBeVisible();
  await home.click();
  const dmLink = b.getByRole('navigation', { name: 'Direct messages' }).getByRole('link', { name: '@ alice, 1 mention' });
  await expect(dmLink).toBeVisible();
  await expect(dmLink.locator('.badge')).toHaveText('1');
  await accessible(b, 'direct messages');
  await dmLink.click();
  await expect(b.getByRole('heading', { name: '@ alice' })).toBeVisible();
  const fromAlice = messages(b).getByRole('listitem').filter({ hasText: 'a word in private' });
  await expect(fromAlice).toBeVisible();
  await expect(fromAlice.locator('strong')).toHaveText('bob');
  await expect(b.getByRole('navigation', { name: 'Direct messages' }).getByRole('link', { name: '@ alice', exact: true })).toBeVisible();

  // Bob replies; Alice sees it live.
  await b.getByLabel('Message @alice').fill('hello alice');
  await b.keyboard.press('Enter');
  await expect(messages(a).getByRole('listitem').filter({ hasText: 'hello alice' })).toBeVisible();
  await b.screenshot({ path: 'test-results/screens/direct-message.png' });

  // Bob opens Alice's profile from her name on her message (no roles in a DM) and blocks her.
  await fromAlice.getByRole('button', { name: 'alice', exact: true }).click();
  const alicePopout = b.getByRole('dialog', { name: 'alice' });
  await expect(alicePopout).toBeVisible();
  await expect(alicePopout.getByRole('list')).toHaveCount(0);
  await alicePopout.getByRole('button', { name: 'Block' }).click();
  await expect(alicePopout.getByRole('button', { name: 'Unblock' })).toBeVisible();
  await expect(alicePopout.getByText('You blocked this user.')).toBeVisible();
  await b.keyboard.press('Escape');
  await expect(alicePopout).toBeHidden();

  // Her messages collapse; "Show" reveals one.
  const blocked = messages(b).getByRole('listitem').filter({ hasText: 'Blocked message' });
  await expect(blocked).toHaveCount(1);
  await expect(messages(b).getByText('a word in private')).toBeHidden();
  await blocked.getByRole('button', { name: 'Show' }).click();
  await expect(messages(b).getByText('a word in private')).toBeVisible();
  await blocked.getByRole('button', { name: 'Hide' }).click();
  await expect(messages(b).getByText('a word in private')).toBeHidden();

  // Alice's next DM is refused: her composer shows the server's reason.
  await a.getByLabel('Message @bob').fill('are you there?');
  await a.keyboard.press('Enter');
  await expect(a.getByRole('alert').filter({ hasText: 'Not sent: Cannot send messages to this user' })).toBeVisible();

  // In the guild too, her messages reach Bob collapsed.
  await hearth.api('POST', `/channels/${general}/messages`, { content: 'guild words' }, alice.token);
  await b.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: 'Club' }).click();
  await expect(b.getByRole('heading', { name: '# general' })).toBeVisible();
  await expect(messages(b).getByRole('listitem').filter({ hasText: 'Blocked message' })).toHaveCount(1);
  await expect(messages(b).getByText('guild words')).toBeHidden();

  // After a reload the DM list and the block come back from READY.
  await b.goto(`${hearth.url}/channels/@me`);
  await expect(b.getByRole('navigation', { name: 'Direct messages' }).getByRole('link', { name: '@ alice' })).toBeVisible();
  await b.getByRole('navigation', { name: 'Direct messages' }).getByRole('link', { name: '@ alice' }).click();
  await expect(messages(b).getByRole('listitem').filter({ hasText: 'hello alice' })).toBeVisible();
  await expect(messages(b).getByRole('listitem').filter({ hasText: 'Blocked message' })).toHaveCount(1);

  // Unblocking from the member list's popout brings her messages back.
  await b.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: 'Club' }).click();
  await b.getByRole('complementary', { name: 'Members' }).getByRole('button', { name: 'alice', exact: true }).click();
  await b.getByRole('dialog', { name: 'alice' }).getByRole('button', { name: 'Unblock' }).click();
  await expect(b.getByRole('dialog', { name: 'alice' }).getByRole('button', { name: 'Block' })).toBeVisible();
  await expect(messages(b).getByText('guild words')).toBeVisible();
});
