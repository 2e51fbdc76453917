// Threads and forums: a thread started from a message shows live for another member (in the
// channel list, and as the message's thread link), both chat in it live, a member without
// SEND_MESSAGES_IN_THREADS finds its composer closed with the reason; in a forum that
// requires a tag the new-post form refuses a post without one, and a tagged post shows in
// the other member's forum list and opens as a thread.
import { expect, test, type Page } from '@playwright/test';
import { accessible } from './a11y';
import { logIn } from './people';
import { startHearth, type Hearth } from './server';

let hearth: Hearth;
const SEND_MESSAGES_IN_THREADS = 1n << 38n;
const REQUIRE_TAG = 1 << 4;

test.beforeAll(async () => {
  hearth = await startHearth();
});

test.afterAll(async () => {
  await hearth?.stop();
});

const messages = (page: Page) => page.getByRole('list', { name: 'Messages' });
const channelNav = (page: Page) => page.getByRole('navigation', { name: 'Channels' });

/** The axe scan in the light and the dark theme. */
async function bothThemes(page: Page, screen: string) {
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    await accessible(page, `${screen} (${colorScheme})`);
  }
  await page.emulateMedia({ colorScheme: null });
}

test('threads from messages and forum posts, live for two members', async ({ browser }) => {
  const pw = 'correct-horse-battery';
  const reg = (username: string) => hearth.api<{ token: string; user_id: string }>('POST', '/auth/register', { username, password: pw });
  const owner = await reg('alice');
  const bobUser = await reg('bob');
  const carolUser = await reg('carol');
  const guild = await hearth.api<{ id: string }>('POST', '/guilds', { name: 'Threads Club' }, owner.token);
  const channels = await hearth.api<{ id: string; type: number }[]>('GET', `/guilds/${guild.id}/channels`, undefined, owner.token);
  const general = channels.find((c) => c.type === 0);
  if (!general) throw new Error('no text channel');
  const invite = await hearth.api<{ code: string }>('POST', `/channels/${general.id}/invites`, {}, owner.token);
  await hearth.api('POST', `/invites/${invite.code}`, undefined, bobUser.token);
  await hearth.api('POST', `/invites/${invite.code}`, undefined, carolUser.token);
  // Carol may write in #general but not in its threads.
  await hearth.api(
    'PUT',
    `/channels/${general.id}/permissions/${carolUser.user_id}`,
    { type: 1, allow: '0', deny: String(SEND_MESSAGES_IN_THREADS) },
    owner.token,
  );
  await hearth.api('POST', `/channels/${general.id}/messages`, { content: 'who is coming to the picnic?' }, owner.token);
  const forum = await hearth.api<{ id: string }>(
    'POST',
    `/guilds/${guild.id}/channels`,
    { name: 'help-desk', type: 15, topic: 'Ask here', available_tags: [{ name: 'bug' }, { name: 'idea' }] },
    owner.token,
  );
  await hearth.api('PATCH', `/channels/${forum.id}`, { flags: REQUIRE_TAG }, owner.token);

  const alice = await logIn(browser, hearth, `/channels/${guild.id}/${general.id}`, 'alice', pw);
  const bob = await logIn(browser, hearth, `/channels/${guild.id}/${general.id}`, 'bob', pw);
  await expect(messages(alice).getByText('who is coming to the picnic?')).toBeVisible();

  // Bob starts a thread from Alice's message; he lands in it.
  const question = messages(bob).getByRole('listitem').filter({ hasText: 'who is coming to the picnic?' });
  await question.hover();
  await question.getByRole('button', { name: 'Create thread' }).click();
  const dialog = bob.getByRole('dialog', { name: 'Create thread' });
  await dialog.getByLabel('Thread name').fill('Picnic plans');
  await dialog.getByRole('button', { name: 'Create' }).click();
  await expect(bob.getByRole('heading', { name: '# Picnic plans' })).toBeVisible();
  await expect(bob.getByRole('link', { name: 'Back to #general' })).toBeVisible();

  // Alice sees it live: under #general in the channel list, and under the message.
  const threadsOfGeneral = channelNav(alice).getByRole('list', { name: 'Threads of #general' });
  await expect(threadsOfGeneral.getByRole('link', { name: 'Picnic plans' })).toBeVisible();
  const link = messages(alice).getByRole('link', { name: 'Thread Picnic plans: 0 replies' });
  await expect(link).toBeVisible();
  await link.click();
  await expect(alice.getByRole('heading', { name: '# Picnic plans' })).toBeVisible();

  // Both chat in the thread, live.
  await bob.getByLabel('Message #Picnic plans').fill('I bring apples');
  await bob.keyboard.press('Enter');
  await expect(messages(alice).getByText('I bring apples')).toBeVisible();
  await alice.getByLabel('Message #Picnic plans').fill('and I bring bread');
  await alice.keyboard.press('Enter');
  await expect(messages(bob).getByText('and I bring bread')).toBeVisible();
  await bothThemes(alice, 'thread view');
  await alice.screenshot({ path: 'test-results/screens/thread.png' });

  // Alice locks the thread (REST): Bob's composer closes live (THREAD_UPDATE), with why.
  const threadId = new URL(bob.url()).pathname.split('/')[3] ?? '';
  await hearth.api('PATCH', `/channels/${threadId}`, { locked: true }, owner.token);
  await expect(bob.getByRole('textbox', { name: 'Message #Picnic plans' })).toBeDisabled();
  await expect(bob.getByText('This thread is locked. Only members who can manage threads can send messages in it.').first()).toBeVisible();
  await expect(bob.locator('.thread-info')).toContainText('Locked');
  await hearth.api('PATCH', `/channels/${threadId}`, { locked: false }, owner.token);
  await expect(bob.getByRole('textbox', { name: 'Message #Picnic plans' })).toBeEnabled();

  // Back in #general the message counts the replies.
  await channelNav(alice).getByRole('link', { name: '# general' }).click();
  await expect(messages(alice).getByRole('link', { name: 'Thread Picnic plans: 2 replies' })).toBeVisible();

  // Carol (no SEND_MESSAGES_IN_THREADS) reads the thread; its composer is closed, with why.
  const carol = await logIn(browser, hearth, `/channels/${guild.id}/${general.id}`, 'carol', pw);
  await channelNav(carol).getByRole('link', { name: 'Picnic plans' }).click();
  await expect(messages(carol).getByText('and I bring bread')).toBeVisible();
  await expect(carol.getByRole('textbox', { name: 'Message #Picnic plans' })).toBeDisabled();
  await expect(carol.getByText('You do not have permission to send messages in this thread.').first()).toBeVisible();
  await expect(carol.getByRole('button', { name: 'Create thread' })).toHaveCount(0);
  await carol.close();

  // The forum: both open it; Alice's post without a tag is refused by the form.
  await channelNav(alice).getByRole('link', { name: 'Forum help-desk' }).click();
  await channelNav(bob).getByRole('link', { name: 'Forum help-desk' }).click();
  await expect(alice.getByRole('heading', { name: 'help-desk' })).toBeVisible();
  await expect(bob.getByText('No posts yet.')).toBeVisible();
  await bothThemes(alice, 'forum view');
  await alice.getByRole('button', { name: 'New post' }).click();
  const post = alice.getByRole('dialog', { name: 'New post' });
  await post.getByLabel('Title').fill('Login is broken');
  await post.getByLabel('Message').fill('I cannot log in since this morning');
  await post.getByRole('button', { name: 'Post' }).click();
  await expect(post.getByRole('alert')).toHaveText('Choose at least one tag: this forum requires one.');
  await accessible(alice, 'new post dialog', '[role="dialog"]');
  await post.getByRole('checkbox', { name: 'bug' }).check();
  await post.getByRole('button', { name: 'Post' }).click();
  await expect(alice.getByRole('heading', { name: '# Login is broken' })).toBeVisible();
  await expect(messages(alice).getByText('I cannot log in since this morning')).toBeVisible();

  // Bob's forum list shows the post live, with its tag; it opens as a thread.
  const posts = bob.getByRole('list', { name: 'Posts' });
  const item = posts.getByRole('listitem').filter({ hasText: 'Login is broken' });
  await expect(item).toBeVisible();
  await expect(item.getByRole('list', { name: 'Tags: bug' })).toBeVisible();
  await bob.screenshot({ path: 'test-results/screens/forum.png' });
  await item.getByRole('link', { name: 'Login is broken' }).click();
  await expect(bob.getByRole('heading', { name: '# Login is broken' })).toBeVisible();
  await expect(messages(bob).getByText('I cannot log in since this morning')).toBeVisible();
  await bob.getByLabel('Message #Login is broken').fill('works for me');
  await bob.keyboard.press('Enter');
  await expect(messages(alice).getByText('works for me')).toBeVisible();
});
