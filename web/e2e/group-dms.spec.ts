// Group DMs in three browser contexts: Alice creates a group with Bob and Carol from the DM
// list ("New group DM", people picked by name among those she shares a server with); all
// three see it appear live and chat live; Alice renames it, removes Carol (her screen loses
// the group live) and adds her back; Bob leaves. The group screen (list, header, member
// panel) and the dialog pass the axe check.
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


const messages = (page: Page) => page.getByRole('list', { name: 'Messages' });
const dmNav = (page: Page) => page.getByRole('navigation', { name: 'Direct messages' });
const panel = (page: Page) => page.getByRole('complementary', { name: 'Members' });

test('group DMs: create, chat, rename, remove, add, leave, live in three browsers', async ({ browser }) => {
  const alice = await register(hearth, 'alice');
  const bob = await register(hearth, 'bob');
  const carol = await register(hearth, 'carol');
  const guild = await hearth.api<{ id: string }>('POST', '/guilds', { name: 'Club' }, alice.token);
  const channels = await hearth.api<{ id: string; type: number }[]>('GET', `/guilds/${guild.id}/channels`, undefined, alice.token);
  const general = channels.find((c) => c.type === 0)?.id ?? '';
  const invite = await hearth.api<{ code: string }>('POST', `/channels/${general}/invites`, {}, alice.token);
  for (const p of [bob, carol]) await hearth.api('POST', `/invites/${invite.code}`, {}, p.token);

  const a = await logIn(browser, hearth, '/channels/@me', 'alice', password('alice'));
  const b = await logIn(browser, hearth, '/channels/@me', 'bob', password('bob'));
  const c = await logIn(browser, hearth, '/channels/@me', 'carol', password('carol'));
  for (const p of [a, b, c]) await expect(p.getByRole('heading', { name: 'Direct messages' })).toBeVisible();
  // Alice's client knows the guild's members once it has opened the guild.
  await a.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: 'Club' }).click();
  await expect(a.getByRole('heading', { name: '# general' })).toBeVisible();
  await a.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: 'Direct messages' }).click();

  // "New group DM": pick Bob and Carol by name (keyboard), name the group.
  await a.getByRole('button', { name: 'New group DM' }).click();
  const dialog = a.getByRole('dialog', { name: 'New group DM' });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByLabel('Find people by name')).toBeFocused();
  await a.keyboard.type('bo');
  await expect(dialog.getByRole('checkbox')).toHaveCount(1);
  await dialog.getByRole('checkbox', { name: /bob/ }).check();
  await dialog.getByLabel('Find people by name').fill('car');
  await dialog.getByRole('checkbox', { name: /carol/ }).press('Space');
  await expect(dialog.getByText('2 of 9 selected')).toBeVisible();
  await dialog.getByLabel('Group name (optional)').fill('Weekend');
  await accessible(a, 'new group DM dialog', '[role="dialog"]');
  await dialog.getByRole('button', { name: 'Create group' }).click();
  await expect(dialog).toBeHidden();
  await expect(a.getByRole('heading', { name: 'Weekend' })).toBeVisible();
  await expect(a).toHaveURL(/\/channels\/@me\/\d+$/);

  // Bob and Carol see it appear live and open it.
  for (const p of [b, c]) {
    const link = dmNav(p).getByRole('link', { name: 'Weekend' });
    await expect(link).toBeVisible();
    await link.click();
    await expect(p.getByRole('heading', { name: 'Weekend' })).toBeVisible();
  }
  await expect(panel(b).getByText('Members — 3')).toBeVisible();
  await expect(panel(b).getByText('Owner')).toBeVisible();

  // Everyone chats live.
  await a.getByLabel('Message Weekend').fill('picnic on saturday?');
  await a.keyboard.press('Enter');
  await b.getByLabel('Message Weekend').fill('count me in');
  await b.keyboard.press('Enter');
  for (const p of [a, b, c]) {
    await expect(messages(p).getByRole('listitem').filter({ hasText: 'picnic on saturday?' })).toBeVisible();
    await expect(messages(p).getByRole('listitem').filter({ hasText: 'count me in' })).toBeVisible();
  }
  await accessible(c, 'group DM');
  await c.screenshot({ path: 'test-results/screens/group-dm.png' });

  // Carol renames it: everyone's header and list change, with a system message.
  await panel(c).getByRole('button', { name: 'Rename group' }).click();
  const rename = c.getByRole('dialog', { name: 'Rename group' });
  await rename.getByLabel('Group name (optional)').fill('Picnic');
  await rename.getByRole('button', { name: 'Save' }).click();
  for (const p of [a, b, c]) {
    await expect(p.getByRole('heading', { name: 'Picnic' })).toBeVisible();
    await expect(messages(p).getByText('carol renamed the group to Picnic.')).toBeVisible();
  }

  // Only the owner (Alice) has "Remove": she removes Carol, whose screen loses the group.
  await expect(panel(b).getByRole('button', { name: /^Remove/ })).toHaveCount(0);
  await panel(a).getByRole('button', { name: 'Remove carol from the group' }).click();
  await a.getByRole('dialog', { name: 'Remove carol from the group' }).getByRole('button', { name: 'Remove' }).click();
  await expect(dmNav(c).getByRole('link', { name: 'Picnic' })).toHaveCount(0);
  await expect(c.getByText('Pick a conversation')).toBeVisible();
  await expect(panel(b).getByText('Members — 2')).toBeVisible();
  await expect(messages(b).getByText('alice removed carol from the group.')).toBeVisible();

  // Bob adds her back: she sees the group again, with its history.
  await panel(b).getByRole('button', { name: 'Add people' }).click();
  const add = b.getByRole('dialog', { name: 'Add people' });
  await add.getByLabel('Find people by name').fill('carol');
  await add.getByRole('checkbox', { name: /carol/ }).check();
  await add.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(add).toBeHidden();
  const back = dmNav(c).getByRole('link', { name: 'Picnic' });
  await expect(back).toBeVisible();
  await back.click();
  await expect(messages(c).getByText('bob added carol to the group.')).toBeVisible();
  await expect(messages(c).getByRole('listitem').filter({ hasText: 'count me in' })).toBeVisible();
  await expect(panel(a).getByText('Members — 3')).toBeVisible();

  // Bob leaves: the others see it live.
  await panel(b).getByRole('button', { name: 'Leave group' }).click();
  await b.getByRole('dialog', { name: 'Leave group' }).getByRole('button', { name: 'Leave group' }).click();
  await expect(dmNav(b).getByRole('link', { name: 'Picnic' })).toHaveCount(0);
  for (const p of [a, c]) {
    await expect(messages(p).getByText('bob left the group.')).toBeVisible();
    await expect(panel(p).getByText('Members — 2')).toBeVisible();
  }
});
