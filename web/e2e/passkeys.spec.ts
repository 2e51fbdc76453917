// Passkeys in Chromium with its virtual authenticator (DevTools protocol WebAuthn domain: a
// CTAP2 platform authenticator with resident keys and user verification): a new account
// adds a passkey in Settings (re-authenticating with its password first), renames it, logs
// out, signs in with the passkey alone, then with password and passkey as second factor,
// and deletes the passkey after re-authenticating with it. The server verifies everything
// with webauthn-rs; the relying party is `localhost`. The re-authentication window is 1 s,
// so the prompt shows once a second has passed (polled on the clock).
import { expect, test, type Page } from '@playwright/test';
import { startHearth, type Hearth } from './server';

let hearth: Hearth;

test.beforeAll(async () => {
  hearth = await startHearth({ HEARTH_ACCOUNT__REAUTH_WINDOW_SECONDS: '1' }, { host: 'localhost' });
});

test.afterAll(async () => {
  await hearth?.stop();
});

/** Waits until the session's last proof is older than the 1 s re-authentication window. */
async function proofExpires(since: number) {
  await expect.poll(() => Date.now() - since, { intervals: [100] }).toBeGreaterThan(1500);
}

async function withAuthenticator(page: Page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

test('add a passkey in settings, log out, sign in with it', async ({ browser }) => {
  const context = await browser.newContext({ baseURL: hearth.url });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  const { cdp, authenticatorId } = await withAuthenticator(page);

  await page.goto('/');
  await page.getByLabel('Username').fill('paula');
  await page.getByLabel('Password').fill('paula-correct-horse-battery');
  await page.getByRole('button', { name: 'Create an account' }).click();
  const registered = Date.now();
  await expect(page.getByText('Create a server or join one')).toBeVisible();

  // Settings: add a passkey (the registration's proof has expired: the password proves it
  // again), then rename it.
  await page.getByRole('button', { name: 'Settings' }).click();
  const dialog = page.getByRole('dialog', { name: 'Settings' });
  await expect(dialog.getByText('No passkeys yet.')).toBeVisible();
  await dialog.getByLabel('Passkey name').fill('Laptop');
  await proofExpires(registered);
  await dialog.getByRole('button', { name: 'Add a passkey' }).click();
  const reauth = page.getByRole('dialog', { name: 'Confirm it’s you' });
  await expect(reauth).toBeVisible();
  await reauth.getByLabel('Password').fill('paula-correct-horse-battery');
  await reauth.getByRole('button', { name: 'Verify' }).click();
  await expect(reauth).toBeHidden();
  const list = dialog.getByRole('list', { name: 'Passkeys' });
  await expect(list.getByText('Laptop')).toBeVisible();
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  expect(credentials).toHaveLength(1);
  expect(credentials[0]?.isResidentCredential).toBe(true);
  expect(credentials[0]?.rpId).toBe('localhost');
  await dialog.getByRole('button', { name: 'Rename passkey Laptop' }).click();
  await dialog.getByRole('textbox', { name: 'Passkey name' }).first().fill('Work laptop');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(list.getByText('Work laptop')).toBeVisible();

  // Log out; sign in with the passkey alone.
  await dialog.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(page.getByText('Create a server or join one')).toBeVisible();

  // A password login now asks for the second factor, which the passkey gives.
  await page.getByRole('button', { name: 'Settings' }).click();
  await page.getByRole('dialog', { name: 'Settings' }).getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('Username or email').fill('paula');
  await page.getByLabel('Password').fill('paula-correct-horse-battery');
  await page.getByRole('button', { name: 'Log in' }).first().click();
  await expect(page.getByRole('heading', { name: 'Two-factor authentication' })).toBeVisible();
  await page.getByRole('button', { name: 'Use a passkey' }).click();
  await expect(page.getByText('Create a server or join one')).toBeVisible();
  const loggedIn = Date.now();

  // Deleting needs a fresh proof: the prompt offers the passkey.
  await page.getByRole('button', { name: 'Settings' }).click();
  const settings = page.getByRole('dialog', { name: 'Settings' });
  await expect(settings.getByText('Work laptop')).toBeVisible();
  await proofExpires(loggedIn);
  await settings.getByRole('button', { name: 'Delete passkey Work laptop' }).click();
  await expect(reauth).toBeVisible();
  await reauth.getByRole('button', { name: 'Use a passkey' }).click();
  await expect(reauth).toBeHidden();
  await expect(settings.getByText('No passkeys yet.')).toBeVisible();
  await context.close();
});
