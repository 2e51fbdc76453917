import { describe, expect, it } from 'vitest';
import studyBody from '../wire-fixtures/create_guild_template_body.json';
import { ChannelType } from './api/wire';
import { templateBody, TEMPLATES } from './templates';

describe('templateBody', () => {
  it('sends every template as one POST /guilds body with placeholders that resolve', () => {
    for (const tpl of TEMPLATES) {
      const b = templateBody('Club', tpl);
      expect(b.name).toBe('Club');
      // @everyone first, then the template's roles with distinct placeholders.
      expect(b.roles?.[0]).toEqual({ id: 0 });
      expect(b.roles?.slice(1).map((r) => r.name)).toEqual(tpl.roles.map((r) => r.name));
      expect(new Set(b.roles?.map((r) => r.id)).size).toBe(b.roles?.length);
      const channels = b.channels ?? [];
      expect(new Set(channels.map((c) => c.id)).size).toBe(channels.length);
      // Every parent is a category of the list; every template channel is there, under it.
      const categories = new Map(channels.filter((c) => c.type === ChannelType.GuildCategory).map((c) => [c.id, c.name]));
      for (const cat of tpl.categories) {
        for (const ch of cat.channels) {
          const sent = channels.find((c) => c.name === ch.name);
          expect(sent?.type).toBe(ChannelType.GuildText);
          expect(categories.get(sent?.parent_id ?? -1)).toBe(cat.name);
        }
      }
      // #general receives system messages.
      expect(channels.find((c) => c.id === b.system_channel_id)?.name).toBe('general');
    }
  });

  it('is the body the server reads (wire-fixtures/create_guild_template_body.json, parsed by tests/it/web.rs)', () => {
    const study = TEMPLATES.find((x) => x.id === 'study');
    if (!study) throw new Error('no study template');
    expect(templateBody('Study Hall', study)).toEqual(studyBody);
  });
});
