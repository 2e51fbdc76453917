// A person at the browser: a fresh context (its own session storage) that opens `path` on
// `hearth` and logs in with the login form.
import type { Browser, Page } from '@playwright/test';
import type { Hearth } from './server';

export async function logIn(browser: Browser, hearth: Hearth, path: string, name: string, password: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  page.on('pageerror', (e) => console.error(`page error (${name}): ${e.message}`));
  await page.goto(`${hearth.url}${path}`);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('Username or email').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  return page;
}

/** The password the browser tests give `name`. */
export const password = (name: string) => `${name}-correct-horse-battery`;

/** Registers `name` on `hearth` through REST: its token and user id. */
export async function register(hearth: Hearth, name: string): Promise<{ token: string; id: string }> {
  const { token } = await hearth.api<{ token: string }>('POST', '/auth/register', { username: name, password: password(name) });
  const me = await hearth.api<{ id: string }>('GET', '/users/@me', undefined, token);
  return { token, id: me.id };
}

/** A role as `GET /guilds/{id}/roles` answers it (the fields the tests read). */
export interface Role {
  id: string;
  name: string;
  position: number;
  permissions: string;
}
