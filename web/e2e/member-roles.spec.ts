// Assigning roles in the browser, one continuous scene: the owner creates a role in the
// settings, grants it Pin messages, gives it to a member from the member's profile popout, and
// the member's open client gains the Pin action at once (and loses it when the role is taken
// away again); then a moderator is offered only the roles below its own, and the server's
// refusal (its permission taken away while the request was on its way) shows in the popout.
// Each step is checked on the screen and in the server's state through the REST API.
import { expect, test, type Page } from '@playwright/test';
import { accessible } from './a11y';
import { logIn, password, register, type Role } from './people';
import { startHearth, type Hearth } from './server';

let hearth: Hearth;
const PIN_MESSAGES = 1n << 51n;
const MANAGE_ROLES = 1n << 28n;

test.beforeAll(async () => {
  hearth = await startHearth();
});

test.afterAll(async () => {
  await hearth?.stop();
});

const messages = (page: Page) => page.getByRole('list', { name: 'Messages', exact: true });
const members = (page: Page) => page.getByRole('complementary', { name: 'Members' });

test('the owner creates a role, grants it a permission and assigns it; the member’s client follows live', async ({ browser }) => {
  const owner = await register(hearth, 'olive');
  const member = await register(hearth, 'milo');
  const guild = await hearth.api<{ id: string }>('POST', '/guilds', { name: 'Pinboard' }, owner.token);
  const channels = await hearth.api<{ id: string; type: number }[]>('GET', `/guilds/${guild.id}/channels`, undefined, owner.token);
  const general = channels.find((c) => c.type === 0);
  if (!general) throw new Error('no text channel');
  const join = await hearth.api<{ code: string }>('POST', `/channels/${general.id}/invites`, {}, owner.token);
  await hearth.api('POST', `/invites/${join.code}`, undefined, member.token);
  await hearth.api('POST', `/channels/${general.id}/messages`, { content: 'the notice to pin' }, owner.token);
  const memberRoles = async () =>
    (await hearth.api<{ roles: string[] }>('GET', `/guilds/${guild.id}/members/${member.id}`, undefined, owner.token)).roles;

  const olive = await logIn(browser, hearth, `/channels/${guild.id}/${general.id}`, 'olive', password('olive'));
  const milo = await logIn(browser, hearth, `/channels/${guild.id}/${general.id}`, 'milo', password('milo'));
  const notice = messages(milo).getByRole('listitem').filter({ hasText: 'the notice to pin' });
  await notice.hover();
  await expect(notice.getByRole('button', { name: 'Reply' })).toBeVisible();
  await expect(notice.getByRole('button', { name: 'Pin' })).toHaveCount(0);

  // The owner creates "Pinners" with Pin messages, in the settings.
  await olive.getByRole('button', { name: 'Server settings' }).click();
  const dialog = olive.getByRole('dialog', { name: /^Server settings/ });
  await dialog.getByRole('tab', { name: 'Roles' }).click();
  await dialog.getByRole('button', { name: 'Create role' }).click();
  const editor = dialog.getByRole('form', { name: 'Edit role new role' });
  await editor.getByLabel('Role name').fill('Pinners');
  await editor.getByRole('switch', { name: 'Pin messages' }).check();
  await editor.getByRole('button', { name: 'Save changes' }).click();
  await expect(dialog.getByRole('list', { name: 'Roles' }).getByRole('button', { name: 'Pinners', exact: true })).toBeVisible();
  const pinners = async () => {
    const r = (await hearth.api<Role[]>('GET', `/guilds/${guild.id}/roles`, undefined, owner.token)).find((x) => x.name === 'Pinners');
    if (!r) throw new Error('no role Pinners');
    return r;
  };
  await expect.poll(async () => BigInt((await pinners()).permissions) & PIN_MESSAGES).toBe(PIN_MESSAGES);
  const role = await pinners();
  await olive.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  // Still nothing for Milo: the role is nobody's yet.
  await expect(notice.getByRole('button', { name: 'Pin' })).toHaveCount(0);

  // From Milo's profile popout: the roles she may give (never @everyone), then "Add role".
  await members(olive).getByRole('button', { name: 'milo', exact: true }).click();
  const popout = olive.getByRole('dialog', { name: 'milo' });
  const add = popout.getByRole('form', { name: 'Add role' });
  await expect(add.getByLabel('Role to add').getByRole('option')).toHaveText(['Pinners']);
  await accessible(olive, 'profile popout with roles', '.popout');
  await add.getByLabel('Role to add').selectOption({ label: 'Pinners' });
  await add.getByRole('button', { name: 'Add role' }).click();
  const held = popout.getByRole('list', { name: 'Roles of milo' });
  await expect(held.getByRole('listitem')).toHaveText(['Pinners']);
  await expect(held.getByRole('button', { name: 'Remove role Pinners' })).toBeVisible();
  await expect(add).toHaveCount(0);
  await expect.poll(memberRoles).toEqual([role.id]);
  await accessible(olive, 'profile popout after adding a role', '.popout');
  await olive.screenshot({ path: 'test-results/screens/member-roles.png' });

  // Milo's open client gains the Pin action, live, and his pin reaches the server.
  await notice.hover();
  await notice.getByRole('button', { name: 'Pin' }).click();
  await expect(notice.getByText('Pinned')).toBeVisible();
  const pins = await hearth.api<{ content: string }[]>('GET', `/channels/${general.id}/pins`, undefined, owner.token);
  expect(pins.map((p) => p.content)).toEqual(['the notice to pin']);

  // The owner takes the role away again (the × on it): Milo's action goes at once.
  await held.getByRole('button', { name: 'Remove role Pinners' }).click();
  await expect(held).toHaveCount(0);
  await expect(add.getByLabel('Role to add').getByRole('option')).toHaveText(['Pinners']);
  await expect.poll(memberRoles).toEqual([]);
  await notice.hover();
  await expect(notice.getByRole('button', { name: 'Reply' })).toBeVisible();
  await expect(notice.getByRole('button', { name: /^(Pin|Unpin)$/ })).toHaveCount(0);
});

test('a moderator is offered only the roles below its own, and sees the server’s refusal', async ({ browser }) => {
  const owner = await register(hearth, 'pearl');
  const mod = await register(hearth, 'quill');
  const other = await register(hearth, 'rowan');
  const guild = await hearth.api<{ id: string }>('POST', '/guilds', { name: 'Ladder' }, owner.token);
  const channels = await hearth.api<{ id: string; type: number }[]>('GET', `/guilds/${guild.id}/channels`, undefined, owner.token);
  const general = channels.find((c) => c.type === 0);
  if (!general) throw new Error('no text channel');
  const join = await hearth.api<{ code: string }>('POST', `/channels/${general.id}/invites`, {}, owner.token);
  await hearth.api('POST', `/invites/${join.code}`, undefined, mod.token);
  await hearth.api('POST', `/invites/${join.code}`, undefined, other.token);
  // Positions: Senior 3, Mod 2 (MANAGE_ROLES; Quill's), Helper 1.
  const create = (name: string, permissions = 0n) =>
    hearth.api<Role>('POST', `/guilds/${guild.id}/roles`, { name, permissions: permissions.toString() }, owner.token);
  const helper = await create('Helper');
  const modRole = await create('Mod', MANAGE_ROLES);
  const senior = await create('Senior');
  await hearth.api(
    'PATCH',
    `/guilds/${guild.id}/roles`,
    [
      { id: helper.id, position: 1 },
      { id: modRole.id, position: 2 },
      { id: senior.id, position: 3 },
    ],
    owner.token,
  );
  await hearth.api('PUT', `/guilds/${guild.id}/members/${mod.id}/roles/${modRole.id}`, undefined, owner.token);
  await hearth.api('PUT', `/guilds/${guild.id}/members/${other.id}/roles/${senior.id}`, undefined, owner.token);

  const quill = await logIn(browser, hearth, `/channels/${guild.id}/${general.id}`, 'quill', password('quill'));
  await members(quill).getByRole('button', { name: 'rowan', exact: true }).click();
  const popout = quill.getByRole('dialog', { name: 'rowan' });
  // Rowan's Senior (above Quill's Mod) has no remove button; only Helper is offered.
  const held = popout.getByRole('list', { name: 'Roles of rowan' });
  await expect(held.getByRole('listitem')).toHaveText(['Senior']);
  await expect(held.getByRole('button')).toHaveCount(0);
  const add = popout.getByRole('form', { name: 'Add role' });
  await expect(add.getByLabel('Role to add').getByRole('option')).toHaveText(['Helper']);
  await accessible(quill, 'moderator’s profile popout', '.popout');

  // Quill asks; while the request is on its way the owner takes MANAGE_ROLES from Mod. The
  // server refuses, and the popout says why.
  let release: () => void = () => undefined;
  const heldBack = new Promise<void>((ok) => (release = ok));
  await quill.route(`**/api/v10/guilds/${guild.id}/members/${other.id}/roles/${helper.id}`, async (route) => {
    await heldBack;
    await route.continue();
  });
  const sent = quill.waitForRequest((r) => r.method() === 'PUT' && r.url().endsWith(`/roles/${helper.id}`));
  await add.getByRole('button', { name: 'Add role' }).click();
  await sent;
  await hearth.api('PATCH', `/guilds/${guild.id}/roles/${modRole.id}`, { permissions: '0' }, owner.token);
  // The client follows the change: nothing is offered any more.
  await expect(add).toHaveCount(0);
  release();
  await expect(popout.getByRole('alert')).toContainText('Missing Permissions');
  const rowan = await hearth.api<{ roles: string[] }>('GET', `/guilds/${guild.id}/members/${other.id}`, undefined, owner.token);
  expect(rowan.roles).toEqual([senior.id]);
});
