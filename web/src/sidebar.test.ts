// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import type { Channel, GuildCreate } from './api/wire';
import { textChannels } from './ui/Sidebar';

const ch = (id: string, type: number, position: number, parent_id?: string): Channel => ({ id, type, position, name: id, ...(parent_id ? { parent_id } : {}) }) as Channel;

describe('channel list', () => {
  const guild = {
    id: 'g',
    channels: [ch('general', 0, 0), ch('staff', 4, 1), ch('plans', 0, 2, 'staff'), ch('empty', 4, 3), ch('orphan', 0, 1, 'hidden')],
  } as unknown as GuildCreate;
  it('groups channels under their categories; a channel of an unseen category is uncategorized', () => {
    expect(textChannels(guild).map((g) => [g.category?.id ?? null, g.channels.map((c) => c.id)])).toEqual([
      [null, ['general', 'orphan']],
      ['staff', ['plans']],
    ]);
  });
  it('keeps empty categories for the sidebar (their ⚙ edits them)', () => {
    expect(textChannels(guild, true).map((g) => g.category?.id ?? null)).toEqual([null, 'staff', 'empty']);
    const none = { id: 'g', channels: [ch('staff', 4, 0)] } as unknown as GuildCreate;
    expect(textChannels(none, true).map((g) => g.category?.id ?? null)).toEqual(['staff']);
  });
});
