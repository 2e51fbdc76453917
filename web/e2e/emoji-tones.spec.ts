// Skin tones in the emoji picker (issue 16): alice opens the hand button, picks "Medium
// skin tone", and the emoji that have tones show and are sent in it (a message, checked in
// the server's stored content); the tone is kept, so the reaction picker opens in it and the
// reaction is stored with the toned emoji; emoji without tones are unchanged.
import { expect, test } from '@playwright/test';
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

interface Msg {
  id: string;
  content: string;
  reactions?: { count: number; me: boolean; emoji: { id: string | null; name: string | null } }[];
}

test('a skin tone chosen in the picker applies to what is sent and is kept', async ({ browser }) => {
  // The accessibility scan of the open picker walks its ~1,900 options: about 14 s here on a
  // quiet machine, 2-3 times that on a loaded CI run (the default 60 s was exceeded there).
  test.setTimeout(180_000);
  const pw = 'correct-horse-battery';
  const alice = await hearth.api<{ token: string }>('POST', '/auth/register', { username: 'alice', password: pw });
  const guild = await hearth.api<{ id: string }>('POST', '/guilds', { name: 'Tones' }, alice.token);
  const channels = await hearth.api<{ id: string; type: number }[]>('GET', `/guilds/${guild.id}/channels`, undefined, alice.token);
  const general = channels.find((c) => c.type === 0)?.id ?? '';
  const page = await logIn(browser, hearth, `/channels/${guild.id}/${general}`, 'alice', pw);
  const box = page.getByLabel('Message #general');
  await expect(box).toBeVisible();

  await page.getByRole('button', { name: 'Choose an emoji' }).click();
  const picker = page.getByRole('dialog', { name: 'Choose an emoji' });
  const toneButton = picker.getByRole('button', { name: 'Skin tone: Default' });
  await expect(picker.getByRole('option', { name: 'thumbs up', exact: true })).toHaveText('👍');
  await toneButton.click();
  await expect(toneButton).toHaveAttribute('aria-expanded', 'true');
  const tones = picker.getByRole('group', { name: 'Skin tones' });
  await expect(tones.getByRole('button')).toHaveCount(6);
  await expect(tones.getByRole('button', { name: 'Default' })).toHaveAttribute('aria-pressed', 'true');
  await accessible(page, 'emoji picker with skin tones', '[role="dialog"]');
  await tones.getByRole('button', { name: 'Medium skin tone' }).click();
  await expect(tones).toHaveCount(0);
  await expect(picker.getByRole('button', { name: 'Skin tone: Medium skin tone' })).toBeVisible();
  await expect(picker.getByRole('combobox')).toBeFocused();
  await expect(picker.getByRole('option', { name: 'thumbs up', exact: true })).toHaveText('👍🏽');
  await expect(picker.getByRole('option', { name: 'pizza', exact: true })).toHaveText('🍕');
  await page.screenshot({ path: 'test-results/screens/emoji-skin-tones.png' });
  await picker.getByRole('combobox').fill('thumbs up');
  await expect(picker.getByRole('option').first()).toHaveAccessibleName('thumbs up');
  await page.keyboard.press('Enter');
  await expect(picker).toBeHidden();
  await expect(box).toHaveValue('👍🏽');
  await page.keyboard.press('Enter');
  const item = page.getByRole('listitem').filter({ hasText: '👍🏽' });
  await expect(item).toBeVisible();
  const sent = (await hearth.api<Msg[]>('GET', `/channels/${general}/messages?limit=1`, undefined, alice.token))[0];
  expect(sent?.content).toBe('👍🏽');

  // The tone is kept: the reaction picker opens in it.
  await item.hover();
  await item.getByRole('button', { name: 'Add reaction' }).click();
  const react = page.getByRole('dialog', { name: 'Add reaction' });
  await expect(react.getByRole('button', { name: 'Skin tone: Medium skin tone' })).toBeVisible();
  await react.getByRole('combobox').fill('waving hand');
  await expect(react.getByRole('option').first()).toHaveText('👋🏽');
  await page.keyboard.press('Enter');
  await expect(item.getByRole('button', { name: /👋🏽/ })).toBeVisible();
  const reacted = await hearth.api<Msg>('GET', `/channels/${general}/messages/${sent?.id ?? ''}`, undefined, alice.token);
  expect(reacted.reactions?.map((r) => [r.emoji.name, r.count, r.me])).toEqual([['👋🏽', 1, true]]);
});
