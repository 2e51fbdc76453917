import { describe, expect, it } from 'vitest';
import type { Channel, Member } from './api/wire';
import { moreResults, parseSearch, SEARCH_COUNTED, searchParams, snowflakeAt, words } from './search';

const member = (id: string, username: string, nick?: string): Member =>
  ({ user: { id, username, global_name: null }, nick: nick ?? null, roles: [], joined_at: '2026-01-01T00:00:00Z' }) as unknown as Member;
const channel = (id: string, name: string): Channel => ({ id, name, type: 0 }) as unknown as Channel;
const members = [member('10', 'alice'), member('11', 'bob', 'Bobby')];
const channels = [channel('20', 'general'), channel('21', 'random')];

describe('search box syntax', () => {
  it('keeps quoted phrases whole', () => {
    expect(words('hello "two words" from:"Bobby" x')).toEqual(['hello', '"two words"', 'from:"Bobby"', 'x']);
  });

  it('turns filters into the query and the rest into content', () => {
    const p = parseSearch('hello "big world" from:alice mentions:bobby in:#general has:link has:-file pinned:true', members, channels);
    expect(p).toEqual({
      ok: true,
      query: { content: 'hello "big world"', author_id: ['10'], mentions: ['11'], channel_id: ['20'], has: ['link', '-file'], pinned: 'true' },
      filters: ['from:alice', 'mentions:bobby', 'in:#general', 'has:link', 'has:-file', 'pinned:true'],
    });
  });

  it('names what it cannot resolve', () => {
    expect(parseSearch('from:carol', members, channels)).toEqual({ ok: false, error: 'No member named “carol”.' });
    expect(parseSearch('in:nowhere', members, channels)).toEqual({ ok: false, error: 'No channel named “nowhere”.' });
    expect(parseSearch('has:gif', members, channels).ok).toBe(false);
    expect(parseSearch('pinned:maybe', members, channels).ok).toBe(false);
    expect(parseSearch('before:yesterday', members, channels).ok).toBe(false);
    expect(parseSearch('   ', members, channels).ok).toBe(false);
    expect(parseSearch('x'.repeat(1025), members, channels).ok).toBe(false);
  });

  it('turns dates into snowflake bounds', () => {
    const p = parseSearch('after:2026-01-02 before:2026-02-03', members, channels);
    expect(p.ok && p.query.min_id).toBe(snowflakeAt(new Date(2026, 0, 2).getTime()));
    expect(p.ok && p.query.max_id).toBe(snowflakeAt(new Date(2026, 1, 3).getTime()));
    // Discord's epoch is snowflake 0; one millisecond later is 1 << 22.
    expect(snowflakeAt(1_420_070_400_001)).toBe(String(1 << 22));
  });

  it('writes repeatable keys once per value, with the page', () => {
    expect(searchParams({ content: 'hi', has: ['link', 'file'] }, 25)).toBe('content=hi&has=link&has=file&limit=25&offset=25');
    expect(searchParams({ author_id: ['1'] }, 0)).toBe('author_id=1&limit=25');
  });
});

describe('more results', () => {
  it('follows the count under the cap', () => {
    expect(moreResults(25, 60)).toBe(true);
    expect(moreResults(50, 60)).toBe(true);
    expect(moreResults(60, 60)).toBe(false);
    expect(moreResults(50, 50)).toBe(false);
    // A short page is the last.
    expect(moreResults(30, 4_000)).toBe(false);
    expect(moreResults(0, 0)).toBe(false);
  });

  it('goes on past a count at the cap, up to the reachable matches', () => {
    expect(moreResults(SEARCH_COUNTED, SEARCH_COUNTED)).toBe(true);
    expect(moreResults(9_975, SEARCH_COUNTED)).toBe(true);
    expect(moreResults(10_000, SEARCH_COUNTED)).toBe(false);
  });
});
