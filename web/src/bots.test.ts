import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ApplicationCommandIndex, Component, GuildCreate, InteractionModalCreate } from './api/wire';
import {
  actionRows,
  autocompleteBody,
  buildOptions,
  commandBody,
  commandEntries,
  componentBody,
  contextBody,
  appsAllowed,
  contextEntries,
  usableBy,
  entities,
  entityKinds,
  entryName,
  matchCommands,
  modalBody,
  safeUrl,
  selectLimits,
  selectValid,
  textInputError,
  textInputs,
  type CommandEntry,
  type Place,
} from './bots';
import { ALL, P } from './permissions';
import type { Rest } from './api/rest';
import { INTERACTION_KEEP_MS, Store } from './state/store';
import { sendInteraction } from './ui/Components';

const place: Place = { applicationId: 'app', guildId: 'g', channelId: 'c', sessionId: 's', nonce: 'n' };

const index: ApplicationCommandIndex = {
  version: '9',
  applications: [{ id: 'app', name: 'Echo Bot', description: '', bot_id: 'bot' }],
  application_commands: [
    {
      id: '1',
      type: 1,
      application_id: 'app',
      name: 'echo',
      description: 'Repeats',
      default_member_permissions: null,
      version: '5',
      options: [
        { type: 3, name: 'text', description: 'What', required: true, max_length: 5 },
        { type: 4, name: 'times', description: 'How often', min_value: 1, max_value: 3 },
        { type: 5, name: 'loud', description: 'Shout' },
        { type: 6, name: 'who', description: 'To whom' },
        { type: 3, name: 'lang', description: 'Language', autocomplete: true },
      ],
    },
    {
      id: '2',
      type: 1,
      application_id: 'app',
      name: 'config',
      description: 'Settings',
      default_member_permissions: null,
      version: '6',
      options: [
        { type: 1, name: 'show', description: 'Show them' },
        {
          type: 2,
          name: 'set',
          description: 'Change',
          options: [{ type: 1, name: 'color', description: 'Colour', options: [{ type: 3, name: 'value', description: 'v', choices: [{ name: 'Red', value: 'red' }] }] }],
        },
      ],
    },
    { id: '3', type: 2, application_id: 'app', name: 'Profile', description: '', default_member_permissions: null, version: '7' },
    { id: '4', type: 3, application_id: 'app2', name: 'Quote', description: '', default_member_permissions: null, version: '8' },
    { id: '5', type: 3, application_id: 'app', name: 'Bookmark', description: '', default_member_permissions: null, version: '9' },
  ],
};
index.applications.push({ id: 'app2', name: 'Quoter', description: '', bot_id: 'bot2' });

describe('message components', () => {
  it('reads action rows and skips what is not one', () => {
    const rows: Component[] = [
      { type: 1, components: [{ type: 2, style: 1, label: 'Go', custom_id: 'go' }] },
      { type: 2, custom_id: 'stray' },
      { type: 1 },
    ];
    expect(actionRows(rows)).toEqual([[{ type: 2, style: 1, label: 'Go', custom_id: 'go' }], []]);
    expect(actionRows(undefined)).toEqual([]);
  });
  it('select bounds default to exactly one value; values must be distinct and within them', () => {
    expect(selectLimits({ type: 3 })).toEqual({ min: 1, max: 1 });
    const multi: Component = { type: 3, min_values: 0, max_values: 2 };
    expect(selectValid(multi, [])).toBe(true);
    expect(selectValid(multi, ['a', 'b'])).toBe(true);
    expect(selectValid(multi, ['a', 'b', 'c'])).toBe(false);
    expect(selectValid(multi, ['a', 'a'])).toBe(false);
    expect(selectValid({ type: 3 }, [])).toBe(false);
  });
  it('opens only http(s) links', () => {
    expect(safeUrl('https://example.com/docs')).toBe('https://example.com/docs');
    expect(safeUrl('javascript:alert(1)')).toBeNull();
    expect(safeUrl('not a url')).toBeNull();
    expect(safeUrl(undefined)).toBeNull();
  });
  it('builds the type 3 body Discord’s client sends', () => {
    const b = componentBody(place, 'm', 0, { type: 3, custom_id: 'pick' }, ['a']);
    expect(b).toEqual({
      type: 3,
      application_id: 'app',
      guild_id: 'g',
      channel_id: 'c',
      session_id: 's',
      nonce: 'n',
      message_id: 'm',
      message_flags: 0,
      data: { custom_id: 'pick', component_type: 3, values: ['a'] },
    });
    expect(componentBody(place, 'm', 0, { type: 2, custom_id: 'go' }).data).toEqual({ custom_id: 'go', component_type: 2 });
  });
  it('offers the guild’s users, roles and channels to entity selects', () => {
    const guild = {
      id: 'g',
      roles: [
        { id: 'g', name: '@everyone' },
        { id: 'r', name: 'Mods' },
      ],
      channels: [
        { id: 'c1', type: 0, name: 'general' },
        { id: 'c2', type: 2, name: 'voice' },
      ],
      members: [{ user: { id: 'u', username: 'bob', global_name: null }, nick: null }, { nick: 'ghost' }],
    } as unknown as GuildCreate;
    expect(entities(guild, entityKinds(5)).map((e) => e.label)).toEqual(['bob']);
    expect(entities(guild, entityKinds(6)).map((e) => e.label)).toEqual(['@everyone', '@Mods']);
    expect(entities(guild, entityKinds(8), [0]).map((e) => e.id)).toEqual(['c1']);
    expect(entities(guild, entityKinds(7)).map((e) => e.kind)).toEqual(['role', 'role', 'user']);
    expect(entities(guild, entityKinds(null, 7)).length).toBe(2);
  });
});

describe('modals', () => {
  const modal: InteractionModalCreate = {
    id: 'i',
    nonce: 'n',
    channel_id: 'c',
    application: { id: 'app', name: 'Echo Bot' },
    custom_id: 'feedback',
    title: 'Feedback',
    components: [
      { type: 1, components: [{ type: 4, custom_id: 'name', style: 1, label: 'Name', min_length: 2, max_length: 4 }] },
      { type: 1, components: [{ type: 4, custom_id: 'more', style: 2, label: 'More', required: false }] },
    ],
  };
  it('checks text inputs: required by default, lengths in characters', () => {
    const [name, more] = textInputs(modal) as [Component, Component];
    expect(textInputError(name, '')).toBe('required');
    expect(textInputError(name, 'a')).toBe('min:2');
    expect(textInputError(name, 'abcde')).toBe('max:4');
    expect(textInputError(name, '🔥🔥')).toBeNull();
    expect(textInputError(more, '')).toBeNull();
  });
  it('submits each value in its own row under the modal’s custom id (type 5)', () => {
    const b = modalBody(place, modal, { name: 'Ann', more: '' });
    expect(b.type).toBe(5);
    expect(b.data).toEqual({
      id: 'i',
      custom_id: 'feedback',
      components: [
        { type: 1, components: [{ type: 4, custom_id: 'name', value: 'Ann' }] },
        { type: 1, components: [{ type: 4, custom_id: 'more', value: '' }] },
      ],
    });
  });
});

function entry(entries: CommandEntry[], name: string): CommandEntry {
  const e = entries.find((x) => entryName(x) === name);
  if (!e) throw new Error(`no entry ${name}`);
  return e;
}

describe('application commands', () => {
  const entries = commandEntries(index);
  const echo = entry(entries, 'echo');
  it('lists chat commands, one entry per subcommand, by name', () => {
    expect(entries.map(entryName)).toEqual(['config set color', 'config show', 'echo']);
    expect(echo.application).toBe('Echo Bot');
  });
  it('matches `/` prefixes only at the start of a one-line text', () => {
    expect(matchCommands(entries, 'hello')).toBeNull();
    expect(matchCommands(entries, '/')?.length).toBe(3);
    expect(matchCommands(entries, '/CON')?.map(entryName)).toEqual(['config set color', 'config show']);
    expect(matchCommands(entries, '/x')).toEqual([]);
    expect(matchCommands(entries, '/echo\nmore')).toBeNull();
  });
  it('converts and checks option values as declared', () => {
    expect(buildOptions(echo, {})).toEqual({ errors: { text: 'required' } });
    expect(buildOptions(echo, { text: 'toolong', times: '1.5' })).toEqual({ errors: { text: 'maxLength:5', times: 'integer' } });
    expect(buildOptions(echo, { text: 'hi', times: '9' })).toEqual({ errors: { times: 'max:3' } });
    expect(buildOptions(echo, { text: 'hi', times: 'x' })).toEqual({ errors: { times: 'integer' } });
    expect(buildOptions(echo, { text: 'hi', times: '2', loud: 'false', who: '42' })).toEqual({
      options: [
        { type: 3, name: 'text', value: 'hi' },
        { type: 4, name: 'times', value: 2 },
        { type: 5, name: 'loud', value: false },
        { type: 6, name: 'who', value: '42' },
      ],
    });
  });
  it('nests subcommand values and checks choices', () => {
    const color = entry(entries, 'config set color');
    expect(buildOptions(color, { value: 'blue' })).toEqual({ errors: { value: 'choice' } });
    expect(buildOptions(color, { value: 'red' })).toEqual({
      options: [{ type: 2, name: 'set', options: [{ type: 1, name: 'color', options: [{ type: 3, name: 'value', value: 'red' }] }] }],
    });
    const show = entry(entries, 'config show');
    expect(buildOptions(show, {})).toEqual({ options: [{ type: 1, name: 'show', options: [] }] });
  });
  it('builds type 2 and type 4 bodies', () => {
    const b = commandBody(place, echo, [{ type: 3, name: 'text', value: 'hi' }]);
    expect(b).toMatchObject({ type: 2, application_id: 'app', data: { id: '1', name: 'echo', type: 1, version: '5', options: [{ name: 'text', value: 'hi' }] } });
    const a = autocompleteBody(place, echo, { text: 'hi', times: 'x', lang: 'fr' }, 'lang');
    expect(a.type).toBe(4);
    expect(a.data.options).toEqual([
      { type: 3, name: 'text', value: 'hi' },
      { type: 3, name: 'lang', value: 'fr', focused: true },
    ]);
  });
});

describe('interactions in the store', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());
  it('settles on INTERACTION_SUCCESS and _FAILURE for this session’s nonces only', () => {
    const s = new Store();
    s.startInteraction('a', 'g', 10_000);
    s.startInteraction('b', 'g', 10_000);
    s.dispatch('INTERACTION_SUCCESS', { id: '1', nonce: 'a' });
    s.dispatch('INTERACTION_FAILURE', { id: '2', nonce: 'b' });
    s.dispatch('INTERACTION_SUCCESS', { id: '3', nonce: 'other' });
    expect(s.state.interactions).toEqual({ a: { status: 'done', guildId: 'g' }, b: { status: 'failed', guildId: 'g' } });
  });
  it('fails when nothing came within the timeout, and stays failed', () => {
    const s = new Store();
    s.startInteraction('a', 'g', 10_000);
    vi.advanceTimersByTime(9_999);
    expect(s.state.interactions.a?.status).toBe('pending');
    vi.advanceTimersByTime(1);
    expect(s.state.interactions.a?.status).toBe('failed');
    s.dispatch('INTERACTION_SUCCESS', { id: '1', nonce: 'a' });
    expect(s.state.interactions.a?.status).toBe('failed');
  });
  it('opens a modal for its own interaction only, with the guild', () => {
    const s = new Store();
    const modal = { id: 'i', nonce: 'x', channel_id: 'c', application: { id: 'app', name: 'B' }, custom_id: 'm', title: 'T', components: [] };
    s.dispatch('INTERACTION_MODAL_CREATE', modal);
    expect(s.state.modal).toBeNull();
    s.startInteraction('x', 'g', 10_000);
    s.dispatch('INTERACTION_MODAL_CREATE', modal);
    expect(s.state.modal).toEqual({ ...modal, guildId: 'g' });
    expect(s.state.interactions.x?.status).toBe('done');
    s.closeModal();
    expect(s.state.modal).toBeNull();
  });
  it('keeps autocomplete choices of its own nonces', () => {
    const s = new Store();
    s.dispatch('APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE', { nonce: 'q', choices: [{ name: 'A', value: 'a' }] });
    expect(s.state.autocomplete).toBeNull();
    s.startInteraction('q', 'g', 0);
    s.dispatch('APPLICATION_COMMAND_AUTOCOMPLETE_RESPONSE', { nonce: 'q', choices: [{ name: 'A', value: 'a' }] });
    expect(s.state.autocomplete?.choices).toEqual([{ name: 'A', value: 'a' }]);
  });
  it('drops a settled entry after INTERACTION_KEEP_MS, a pending one never', () => {
    const s = new Store();
    s.startInteraction('a', 'g', 10_000);
    s.startInteraction('b', 'g', 10_000);
    s.startInteraction('q', 'g', 0);
    s.dispatch('INTERACTION_SUCCESS', { id: '1', nonce: 'a' });
    vi.advanceTimersByTime(INTERACTION_KEEP_MS - 1);
    expect(Object.keys(s.state.interactions).sort()).toEqual(['a', 'b', 'q']);
    vi.advanceTimersByTime(1);
    // 'b' failed by its timeout meanwhile (10 s) and is kept 30 s from then.
    expect(Object.keys(s.state.interactions)).toEqual(['b']);
    expect(s.state.interactions.b?.status).toBe('failed');
    vi.advanceTimersByTime(10_000);
    expect(s.state.interactions).toEqual({});
  });
  it('without a gateway session nothing is sent and the interaction fails with the reason', () => {
    const s = new Store();
    const sent: unknown[] = [];
    const rest = { interact: (b: unknown) => (sent.push(b), Promise.resolve()) } as unknown as Rest;
    const body = (nonce: string, sessionId: string) => ({ ...place, nonce, sessionId }) as never;
    const nonce = sendInteraction(rest, s, 'g', body);
    expect(sent).toEqual([]);
    expect(s.state.interactions[nonce]).toMatchObject({ status: 'failed', error: expect.stringContaining('not connected') });
    s.dispatch('READY', { v: 10, user: { id: 'u' }, session_id: 'sess', guilds: [] });
    const again = sendInteraction(rest, s, 'g', body);
    expect(sent).toHaveLength(1);
    expect(s.state.interactions[again]?.status).toBe('pending');
  });
  it('READY keeps the gateway session id', () => {
    const s = new Store();
    s.dispatch('READY', { v: 10, user: { id: 'u' }, session_id: 'sess', guilds: [] });
    expect(s.state.sessionId).toBe('sess');
  });
});

describe('context-menu commands', () => {
  it('lists the USER and MESSAGE commands apart, by name, with their application', () => {
    expect(contextEntries(index, 2, ALL).map((e) => [e.command.name, e.application])).toEqual([['Profile', 'Echo Bot']]);
    expect(contextEntries(index, 3, ALL).map((e) => [e.command.name, e.application])).toEqual([
      ['Bookmark', 'Echo Bot'],
      ['Quote', 'Quoter'],
    ]);
    expect(contextEntries({ ...index, application_commands: [] }, 3, ALL)).toEqual([]);
  });
  it('lists a command only to members its default_member_permissions let use it', () => {
    const cmd = (id: string, d: string | null) => ({ id, type: 2, application_id: 'app', name: id, description: '', default_member_permissions: d, version: '1' });
    const gated = { ...index, application_commands: [cmd('anyone', null), cmd('admins', '0'), cmd('kickers', String(P.KICK_MEMBERS | P.BAN_MEMBERS))] };
    const names = (perms: bigint) => contextEntries(gated, 2, perms).map((e) => e.command.name);
    expect(names(P.USE_APPLICATION_COMMANDS)).toEqual(['anyone']);
    expect(names(P.USE_APPLICATION_COMMANDS | P.KICK_MEMBERS)).toEqual(['anyone']);
    expect(names(P.USE_APPLICATION_COMMANDS | P.KICK_MEMBERS | P.BAN_MEMBERS)).toEqual(['anyone', 'kickers']);
    expect(names(ALL)).toEqual(['admins', 'anyone', 'kickers']);
    expect(usableBy(cmd('x', '0'), ALL & ~P.ADMINISTRATOR)).toBe(false);
  });
  it('offers the Apps menu only with USE_APPLICATION_COMMANDS, and MESSAGE commands only with READ_MESSAGE_HISTORY', () => {
    expect(appsAllowed(P.USE_APPLICATION_COMMANDS, 2)).toBe(true);
    expect(appsAllowed(P.USE_APPLICATION_COMMANDS, 3)).toBe(false);
    expect(appsAllowed(P.USE_APPLICATION_COMMANDS | P.READ_MESSAGE_HISTORY, 3)).toBe(true);
    expect(appsAllowed(ALL & ~P.USE_APPLICATION_COMMANDS, 2)).toBe(false);
    expect(appsAllowed(ALL & ~P.USE_APPLICATION_COMMANDS, 3)).toBe(false);
  });
  it('runs one on its target: type 2 with the command type and target_id, no options', () => {
    const quote = contextEntries(index, 3, ALL).find((e) => e.command.name === 'Quote');
    if (!quote) throw new Error('no Quote');
    expect(contextBody({ ...place, applicationId: 'app2' }, quote, 'm1')).toEqual({
      application_id: 'app2',
      guild_id: 'g',
      channel_id: 'c',
      session_id: 's',
      nonce: 'n',
      type: 2,
      data: { id: '4', name: 'Quote', type: 3, version: '8', target_id: 'm1' },
    });
  });
});
