import { describe, expect, it } from 'vitest';
import type { Channel, GuildCreate, Member, Overwrite } from './api/wire';
import { ALL, P, canPin, channelPermissions, has } from './permissions';

const G = '100';
const OWNER = '1';
const U = '2';
const MOD = '200';
const everyone = P.VIEW_CHANNEL | P.READ_MESSAGE_HISTORY | P.ATTACH_FILES;

function guild(members: Member[], modPerms: bigint, everyonePerms = everyone): GuildCreate {
  const role = (id: string, name: string, p: bigint) => ({
    id,
    name,
    color: 0,
    hoist: false,
    position: 0,
    permissions: p.toString(),
    managed: false,
    mentionable: false,
  });
  return {
    id: G,
    name: 'g',
    icon: null,
    description: null,
    owner_id: OWNER,
    roles: [role(G, '@everyone', everyonePerms), role(MOD, 'mod', modPerms)],
    channels: [],
    members,
    member_count: members.length,
    joined_at: '',
  };
}
const member = (id: string, roles: string[] = [], extra: Partial<Member> = {}): Member => ({
  user: { id, username: id, discriminator: '0', global_name: null, avatar: null, bot: false, system: false, public_flags: 0, flags: 0, handle: `${id}@x` },
  nick: null,
  roles,
  joined_at: '',
  ...extra,
});
const channel = (ows: Overwrite[] = []): Channel => ({ id: '300', type: 0, guild_id: G, permission_overwrites: ows });

describe('channelPermissions', () => {
  it('gives the owner everything', () => {
    expect(channelPermissions(guild([], 0n), channel(), OWNER)).toBe(ALL);
  });
  it('is @everyone plus roles; nothing for a stranger', () => {
    const g = guild([member(U, [MOD])], P.PIN_MESSAGES);
    expect(has(channelPermissions(g, channel(), U), P.PIN_MESSAGES | P.VIEW_CHANNEL)).toBe(true);
    expect(channelPermissions(g, channel(), '999')).toBe(0n);
    expect(canPin(channelPermissions(guild([member(U)], P.PIN_MESSAGES), channel(), U))).toBe(false);
  });
  it('gives administrators everything, overwrites or not', () => {
    const g = guild([member(U, [MOD])], P.ADMINISTRATOR);
    const ow = [{ id: G, type: 0, allow: '0', deny: P.VIEW_CHANNEL.toString() }];
    expect(channelPermissions(g, channel(ow), U)).toBe(ALL);
  });
  it('applies @everyone, then role, then member overwrites', () => {
    const g = guild([member(U, [MOD])], 0n);
    const allowPin = { id: MOD, type: 0, allow: P.PIN_MESSAGES.toString(), deny: '0' };
    expect(canPin(channelPermissions(g, channel([allowPin]), U))).toBe(true);
    const denyMe = { id: U, type: 1, allow: '0', deny: P.PIN_MESSAGES.toString() };
    expect(canPin(channelPermissions(g, channel([allowPin, denyMe]), U))).toBe(false);
    const hide = { id: G, type: 0, allow: '0', deny: P.VIEW_CHANNEL.toString() };
    expect(channelPermissions(g, channel([hide]), U)).toBe(0n);
  });
  it('leaves a timed-out member only reading', () => {
    const until = new Date(Date.now() + 60_000).toISOString();
    const g = guild([member(U, [MOD], { communication_disabled_until: until })], P.PIN_MESSAGES);
    const p = channelPermissions(g, channel(), U);
    expect(p).toBe(P.VIEW_CHANNEL | P.READ_MESSAGE_HISTORY);
  });
  it('does not treat MANAGE_MESSAGES as pinning (the server checks PIN_MESSAGES)', () => {
    const g = guild([member(U, [MOD])], P.MANAGE_MESSAGES);
    expect(canPin(channelPermissions(g, channel(), U))).toBe(false);
  });
});
