// Guild administration in the browser: the owner creates a role, grants it a permission and
// reorders the roles (by drag and by the keyboard's move buttons), hides a channel from
// @everyone with an overwrite (a member's open client loses it live), creates and revokes an
// invite, bans a member (whose client loses the guild) and reads it in the audit log; a member
// without permissions never sees the settings entry; a moderator's view follows the role
// hierarchy and its permissions live. Each step is checked on the screen and
// in the server's state through the REST API.
import { expect, test, type Page } from '@playwright/test';
import { accessible } from './a11y';
import { logIn, type Role } from './people';
import { startHearth, type Hearth } from './server';

let hearth: Hearth;
const KICK_MEMBERS = 1n << 1n;
const VIEW_CHANNEL = 1n << 10n;

test.beforeAll(async () => {
  hearth = await startHearth();
});

test.afterAll(async () => {
  await hearth?.stop();
});

function settings(page: Page) {
  return page.getByRole('dialog', { name: /^Server settings/ });
}

test('the owner administers the guild; a member without permissions cannot', async ({ browser }) => {
  const pw = 'correct-horse-battery';
  const owner = await hearth.api<{ token: string }>('POST', '/auth/register', { username: 'olga', password: pw });
  const member = await hearth.api<{ token: string }>('POST', '/auth/register', { username: 'mark', password: pw });
  const guild = await hearth.api<{ id: string }>('POST', '/guilds', { name: 'Admins' }, owner.token);
  const channels = await hearth.api<{ id: string; type: number }[]>('GET', `/guilds/${guild.id}/channels`, undefined, owner.token);
  const general = channels.find((c) => c.type === 0);
  if (!general) throw new Error('no text channel');
  const lounge = await hearth.api<{ id: string }>('POST', `/guilds/${guild.id}/channels`, { name: 'lounge', type: 0 }, owner.token);
  const join = await hearth.api<{ code: string }>('POST', `/channels/${general.id}/invites`, {}, owner.token);
  await hearth.api('POST', `/invites/${join.code}`, undefined, member.token);
  const roles = () => hearth.api<Role[]>('GET', `/guilds/${guild.id}/roles`, undefined, owner.token);
  const role = async (name: string) => {
    const r = (await roles()).find((x) => x.name === name);
    if (!r) throw new Error(`no role ${name}`);
    return r;
  };

  const olga = await logIn(browser, hearth, `/channels/${guild.id}/${general.id}`, 'olga', pw);
  const mark = await logIn(browser, hearth, `/channels/${guild.id}/${general.id}`, 'mark', pw);
  const markChannels = mark.getByRole('navigation', { name: 'Channels' });
  await expect(markChannels.getByRole('link', { name: '# lounge' })).toBeVisible();
  await expect(olga.getByRole('heading', { name: '# general' })).toBeVisible();

  // Mark holds no administration permission: no settings entry, no channel permission editor.
  await expect(mark.getByRole('heading', { name: '# general' })).toBeVisible();
  await expect(mark.getByRole('button', { name: 'Server settings' })).toHaveCount(0);
  await expect(mark.getByRole('button', { name: /^Edit permissions of/ })).toHaveCount(0);

  // Olga opens the settings: focus moves into the dialog.
  const entry = olga.getByRole('button', { name: 'Server settings' });
  await entry.click();
  const dialog = settings(olga);
  await expect(dialog).toBeVisible();
  await expect(dialog.locator(':focus')).toHaveCount(1);
  await dialog.getByRole('tab', { name: 'Roles' }).click();

  // A new role, renamed, with Kick members.
  await dialog.getByRole('button', { name: 'Create role' }).click();
  const editor = dialog.getByRole('form', { name: 'Edit role new role' });
  await expect(editor).toBeVisible();
  await editor.getByLabel('Role name').fill('Moderators');
  await editor.getByRole('switch', { name: 'Kick members' }).check();
  await editor.getByRole('button', { name: 'Save changes' }).click();
  const list = dialog.getByRole('list', { name: 'Roles' });
  await expect(list.getByRole('button', { name: 'Moderators', exact: true })).toBeVisible();
  await expect(dialog.getByRole('form', { name: 'Edit role Moderators' }).getByRole('switch', { name: 'Kick members' })).toBeChecked();
  await expect.poll(async () => BigInt((await role('Moderators')).permissions) & KICK_MEMBERS).toBe(KICK_MEMBERS);
  await accessible(olga, 'roles settings');

  // A second role comes in at the bottom; dragged onto Moderators it goes above it.
  await dialog.getByRole('button', { name: 'Create role' }).click();
  const editor2 = dialog.getByRole('form', { name: 'Edit role new role' });
  await editor2.getByLabel('Role name').fill('Helpers');
  await editor2.getByRole('button', { name: 'Save changes' }).click();
  await expect(list.getByRole('button', { name: 'Helpers', exact: true })).toBeVisible();
  expect((await role('Helpers')).position).toBeLessThan((await role('Moderators')).position);
  const row = (name: string) => list.getByRole('listitem').filter({ has: olga.getByRole('button', { name, exact: true }) });
  await row('Helpers').dragTo(row('Moderators'));
  await expect.poll(async () => (await role('Helpers')).position > (await role('Moderators')).position).toBe(true);
  await expect(list.getByRole('button', { name: /^(Helpers|Moderators)$/ })).toHaveText(['Helpers', 'Moderators']);
  // The keyboard alternative puts it back.
  await list.getByRole('button', { name: 'Move Helpers down' }).click();
  await expect.poll(async () => (await role('Helpers')).position < (await role('Moderators')).position).toBe(true);
  await expect(list.getByRole('button', { name: /^(Helpers|Moderators)$/ })).toHaveText(['Moderators', 'Helpers']);
  await olga.screenshot({ path: 'test-results/screens/admin-roles.png' });

  // Esc closes the dialog and gives the focus back to its entry.
  await olga.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
  await expect(entry).toBeFocused();

  // #lounge hidden from @everyone: Mark's open client loses it.
  await olga.getByRole('button', { name: 'Edit permissions of #lounge' }).click();
  const perms = olga.getByRole('dialog', { name: 'Permissions of #lounge' });
  const everyone = perms.getByRole('form', { name: 'Permissions for @everyone' });
  await everyone.getByRole('group', { name: 'View channels' }).getByRole('radio', { name: 'Deny' }).check();
  await everyone.getByRole('button', { name: 'Save changes' }).click();
  await expect(markChannels.getByRole('link', { name: '# lounge' })).toHaveCount(0);
  await expect(markChannels.getByRole('link', { name: '# general' })).toBeVisible();
  const ch = await hearth.api<{ permission_overwrites: { id: string; deny: string }[] }>('GET', `/channels/${lounge.id}`, undefined, owner.token);
  const ow = ch.permission_overwrites.find((o) => o.id === guild.id);
  expect(BigInt(ow?.deny ?? '0') & VIEW_CHANNEL).toBe(VIEW_CHANNEL);
  await expect(everyone.getByRole('group', { name: 'View channels' }).getByRole('radio', { name: 'Deny' })).toBeChecked();
  await accessible(olga, 'channel permissions');
  await olga.screenshot({ path: 'test-results/screens/admin-channel-permissions.png' });
  await olga.keyboard.press('Escape');
  await expect(perms).toHaveCount(0);
  await expect(olga.getByRole('navigation', { name: 'Channels' }).getByRole('link', { name: '# lounge' })).toBeVisible();

  // An invite with a use limit, then revoked.
  await entry.click();
  await dialog.getByRole('tab', { name: 'Invites' }).click();
  await dialog.getByLabel('Max number of uses').selectOption('5');
  await dialog.getByLabel('Expire after').selectOption('3600');
  await dialog.getByRole('button', { name: 'Create invite' }).click();
  const code = (await dialog.getByTestId('invite-code').textContent())?.trim() ?? '';
  expect(code).not.toBe('');
  await expect(dialog.getByRole('textbox', { name: 'Invite link' })).toHaveValue(`${hearth.url}/invite/${code}`);
  const invites = dialog.getByRole('list', { name: 'Invites' });
  await expect(invites.getByText(code, { exact: true })).toBeVisible();
  await expect(invites.getByText('0 of 5 uses', { exact: false })).toBeVisible();
  await accessible(olga, 'invites settings');
  const listed = await hearth.api<{ code: string; max_uses: number; max_age: number }[]>('GET', `/guilds/${guild.id}/invites`, undefined, owner.token);
  expect(listed.find((i) => i.code === code)).toMatchObject({ max_uses: 5, max_age: 3600 });
  await invites.getByRole('button', { name: `Revoke invite ${code}` }).click();
  await expect(invites.getByText(code, { exact: true })).toHaveCount(0);
  const after = await hearth.api<{ code: string }[]>('GET', `/guilds/${guild.id}/invites`, undefined, owner.token);
  expect(after.some((i) => i.code === code)).toBe(false);
  await olga.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);

  // Mark is banned from his profile popout, after a confirmation; his client loses the guild.
  await olga.getByRole('complementary', { name: 'Members' }).getByRole('button', { name: 'mark', exact: true }).click();
  await olga.getByRole('dialog', { name: 'mark' }).getByRole('button', { name: 'Ban' }).click();
  const confirm = olga.getByRole('dialog', { name: 'Ban mark' });
  await confirm.getByLabel('Reason').fill('spam');
  await accessible(olga, 'ban dialog');
  await confirm.getByRole('button', { name: 'Ban', exact: true }).click();
  await expect(confirm).toHaveCount(0);
  await expect(mark.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: /^Admins/ })).toHaveCount(0);
  await expect(olga.getByRole('complementary', { name: 'Members' }).getByRole('button', { name: 'mark', exact: true })).toHaveCount(0);
  const bans = await hearth.api<{ user: { username: string }; reason: string | null }[]>('GET', `/guilds/${guild.id}/bans`, undefined, owner.token);
  expect(bans.map((b) => [b.user.username, b.reason])).toEqual([['mark', 'spam']]);

  // The bans list and the audit log show it.
  await entry.click();
  await dialog.getByRole('tab', { name: 'Bans' }).click();
  await expect(dialog.getByRole('list', { name: 'Bans' }).getByText('mark', { exact: true })).toBeVisible();
  await dialog.getByRole('tab', { name: 'Audit log' }).click();
  await dialog.getByLabel('Filter by action').selectOption({ label: 'Member banned' });
  const audit = dialog.getByRole('list', { name: 'Audit log' });
  await expect(audit.getByText('olga banned mark')).toBeVisible();
  await expect(audit.getByText('Reason: spam')).toBeVisible();
  await expect(audit.getByText('created role')).toHaveCount(0);
  await accessible(olga, 'audit log');
  await olga.screenshot({ path: 'test-results/screens/admin-audit-log.png' });
});

test('a moderator sees only its sections, higher roles locked with the reason, and the server’s refusal', async ({ browser }) => {
  const pw = 'correct-horse-battery';
  const MANAGE_ROLES = 1n << 28n;
  const VIEW_AUDIT_LOG = 1n << 7n;
  const owner = await hearth.api<{ token: string }>('POST', '/auth/register', { username: 'pia', password: pw });
  const mod = await hearth.api<{ token: string }>('POST', '/auth/register', { username: 'quinn', password: pw });
  const quinnId = (await hearth.api<{ id: string }>('GET', '/users/@me', undefined, mod.token)).id;
  const guild = await hearth.api<{ id: string }>('POST', '/guilds', { name: 'Ranks' }, owner.token);
  const channels = await hearth.api<{ id: string; type: number }[]>('GET', `/guilds/${guild.id}/channels`, undefined, owner.token);
  const general = channels.find((c) => c.type === 0);
  if (!general) throw new Error('no text channel');
  const join = await hearth.api<{ code: string }>('POST', `/channels/${general.id}/invites`, {}, owner.token);
  await hearth.api('POST', `/invites/${join.code}`, undefined, mod.token);
  // Mod (position 1) under Senior (position 2); Quinn holds Mod.
  const modRole = await hearth.api<Role>(
    'POST',
    `/guilds/${guild.id}/roles`,
    { name: 'Mod', permissions: String(MANAGE_ROLES | VIEW_AUDIT_LOG) },
    owner.token,
  );
  await hearth.api<Role>('POST', `/guilds/${guild.id}/roles`, { name: 'Senior' }, owner.token);
  await hearth.api('PATCH', `/guilds/${guild.id}/roles`, [{ id: modRole.id, position: 1 }], owner.token);
  await hearth.api('PUT', `/guilds/${guild.id}/members/${quinnId}/roles/${modRole.id}`, undefined, owner.token);

  const quinn = await logIn(browser, hearth, `/channels/${guild.id}/${general.id}`, 'quinn', pw);
  await quinn.getByRole('button', { name: 'Server settings' }).click();
  const dialog = settings(quinn);
  await expect(dialog.getByRole('tab')).toHaveText(['Roles', 'Audit log']);
  const list = dialog.getByRole('list', { name: 'Roles' });
  await expect(list.getByRole('button', { name: /^(Senior|Mod|@everyone)$/ })).toHaveText(['Senior', 'Mod', '@everyone']);

  // Senior and Mod (her own highest) are locked, with the reason; no move buttons work there.
  for (const name of ['Senior', 'Mod']) {
    await list.getByRole('button', { name, exact: true }).click();
    const form = dialog.getByRole('form', { name: `Edit role ${name}` });
    await expect(form.getByText('You can’t edit this role: it is at or above your highest role.')).toBeVisible();
    await expect(form.getByLabel('Role name')).toBeDisabled();
    await expect(list.getByRole('button', { name: `Move ${name} down` })).toBeDisabled();
  }

  // @everyone is below her: editable, but only with bits she holds.
  await list.getByRole('button', { name: '@everyone', exact: true }).click();
  const everyone = dialog.getByRole('form', { name: 'Edit role @everyone' });
  await expect(everyone.getByRole('switch', { name: 'Kick members' })).toBeDisabled();
  await everyone.getByRole('switch', { name: 'View audit log' }).check();

  // Meanwhile the owner takes VIEW_AUDIT_LOG from Mod: the Audit log section goes at once,
  // and saving the toggle is refused by the server, whose reason is shown.
  await hearth.api('PATCH', `/guilds/${guild.id}/roles/${modRole.id}`, { permissions: String(MANAGE_ROLES) }, owner.token);
  await expect(dialog.getByRole('tab')).toHaveText(['Roles']);
  await everyone.getByRole('button', { name: 'Save changes' }).click();
  await expect(everyone.getByRole('alert')).toContainText('Missing Permissions');
  const everyoneRole = (await hearth.api<Role[]>('GET', `/guilds/${guild.id}/roles`, undefined, owner.token)).find((r) => r.id === guild.id);
  expect(BigInt(everyoneRole?.permissions ?? '0') & VIEW_AUDIT_LOG).toBe(0n);

  // Without MANAGE_ROLES too, the settings entry goes.
  await hearth.api('PATCH', `/guilds/${guild.id}/roles/${modRole.id}`, { permissions: '0' }, owner.token);
  await expect(quinn.getByRole('button', { name: 'Server settings' })).toHaveCount(0);

  // Without CREATE_INSTANT_INVITE (taken from @everyone), no "Invite people" either.
  await expect(quinn.getByRole('button', { name: 'Invite people' })).toBeVisible();
  const base = BigInt(everyoneRole?.permissions ?? '0') & ~1n;
  await hearth.api('PATCH', `/guilds/${guild.id}/roles/${guild.id}`, { permissions: base.toString() }, owner.token);
  await expect(quinn.getByRole('button', { name: 'Invite people' })).toHaveCount(0);
});

test('the owner renames the server, manages a webhook and kicks a member', async ({ browser }) => {
  const pw = 'correct-horse-battery';
  const owner = await hearth.api<{ token: string }>('POST', '/auth/register', { username: 'rita', password: pw });
  const member = await hearth.api<{ token: string }>('POST', '/auth/register', { username: 'sam', password: pw });
  const guild = await hearth.api<{ id: string }>('POST', '/guilds', { name: 'Workshop' }, owner.token);
  const channels = await hearth.api<{ id: string; type: number }[]>('GET', `/guilds/${guild.id}/channels`, undefined, owner.token);
  const general = channels.find((c) => c.type === 0);
  if (!general) throw new Error('no text channel');
  const join = await hearth.api<{ code: string }>('POST', `/channels/${general.id}/invites`, {}, owner.token);
  await hearth.api('POST', `/invites/${join.code}`, undefined, member.token);

  const rita = await logIn(browser, hearth, `/channels/${guild.id}/${general.id}`, 'rita', pw);
  const sam = await logIn(browser, hearth, `/channels/${guild.id}/${general.id}`, 'sam', pw);
  await expect(sam.getByRole('heading', { name: '# general' })).toBeVisible();
  await rita.getByRole('button', { name: 'Server settings' }).click();
  const dialog = settings(rita);

  // Overview: the new name shows for both, live.
  await dialog.getByLabel('Server name').fill('Workshop 2');
  await dialog.getByRole('button', { name: 'Save changes' }).click();
  await expect(dialog.getByRole('status')).toHaveText('Saved.');
  await expect(sam.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: /^Workshop 2/ })).toBeVisible();
  expect((await hearth.api<{ name: string }>('GET', `/guilds/${guild.id}`, undefined, owner.token)).name).toBe('Workshop 2');
  // An icon (a 1×1 PNG), shown from the CDN once the server stored it.
  const pixel = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
  await dialog.getByLabel('Upload an icon').setInputFiles({ name: 'icon.png', mimeType: 'image/png', buffer: pixel });
  await expect(dialog.getByRole('img', { name: 'Server icon' })).toHaveJSProperty('complete', true);
  await expect.poll(async () => (await hearth.api<{ icon: string | null }>('GET', `/guilds/${guild.id}`, undefined, owner.token)).icon).not.toBeNull();
  expect(await dialog.getByRole('img', { name: 'Server icon' }).evaluate((i: HTMLImageElement) => i.naturalWidth)).toBeGreaterThan(0);

  // A webhook: its URL shown once, listed, then deleted.
  await dialog.getByRole('tab', { name: 'Webhooks' }).click();
  await dialog.getByLabel('Webhook name').fill('CI bot');
  await dialog.getByRole('button', { name: 'Create webhook' }).click();
  await expect(dialog.getByRole('textbox', { name: /^Webhook URL/ })).toHaveValue(/\/webhooks\/\d+\/\S+$/);
  const hooks = dialog.getByRole('list', { name: 'Webhooks' });
  await expect(hooks.getByText('CI bot')).toBeVisible();
  const listed = await hearth.api<{ id: string; name: string }[]>('GET', `/guilds/${guild.id}/webhooks`, undefined, owner.token);
  expect(listed.map((w) => w.name)).toEqual(['CI bot']);
  await hooks.getByRole('button', { name: 'Delete webhook CI bot' }).click();
  await expect(dialog.getByText('No webhooks.')).toBeVisible();
  expect(await hearth.api<unknown[]>('GET', `/guilds/${guild.id}/webhooks`, undefined, owner.token)).toEqual([]);
  await rita.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);

  // Kick: Sam loses the guild but is not banned.
  const members = rita.getByRole('complementary', { name: 'Members' });
  await members.getByRole('button', { name: 'sam', exact: true }).click();
  await rita.getByRole('dialog', { name: 'sam' }).getByRole('button', { name: 'Kick' }).click();
  const confirm = rita.getByRole('dialog', { name: 'Kick sam' });
  await expect(confirm.getByLabel(/^Reason/)).toBeFocused();
  await confirm.getByRole('button', { name: 'Kick', exact: true }).click();
  await expect(members.getByRole('button', { name: 'sam', exact: true })).toHaveCount(0);
  await expect(sam.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: /^Workshop/ })).toHaveCount(0);
  expect(await hearth.api<unknown[]>('GET', `/guilds/${guild.id}/bans`, undefined, owner.token)).toEqual([]);
});
