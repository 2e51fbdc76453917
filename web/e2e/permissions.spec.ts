// A member without VIEW_CHANNEL never sees the hidden channel or its messages, neither in the
// channel list nor by its URL nor live, while the owner does.
import { expect, test } from '@playwright/test';
import { logIn } from './people';
import { startHearth, type Hearth } from './server';

let hearth: Hearth;
const VIEW_CHANNEL = 1 << 10;

test.beforeAll(async () => {
  hearth = await startHearth();
});

test.afterAll(async () => {
  await hearth?.stop();
});

test('a member without VIEW_CHANNEL never sees the hidden channel', async ({ browser }) => {
  const pw = 'correct-horse-battery';
  const owner = await hearth.api<{ token: string }>('POST', '/auth/register', { username: 'dana', password: pw });
  const member = await hearth.api<{ token: string }>('POST', '/auth/register', { username: 'eve', password: pw });
  const guild = await hearth.api<{ id: string }>('POST', '/guilds', { name: 'Staffed' }, owner.token);
  const channels = await hearth.api<{ id: string; type: number }[]>('GET', `/guilds/${guild.id}/channels`, undefined, owner.token);
  const general = channels.find((c) => c.type === 0);
  if (!general) throw new Error('no text channel');
  // @everyone's role id is the guild id.
  const staff = await hearth.api<{ id: string }>(
    'POST',
    `/guilds/${guild.id}/channels`,
    { name: 'staff', type: 0, permission_overwrites: [{ id: guild.id, type: 0, allow: '0', deny: String(VIEW_CHANNEL) }] },
    owner.token,
  );
  await hearth.api('POST', `/channels/${staff.id}/messages`, { content: 'staff only: the plan' }, owner.token);
  const invite = await hearth.api<{ code: string }>('POST', `/channels/${general.id}/invites`, {}, owner.token);
  await hearth.api('POST', `/invites/${invite.code}`, undefined, member.token);

  const dana = await logIn(browser, hearth, `/channels/${guild.id}/${staff.id}`, 'dana', pw);
  await expect(dana.getByRole('navigation', { name: 'Channels' }).getByRole('link', { name: '# staff' })).toBeVisible();
  await expect(dana.getByRole('list', { name: 'Messages' }).getByText('staff only: the plan')).toBeVisible();

  // Eve opens the hidden channel's URL: no channel, no message.
  const eve = await logIn(browser, hearth, `/channels/${guild.id}/${staff.id}`, 'eve', pw);
  await expect(eve.getByRole('navigation', { name: 'Channels' }).getByRole('link', { name: '# general' })).toBeVisible();
  await expect(eve.getByRole('navigation', { name: 'Channels' }).getByRole('link', { name: '# staff' })).toHaveCount(0);
  await expect(eve.getByText('staff only')).toHaveCount(0);

  // Live: Dana posts in #staff and then in #general; Eve sees only the second.
  await dana.getByLabel('Message #staff').fill('staff only: second secret');
  await dana.keyboard.press('Enter');
  await expect(dana.getByRole('list', { name: 'Messages' }).getByText('staff only: second secret')).toBeVisible();
  await eve.getByRole('link', { name: '# general' }).click();
  await dana.getByRole('link', { name: '# general' }).click();
  await dana.getByLabel('Message #general').fill('hello everyone');
  await dana.keyboard.press('Enter');
  await expect(eve.getByRole('list', { name: 'Messages' }).getByText('hello everyone')).toBeVisible();
  await expect(eve.getByText('staff only')).toHaveCount(0);

  // Unread marker: Dana looks at #staff while Eve writes in #general.
  const danaNav = dana.getByRole('navigation', { name: 'Channels' });
  await danaNav.getByRole('link', { name: '# staff' }).click();
  await expect(dana.getByRole('heading', { name: '# staff' })).toBeVisible();
  await eve.getByLabel('Message #general').fill('are you there?');
  await eve.keyboard.press('Enter');
  await expect(danaNav.getByRole('link', { name: '# general, unread', exact: true })).toBeVisible();
  await danaNav.getByRole('link', { name: '# general, unread', exact: true }).click();
  await expect(dana.getByRole('list', { name: 'Messages' }).getByText('are you there?')).toBeVisible();
  await expect(danaNav.getByRole('link', { name: '# general', exact: true })).toBeVisible();
});
