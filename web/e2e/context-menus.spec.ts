// Context-menu commands (issue 16): a bot registers a USER command and a MESSAGE command;
// a member right-clicks another member in the member list and a message in the channel,
// picks the command from the "Apps" menu (and with the keyboard: the message's "Apps" button,
// Shift+F10 and the "Apps" button on a member), and the bot, which runs a real gateway session, answers with what the
// server resolved for it (`data.resolved`). Assertions on the screen, on what the bot
// received and on the stored messages. The page with the open menu and the member list
// (offline members included) passes the full-page accessibility scan, in both themes.
import { expect, test, type Browser, type Page } from '@playwright/test';
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

interface Got {
  type: number;
  data: { name: string; type: number; target_id: string; resolved?: { users?: Record<string, { username: string }>; messages?: Record<string, { content: string }> } };
}

/** The bot's gateway session in its own page (Node 20 has no WebSocket): it answers each
 *  context-menu command with what `data.resolved` told it about the target. */
async function startBot(browser: Browser, token: string): Promise<Page> {
  const page = await (await browser.newContext({ bypassCSP: true })).newPage();
  page.on('pageerror', (e) => console.error(`bot page error: ${e.message}`));
  await page.goto(`${hearth.url}/ready`);
  await page.evaluate((token) => {
    const w = window as unknown as { received: unknown[]; ready: boolean };
    w.received = [];
    w.ready = false;
    const ws = new WebSocket(`ws://${location.host}/gateway?v=10&encoding=json`);
    let seq: number | null = null;
    ws.onmessage = (ev) => {
      const p = JSON.parse(String(ev.data)) as { op: number; t?: string; s?: number; d: Record<string, unknown> };
      if (p.s) seq = p.s;
      if (p.op === 10) {
        setInterval(() => ws.send(JSON.stringify({ op: 1, d: seq })), Number(p.d.heartbeat_interval));
        ws.send(JSON.stringify({ op: 2, d: { token, intents: 1 | 512, properties: { os: 'linux', browser: 'e2e', device: 'e2e' } } }));
      }
      if (p.t === 'READY') w.ready = true;
      if (p.t !== 'INTERACTION_CREATE' || !p.d.token) return;
      const i = p.d as unknown as { id: string; token: string } & Got;
      w.received.push({ type: i.type, data: i.data });
      const r = i.data.resolved;
      const content =
        i.data.type === 2
          ? `Waved at ${r?.users?.[i.data.target_id]?.username ?? '?'}`
          : `Quoted: ${r?.messages?.[i.data.target_id]?.content ?? '?'}`;
      void fetch(`/api/v10/interactions/${i.id}/${i.token}/callback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 4, data: { content } }),
      });
    };
  }, token);
  await page.waitForFunction(() => (window as unknown as { ready: boolean }).ready);
  return page;
}

async function asBot(token: string, method: string, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${hearth.url}/api/v10${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bot ${token}` },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
}

test('a member runs USER and MESSAGE commands from the Apps menu', async ({ browser }) => {
  const pw = 'correct-horse-battery';
  const owner = await hearth.api<{ token: string }>('POST', '/auth/register', { username: 'olga', password: pw });
  const member = await hearth.api<{ token: string }>('POST', '/auth/register', { username: 'mia', password: pw });
  const quiet = await hearth.api<{ token: string }>('POST', '/auth/register', { username: 'quentin', password: pw });
  const guild = await hearth.api<{ id: string }>('POST', '/guilds', { name: 'Menus' }, owner.token);
  const channels = await hearth.api<{ id: string; type: number }[]>('GET', `/guilds/${guild.id}/channels`, undefined, owner.token);
  const general = channels.find((c) => c.type === 0);
  if (!general) throw new Error('no text channel');
  const invite = await hearth.api<{ code: string }>('POST', `/channels/${general.id}/invites`, {}, owner.token);
  await hearth.api('POST', `/invites/${invite.code}`, undefined, member.token);
  await hearth.api('POST', `/invites/${invite.code}`, undefined, quiet.token);
  const quentin = await hearth.api<{ id: string }>('GET', '/users/@me', undefined, quiet.token);
  const said = await hearth.api<{ id: string }>('POST', `/channels/${general.id}/messages`, { content: 'worth quoting' }, quiet.token);

  const app = await hearth.api<{ id: string; token: string }>('POST', '/applications', { name: 'Menu Bot' }, owner.token);
  await hearth.api('POST', `/oauth2/authorize?client_id=${app.id}&scope=bot`, { guild_id: guild.id, permissions: '0', authorize: true }, owner.token);
  const commands = `/applications/${app.id}/guilds/${guild.id}/commands`;
  await asBot(app.token, 'POST', commands, { type: 2, name: 'Wave at' });
  await asBot(app.token, 'POST', commands, { type: 3, name: 'Quote' });
  await asBot(app.token, 'POST', commands, { type: 3, name: 'Bookmark' });
  // A chat command is not in the context menus, nor a command mia lacks the permissions of
  // (BAN_MEMBERS), nor an administrators' one ("0").
  await asBot(app.token, 'POST', commands, { name: 'echo', description: 'Repeats' });
  await asBot(app.token, 'POST', commands, { type: 2, name: 'Ban hammer', default_member_permissions: '4' });
  await asBot(app.token, 'POST', commands, { type: 3, name: 'Purge', default_member_permissions: '0' });
  const bot = await startBot(browser, app.token);

  const mia = await logIn(browser, hearth, `/channels/${guild.id}/${general.id}`, 'mia', pw);
  const list = mia.getByRole('list', { name: 'Messages' });
  const members = mia.getByRole('complementary', { name: 'Members' });
  await expect(mia.getByLabel('Message #general')).toBeVisible();

  // A right-click on an (offline) member: the USER commands.
  await members.getByRole('button', { name: 'quentin', exact: true }).click({ button: 'right' });
  const userMenu = mia.getByRole('menu', { name: 'Apps for quentin' });
  await expect(userMenu.getByRole('menuitem')).toHaveText(['Wave at by Menu Bot']);
  await expect(userMenu.getByRole('menuitem').first()).toBeFocused();
  await accessible(mia, 'member list with the Apps menu');
  await mia.screenshot({ path: 'test-results/screens/apps-menu-member.png' });
  await userMenu.getByRole('menuitem', { name: /Wave at/ }).click();
  await expect(userMenu).toHaveCount(0);
  const waved = list.getByRole('listitem').filter({ hasText: 'Waved at quentin' });
  await expect(waved).toBeVisible();
  await expect(waved.getByText('mia used Wave at')).toBeVisible();

  // A right-click on a message: the MESSAGE commands; Esc closes the menu.
  const target = list.getByRole('listitem').filter({ hasText: 'worth quoting' });
  await target.getByText('worth quoting').click({ button: 'right' });
  const messageMenu = mia.getByRole('menu', { name: 'Apps for the message by quentin' });
  const [bookmark, quote] = [messageMenu.getByRole('menuitem', { name: /Bookmark/ }), messageMenu.getByRole('menuitem', { name: /Quote/ })];
  await expect(messageMenu.getByRole('menuitem')).toHaveText(['Bookmark by Menu Bot', 'Quote by Menu Bot']);
  await mia.keyboard.press('Escape');
  await expect(messageMenu).toHaveCount(0);

  // The keyboard way: the message's "Apps" button takes the focus, Enter opens the menu on
  // its first item, the arrows and End move, Esc returns to the button, Enter runs an item.
  await target.hover();
  const appsButton = target.getByRole('button', { name: 'Apps' });
  await appsButton.focus();
  await mia.keyboard.press('Enter');
  await expect(appsButton).toHaveAttribute('aria-expanded', 'true');
  await expect(bookmark).toBeFocused();
  await mia.keyboard.press('ArrowDown');
  await expect(quote).toBeFocused();
  await mia.keyboard.press('ArrowDown');
  await expect(bookmark).toBeFocused();
  await mia.keyboard.press('End');
  await expect(quote).toBeFocused();
  await mia.keyboard.press('Home');
  await expect(bookmark).toBeFocused();
  await mia.keyboard.press('Escape');
  await expect(messageMenu).toHaveCount(0);
  await expect(appsButton).toBeFocused();
  await expect(appsButton).toHaveAttribute('aria-expanded', 'false');
  await mia.keyboard.press('Enter');
  await expect(bookmark).toBeFocused();
  await mia.keyboard.press('End');
  await mia.keyboard.press('Enter');
  await expect(messageMenu).toHaveCount(0);
  await expect(appsButton).toBeFocused();
  await expect(list.getByRole('listitem').filter({ hasText: 'Quoted: worth quoting' })).toBeVisible();

  // On a member: Shift+F10 on the name opens the menu, Esc gives the focus back; the row's
  // "Apps" button (reached with Tab from the name) opens it too.
  const quentinName = members.getByRole('button', { name: 'quentin', exact: true });
  await quentinName.focus();
  await mia.keyboard.press('Shift+F10');
  await expect(userMenu.getByRole('menuitem').first()).toBeFocused();
  await mia.keyboard.press('Escape');
  await expect(userMenu).toHaveCount(0);
  await expect(quentinName).toBeFocused();
  await mia.keyboard.press('Tab');
  const memberApps = members.getByRole('button', { name: 'Apps for quentin' });
  await expect(memberApps).toBeFocused();
  await expect(memberApps).toHaveAttribute('aria-haspopup', 'menu');
  await mia.keyboard.press('Enter');
  await expect(memberApps).toHaveAttribute('aria-expanded', 'true');
  await expect(userMenu.getByRole('menuitem')).toHaveText(['Wave at by Menu Bot']);
  await expect(userMenu.getByRole('menuitem').first()).toBeFocused();
  await mia.keyboard.press('Escape');
  await expect(memberApps).toBeFocused();

  // What the bot received: type 2, the command's type and target, resolved by the server.
  const got = await bot.evaluate(() => (window as unknown as { received: Got[] }).received);
  expect(got.map((g) => [g.type, g.data.name, g.data.type, g.data.target_id])).toEqual([
    [2, 'Wave at', 2, quentin.id],
    [2, 'Quote', 3, said.id],
  ]);
  // The stored answers name their command and its type.
  const stored = await hearth.api<{ content: string; interaction_metadata?: { name: string; command_type: number } }[]>(
    'GET',
    `/channels/${general.id}/messages?limit=5`,
    undefined,
    member.token,
  );
  const meta = (content: string) => {
    const m = stored.find((x) => x.content === content)?.interaction_metadata;
    return m && [m.name, m.command_type];
  };
  expect(meta('Waved at quentin')).toEqual(['Wave at', 2]);
  expect(meta('Quoted: worth quoting')).toEqual(['Quote', 3]);

  // The whole page (offline members included) passes the scan in the light theme too.
  await mia.emulateMedia({ colorScheme: 'light' });
  await accessible(mia, 'chat, light theme');
  await mia.emulateMedia({ colorScheme: 'dark' });
  await accessible(mia, 'chat, dark theme');

  // Where the server would refuse them, the menus are not offered: without
  // USE_APPLICATION_COMMANDS none, without READ_MESSAGE_HISTORY no MESSAGE commands (the USER
  // ones stay).
  const mine = await hearth.api<{ id: string }>('GET', '/users/@me', undefined, member.token);
  const deny = (bits: bigint) => hearth.api('PUT', `/channels/${general.id}/permissions/${mine.id}`, { type: 1, allow: '0', deny: String(bits) }, owner.token);
  const original = list.getByRole('listitem', { name: 'quentin: worth quoting' });
  await deny(1n << 31n);
  await original.hover();
  await expect(original.getByRole('button', { name: 'Apps' })).toHaveCount(0);
  await members.getByRole('button', { name: 'quentin', exact: true }).click({ button: 'right' });
  await expect(userMenu).toHaveCount(0);
  await deny(1n << 16n);
  await expect(async () => {
    await members.getByRole('button', { name: 'quentin', exact: true }).click({ button: 'right' });
    await expect(userMenu.getByRole('menuitem')).toHaveText(['Wave at by Menu Bot'], { timeout: 1000 });
  }).toPass();
  await mia.keyboard.press('Escape');
  await original.hover();
  await expect(original.getByRole('button', { name: 'Apps' })).toHaveCount(0);

  // When the list cannot be fetched (here the server is down) the menu says so, not "No apps".
  await hearth.halt();
  await members.getByRole('button', { name: 'quentin', exact: true }).click({ button: 'right' });
  await expect(userMenu.getByRole('menuitem')).toHaveText(['Apps unavailable']);
  await expect(members.getByRole('alert')).toContainText('The apps could not be listed');
});
