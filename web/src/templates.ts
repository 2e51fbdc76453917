// Guild templates offered when creating a server: categories, channels and roles made through
// the public API right after `POST /guilds` (the server's own `general` channel is moved into
// the first text category). Permission bits: "Topics > Permissions".
import type { Rest } from './api/rest';
import type { Channel, Guild } from './api/wire';
import { ChannelType } from './api/wire';

const P = {
  KICK_MEMBERS: 1n << 1n,
  BAN_MEMBERS: 1n << 2n,
  MANAGE_CHANNELS: 1n << 4n,
  MANAGE_MESSAGES: 1n << 13n,
  MENTION_EVERYONE: 1n << 17n,
  MANAGE_NICKNAMES: 1n << 27n,
  MODERATE_MEMBERS: 1n << 40n,
};

export interface Template {
  id: 'community' | 'gaming' | 'study';
  /** Categories in order; the first one named `general` receives the server's #general. */
  categories: { name: string; channels: { name: string; topic?: string }[] }[];
  roles: { name: string; permissions: bigint; color: number; hoist: boolean }[];
}

export const TEMPLATES: Template[] = [
  {
    id: 'community',
    categories: [
      { name: 'Information', channels: [{ name: 'welcome', topic: 'Start here' }, { name: 'announcements' }, { name: 'rules' }] },
      { name: 'Text Channels', channels: [{ name: 'general' }, { name: 'introductions' }, { name: 'off-topic' }] },
    ],
    roles: [
      {
        name: 'Moderator',
        permissions: P.KICK_MEMBERS | P.BAN_MEMBERS | P.MANAGE_MESSAGES | P.MANAGE_NICKNAMES | P.MODERATE_MEMBERS | P.MENTION_EVERYONE,
        color: 0x3498db,
        hoist: true,
      },
    ],
  },
  {
    id: 'gaming',
    categories: [
      { name: 'Text Channels', channels: [{ name: 'general' }, { name: 'looking-for-group' }, { name: 'clips-and-highlights' }] },
      { name: 'Events', channels: [{ name: 'tournaments' }, { name: 'game-nights' }] },
    ],
    roles: [
      { name: 'Organizer', permissions: P.MANAGE_MESSAGES | P.MENTION_EVERYONE | P.MANAGE_CHANNELS, color: 0xe67e22, hoist: true },
      { name: 'Squad', permissions: 0n, color: 0x2ecc71, hoist: false },
    ],
  },
  {
    id: 'study',
    categories: [
      { name: 'Information', channels: [{ name: 'notes-resources', topic: 'Share notes and links' }, { name: 'session-planning' }] },
      { name: 'Study Rooms', channels: [{ name: 'general' }, { name: 'homework-help' }] },
    ],
    roles: [{ name: 'Tutor', permissions: P.MANAGE_MESSAGES, color: 0x9b59b6, hoist: true }],
  },
];

/** Makes the template's roles, categories and channels in `guild`. */
export async function applyTemplate(rest: Rest, guild: Guild, template: Template): Promise<void> {
  for (const r of template.roles) {
    await rest.createRole(guild.id, { name: r.name, permissions: r.permissions.toString(), color: r.color, hoist: r.hoist });
  }
  const existing = await rest.guildChannels(guild.id);
  const general = existing.find((c: Channel) => c.type === ChannelType.GuildText && c.name === 'general');
  let position = 0;
  for (const cat of template.categories) {
    const category = await rest.createChannel(guild.id, { name: cat.name, type: ChannelType.GuildCategory, position: position++ });
    for (const ch of cat.channels) {
      if (ch.name === 'general' && general) {
        await rest.modifyChannel(general.id, { parent_id: category.id, position: position++ });
        continue;
      }
      await rest.createChannel(guild.id, {
        name: ch.name,
        type: ChannelType.GuildText,
        parent_id: category.id,
        position: position++,
        ...(ch.topic ? { topic: ch.topic } : {}),
      });
    }
  }
}
