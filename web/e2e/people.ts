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
