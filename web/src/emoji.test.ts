import { describe, expect, it } from 'vitest';
import { composerText, fromEmojibase, fromGuild, insertAt, loadRecent, loadTone, loadUnicodeEmoji, pushRecent, reactionParam, resolveRecent, saveRecent, saveTone, searchEmoji, toneSample, withTone } from './emoji';

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

describe('skin tones', () => {
  const skins = (base: string, type: number) => [1, 2, 3, 4, 5].map((tone) => ({ emoji: base + String.fromCodePoint(0x1f3fa + tone) + (type === 1 ? '' : '\uFE0F'), type, tone }));
  it('keeps the five single-tone variants, not the two-person ones', () => {
    const [wave, shake, pizza] = fromEmojibase([
      { label: 'waving hand', emoji: '👋\uFE0F', group: 1, order: 1, type: 1, skins: skins('👋', 1) },
      { label: 'handshake', emoji: '🤝', group: 1, order: 2, type: 1, skins: [{ emoji: '🫱🏿‍🫲🏽', type: 1, tone: [5, 3] }] },
      { label: 'pizza', emoji: '🍕', group: 4, order: 3, type: 1 },
    ]);
    expect(wave?.skins).toEqual(['👋🏻', '👋🏼', '👋🏽', '👋🏾', '👋🏿']);
    expect(shake?.skins).toBeUndefined();
    expect(pizza?.skins).toBeUndefined();
  });
  it('applies a tone to what is sent and keeps the key', () => {
    const [wave] = fromEmojibase([{ label: 'waving hand', emoji: '👋', group: 1, order: 1, type: 1, skins: skins('👋', 1) }]);
    if (!wave) throw new Error('no wave');
    const dark = withTone(wave, 5);
    expect([composerText(dark), reactionParam(dark), dark.key]).toEqual(['👋🏿', '👋🏿', '👋']);
    expect(withTone(wave, 0)).toBe(wave);
    const custom = { key: 'x:1', name: 'x', id: '1', tags: [], group: -1 };
    expect(withTone(custom, 3)).toBe(custom);
  });
  it('the real dataset has tones for hands, none for food', async () => {
    const all = await loadUnicodeEmoji();
    const thumbs = all.find((e) => e.unicode === '👍');
    expect(thumbs && withTone(thumbs, 3).unicode).toBe('👍🏽');
    expect(all.find((e) => e.unicode === '🍕')?.skins).toBeUndefined();
    expect(all.filter((e) => e.skins).length).toBeGreaterThan(250);
  });
  it('keeps the chosen tone; anything else reads as the default', () => {
    const m = new Map<string, string>();
    const storage = { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v) };
    expect(loadTone(storage)).toBe(0);
    saveTone(4, storage);
    expect(loadTone(storage)).toBe(4);
    m.set('hearth.skinTone', '9');
    expect(loadTone(storage)).toBe(0);
    expect(toneSample(0)).toBe('✋');
    expect(toneSample(1)).toBe('✋🏻');
    expect(toneSample(5)).toBe('✋🏿');
  });
});
