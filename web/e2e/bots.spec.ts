// Bots in the web client (issues 14 and 16): an application's bot, set up over REST, runs a
// real gateway session and answers its interactions; a member in the browser runs a slash
// command with options (a choice from autocomplete, a refused value first), sees the bot's
// reply, clicks its button (the message is updated, type 7), picks from its selects, sees
// "This interaction failed" when the bot does not answer, is asked before a link button
// leaves, and fills a modal whose values reach the bot. Assertions on the screen, on what
// the bot received and on the server's stored messages.
//
// The bot's gateway connection runs in a second browser page (Node 20 has no WebSocket and
// the project has no WebSocket package): plain JSON frames, IDENTIFY with the bot token,
// heartbeats, and `POST /interactions/{id}/{token}/callback` answers.
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

/** A REST call with the bot's token (`Authorization: Bot ...`). */
async function asBot<T>(token: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${hearth.url}/api/v10${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bot ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

interface Received {
  type: number;
  data: {
    name?: string;
    custom_id?: string;
    component_type?: number;
    values?: string[];
    options?: { name: string; value: unknown; focused?: boolean }[];
    components?: { components: { custom_id: string; value: string }[] }[];
  };
}

/** Starts the bot in its own page; it answers every interaction as the scene needs. */
async function startBot(browser: Browser, token: string): Promise<Page> {
  const page = await (await browser.newContext({ bypassCSP: true })).newPage();
  page.on('pageerror', (e) => console.error(`bot page error: ${e.message}`));
  await page.goto(`${hearth.url}/ready`);
  await page.evaluate((token) => {
    const row = (...components: unknown[]) => ({ type: 1, components });
    const controls = (count: number) => [
      row(
        { type: 2, style: 1, label: `Count ${count}`, custom_id: 'count', emoji: { name: '🔢' } },
        { type: 2, style: 4, label: 'Broken', custom_id: 'broken' },
        { type: 2, style: 2, label: 'Off', custom_id: 'off', disabled: true },
        { type: 2, style: 5, label: 'Docs', url: 'https://example.com/docs' },
      ),
      row({
        type: 3,
        custom_id: 'colour',
        placeholder: 'Pick a colour',
        options: [
          { label: 'Red', value: 'red' },
          { label: 'Blue', value: 'blue' },
        ],
      }),
      row({ type: 5, custom_id: 'who', placeholder: 'Pick a person' }),
    ];
    const w = window as unknown as { received: unknown[]; ready: boolean };
    w.received = [];
    w.ready = false;
    let clicks = 0;
    const ws = new WebSocket(`ws://${location.host}/gateway?v=10&encoding=json`);
    let seq: number | null = null;
    const answer = (i: { id: string; token: string }, body: unknown) =>
      fetch(`/api/v10/interactions/${i.id}/${i.token}/callback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    ws.onmessage = (ev) => {
      const p = JSON.parse(String(ev.data)) as { op: number; t?: string; s?: number; d: Record<string, unknown> };
      if (p.s) seq = p.s;
      if (p.op === 10) {
        setInterval(() => ws.send(JSON.stringify({ op: 1, d: seq })), Number(p.d.heartbeat_interval));
        ws.send(JSON.stringify({ op: 2, d: { token, intents: 1 | 512, properties: { os: 'linux', browser: 'e2e', device: 'e2e' } } }));
      }
      if (p.t === 'READY') w.ready = true;
      if (p.t !== 'INTERACTION_CREATE' || !p.d.token) return;
      const i = p.d as unknown as {
        id: string;
        token: string;
        type: number;
        member: { user: { global_name: string | null; username: string } };
        data: {
          name?: string;
          custom_id?: string;
          values?: string[];
          options?: { name: string; value: unknown; focused?: boolean }[];
          components?: { components: { custom_id: string; value: string }[] }[];
        };
      };
      w.received.push({ type: i.type, data: i.data });
      const opt = (n: string) => i.data.options?.find((o) => o.name === n)?.value;
      if (i.type === 4) {
        const typed = String(i.data.options?.find((o) => o.focused)?.value ?? '');
        const all = [
          { name: 'French', value: 'fr' },
          { name: 'Frisian', value: 'fy' },
          { name: 'German', value: 'de' },
        ];
        void answer(i, { type: 8, data: { choices: all.filter((c) => c.value.startsWith(typed) || c.name.toLowerCase().startsWith(typed)) } });
      } else if (i.type === 2 && i.data.name === 'echo') {
        const text = `Echo: ${String(opt('text'))} ×${String(opt('times') ?? 1)} (${String(opt('lang') ?? '-')})`;
        void answer(i, { type: 4, data: { content: text, components: controls(0) } });
      } else if (i.type === 2 && i.data.name === 'feedback') {
        void answer(i, {
          type: 9,
          data: {
            custom_id: 'fb',
            title: 'Feedback',
            components: [
              row({ type: 4, custom_id: 'name', style: 1, label: 'Your name', min_length: 2, max_length: 20, required: true }),
              row({ type: 4, custom_id: 'more', style: 2, label: 'Anything else', required: false, placeholder: 'Tell us' }),
            ],
          },
        });
      } else if (i.type === 3 && i.data.custom_id === 'count') {
        clicks += 1;
        void answer(i, { type: 7, data: { content: `Clicked ${clicks} time(s)`, components: controls(clicks) } });
      } else if (i.type === 3 && i.data.custom_id === 'colour') {
        void answer(i, { type: 7, data: { content: `Colour: ${String(i.data.values?.[0])}`, components: controls(clicks) } });
      } else if (i.type === 3 && i.data.custom_id === 'who') {
        void answer(i, { type: 7, data: { content: `Picked <@${String(i.data.values?.[0])}>`, components: controls(clicks) } });
      } else if (i.type === 5) {
        const v = (id: string) => i.data.components?.flatMap((r) => r.components).find((c) => c.custom_id === id)?.value;
        void answer(i, { type: 4, data: { content: `Thanks, ${String(v('name'))}: ${String(v('more'))}` } });
      }
      // 'broken': no answer (the server reports INTERACTION_FAILURE after 3 seconds).
    };
  }, token);
  await page.waitForFunction(() => (window as unknown as { ready: boolean }).ready);
  return page;
}

async function received(bot: Page): Promise<Received[]> {
  return bot.evaluate(() => (window as unknown as { received: Received[] }).received);
}

test('a member runs slash commands, uses message components and fills a modal', async ({ browser }) => {
  const pw = 'correct-horse-battery';
  const owner = await hearth.api<{ token: string }>('POST', '/auth/register', { username: 'olga', password: pw });
  const member = await hearth.api<{ token: string; user_id?: string }>('POST', '/auth/register', { username: 'mia', password: pw });
  const guild = await hearth.api<{ id: string }>('POST', '/guilds', { name: 'Botland' }, owner.token);
  const channels = await hearth.api<{ id: string; type: number }[]>('GET', `/guilds/${guild.id}/channels`, undefined, owner.token);
  const general = channels.find((c) => c.type === 0);
  if (!general) throw new Error('no text channel');
  const invite = await hearth.api<{ code: string }>('POST', `/channels/${general.id}/invites`, {}, owner.token);
  await hearth.api('POST', `/invites/${invite.code}`, undefined, member.token);
  const me = await hearth.api<{ id: string }>('GET', '/users/@me', undefined, member.token);

  // The owner's application, its bot in the guild, three guild commands.
  const app = await hearth.api<{ id: string; token: string }>('POST', '/applications', { name: 'Echo Bot' }, owner.token);
  await hearth.api('POST', `/oauth2/authorize?client_id=${app.id}&scope=bot`, { guild_id: guild.id, permissions: '0', authorize: true }, owner.token);
  const commands = `/applications/${app.id}/guilds/${guild.id}/commands`;
  await asBot(app.token, 'POST', commands, {
    name: 'echo',
    description: 'Repeats',
    options: [
      { type: 3, name: 'text', description: 'What to say', required: true, max_length: 20 },
      { type: 4, name: 'times', description: 'How often', min_value: 1, max_value: 3 },
      { type: 3, name: 'lang', description: 'Language', autocomplete: true },
    ],
  });
  await asBot(app.token, 'POST', commands, { name: 'feedback', description: 'Tell us' });
  // For administrators only: never listed to Mia (the server filters the channel's index).
  await asBot(app.token, 'POST', commands, { name: 'purge', description: 'Admins only', default_member_permissions: '8' });
  const bot = await startBot(browser, app.token);

  const mia = await logIn(browser, hearth, `/channels/${guild.id}/${general.id}`, 'mia', pw);
  const list = mia.getByRole('list', { name: 'Messages' });
  const composer = mia.getByLabel('Message #general');
  await expect(composer).toBeVisible();

  // `/` lists the commands Mia may use (not the administrators' `/purge`); Down and Enter
  // choose one.
  await composer.fill('/');
  const commandList = mia.getByRole('listbox', { name: 'Commands' });
  await expect(commandList.getByRole('option')).toHaveCount(2);
  await expect(commandList).not.toContainText('/purge');
  await composer.fill('/e');
  await expect(commandList.getByRole('option')).toHaveCount(1);
  await expect(commandList.getByRole('option', { selected: true })).toContainText('/echo');
  await accessible(mia, 'command list', 'main');
  await composer.press('Enter');
  const form = mia.getByRole('form', { name: '/echo' });
  await expect(form).toBeVisible();
  await expect(form.getByRole('textbox', { name: /^text \(required\)/ })).toHaveAttribute('required', '');
  await expect(form.getByRole('textbox', { name: /^times/ })).not.toHaveAttribute('required', '');

  // A refused value is explained; autocomplete asks the bot and lists its choices.
  await form.getByRole('textbox', { name: /^text/ }).fill('hello');
  await form.getByRole('textbox', { name: /^times/ }).fill('9');
  await form.getByRole('textbox', { name: /^lang/ }).fill('f');
  const suggestions = form.getByRole('list', { name: 'Suggestions' });
  await expect(suggestions.getByRole('button')).toHaveText(['French', 'Frisian']);
  await suggestions.getByRole('button', { name: 'French' }).click();
  await expect(form.getByRole('textbox', { name: /^lang/ })).toHaveValue('fr');
  await form.getByRole('button', { name: 'Run command' }).click();
  await expect(form.getByText('At most 3')).toBeVisible();
  // The whole page: the channel view and the member list (the owner is offline).
  await accessible(mia, 'command form');
  await mia.screenshot({ path: 'test-results/screens/bot-command-form.png' });
  await form.getByRole('textbox', { name: /^times/ }).fill('2');
  await form.getByRole('button', { name: 'Run command' }).click();

  // The bot's reply, with its controls.
  const reply = list.getByRole('listitem').filter({ hasText: 'Echo: hello ×2 (fr)' });
  await expect(reply).toBeVisible();
  await expect(reply.getByText('mia used /echo')).toBeVisible();
  const got = await received(bot);
  const run = got.find((r) => r.type === 2);
  expect(run?.data.options?.map((o) => [o.name, o.value])).toEqual([
    ['text', 'hello'],
    ['times', 2],
    ['lang', 'fr'],
  ]);
  expect(got.some((r) => r.type === 4 && r.data.options?.some((o) => o.focused && o.value === 'f'))).toBe(true);
  await expect(reply.getByRole('button', { name: 'Off' })).toBeDisabled();
  await mia.screenshot({ path: 'test-results/screens/bot-reply.png' });
  await accessible(mia, 'bot reply with components', 'main');

  // A click: the bot updates the message (callback 7) for everyone.
  await reply.getByRole('button', { name: 'Count 0' }).click();
  const updated = list.getByRole('listitem').filter({ hasText: 'Clicked 1 time(s)' });
  await expect(updated.getByRole('button', { name: 'Count 1' })).toBeVisible();
  const stored = await hearth.api<{ content: string; components: { components: { label?: string }[] }[] }[]>(
    'GET',
    `/channels/${general.id}/messages?limit=5`,
    undefined,
    member.token,
  );
  const message = stored.find((m) => m.content === 'Clicked 1 time(s)');
  expect(message?.components[0]?.components[0]?.label).toBe('Count 1');

  // Selects: a string select and a user select from the guild's members.
  await updated.getByRole('combobox', { name: 'Pick a colour' }).selectOption('blue');
  const coloured = list.getByRole('listitem').filter({ hasText: 'Colour: blue' });
  await expect(coloured).toBeVisible();
  await coloured.getByRole('combobox', { name: 'Pick a person' }).selectOption({ label: 'mia' });
  await expect(list.getByRole('listitem').filter({ hasText: 'Picked' })).toBeVisible();
  const picks = (await received(bot)).filter((r) => r.type === 3 && r.data.values);
  expect(picks.map((r) => [r.data.custom_id, r.data.values])).toEqual([
    ['colour', ['blue']],
    ['who', [me.id]],
  ]);

  // A button the bot never answers: the interaction fails (the server's 3 seconds).
  const current = list.getByRole('listitem').filter({ hasText: 'Picked' });
  await current.getByRole('button', { name: 'Broken' }).click();
  await expect(current.getByText('Sending…')).toBeVisible();
  await expect(current.getByRole('alert')).toHaveText('This interaction failed');

  // A link button asks first; the link opens in a new tab without an opener.
  await current.getByRole('button', { name: 'Docs' }).click();
  const leaving = mia.getByRole('dialog', { name: 'Leaving Hearth' });
  await expect(leaving).toContainText('https://example.com/docs');
  const open = leaving.getByRole('link', { name: 'Open link' });
  await expect(open).toHaveAttribute('href', 'https://example.com/docs');
  await expect(open).toHaveAttribute('rel', 'noopener noreferrer');
  await expect(open).toHaveAttribute('target', '_blank');
  await leaving.getByRole('button', { name: 'Cancel' }).click();
  await expect(leaving).toHaveCount(0);

  // A command answered with a modal; its values reach the bot.
  await composer.fill('/feed');
  await composer.press('Tab');
  await mia.getByRole('form', { name: '/feedback' }).getByRole('button', { name: 'Run command' }).click();
  const modal = mia.getByRole('dialog', { name: 'Feedback' });
  await expect(modal).toBeVisible();
  await expect(modal.getByRole('textbox', { name: 'Anything else' })).toHaveAttribute('placeholder', 'Tell us');
  await accessible(mia, 'modal', '[role=dialog]');
  await modal.getByRole('button', { name: 'Submit' }).click();
  await expect(modal.getByText('This field is required')).toBeVisible();
  await modal.getByRole('textbox', { name: /Your name/ }).fill('Mia');
  await modal.getByRole('textbox', { name: 'Anything else' }).fill('Lovely bot');
  await modal.getByRole('button', { name: 'Submit' }).click();
  await expect(modal).toHaveCount(0);
  await expect(list.getByText('Thanks, Mia: Lovely bot')).toBeVisible();
  const submitted = (await received(bot)).find((r) => r.type === 5);
  expect(submitted?.data.custom_id).toBe('fb');
  expect(submitted?.data.components?.map((r) => [r.components[0]?.custom_id, r.components[0]?.value])).toEqual([
    ['name', 'Mia'],
    ['more', 'Lovely bot'],
  ]);
  await mia.screenshot({ path: 'test-results/screens/bot-modal-answer.png' });
});
