// The `POST /interactions` bodies the client builds are exactly the request fixtures of
// `wire-fixtures/` (which `tests/it/web.rs` parses with hearth-wire and checks field by field),
// so a change on either side fails a test.
import { describe, expect, it } from 'vitest';
import autocompleteFixture from '../wire-fixtures/interaction_autocomplete_body.json';
import commandFixture from '../wire-fixtures/interaction_command_body.json';
import componentFixture from '../wire-fixtures/interaction_component_body.json';
import contextFixture from '../wire-fixtures/interaction_context_body.json';
import modalFixture from '../wire-fixtures/interaction_modal_body.json';
import type { ApplicationCommandIndex } from './api/wire';
import { autocompleteBody, buildOptions, commandBody, commandEntries, componentBody, contextBody, contextEntries, entryName, modalBody, type Place } from './bots';
import { ALL } from './permissions';

const place: Place = {
  applicationId: '1290000000000000001',
  guildId: '1290000000000000002',
  channelId: '1290000000000000003',
  sessionId: '6f1c0e4a9b8d4c2e',
  nonce: '1733370000000123456',
};
const app = place.applicationId;
const index: ApplicationCommandIndex = {
  version: '1',
  applications: [{ id: app, name: 'Bot', description: '', bot_id: '9' }],
  application_commands: [
    {
      id: '1290000000000000010',
      type: 1,
      application_id: app,
      name: 'config',
      description: 'Settings',
      default_member_permissions: null,
      version: '1290000000000000011',
      options: [{ type: 2, name: 'set', description: 'Change', options: [{ type: 1, name: 'color', description: 'c', options: [{ type: 3, name: 'value', description: 'v' }] }] }],
    },
    { id: '1290000000000000012', type: 3, application_id: app, name: 'Quote', description: '', default_member_permissions: null, version: '1290000000000000013' },
    {
      id: '1290000000000000014',
      type: 1,
      application_id: app,
      name: 'echo',
      description: 'Repeats',
      default_member_permissions: null,
      version: '1290000000000000015',
      options: [
        { type: 3, name: 'text', description: 't', required: true },
        { type: 3, name: 'lang', description: 'l', autocomplete: true },
      ],
    },
  ],
};

describe('interaction bodies match the wire fixtures', () => {
  const entries = commandEntries(index);
  const find = (name: string) => {
    const e = entries.find((x) => entryName(x) === name);
    if (!e) throw new Error(name);
    return e;
  };
  it('type 2, a subcommand with options', () => {
    const e = find('config set color');
    const r = buildOptions(e, { value: 'red' });
    if (!('options' in r)) throw new Error('refused');
    expect(commandBody(place, e, r.options)).toEqual(commandFixture);
  });
  it('type 2, a context-menu command with its target', () => {
    const quote = contextEntries(index, 3, ALL)[0];
    if (!quote) throw new Error('no Quote');
    expect(contextBody(place, quote, '1290000000000000020')).toEqual(contextFixture);
  });
  it('type 3, select values', () => {
    expect(componentBody(place, '1290000000000000021', 0, { type: 3, custom_id: 'colour' }, ['blue'])).toEqual(componentFixture);
  });
  it('type 4, the focused option', () => {
    expect(autocompleteBody(place, find('echo'), { text: 'hi', lang: 'f' }, 'lang')).toEqual(autocompleteFixture);
  });
  it('type 5, the modal values', () => {
    const modal = {
      id: '1290000000000000022',
      nonce: null,
      channel_id: place.channelId,
      application: { id: app, name: 'Bot' },
      custom_id: 'fb',
      title: 'Feedback',
      components: [{ type: 1, components: [{ type: 4, custom_id: 'name', label: 'Name' }] }],
    };
    expect(modalBody(place, modal, { name: 'Mia' })).toEqual(modalFixture);
  });
});
