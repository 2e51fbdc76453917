// Category permission overwrites (issue 16): the owner opens the ⚙ of a category, denies
// View channels to @everyone there (stored on the category; the channel inside keeps its own
// overwrites and says it is no longer synced), then syncs the channel with its category:
// a member's open client loses the channel live. A member without MANAGE_ROLES gets no ⚙.
// Checked on the screen and in the server's state through the REST API.
import { expect, test } from '@playwright/test';
import { accessible } from './a11y';
import { logIn } from './people';
import { startHearth, type Hearth } from './server';

let hearth: Hearth;
const VIEW_CHANNEL = 1n << 10n;

test.beforeAll(async () => {
  hearth = await startHearth();
});

test.afterAll(async () => {
  await hearth?.stop();
});

interface Ch {
  id: string;
  permission_overwrites: { id: string; type: number; allow: string; deny: string }[];
}

test('the owner sets a category’s overwrites and syncs a channel with it', async ({ browser }) => {
  const pw = 'correct-horse-battery';
  const owner = await hearth.api<{ token: string }>('POST', '/auth/register', { username: 'olga', password: pw });
  const member = await hearth.api<{ token: string }>('POST', '/auth/register', { username: 'mark', password: pw });
  const guild = await hearth.api<{ id: string }>('POST', '/guilds', { name: 'Categories' }, owner.token);
  const channels = await hearth.api<{ id: string; type: number }[]>('GET', `/guilds/${guild.id}/channels`, undefined, owner.token);
  const general = channels.find((c) => c.type === 0);
  if (!general) throw new Error('no text channel');
  const staff = await hearth.api<Ch>('POST', `/guilds/${guild.id}/channels`, { name: 'Staff', type: 4 }, owner.token);
  const plans = await hearth.api<Ch>('POST', `/guilds/${guild.id}/channels`, { name: 'plans', type: 0, parent_id: staff.id }, owner.token);
  const archive = await hearth.api<Ch>('POST', `/guilds/${guild.id}/channels`, { name: 'Archive', type: 4 }, owner.token);
  const invite = await hearth.api<{ code: string }>('POST', `/channels/${general.id}/invites`, {}, owner.token);
  await hearth.api('POST', `/invites/${invite.code}`, undefined, member.token);

  const mark = await logIn(browser, hearth, `/channels/${guild.id}/${general.id}`, 'mark', pw);
  const markChannels = mark.getByRole('navigation', { name: 'Channels' });
  await expect(markChannels.getByRole('link', { name: '# plans' })).toBeVisible();
  await expect(markChannels.getByRole('button', { name: /^[▾▸] Staff$/ })).toBeVisible();
  await expect(mark.getByRole('button', { name: /^Edit permissions of/ })).toHaveCount(0);
  // An empty category is not listed to whom cannot edit it (as on Discord).
  await expect(markChannels.getByRole('button', { name: /^[▾▸] Archive$/ })).toHaveCount(0);

  const olga = await logIn(browser, hearth, `/channels/${guild.id}/${general.id}`, 'olga', pw);
  // An empty category is listed too, so that its permissions can be set before it has channels.
  await expect(olga.getByRole('button', { name: 'Edit permissions of category Archive' })).toBeVisible();
  await olga.getByRole('button', { name: 'Edit permissions of category Staff' }).click();
  const dialog = olga.getByRole('dialog', { name: 'Permissions of category Staff' });
  await expect(dialog.getByText('New channels in this category start with these permissions.', { exact: false })).toBeVisible();
  const everyone = dialog.getByRole('form', { name: 'Permissions for @everyone' });
  await everyone.getByRole('group', { name: 'View channels' }).getByRole('radio', { name: 'Deny' }).check();
  await everyone.getByRole('button', { name: 'Save changes' }).click();
  await expect(everyone.getByRole('button', { name: 'Save changes' })).toBeDisabled();
  const cat = await hearth.api<Ch>('GET', `/channels/${staff.id}`, undefined, owner.token);
  expect(BigInt(cat.permission_overwrites.find((o) => o.id === guild.id)?.deny ?? '0') & VIEW_CHANNEL).toBe(VIEW_CHANNEL);
  await accessible(olga, 'category permissions', '[role=dialog]');
  await olga.screenshot({ path: 'test-results/screens/admin-category-permissions.png' });
  await olga.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);

  // The channel keeps its own overwrites (Discord's model): Mark still sees it, uncategorized
  // (the category is hidden from him now).
  const before = await hearth.api<Ch>('GET', `/channels/${plans.id}`, undefined, owner.token);
  expect(before.permission_overwrites).toEqual([]);
  await expect(markChannels.getByRole('link', { name: '# plans' })).toBeVisible();
  await expect(markChannels.getByRole('button', { name: /^[▾▸] Staff$/ })).toHaveCount(0);

  // Synced with its category: it takes the category's overwrites; Mark loses it live.
  await olga.getByRole('button', { name: 'Edit permissions of #plans' }).click();
  const channelDialog = olga.getByRole('dialog', { name: 'Permissions of #plans' });
  await expect(channelDialog.getByRole('status')).toHaveText('Not synced with category Staff');
  await channelDialog.getByRole('button', { name: 'Sync with category' }).click();
  await expect(channelDialog.getByRole('status')).toHaveText('Synced with category Staff');
  await expect(channelDialog.getByRole('button', { name: 'Sync with category' })).toHaveCount(0);
  const after = await hearth.api<Ch>('GET', `/channels/${plans.id}`, undefined, owner.token);
  expect(after.permission_overwrites).toEqual(cat.permission_overwrites);
  await expect(markChannels.getByRole('link', { name: '# plans' })).toHaveCount(0);
  await expect(markChannels.getByRole('link', { name: '# general' })).toBeVisible();
  await accessible(olga, 'channel permissions, synced', '[role=dialog]');

  // A moderator (MANAGE_CHANNELS and MANAGE_ROLES) is not offered a sync the server refuses:
  // copying Archive's overwrites would set MANAGE_ROLES, which only an overwrite granting it
  // to him would allow.
  const mod = await hearth.api<{ token: string }>('POST', '/auth/register', { username: 'moritz', password: pw });
  await hearth.api('POST', `/invites/${invite.code}`, undefined, mod.token);
  const modId = (await hearth.api<{ id: string }>('GET', '/users/@me', undefined, mod.token)).id;
  const mods = await hearth.api<{ id: string }>('POST', `/guilds/${guild.id}/roles`, { name: 'Mods', permissions: String((1n << 4n) | (1n << 28n)) }, owner.token);
  await hearth.api('PUT', `/guilds/${guild.id}/members/${modId}/roles/${mods.id}`, undefined, owner.token);
  await hearth.api('PUT', `/channels/${archive.id}/permissions/${mods.id}`, { type: 0, allow: String(1n << 28n), deny: '0' }, owner.token);
  const old = await hearth.api<Ch>('POST', `/guilds/${guild.id}/channels`, { name: 'old', type: 0, parent_id: archive.id }, owner.token);
  await hearth.api('DELETE', `/channels/${old.id}/permissions/${mods.id}`, undefined, owner.token);
  const refused = await fetch(`${hearth.url}/api/v10/guilds/${guild.id}/channels`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${mod.token}` },
    body: JSON.stringify([{ id: old.id, parent_id: archive.id, lock_permissions: true }]),
  });
  expect(refused.status).toBe(403);
  const moritz = await logIn(browser, hearth, `/channels/${guild.id}/${general.id}`, 'moritz', pw);
  await moritz.getByRole('button', { name: 'Edit permissions of #old' }).click();
  const oldDialog = moritz.getByRole('dialog', { name: 'Permissions of #old' });
  await expect(oldDialog.getByRole('status')).toHaveText('Not synced with category Archive');
  await expect(oldDialog.getByRole('button', { name: 'Sync with category' })).toHaveCount(0);
  // The owner is offered it.
  await olga.keyboard.press('Escape');
  await olga.getByRole('button', { name: 'Edit permissions of #old' }).click();
  await expect(olga.getByRole('dialog', { name: 'Permissions of #old' }).getByRole('button', { name: 'Sync with category' })).toBeVisible();
});
