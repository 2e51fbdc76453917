// Files and pins in the web client, two people in two browser contexts against a real hearth
// whose attachment limits are small (`media.max_file_bytes` 4096, 3 files per message):
// Alice attaches an image with the file chooser, a text file by drag and drop and another by
// paste (removed again before sending), sends them with text as one message; Bob sees the
// image rendered and downloads the file. Alice pins the message, Bob (no PIN_MESSAGES) has no
// pin action but sees it in the pins panel, live; given a role with PIN_MESSAGES he gets the
// action and unpins it. Too large and too many files show the server's error and keep the draft.
import { deflateSync } from 'node:zlib';
import { expect, test, type Page } from '@playwright/test';
import { accessible } from './a11y';
import { logIn } from './people';
import { startHearth, type Hearth } from './server';

let hearth: Hearth;
const MAX_FILE = 4096;
const PIN_MESSAGES = 1n << 51n;

test.beforeAll(async () => {
  // The page is opened as http://localhost:PORT while attachment URLs name the bound address
  // (http://127.0.0.1:PORT, `media.public_url`'s default): images must still show inline,
  // which the page's Content-Security-Policy allows by naming that origin in img-src.
  hearth = await startHearth(
    { HEARTH_MEDIA__MAX_FILE_BYTES: String(MAX_FILE), HEARTH_MEDIA__MAX_FILES_PER_MESSAGE: '3' },
    { host: 'localhost' },
  );
});

test.afterAll(async () => {
  await hearth?.stop();
});

const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (const x of b) c = (CRC[(c ^ x) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
/** A real `width` x `height` RGB PNG (an orange gradient). */
function png(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const rows: number[] = [];
  for (let y = 0; y < height; y++) {
    rows.push(0);
    for (let x = 0; x < width; x++) rows.push(232, (x * 255) / width, 59);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.from(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Dispatches a `drop` (or `paste` on the composer) carrying one file, as a browser does. */
async function dispatchFile(page: Page, kind: 'drop' | 'paste', name: string, text: string) {
  const target = kind === 'drop' ? page.locator('main.messages') : page.getByLabel('Message #general');
  const dt = await page.evaluateHandle(
    ([n, body]) => {
      const d = new DataTransfer();
      d.items.add(new File([body], n, { type: 'text/plain' }));
      return d;
    },
    [name, text] as const,
  );
  if (kind === 'drop') {
    await target.dispatchEvent('dragover', { dataTransfer: dt });
    await target.dispatchEvent('drop', { dataTransfer: dt });
  } else {
    await target.evaluate((el, d) => {
      el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: d, bubbles: true, cancelable: true }));
    }, dt);
  }
}

const messages = (page: Page) => page.getByRole('list', { name: 'Messages', exact: true });
const drafts = (page: Page) => page.getByRole('list', { name: 'Files to send' });
/** The pinned messages listed (not the list items of their attachments). */
const pinned = (page: Page) => page.getByRole('list', { name: 'Pinned messages' }).locator(':scope > li');

test('files are sent, shown and pinned', async ({ browser }) => {
  const pw = 'correct-horse-battery';
  const owner = await hearth.api<{ token: string; user_id: string }>('POST', '/auth/register', { username: 'alice', password: pw });
  const member = await hearth.api<{ token: string; user_id: string }>('POST', '/auth/register', { username: 'bob', password: pw });
  const guild = await hearth.api<{ id: string }>('POST', '/guilds', { name: 'Files Club' }, owner.token);
  const channels = await hearth.api<{ id: string; type: number }[]>('GET', `/guilds/${guild.id}/channels`, undefined, owner.token);
  const general = channels.find((c) => c.type === 0);
  if (!general) throw new Error('no text channel');
  const invite = await hearth.api<{ code: string }>('POST', `/channels/${general.id}/invites`, {}, owner.token);
  await hearth.api('POST', `/invites/${invite.code}`, undefined, member.token);
  const path = `/channels/${guild.id}/${general.id}`;

  const alice = await logIn(browser, hearth, path, 'alice', pw);
  const bob = await logIn(browser, hearth, path, 'bob', pw);
  await expect(alice.getByRole('heading', { name: '# general' })).toBeVisible();
  await expect(bob.getByRole('heading', { name: '# general' })).toBeVisible();

  // Alice chooses an image, drops a text file and pastes another (a hostile name shown as text).
  const image = png(40, 20);
  await alice.locator('input[type=file]').setInputFiles({ name: 'pixel.png', mimeType: 'image/png', buffer: image });
  await dispatchFile(alice, 'drop', 'notes.txt', 'the notes of the meeting\n');
  const hostile = '<img src=x onerror="window.__pwned=1">.txt';
  await dispatchFile(alice, 'paste', hostile, 'pasted');
  await expect(drafts(alice).getByRole('listitem')).toHaveCount(3);
  await expect(drafts(alice).getByRole('img', { name: 'pixel.png' })).toBeVisible();
  await expect(drafts(alice).getByText(hostile)).toBeVisible();
  expect(await alice.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  await alice.screenshot({ path: 'test-results/screens/composer-files.png' });
  await accessible(alice, 'composer with files');
  // The pasted file is removed again.
  await drafts(alice).getByRole('button', { name: `Remove ${hostile}` }).click();
  await expect(drafts(alice).getByRole('listitem')).toHaveCount(2);

  await alice.getByLabel('Message #general').fill('minutes and a picture');
  await alice.keyboard.press('Enter');
  await expect(drafts(alice)).toHaveCount(0);
  await expect(alice.getByLabel('Message #general')).toHaveValue('');

  // Bob sees it live: the image loaded in its reserved box, the file as a download link.
  const sent = messages(bob).getByRole('listitem').filter({ hasText: 'minutes and a picture' });
  await expect(sent).toBeVisible();
  const img = sent.getByRole('img', { name: 'pixel.png' });
  await expect(img).toBeVisible();
  await expect(img).toHaveAttribute('width', '40');
  await expect(img).toHaveAttribute('height', '20');
  await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.naturalWidth)).toBe(40);
  await expect(sent.getByRole('link', { name: 'pixel.png' })).toHaveAttribute('target', '_blank');
  const link = sent.getByRole('link', { name: 'notes.txt' });
  await expect(link).toBeVisible();
  await expect(sent.getByText('25 B')).toBeVisible();
  const href = await link.getAttribute('href');
  expect(href).toBeTruthy();
  const file = await bob.request.get(new URL(href ?? '', hearth.url).toString());
  expect(file.status()).toBe(200);
  expect(await file.text()).toBe('the notes of the meeting\n');

  // Bob has no PIN_MESSAGES: no pin action. Alice pins the message.
  await sent.hover();
  await expect(sent.getByRole('button', { name: 'Reply' })).toBeVisible();
  await expect(sent.getByRole('button', { name: 'Pin' })).toHaveCount(0);
  const own = messages(alice).getByRole('listitem').filter({ hasText: 'minutes and a picture' });
  await own.hover();
  await own.getByRole('button', { name: 'Pin' }).click();
  await expect(own.getByText('Pinned')).toBeVisible();
  await expect(sent.getByText('Pinned')).toBeVisible();

  // Bob opens the pins panel and sees it, with its files.
  await bob.getByRole('button', { name: 'Pinned messages' }).click();
  const panel = bob.getByRole('region', { name: 'Pinned messages' });
  const pins = panel.getByRole('list', { name: 'Pinned messages' });
  await expect(pins.getByRole('listitem').filter({ hasText: 'minutes and a picture' })).toBeVisible();
  await expect(pins.getByRole('img', { name: 'pixel.png' })).toBeVisible();
  await expect(panel.getByRole('button', { name: 'Unpin' })).toHaveCount(0);
  await accessible(bob, 'pins panel');
  // Esc closes the panel and gives focus back to the button that opened it.
  await expect(panel.getByRole('heading', { name: 'Pinned messages' })).toBeFocused();
  await bob.keyboard.press('Escape');
  await expect(panel).toHaveCount(0);
  await expect(bob.getByRole('button', { name: 'Pinned messages' })).toBeFocused();
  await bob.getByRole('button', { name: 'Pinned messages' }).click();

  // Alice pins a second message: Bob's open panel follows (CHANNEL_PINS_UPDATE).
  await alice.getByLabel('Message #general').fill('also important');
  await alice.keyboard.press('Enter');
  const second = messages(alice).getByRole('listitem').filter({ hasText: 'also important' });
  await second.hover();
  await second.getByRole('button', { name: 'Pin' }).click();
  await expect(pinned(bob)).toHaveCount(2);

  // Bob is given a role with PIN_MESSAGES: the actions appear, and his unpin reaches Alice.
  const role = await hearth.api<{ id: string }>(
    'POST',
    `/guilds/${guild.id}/roles`,
    { name: 'Pinner', permissions: PIN_MESSAGES.toString() },
    owner.token,
  );
  await hearth.api('PUT', `/guilds/${guild.id}/members/${member.user_id}/roles/${role.id}`, undefined, owner.token);
  await sent.hover();
  await expect(sent.getByRole('button', { name: 'Unpin' })).toBeVisible();
  await pins.getByRole('listitem').filter({ hasText: 'also important' }).getByRole('button', { name: 'Unpin' }).click();
  await expect(pinned(bob)).toHaveCount(1);
  await expect(second.getByText('Pinned')).toHaveCount(0);
  await alice.getByRole('button', { name: 'Pinned messages' }).click();
  await expect(pinned(alice)).toHaveCount(1);
  await bob.screenshot({ path: 'test-results/screens/pins.png' });

  // Too large: the server's 413 40005 is shown; text and files stay.
  await alice.locator('input[type=file]').setInputFiles({ name: 'big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(MAX_FILE + 1, 7) });
  await alice.getByLabel('Message #general').fill('this one is too big');
  await alice.getByRole('button', { name: 'Send' }).click();
  await expect(alice.getByRole('alert').filter({ hasText: 'Request entity too large' })).toBeVisible();
  await expect(alice.getByLabel('Message #general')).toHaveValue('this one is too big');
  await expect(drafts(alice).getByText('big.bin')).toBeVisible();
  await expect(messages(bob).getByText('this one is too big')).toHaveCount(0);

  // Too many (4 over a limit of 3, the big one removed): the server's 50035 on `files` is
  // shown; all four stay.
  await drafts(alice).getByRole('button', { name: 'Remove big.bin' }).click();
  for (const n of [1, 2, 3, 4]) await dispatchFile(alice, 'drop', `part${n}.txt`, `part ${n}`);
  await expect(drafts(alice).getByRole('listitem')).toHaveCount(4);
  await alice.getByRole('button', { name: 'Send' }).click();
  await expect(alice.getByRole('alert').filter({ hasText: 'Must be 3 or fewer in length.' })).toBeVisible();
  await expect(drafts(alice).getByRole('listitem')).toHaveCount(4);
  await expect(alice.getByLabel('Message #general')).toHaveValue('this one is too big');

  // Chosen files are kept per channel, as text drafts are: away and back, all four are there.
  await hearth.api('POST', `/guilds/${guild.id}/channels`, { name: 'elsewhere', type: 0 }, owner.token);
  const channelNav = alice.getByRole('navigation', { name: 'Channels' });
  await channelNav.getByRole('link', { name: /elsewhere/ }).click();
  await expect(alice.getByRole('heading', { name: '# elsewhere' })).toBeVisible();
  await expect(drafts(alice)).toHaveCount(0);
  await channelNav.getByRole('link', { name: /general/ }).click();
  await expect(drafts(alice).getByRole('listitem')).toHaveCount(4);

  // With one removed the message is accepted: sent, the error gone, the composer empty.
  await drafts(alice).getByRole('button', { name: 'Remove part4.txt' }).click();
  await alice.getByRole('button', { name: 'Send' }).click();
  const parts = messages(bob).getByRole('listitem').filter({ hasText: 'this one is too big' });
  await expect(parts.getByRole('link')).toHaveCount(3);
  await expect(alice.getByRole('alert')).toHaveCount(0);
  await expect(drafts(alice)).toHaveCount(0);
  await expect(alice.getByLabel('Message #general')).toHaveValue('');
});
