// Guild templates offered when creating a server: categories, channels and roles, sent with
// `POST /guilds` itself (Discord's `roles` and `channels` with placeholder ids), so the server
// makes the whole guild in one transaction. Permission bits: "Topics > Permissions".
import type { CreateGuildBody, CreateGuildChannel, CreateGuildRole } from './api/wire';
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

/**
 * The `POST /guilds` body of a server named `name` made from `template`: Discord "Create
 * Guild" `roles` and `channels` with placeholder ids (a category's children name it in
 * `parent_id`), `general` as the system channel. The server creates the guild, its roles and
 * its channels in one transaction: a template is never half applied.
 */
export function templateBody(name: string, template: Template): CreateGuildBody {
  const roles: CreateGuildRole[] = [
    { id: 0 },
    ...template.roles.map((r, i) => ({ id: i + 1, name: r.name, permissions: r.permissions.toString(), color: r.color, hoist: r.hoist })),
  ];
  const channels: CreateGuildChannel[] = [];
  let next = 1;
  let system: number | undefined;
  for (const cat of template.categories) {
    const parent = next++;
    channels.push({ id: parent, name: cat.name, type: ChannelType.GuildCategory });
    for (const ch of cat.channels) {
      const id = next++;
      channels.push({ id, name: ch.name, type: ChannelType.GuildText, parent_id: parent, ...(ch.topic ? { topic: ch.topic } : {}) });
      if (ch.name === 'general') system = id;
    }
  }
  return { name, roles, channels, ...(system === undefined ? {} : { system_channel_id: system }) };
}
