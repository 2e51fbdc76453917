// The first start of a server without an administrator: the log prints a one-time setup link
// (`/setup#TOKEN`); opening it in a browser and creating an account there makes that account
// the instance administrator, takes the token out of the address bar, and uses the token up.
import { expect, test } from '@playwright/test';
import { accessible } from './a11y';
import { startHearth, type Hearth } from './server';

let hearth: Hearth;

test.beforeAll(async () => {
  hearth = await startHearth();
});

test.afterAll(async () => {
  await hearth?.stop();
});

test('the setup link from the log makes the first account the administrator', async ({ browser }) => {
  let link = '';
  await expect
    .poll(() => {
      link = /(http:\/\/\S+\/setup#\S+)/.exec(hearth.log())?.[1] ?? '';
      return link;
    })
    .not.toBe('');
  const token = link.split('#')[1] ?? '';

  const page = await (await browser.newContext()).newPage();
  await page.goto(link);
  await expect(page.getByRole('heading', { name: 'Set up this server' })).toBeVisible();
  await expect(page.getByLabel('Setup token')).toHaveValue(token);
  // The token left the address bar (and the history) as soon as the page read it.
  expect(new URL(page.url()).hash).toBe('');
  await accessible(page, 'setup');
  await page.getByLabel('Username').fill('operator');
  await page.getByLabel('Password').fill('operator-correct-horse-battery');
  await page.getByRole('button', { name: 'Set up this server' }).click();
  await expect(page.getByText('Create a server or join one')).toBeVisible();
  expect(new URL(page.url()).pathname).toBe('/');
  expect(new URL(page.url()).hash).toBe('');

  // The account is an instance administrator: the admin routes answer it.
  const pair = await hearth.api<{ token: string }>('POST', '/auth/login', {
    login: 'operator',
    password: 'operator-correct-horse-battery',
  });
  const users = await hearth.api<{ username: string }[]>('GET', '/admin/users', undefined, pair.token);
  expect(users.map((u) => u.username)).toContain('operator');

  // The token is used up: a second visitor with the same link gets the server's refusal.
  const other = await (await browser.newContext()).newPage();
  await other.goto(link);
  await other.getByLabel('Username').fill('latecomer');
  await other.getByLabel('Password').fill('latecomer-correct-horse-battery');
  await other.getByRole('button', { name: 'Set up this server' }).click();
  await expect(other.getByRole('alert')).toContainText('This setup token is unknown, already used or expired.');
  await expect(other.getByRole('heading', { name: 'Set up this server' })).toBeVisible();
});
