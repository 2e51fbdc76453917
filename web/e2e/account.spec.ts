// Account settings in the Settings dialog, against a real server, checked on screen and in
// what the server stores (REST): display name and avatar (another user sees the new name live),
// sessions (revoking another browser's session logs it out), password change (the new one
// logs in, the old one no longer), two-factor authentication with an authenticator app (codes
// computed here from the secret shown, RFC 6238; the next login asks for a code; backup
// codes; turning it off) and the DM policy (a stranger's DM refused, the refusal shown).
// Every new screen passes the axe check.
import { expect, test, type Page } from '@playwright/test';
import { accessible } from './a11y';
import { logIn, password, register } from './people';
import { startHearth, type Hearth } from './server';
import { stepWithRoom, totp, totpAt } from './totp';

let hearth: Hearth;

test.beforeAll(async () => {
  hearth = await startHearth();
});

test.afterAll(async () => {
  await hearth?.stop();
});

/** A 16 x 16 PNG (opaque orange). */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAFklEQVR42mP40KNBEmIY1TCqYfhqAAAQzKQQWCO4EQAAAABJRU5ErkJggg==',
  'base64',
);

async function openSettings(page: Page, tab?: string) {
  await page.getByRole('button', { name: 'Settings', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Settings' });
  await expect(dialog).toBeVisible();
  if (tab) {
    await dialog.getByRole('tab', { name: tab }).click();
    await expect(dialog.getByRole('tab', { name: tab })).toHaveAttribute('aria-selected', 'true');
  }
  return dialog;
}

/** The token pair the page's session keeps (sessionStorage, web/README.md "Tokens"). */
async function tokensOf(page: Page): Promise<{ token: string; session_id: string }> {
  const raw = await page.evaluate(() => sessionStorage.getItem('hearth.tokens'));
  if (!raw) throw new Error('no tokens in the page');
  return JSON.parse(raw) as { token: string; session_id: string };
}

interface Me {
  id: string;
  global_name: string | null;
  avatar: string | null;
  mfa_enabled: boolean;
  dm_policy: number;
}

test('display name and avatar: saved, previewed, seen by another user; avatar removed', async ({ browser }) => {
  const ada = await register(hearth, 'ada');
  const bob = await register(hearth, 'bob');
  const guild = await hearth.api<{ id: string }>('POST', '/guilds', { name: 'Salon' }, ada.token);
  const channels = await hearth.api<{ id: string; type: number }[]>('GET', `/guilds/${guild.id}/channels`, undefined, ada.token);
  const general = channels.find((c) => c.type === 0)?.id ?? '';
  const invite = await hearth.api<{ code: string }>('POST', `/channels/${general}/invites`, {}, ada.token);
  await hearth.api('POST', `/invites/${invite.code}`, {}, bob.token);

  const a = await logIn(browser, hearth, `/channels/${guild.id}/${general}`, 'ada', password('ada'));
  const b = await logIn(browser, hearth, `/channels/${guild.id}/${general}`, 'bob', password('bob'));
  for (const p of [a, b]) await expect(p.getByRole('heading', { name: '# general' })).toBeVisible();
  const members = b.getByRole('complementary', { name: 'Members' });
  await expect(members.getByRole('button', { name: 'ada', exact: true })).toBeVisible();

  const dialog = await openSettings(a, 'Profile');
  const panel = dialog.getByRole('tabpanel', { name: 'Profile' });
  await expect(panel.getByLabel('Display name')).toHaveValue('');
  await accessible(a, 'settings: profile', '[role="dialog"]');

  // Choose an image: the preview shows it before anything is sent.
  await panel.getByLabel('Choose an image').setInputFiles({ name: 'ada.png', mimeType: 'image/png', buffer: PNG });
  const preview = panel.getByRole('img', { name: 'Avatar preview' });
  await expect(preview).toBeVisible();
  await expect(preview).toHaveAttribute('src', /^data:image\/png;base64,/);
  expect((await hearth.api<Me>('GET', '/users/@me', undefined, ada.token)).avatar).toBeNull();

  await b.evaluate(() => ((window as unknown as { __mark?: boolean }).__mark = true));
  await panel.getByLabel('Display name').fill('Ada Lovelace');
  await panel.getByRole('button', { name: 'Save changes' }).click();
  await expect(panel.getByRole('status')).toHaveText('Profile saved.');
  const saved = await hearth.api<Me>('GET', '/users/@me', undefined, ada.token);
  expect(saved.global_name).toBe('Ada Lovelace');
  expect(saved.avatar).toMatch(/^[0-9a-f]{32}$/);
  // The stored image is served by the CDN, and the form now shows it.
  const cdn = await fetch(`${hearth.url}/avatars/${ada.id}/${saved.avatar}.png`);
  expect(cdn.status).toBe(200);
  await expect(panel.getByRole('img', { name: 'Your avatar' })).toHaveAttribute('src', `/avatars/${ada.id}/${saved.avatar}.png?size=128`);
  await a.screenshot({ path: 'test-results/screens/settings-profile.png' });

  // Bob, in his own browser, sees the new name live (GUILD_MEMBER_UPDATE), without a reload
  // (his page was marked before the save).
  await expect(members.getByRole('button', { name: 'Ada Lovelace', exact: true })).toBeVisible();
  expect(await b.evaluate(() => (window as unknown as { __mark?: boolean }).__mark)).toBe(true);
  await expect(members.getByRole('button', { name: 'ada', exact: true })).toHaveCount(0);

  // Removing the avatar.
  await panel.getByRole('button', { name: 'Remove avatar' }).click();
  await expect(panel.getByRole('img')).toHaveCount(0);
  await panel.getByRole('button', { name: 'Save changes' }).click();
  await expect(panel.getByRole('status')).toHaveText('Profile saved.');
  const removed = await hearth.api<Me>('GET', '/users/@me', undefined, ada.token);
  expect(removed.avatar).toBeNull();
  expect(removed.global_name).toBe('Ada Lovelace');

  // A refusal is shown next to the form: a file that is not an image.
  await panel.getByLabel('Choose an image').setInputFiles({ name: 'fake.png', mimeType: 'image/png', buffer: Buffer.from('not a png') });
  await panel.getByRole('button', { name: 'Save changes' }).click();
  await expect(panel.getByRole('alert')).toContainText('Invalid Form Body');
  await a.context().close();
  await b.context().close();
});

test('sessions: listed with this one marked; revoking another logs that browser out', async ({ browser }) => {
  const carol = await register(hearth, 'carol');
  const one = await logIn(browser, hearth, '/', 'carol', password('carol'));
  const two = await logIn(browser, hearth, '/', 'carol', password('carol'));
  for (const p of [one, two]) await expect(p.getByText('Create a server or join one')).toBeVisible();
  const [mine, other] = [await tokensOf(one), await tokensOf(two)];

  const dialog = await openSettings(one, 'Sessions');
  const list = dialog.getByRole('list', { name: 'Sessions' });
  // The REST registration and the two browsers.
  await expect(list.getByRole('listitem')).toHaveCount(3);
  const current = list.locator(`li[data-session-id="${mine.session_id}"]`);
  await expect(current).toContainText('This session');
  await expect(current).toContainText('Chrome on Linux');
  await expect(current.getByRole('button')).toHaveCount(0);
  await accessible(one, 'settings: sessions', '[role="dialog"]');
  await one.screenshot({ path: 'test-results/screens/settings-sessions.png' });

  await list.locator(`li[data-session-id="${other.session_id}"]`).getByRole('button', { name: /^Revoke session / }).click();
  await expect(dialog.getByRole('status')).toHaveText('Session revoked.');
  await expect(list.getByRole('listitem')).toHaveCount(2);
  await expect(list.locator(`li[data-session-id="${other.session_id}"]`)).toHaveCount(0);

  // The server ended it: its token is refused, and that browser is back at the login screen.
  await expect(hearth.api('GET', '/users/@me', undefined, other.token)).rejects.toThrow(/401/);
  await expect(two.getByRole('button', { name: 'Create an account' })).toBeVisible();
  const left = await hearth.api<{ id: string }[]>('GET', '/auth/sessions', undefined, carol.token);
  expect(left).toHaveLength(2);
  expect(left.some((s) => s.id === mine.session_id)).toBe(true);
  expect(left.some((s) => s.id === other.session_id)).toBe(false);
  // This browser still works.
  await hearth.api('GET', '/users/@me', undefined, mine.token);
  await one.context().close();
  await two.context().close();
});

test('password change: a wrong current password is refused; the new one logs in, the old one not', async ({ browser }) => {
  const dave = await register(hearth, 'dave');
  const page = await logIn(browser, hearth, '/', 'dave', password('dave'));
  await expect(page.getByText('Create a server or join one')).toBeVisible();
  const dialog = await openSettings(page);
  const form = dialog.getByRole('form', { name: 'Change password' });
  await accessible(page, 'settings: security', '[role="dialog"]');
  const fresh = 'dave-a-new-and-longer-secret';

  // The two new entries must agree (checked here), and the current password (by the server).
  await form.getByLabel('Current password').fill(password('dave'));
  await form.getByLabel('New password', { exact: true }).fill(fresh);
  await form.getByLabel('Confirm new password').fill(`${fresh}!`);
  await form.getByRole('button', { name: 'Change password' }).click();
  await expect(form.getByRole('alert')).toHaveText('The two new passwords differ.');
  await form.getByLabel('Current password').fill('not-my-password');
  await form.getByLabel('Confirm new password').fill(fresh);
  await form.getByRole('button', { name: 'Change password' }).click();
  await expect(form.getByRole('alert')).toContainText('Password does not match.');

  await form.getByLabel('Current password').fill(password('dave'));
  await form.getByLabel('New password', { exact: true }).fill(fresh);
  await form.getByLabel('Confirm new password').fill(fresh);
  await form.getByRole('button', { name: 'Change password' }).click();
  await expect(form.getByRole('status')).toHaveText('Password changed. Your other sessions were signed out.');
  await expect(form.getByLabel('Current password')).toHaveValue('');

  // The server signed out the other session (the REST registration) and takes the new password.
  await expect(hearth.api('GET', '/users/@me', undefined, dave.token)).rejects.toThrow(/401/);
  const pair = await hearth.api<{ token: string }>('POST', '/auth/login', { login: 'dave', password: fresh });
  expect(pair.token).toBeTruthy();

  // In the browser: log out, log in with the new password.
  await dialog.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('Username or email').fill('dave');
  await page.getByLabel('Password').fill(fresh);
  await page.getByRole('button', { name: 'Log in' }).first().click();
  await expect(page.getByText('Create a server or join one')).toBeVisible();

  // The old password no longer logs in.
  await expect(hearth.api('POST', '/auth/login', { login: 'dave', password: password('dave') })).rejects.toThrow(/400/);
  await page.context().close();
});

test('two-factor: set up with the code of the secret shown, backup codes, code at login, turned off', async ({ browser }) => {
  // The helper against RFC 6238's SHA-1 vector (T = 59 s: 94287082, last six digits).
  expect(totpAt(Buffer.from('12345678901234567890'), 59)).toBe('287082');

  const erin = await register(hearth, 'erin');
  const page = await logIn(browser, hearth, '/', 'erin', password('erin'));
  await expect(page.getByText('Create a server or join one')).toBeVisible();
  let dialog = await openSettings(page);
  let section = dialog.getByRole('region', { name: 'Two-factor authentication' });
  await section.getByRole('button', { name: 'Set up an authenticator app' }).click();

  // The secret, its key URI and the QR code (drawn once its chunk has loaded).
  await expect(section.getByRole('img', { name: 'QR code of the authenticator key' })).toBeVisible();
  const secret = (await section.getByLabel('Secret key').inputValue()).replace(/\s/g, '');
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  const uri = await section.getByLabel('Key URI').inputValue();
  expect(uri).toMatch(new RegExp(`^otpauth://totp/[^:/?]+:erin%40[^:/?]+\\?secret=${secret}&issuer=[^&]+&algorithm=SHA1&digits=6&period=30$`));
  await accessible(page, 'settings: two-factor setup', '[role="dialog"]');
  await page.screenshot({ path: 'test-results/screens/settings-totp.png' });

  // A wrong code is refused with the server's text; the right one turns it on.
  const form = section.getByRole('form', { name: 'Set up an authenticator app' });
  await form.getByLabel('Password').fill(password('erin'));
  await stepWithRoom();
  const now = totp(secret);
  await form.getByLabel('Six-digit code from the app').fill(now === '000000' ? '111111' : '000000');
  await form.getByRole('button', { name: 'Enable' }).click();
  await expect(form.getByRole('alert')).toContainText('Invalid two-factor code');
  await stepWithRoom();
  await form.getByLabel('Six-digit code from the app').fill(totp(secret));
  await form.getByRole('button', { name: 'Enable' }).click();
  await expect(section.getByRole('status')).toHaveText('Two-factor authentication is on. Your other sessions were signed out.');
  const codes = section.getByRole('list', { name: 'Backup codes' }).getByRole('listitem');
  await expect(codes).toHaveCount(10);
  const first = await codes.allInnerTexts();
  expect(first.every((c) => /^[a-z0-9]{8}$/.test(c))).toBe(true);
  await expect(section.getByRole('heading', { name: 'Backup codes' })).toBeFocused();
  await accessible(page, 'settings: backup codes', '[role="dialog"]');

  // The server: TOTP on, the other session (the REST registration) ended.
  const browserToken = (await tokensOf(page)).token;
  expect((await hearth.api<Me>('GET', '/users/@me', undefined, browserToken)).mfa_enabled).toBe(true);
  await expect(hearth.api('GET', '/users/@me', undefined, erin.token)).rejects.toThrow(/401/);
  const login = await hearth.api<{ mfa: boolean; totp: boolean; token: null }>('POST', '/auth/login', { login: 'erin', password: password('erin') });
  expect(login).toMatchObject({ mfa: true, totp: true, token: null });

  // New backup codes replace the old ones (the password proves it).
  await section.getByRole('button', { name: 'Done' }).click();
  await expect(section.getByText('Two-factor authentication with an authenticator app is on.')).toBeVisible();
  const regenerate = section.getByRole('form', { name: 'Generate new backup codes' });
  await regenerate.getByLabel('Password').fill(password('erin'));
  await regenerate.getByRole('button', { name: 'Generate new backup codes' }).click();
  await expect(codes).toHaveCount(10);
  const second = await codes.allInnerTexts();
  expect(second.some((c) => first.includes(c))).toBe(false);
  await section.getByRole('button', { name: 'Done' }).click();

  // Log out; logging in again asks for the code (the next step's: a step is accepted once).
  await dialog.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('Username or email').fill('erin');
  await page.getByLabel('Password').fill(password('erin'));
  await page.getByRole('button', { name: 'Log in' }).first().click();
  await expect(page.getByRole('heading', { name: 'Two-factor authentication' })).toBeVisible();
  await stepWithRoom();
  await page.getByLabel('Authentication or backup code').fill(totp(secret, 1));
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.getByText('Create a server or join one')).toBeVisible();

  // Turn it off with a backup code of the new set.
  dialog = await openSettings(page);
  section = dialog.getByRole('region', { name: 'Two-factor authentication' });
  const off = section.getByRole('form', { name: 'Turn off two-factor authentication' });
  await off.getByLabel('Authentication or backup code').fill(second[0] ?? '');
  await off.getByRole('button', { name: 'Turn off two-factor authentication' }).click();
  await expect(section.getByRole('status')).toHaveText('Two-factor authentication is off.');
  await expect(section.getByRole('button', { name: 'Set up an authenticator app' })).toBeVisible();
  expect((await hearth.api<Me>('GET', '/users/@me', undefined, (await tokensOf(page)).token)).mfa_enabled).toBe(false);
  const plain = await hearth.api<{ token: string | null }>('POST', '/auth/login', { login: 'erin', password: password('erin') });
  expect(plain.token).toBeTruthy();
  await page.context().close();
});

test('DM policy: only people sharing a server; a stranger’s DM is refused on screen', async ({ browser }) => {
  const frank = await register(hearth, 'frank');
  const gina = await register(hearth, 'gina');
  // Gina opened a DM with Frank while anyone could (they share no server).
  const dm = await hearth.api<{ id: string }>('POST', '/users/@me/channels', { recipient_id: frank.id }, gina.token);

  const f = await logIn(browser, hearth, '/', 'frank', password('frank'));
  const g = await logIn(browser, hearth, `/channels/@me/${dm.id}`, 'gina', password('gina'));
  await expect(f.getByText('Create a server or join one')).toBeVisible();
  await expect(g.getByRole('heading', { name: '@ frank' })).toBeVisible();
  await g.getByLabel('Message @frank').fill('hello while it is allowed');
  await g.keyboard.press('Enter');
  await expect(g.getByRole('list', { name: 'Messages' }).getByText('hello while it is allowed')).toBeVisible();

  const dialog = await openSettings(f, 'Privacy');
  const group = dialog.getByRole('group', { name: 'Who can send you direct messages' });
  await expect(group.getByLabel('Anyone', { exact: true })).toBeChecked();
  await accessible(f, 'settings: privacy', '[role="dialog"]');
  await group.getByLabel('Only people who share a server with me').check();
  await expect(dialog.getByRole('status')).toHaveText('Saved.');
  await expect(group.getByLabel('Only people who share a server with me')).toBeChecked();
  expect((await hearth.api<Me>('GET', '/users/@me', undefined, frank.token)).dm_policy).toBe(1);

  // Gina's next message is refused by the server, and her composer says so.
  await g.getByLabel('Message @frank').fill('are you there?');
  await g.keyboard.press('Enter');
  await expect(g.getByRole('alert').filter({ hasText: 'Not sent: Cannot send messages to this user' })).toBeVisible();
  await expect(hearth.api('POST', `/channels/${dm.id}/messages`, { content: 'by REST' }, gina.token)).rejects.toThrow(/403/);

  // The setting survives a reload (READY), and back to "anyone" lets her write again.
  await f.reload();
  const again = await openSettings(f, 'Privacy');
  await again.getByLabel('Anyone', { exact: true }).check();
  await expect(again.getByRole('status')).toHaveText('Saved.');
  expect((await hearth.api<Me>('GET', '/users/@me', undefined, frank.token)).dm_policy).toBe(0);
  await hearth.api('POST', `/channels/${dm.id}/messages`, { content: 'by REST again' }, gina.token);
  await f.context().close();
  await g.context().close();
});
