// Keyboard and emoji: alice jumps to another server's channel with the quick switcher
// (Ctrl+K), walks channels with Alt+Down and to the unread one with Alt+Shift+Down, opens
// and closes the shortcuts help (Ctrl+/) with the focus back in the composer, and uses the
// emoji picker: a Unicode emoji into a sent message (checked in the server's stored
// message), a reaction (checked through REST and on screen), and the server's custom emoji.
// Up in the empty composer edits her last message; Ctrl+Alt+Up/Down switch servers.
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

const password = (name: string) => `${name}-correct-horse-battery`;
/** A 16×16 PNG, the custom emoji's image. */
const PNG =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAYAAAAf8/9hAAAAGUlEQVR4nGN4UWL9nxLMMGrAqAGjBgwXAwD80JYfb5V2iAAAAABJRU5ErkJggg==';

interface Msg {
  id: string;
  content: string;
  reactions?: { count: number; me: boolean; emoji: { id: string | null; name: string | null } }[];
}

async function register(name: string): Promise<string> {
  return (await hearth.api<{ token: string }>('POST', '/auth/register', { username: name, password: password(name) })).token;
}

async function guildWith(token: string, name: string, extra: string[]): Promise<{ id: string; general: string; more: string[] }> {
  const g = await hearth.api<{ id: string }>('POST', '/guilds', { name }, token);
  const channels = await hearth.api<{ id: string; type: number }[]>('GET', `/guilds/${g.id}/channels`, undefined, token);
  const general = channels.find((c) => c.type === 0)?.id ?? '';
  const more: string[] = [];
  for (const c of extra) more.push((await hearth.api<{ id: string }>('POST', `/guilds/${g.id}/channels`, { name: c }, token)).id);
  return { id: g.id, general, more };
}

test('quick switcher, channel shortcuts, help dialog and the emoji picker', async ({ browser }) => {
  // The accessibility scan of the open picker walks its ~1,900 options: about 14 s here on a
  // quiet machine, 2-3 times that on a loaded CI run (the default 60 s was exceeded there).
  test.setTimeout(180_000);
  const alice = await register('alice');
  const bob = await register('bob');
  const alpha = await guildWith(alice, 'Alpha', ['news', 'random']);
  const beta = await guildWith(alice, 'Beta', ['lounge']);
  const [news = '', random = ''] = alpha.more;
  const lounge = beta.more[0] ?? '';
  const invite = await hearth.api<{ code: string }>('POST', `/channels/${alpha.general}/invites`, {}, alice);
  await hearth.api('POST', `/invites/${invite.code}`, {}, bob);
  const emoji = await hearth.api<{ id: string }>('POST', `/guilds/${alpha.id}/emojis`, { name: 'hearth', image: PNG }, alice);

  const page = await logIn(browser, hearth, `/channels/${alpha.id}/${alpha.general}`, 'alice', password('alice'));
  await expect(page.getByRole('heading', { name: '# general' })).toBeVisible();
  const composer = page.getByRole('textbox', { name: /^Message #/ });

  // Ctrl+K, type, Enter: another server's channel.
  await composer.click();
  await page.keyboard.press('Control+k');
  const switcher = page.getByRole('dialog', { name: 'Switch to' });
  await expect(switcher).toBeVisible();
  await expect(switcher.getByRole('combobox')).toBeFocused();
  await accessible(page, 'quick switcher', '[role="dialog"]');
  await page.keyboard.type('loun');
  await expect(switcher.getByRole('option').first()).toHaveText(/# lounge\s*Beta/);
  await expect(switcher.getByRole('option').first()).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('Enter');
  await expect(switcher).toBeHidden();
  await expect(page.getByRole('heading', { name: '# lounge' })).toBeVisible();
  await expect(page).toHaveURL(new RegExp(`/channels/${beta.id}/${lounge}$`));

  // Esc closes it and the focus goes back; a server by name (`*`) opens its first channel.
  await page.getByRole('textbox', { name: 'Message #lounge' }).click();
  await page.keyboard.press('Control+k');
  await expect(switcher).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(switcher).toBeHidden();
  await expect(page.getByRole('textbox', { name: 'Message #lounge' })).toBeFocused();
  await page.keyboard.press('Control+k');
  await page.keyboard.type('*alp');
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { name: '# general' })).toBeVisible();
  await expect(page).toHaveURL(new RegExp(`/channels/${alpha.id}/${alpha.general}$`));

  // bob writes in #random: unread for alice. Alt+Down: #news; Alt+Shift+Down: the unread #random.
  await hearth.api('POST', `/channels/${random}/messages`, { content: 'anyone?' }, bob);
  await expect(page.getByRole('link', { name: '# random, unread' })).toBeVisible();
  await page.keyboard.press('Alt+ArrowDown');
  await expect(page.getByRole('heading', { name: '# news' })).toBeVisible();
  await expect(page).toHaveURL(new RegExp(`/channels/${alpha.id}/${news}$`));
  await page.keyboard.press('Alt+Shift+ArrowDown');
  await expect(page.getByRole('heading', { name: '# random' })).toBeVisible();
  await expect(page.getByRole('link', { name: '# random', exact: true })).toBeVisible();

  // Ctrl+/ lists the shortcuts; Esc closes the list and the focus is back in the composer.
  const box = page.getByRole('textbox', { name: 'Message #random' });
  await box.click();
  await page.keyboard.press('Control+/');
  const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await expect(help).toBeVisible();
  await expect(help.getByRole('cell', { name: 'Open the quick switcher' })).toBeVisible();
  await accessible(page, 'shortcuts help', '[role="dialog"]');
  await page.keyboard.press('Escape');
  await expect(help).toBeHidden();
  await expect(box).toBeFocused();

  // The composer's picker: search, Enter inserts the emoji at the caret; the message is sent.
  await box.fill('time for ');
  await page.getByRole('button', { name: 'Choose an emoji' }).click();
  const picker = page.getByRole('dialog', { name: 'Choose an emoji' });
  await expect(picker.getByRole('option', { name: 'grinning face', exact: true })).toBeVisible();
  await accessible(page, 'emoji picker', '[role="dialog"]');
  await picker.getByRole('combobox').fill('pizza');
  await expect(picker.getByRole('option').first()).toHaveAccessibleName('pizza');
  await page.keyboard.press('Enter');
  await expect(picker).toBeHidden();
  await expect(box).toHaveValue('time for 🍕');
  await expect(box).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('listitem').filter({ hasText: 'time for 🍕' })).toBeVisible();
  const sent = (await hearth.api<Msg[]>('GET', `/channels/${random}/messages?limit=1`, undefined, alice))[0];
  expect(sent?.content).toBe('time for 🍕');

  // The reaction action opens the picker; arrow keys move through the grid; the reaction is stored.
  const item = page.locator(`[data-message-id="${sent?.id ?? ''}"]`);
  await item.hover();
  await item.getByRole('button', { name: 'Add reaction' }).click();
  const reacting = page.getByRole('dialog', { name: 'Add reaction' });
  await reacting.getByRole('combobox').fill('thumbs');
  await expect(reacting.getByRole('option').first()).toHaveAccessibleName('thumbs up');
  await expect(reacting.getByRole('option').first()).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('ArrowRight');
  await expect(reacting.getByRole('option').nth(1)).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('ArrowLeft');
  await expect(reacting.getByRole('option').first()).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('Enter');
  await expect(reacting).toBeHidden();
  await expect(item.getByRole('button', { name: /^👍\uFE0F? 1, including you$/ })).toBeVisible();
  const reacted = await hearth.api<Msg>('GET', `/channels/${random}/messages/${sent?.id ?? ''}`, undefined, alice);
  expect(reacted.reactions?.map((r) => [r.emoji.name?.replace(/\uFE0F/g, ''), r.count, r.me])).toEqual([['👍', 1, true]]);

  // The server's custom emoji is offered and goes in as <:name:id>; it shows as its image.
  await box.click();
  await page.getByRole('button', { name: 'Choose an emoji' }).click();
  await expect(picker.getByRole('group', { name: "Alpha's emoji" }).getByRole('option', { name: ':hearth:' })).toBeVisible();
  await picker.getByRole('combobox').fill('hearth');
  await picker.getByRole('option', { name: ':hearth:' }).click();
  await expect(box).toHaveValue(`<:hearth:${emoji.id}>`);
  await page.keyboard.press('Enter');
  await expect(page.locator(`.markdown img.emoji[alt=":hearth:"][src^="/emojis/${emoji.id}.png"]`)).toBeVisible();
  const custom = (await hearth.api<Msg[]>('GET', `/channels/${random}/messages?limit=1`, undefined, alice))[0];
  expect(custom?.content).toBe(`<:hearth:${emoji.id}>`);

  // Up in the empty composer edits the last own message.
  await expect(box).toBeFocused();
  await page.keyboard.press('ArrowUp');
  await expect(page.getByRole('textbox', { name: 'Edit' })).toHaveValue(`<:hearth:${emoji.id}>`);
  await page.keyboard.press('Escape');
  await expect(box).toBeFocused();

  // Ctrl+Alt+Down: the next server (Beta opens on its first channel), Ctrl+Alt+Up: back.
  await page.keyboard.press('Control+Alt+ArrowDown');
  await expect(page).toHaveURL(new RegExp(`/channels/${beta.id}/${beta.general}$`));
  await page.keyboard.press('Control+Alt+ArrowUp');
  await expect(page).toHaveURL(new RegExp(`/channels/${alpha.id}/${alpha.general}$`));
});
