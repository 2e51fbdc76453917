// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import type { Channel, GuildCreate } from './api/wire';
import { P } from './permissions';
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
  it('lists an empty category only to who may edit it: MANAGE_CHANNELS, or MANAGE_ROLES in its overwrites', () => {
    const roles = [
      { id: 'g', name: '@everyone', position: 0, permissions: String(P.VIEW_CHANNEL) },
      { id: 'chan', name: 'channels', position: 1, permissions: String(P.MANAGE_CHANNELS) },
    ];
    const members = ['owner', 'plain', 'manager', 'granted'].map((id) => ({ user: { id }, roles: id === 'manager' ? ['chan'] : [] }));
    const grants = { id: 'granted', type: 1, allow: String(P.MANAGE_ROLES), deny: '0' };
    const channels = [...guild.channels.filter((c) => c.id !== 'empty'), { ...ch('empty', 4, 3), permission_overwrites: [grants] }];
    const full = { id: 'g', owner_id: 'owner', roles, members, channels } as unknown as GuildCreate;
    const cats = (me?: string) => textChannels(full, me).map((g) => g.category?.id ?? null);
    expect(cats()).toEqual([null, 'staff']);
    expect(cats('plain')).toEqual([null, 'staff']);
    expect(cats('owner')).toEqual([null, 'staff', 'empty']);
    expect(cats('manager')).toEqual([null, 'staff', 'empty']);
    expect(cats('granted')).toEqual([null, 'staff', 'empty']);
    const none = { ...full, channels: [ch('staff', 4, 0)] } as unknown as GuildCreate;
    expect(textChannels(none, 'plain')).toEqual([]);
    expect(textChannels(none, 'manager').map((g) => g.category?.id ?? null)).toEqual(['staff']);
  });
});
