import { describe, expect, it } from 'vitest';
import { composerText, fromEmojibase, fromGuild, insertAt, loadRecent, loadUnicodeEmoji, pushRecent, reactionParam, resolveRecent, saveRecent, searchEmoji } from './emoji';

describe('emoji data', () => {
  it('keeps Unicode order without components or regional indicators', () => {
    const list = fromEmojibase([
      { label: 'b', emoji: 'B', group: 0, order: 2 },
      { label: 'a', emoji: 'A', group: 0, order: 1, tags: ['x'] },
      { label: 'skin', emoji: 'S', group: 2, order: 3 },
      { label: 'regional indicator A', emoji: 'R' },
    ]);
    expect(list.map((e) => e.key)).toEqual(['A', 'B']);
    expect(list[0]?.tags).toEqual(['x']);
  });
  it('drops U+FE0F only where the emoji is shown as emoji anyway', () => {
    const list = fromEmojibase([
      { label: 'thumbs up', emoji: '👍\uFE0F', group: 1, order: 1, type: 1 },
      { label: 'red heart', emoji: '❤\uFE0F', group: 0, order: 2, type: 0 },
    ]);
    expect(list.map((e) => e.unicode)).toEqual(['👍', '❤\uFE0F']);
  });
  it('loads the real dataset', async () => {
    const all = await loadUnicodeEmoji();
    expect(all.length).toBeGreaterThan(1500);
    expect(all.find((e) => e.unicode === '😀')?.group).toBe(0);
    expect(searchEmoji(all, 'thumbs up')[0]?.unicode).toBe('👍');
    expect(all.find((e) => e.name === 'red heart')?.unicode).toBe('❤\uFE0F');
    expect(searchEmoji(all, 'pizza').some((e) => e.unicode === '🍕')).toBe(true);
  });
  it('turns guild emojis into entries, leaving out unavailable ones', () => {
    const list = fromGuild([
      { id: '9', name: 'party', animated: true },
      { id: '8', name: 'gone', available: false },
    ]);
    expect(list).toEqual([{ key: 'party:9', name: 'party', id: '9', animated: true, tags: [], group: -1 }]);
  });
});

describe('what a choice becomes', () => {
  const custom = { key: 'hearth:42', name: 'hearth', id: '42', tags: [], group: -1 };
  it('is the character or <:name:id> in the composer', () => {
    expect(composerText({ key: '🎉', name: 'party popper', unicode: '🎉', tags: [], group: 6 })).toBe('🎉');
    expect(composerText(custom)).toBe('<:hearth:42>');
    expect(composerText({ ...custom, animated: true })).toBe('<a:hearth:42>');
  });
  it('is the character or name:id in the reaction route', () => {
    expect(reactionParam({ key: '👍', name: 'thumbs up', unicode: '👍', tags: [], group: 1 })).toBe('👍');
    expect(reactionParam(custom)).toBe('hearth:42');
  });
  it('is inserted at the caret, replacing the selection', () => {
    expect(insertAt('hello world', 5, 5, '!')).toEqual({ value: 'hello! world', caret: 6 });
    expect(insertAt('hello world', 6, 11, '🌍')).toEqual({ value: 'hello 🌍', caret: 8 });
    expect(insertAt('', 3, 9, 'x')).toEqual({ value: 'x', caret: 1 });
  });
});

describe('search', () => {
  const list = [
    { key: '1', name: 'grinning face', tags: ['smile'], group: 0 },
    { key: '2', name: 'party_parrot', tags: [], group: -1 },
    { key: '3', name: 'red heart', tags: ['love'], group: 0 },
  ];
  it('matches names and tag prefixes; all for an empty query; colons ignored', () => {
    expect(searchEmoji(list, '').map((e) => e.key)).toEqual(['1', '2', '3']);
    expect(searchEmoji(list, 'heart').map((e) => e.key)).toEqual(['3']);
    expect(searchEmoji(list, 'lov').map((e) => e.key)).toEqual(['3']);
    expect(searchEmoji(list, ':party').map((e) => e.key)).toEqual(['2']);
    expect(searchEmoji(list, 'zzz')).toEqual([]);
  });
});

describe('recent emojis', () => {
  it('keeps the newest first, once, at most max', () => {
    expect(pushRecent(['a', 'b', 'c'], 'b')).toEqual(['b', 'a', 'c']);
    expect(pushRecent(['a', 'b'], 'c', 2)).toEqual(['c', 'a']);
  });
  it('round-trips through storage and survives a broken value', () => {
    const mem = new Map<string, string>();
    const storage = { getItem: (k: string) => mem.get(k) ?? null, setItem: (k: string, v: string) => void mem.set(k, v) };
    saveRecent(['👍', 'x:1'], storage);
    expect(loadRecent(storage)).toEqual(['👍', 'x:1']);
    mem.set('hearth.recentEmoji', '{nope');
    expect(loadRecent(storage)).toEqual([]);
    mem.set('hearth.recentEmoji', '[1, "a"]');
    expect(loadRecent(storage)).toEqual(['a']);
  });
  it('drops keys the picker no longer knows', () => {
    const all = [{ key: 'a', name: 'a', tags: [], group: 0 }];
    expect(resolveRecent(['gone:1', 'a'], all).map((e) => e.key)).toEqual(['a']);
  });
});
