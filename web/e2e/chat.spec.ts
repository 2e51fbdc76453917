// Two people in two browser contexts: both register, one creates a server and an invite,
// the other opens the invite link and joins, and they chat; each sees the other's messages,
// edits and deletions live, rendered as Discord-flavoured markdown and never as HTML.
import { expect, test, type Browser, type Page, type WebSocketRoute } from '@playwright/test';
import { accessible } from './a11y';
import { startHearth, type Hearth } from './server';

let hearth: Hearth;

test.beforeAll(async () => {
  hearth = await startHearth();
});

test.afterAll(async () => {
  await hearth?.stop();
});

async function person(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ baseURL: hearth.url });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  return page;
}

/**
 * A network between one browser context and the gateway that the test can cut: every gateway
 * socket goes through Playwright (`routeWebSocket`), which forwards frames both ways. `drop()`
 * closes the open sockets under the page (the server's end is closed too) and refuses new
 * ones until `restore()`; `sent` holds the ops of every frame the page sent, in order.
 * (Playwright's `setOffline` leaves WebSockets untouched, so it cannot cut a gateway.)
 */
class Line {
  private open: WebSocketRoute[] = [];
  private cut = false;
  readonly sent: number[] = [];

  static async on(page: Page): Promise<Line> {
    const line = new Line();
    await page.context().routeWebSocket(/\/gateway/, (ws) => {
      if (line.cut) {
        void ws.close({ code: 4000, reason: 'network down' });
        return;
      }
      const server = ws.connectToServer();
      ws.onMessage((m) => {
        if (typeof m === 'string') line.sent.push((JSON.parse(m) as { op: number }).op);
        server.send(m);
      });
      line.open.push(ws);
    });
    return line;
  }

  async drop(): Promise<void> {
    this.cut = true;
    const open = this.open.splice(0);
    await Promise.all(open.map((ws) => ws.close({ code: 4000, reason: 'network down' })));
  }

  restore(): void {
    this.cut = false;
  }
}

/** Marks the page's document: `sameDocument` is true only while no reload happened since. */
async function mark(page: Page): Promise<void> {
  await page.evaluate(() => ((window as unknown as { __mark?: boolean }).__mark = true));
}

async function sameDocument(page: Page): Promise<boolean> {
  return page.evaluate(() => (window as unknown as { __mark?: boolean }).__mark === true);
}

async function register(page: Page, name: string) {
  await page.getByLabel('Username').fill(name);
  await page.getByLabel('Password').fill(`${name}-correct-horse-battery`);
  await page.getByRole('button', { name: 'Create an account' }).click();
}

function messages(page: Page) {
  return page.getByRole('list', { name: 'Messages' });
}

test('two users register, join through an invite and chat live', async ({ browser }) => {
  const alice = await person(browser);
  const bob = await person(browser);
  const bobsLine = await Line.on(bob);

  // Alice registers and creates a server; its #general channel opens.
  await alice.goto('/');
  await accessible(alice, 'sign-up');
  await register(alice, 'alice');
  await expect(alice.getByText('Create a server or join one')).toBeVisible();
  await alice.getByRole('button', { name: 'Create a server' }).click();
  await accessible(alice, 'create server dialog');
  await alice.getByLabel('Server name').fill('Hearth Club');
  await alice.getByRole('button', { name: 'Create', exact: true }).click();
  await expect(alice.getByRole('heading', { name: '# general' })).toBeVisible();
  await expect(alice.getByRole('navigation', { name: 'Servers' }).getByRole('link', { name: 'Hearth Club' })).toBeVisible();
  await alice.screenshot({ path: 'test-results/screens/guild-empty.png' });

  // She makes an invite.
  await alice.getByRole('button', { name: 'Invite people' }).click();
  await alice.getByRole('dialog', { name: 'Invite people' }).getByRole('button', { name: 'Create' }).click();
  const code = (await alice.getByTestId('invite-code').textContent())?.trim() ?? '';
  expect(code).not.toBe('');
  await alice.getByRole('button', { name: 'Close' }).click();

  // Bob opens the invite link as a visitor, signs up, accepts and lands in the guild.
  await bob.goto(`/invite/${code}`);
  await expect(bob.getByText('You have been invited to Hearth Club')).toBeVisible();
  await bob.screenshot({ path: 'test-results/screens/invite-signup.png' });
  await register(bob, 'bob');
  await bob.getByRole('dialog', { name: 'Join a server' }).getByRole('button', { name: 'Join' }).click();
  await expect(bob.getByRole('heading', { name: '# general' })).toBeVisible();

  // Both appear in each other's member list, online.
  const aliceMembers = alice.getByRole('complementary', { name: 'Members' });
  await expect(aliceMembers.getByRole('listitem').filter({ hasText: 'bob' }).getByRole('img', { name: 'online' })).toBeVisible();
  await expect(bob.getByRole('complementary', { name: 'Members' }).getByText('alice')).toBeVisible();

  // Alice writes; Bob sees it live, with markdown rendered.
  await alice.getByLabel('Message #general').fill('hello **bob**, welcome to ||the club||');
  await alice.keyboard.press('Enter');
  const aliceMsg = messages(bob).getByRole('listitem').filter({ hasText: 'hello bob' });
  await expect(aliceMsg).toBeVisible();
  await expect(aliceMsg.locator('strong')).toHaveText('bob');
  await expect(aliceMsg.locator('.spoiler')).toHaveText('the club');

  // Bob starts typing: Alice sees the indicator.
  await bob.getByLabel('Message #general').fill('hi');
  await expect(alice.getByText('bob is typing…')).toBeVisible();

  // Bob answers; Alice sees it live.
  await bob.getByLabel('Message #general').fill('hi alice!');
  await bob.getByRole('button', { name: 'Send' }).click();
  await expect(messages(alice).getByRole('listitem').filter({ hasText: 'hi alice!' })).toBeVisible();
  await expect(messages(bob).getByRole('listitem').filter({ hasText: 'hi alice!' })).toBeVisible();
  // Bob's own message is confirmed (no longer pending).
  await expect(bob.getByText('Sending…')).toHaveCount(0);

  // Bob replies to Alice's message: Alice sees the reply with what it answers.
  const original = messages(bob).getByRole('listitem').filter({ hasText: 'hello bob' });
  await original.hover();
  await original.getByRole('button', { name: 'Reply' }).click();
  await expect(bob.getByText('Replying to alice')).toBeVisible();
  await bob.getByLabel('Message #general').fill('thanks for the welcome');
  await bob.keyboard.press('Enter');
  const reply = messages(alice).getByRole('listitem').filter({ hasText: 'thanks for the welcome' });
  await expect(reply).toBeVisible();
  await expect(reply.locator('.reply-context')).toContainText('alice');
  await expect(reply.locator('.reply-context')).toContainText('hello **bob**');

  // Bob reacts to Alice's message; Alice sees the count, adds hers, and Bob sees 2.
  await original.hover();
  await original.getByRole('button', { name: 'Add reaction' }).click();
  // The emoji picker (a dialog) offers it; a click chooses.
  await original.page().getByRole('dialog', { name: 'Add reaction' }).getByRole('option', { name: 'thumbs up', exact: true }).click();
  const aliceView = messages(alice).getByRole('listitem').filter({ hasText: 'hello bob' });
  await expect(aliceView.getByRole('button', { name: '👍 1' })).toBeVisible();
  await aliceView.getByRole('button', { name: '👍 1' }).click();
  await expect(original.getByRole('button', { name: '👍 2' })).toBeVisible();
  await expect(aliceView.getByRole('button', { name: '👍 2, including you' })).toHaveAttribute('aria-pressed', 'true');

  // Alice edits her message: Bob sees the new text and the edited mark.
  const own = messages(alice).getByRole('listitem').filter({ hasText: 'hello bob' });
  await own.hover();
  await own.getByRole('button', { name: 'Edit' }).click();
  await alice.getByRole('textbox', { name: 'Edit' }).fill('hello __bob__, edited');
  await alice.getByRole('button', { name: 'Save' }).click();
  const edited = messages(bob).getByRole('listitem').filter({ hasText: 'hello bob, edited' });
  await expect(edited).toBeVisible();
  await expect(edited.locator('u')).toHaveText('bob');
  await expect(edited.getByText('(edited)')).toBeVisible();
  await alice.screenshot({ path: 'test-results/screens/chat.png' });
  await accessible(alice, 'chat');

  // Hostile HTML is shown as text on the other side, never run.
  const hostile = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
  await bob.getByLabel('Message #general').fill(hostile);
  await bob.keyboard.press('Enter');
  const shown = messages(alice).getByRole('listitem').filter({ hasText: '<img src=x' });
  await expect(shown).toBeVisible();
  await expect(shown.locator('img, script')).toHaveCount(0);
  expect(await alice.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();

  // Alice deletes her message: it disappears for Bob.
  const mine = messages(alice).getByRole('listitem').filter({ hasText: 'hello bob, edited' });
  await mine.hover();
  await mine.getByRole('button', { name: 'Delete' }).click();
  await expect(messages(bob).getByRole('listitem').filter({ hasText: 'hello bob, edited' })).toHaveCount(0);
  await expect(messages(bob).getByRole('listitem').filter({ hasText: 'hi alice!' })).toBeVisible();

  // The server restarts mid-conversation: both clients show the banner and reconnect on their
  // own, without a reload. What Alice sends while it is down stays on screen, marked unsent,
  // and goes out with Retry; what Bob typed meanwhile is still in his composer.
  await mark(alice);
  await mark(bob);
  await hearth.halt();
  await expect(alice.getByText('Connection lost. Reconnecting…')).toBeVisible();
  await expect(bob.getByText('Connection lost. Reconnecting…')).toBeVisible();
  await alice.getByLabel('Message #general').fill('sent while the server was down');
  await alice.keyboard.press('Enter');
  const unsent = messages(alice).getByRole('listitem').filter({ hasText: 'sent while the server was down' });
  await expect(unsent.getByRole('button', { name: 'Retry' })).toBeVisible();
  await bob.getByLabel('Message #general').fill('typed while the server was down');
  await hearth.resume();
  await expect(alice.getByText('Connection lost. Reconnecting…')).toBeHidden({ timeout: 30_000 });
  await expect(bob.getByText('Connection lost. Reconnecting…')).toBeHidden({ timeout: 30_000 });
  await unsent.getByRole('button', { name: 'Retry' }).click();
  await expect(messages(bob).getByRole('listitem').filter({ hasText: 'sent while the server was down' })).toBeVisible();
  await expect(bob.getByLabel('Message #general')).toHaveValue('typed while the server was down');
  await bob.keyboard.press('Enter');
  await expect(messages(alice).getByRole('listitem').filter({ hasText: 'typed while the server was down' })).toBeVisible();
  await alice.getByLabel('Message #general').fill('after the restart');
  await alice.keyboard.press('Enter');
  await expect(messages(bob).getByRole('listitem').filter({ hasText: 'after the restart' })).toBeVisible();
  await bob.getByLabel('Message #general').fill('welcome back');
  await bob.keyboard.press('Enter');
  await expect(messages(alice).getByRole('listitem').filter({ hasText: 'welcome back' })).toBeVisible();
  const afterRestart = [hostile, 'sent while the server was down', 'typed while the server was down', 'after the restart', 'welcome back'];
  for (const page of [alice, bob]) {
    const order = (await messages(page).locator('.markdown').allTextContents()).map((x) => x.trim());
    expect(order.slice(-5)).toEqual(afterRestart);
    expect(await sameDocument(page)).toBe(true);
  }

  // Bob's network drops while Alice goes on writing: his client shows the banner, keeps
  // retrying, and when the network is back it RESUMEs the session (op 6, no new IDENTIFY)
  // and shows what was said meanwhile, in order, without a reload.
  const opsBefore = bobsLine.sent.length;
  await bobsLine.drop();
  await expect(bob.getByText('Connection lost. Reconnecting…')).toBeVisible();
  for (const text of ['while bob was away 1', 'while bob was away 2', 'while bob was away 3']) {
    await alice.getByLabel('Message #general').fill(text);
    await alice.keyboard.press('Enter');
    await expect(messages(alice).getByRole('listitem').filter({ hasText: text })).toBeVisible();
  }
  await expect(alice.getByText('Sending…')).toHaveCount(0);
  bobsLine.restore();
  await expect(bob.getByText('Connection lost. Reconnecting…')).toBeHidden({ timeout: 30_000 });
  await expect(messages(bob).getByRole('listitem').filter({ hasText: 'while bob was away 3' })).toBeVisible();
  const bobsOrder = (await messages(bob).locator('.markdown').allTextContents()).map((x) => x.trim());
  expect(bobsOrder.slice(-4)).toEqual(['welcome back', 'while bob was away 1', 'while bob was away 2', 'while bob was away 3']);
  expect(bobsLine.sent.slice(opsBefore)).toContain(6);
  expect(bobsLine.sent.slice(opsBefore)).not.toContain(2);
  expect(await sameDocument(bob)).toBe(true);

  // Alice's three messages in a row are grouped under one header on Bob's screen: the first
  // carries her name and time, the next two do not.
  const away = (n: number) => messages(bob).getByRole('listitem').filter({ hasText: `while bob was away ${n}` });
  await expect(away(1)).not.toHaveClass(/grouped/);
  await expect(away(1).getByText('alice', { exact: true })).toBeVisible();
  for (const n of [2, 3]) {
    await expect(away(n)).toHaveClass(/grouped/);
    await expect(away(n).getByText('alice', { exact: true })).toHaveCount(0);
  }

  // A draft outlives a reload: Bob's half-written message is still in the composer after it.
  await bob.getByLabel('Message #general').fill('a half-written thought');
  await bob.reload();
  await expect(bob.getByRole('heading', { name: '# general' })).toBeVisible();
  await expect(bob.getByLabel('Message #general')).toHaveValue('a half-written thought');
  expect(await sameDocument(bob)).toBe(false);
});
