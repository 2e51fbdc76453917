// Pure rules of the emoji picker: the Unicode emoji dataset (emojibase-data, loaded on
// demand in its own chunk so the main bundle does not carry it), search, the recent list
// kept in localStorage, and what a choice becomes (composer text or a reaction's path part).
import type { GuildEmoji } from './api/wire';
import { fuzzyScore } from './quick';

/** One emoji the picker shows: Unicode (`unicode` set) or a guild's custom emoji (`id`). */
export interface PickerEmoji {
  /** Stable key: the character, or `name:id` for a custom emoji. */
  key: string;
  name: string;
  unicode?: string;
  id?: string;
  animated?: boolean;
  tags: string[];
  /** Category index (emojibase groups; -1 for the guild's own). */
  group: number;
  /** The five skin-tone variants (light to dark, Fitzpatrick 1-2 to 6), for emoji that have
   *  them as one modifier (multi-person emoji with two tones are offered in their default). */
  skins?: string[];
}

/** Emojibase's groups in order; 2 ("components", skin tones alone) is not offered. */
export const GROUPS = ['Smileys & emotion', 'People & body', 'Components', 'Animals & nature', 'Food & drink', 'Travel & places', 'Activities', 'Objects', 'Symbols', 'Flags'];

/** The fields of an emojibase-data entry (`en/data.json`) the picker reads. */
export interface EmojibaseEntry {
  label: string;
  emoji: string;
  group?: number;
  order?: number;
  tags?: string[];
  /** 1: shown as emoji by default (Emoji_Presentation), 0: as text unless U+FE0F follows. */
  type?: number;
  /** Skin-tone variants; `tone` 1-5, or a list for emoji with several people. */
  skins?: { emoji: string; type?: number; tone?: number | number[] }[];
}

/**
 * Emojibase's entries as picker entries, in Unicode's order, without components and the
 * regional indicator letters (no group). An emoji shown as emoji by default loses its
 * redundant U+FE0F (emojibase adds it), so 👍 is sent as Discord and other clients send it
 * and reactions of both kinds count together; ❤️ keeps it (without it, it is a text heart).
 */
export function fromEmojibase(list: EmojibaseEntry[]): PickerEmoji[] {
  return list
    .filter((e) => e.group !== undefined && e.group !== 2)
    .sort((a, b) => (a.order ?? 0) - (b.order ?? 0))
    .map((e) => {
      const unicode = plain(e);
      const skins = [1, 2, 3, 4, 5].map((n) => e.skins?.find((v) => v.tone === n));
      const entry: PickerEmoji = { key: unicode, name: e.label, unicode, tags: e.tags ?? [], group: e.group ?? 0 };
      if (skins.every((v) => v !== undefined)) entry.skins = skins.map((v) => plain(v));
      return entry;
    });
}

/** The character without emojibase's U+FE0F where the emoji shows as emoji anyway. */
function plain(e: { emoji: string; type?: number }): string {
  return e.type === 1 ? e.emoji.replace(/\uFE0F/g, '') : e.emoji;
}

/** Skin tones as Discord's picker offers them: 0 the default (yellow), 1-5 light to dark. */
export const TONES = [0, 1, 2, 3, 4, 5] as const;
export type Tone = (typeof TONES)[number];

/** `e` in skin tone `tone` (its key stays the default's, so recent emoji follow the chosen
 *  tone); emoji without tones, custom emoji and tone 0 unchanged. */
export function withTone(e: PickerEmoji, tone: Tone): PickerEmoji {
  const skin = tone > 0 ? e.skins?.[tone - 1] : undefined;
  return skin ? { ...e, unicode: skin } : e;
}

/** The raised hand in `tone`: what the tone selector shows. */
export function toneSample(tone: Tone): string {
  return '\u270B' + (tone > 0 ? String.fromCodePoint(0x1f3fa + tone) : '');
}

const TONE = 'hearth.skinTone';
/** The chosen skin tone kept in localStorage (anything else reads as the default). */
export function loadTone(storage: Pick<Storage, 'getItem'> = localStorage): Tone {
  const n = Number(storage.getItem(TONE));
  return (TONES as readonly number[]).includes(n) ? (n as Tone) : 0;
}
export function saveTone(tone: Tone, storage: Pick<Storage, 'setItem'> = localStorage): void {
  storage.setItem(TONE, String(tone));
}

let loading: Promise<PickerEmoji[]> | null = null;
/** The Unicode emoji, fetched once (a separate chunk of the build). */
export function loadUnicodeEmoji(): Promise<PickerEmoji[]> {
  loading ??= import('emojibase-data/en/data.json').then((m) => fromEmojibase(m.default as EmojibaseEntry[]));
  return loading;
}

/** A guild's custom emojis as picker entries (unavailable ones left out). */
export function fromGuild(list: GuildEmoji[]): PickerEmoji[] {
  return list
    .filter((e) => e.available !== false)
    .map((e) => ({ key: `${e.name}:${e.id}`, name: e.name, id: e.id, ...(e.animated ? { animated: true } : {}), tags: [], group: -1 }));
}

/** The CDN image of a custom emoji. */
export function emojiUrl(id: string, animated = false, size = 48): string {
  return `/emojis/${id}.${animated ? 'gif' : 'png'}?size=${size}`;
}

/** What a choice puts into the composer: the character, or `<:name:id>` (`<a:name:id>`
 *  when animated), Discord's message syntax for a custom emoji. */
export function composerText(e: PickerEmoji): string {
  if (e.unicode) return e.unicode;
  return `<${e.animated ? 'a' : ''}:${e.name}:${e.id ?? ''}>`;
}

/** The `{emoji}` of the reaction routes: the character, or `name:id`. */
export function reactionParam(e: PickerEmoji): string {
  return e.unicode ?? `${e.name}:${e.id ?? ''}`;
}

/** Emojis matching `query` by name (fuzzy) or a tag (prefix), best first; all when empty. */
export function searchEmoji(list: PickerEmoji[], query: string, limit = 200): PickerEmoji[] {
  const q = query.trim().toLowerCase().replace(/^:|:$/g, '');
  if (!q) return list;
  const scored: { e: PickerEmoji; s: number; i: number }[] = [];
  list.forEach((e, i) => {
    const byName = fuzzyScore(q, e.name.replace(/_/g, ' '));
    const byTag = e.tags.some((t) => t.startsWith(q)) ? 5 : null;
    const s = Math.max(byName ?? -Infinity, byTag ?? -Infinity);
    // A fuzzy match spread over a long name is noise: keep those with some consecutive run.
    if (s > q.length * 1.5 || byTag !== null || (byName !== null && q.length <= 2)) scored.push({ e, s, i });
  });
  return scored
    .sort((a, b) => b.s - a.s || a.i - b.i)
    .slice(0, limit)
    .map((x) => x.e);
}

/** The most recent first, without duplicates, at most `max`. */
export function pushRecent(list: string[], key: string, max = 24): string[] {
  return [key, ...list.filter((k) => k !== key)].slice(0, max);
}

const RECENT = 'hearth.recentEmoji';
/** The recent emoji keys kept in localStorage (a broken value reads as none). */
export function loadRecent(storage: Pick<Storage, 'getItem'> = localStorage): string[] {
  try {
    const v: unknown = JSON.parse(storage.getItem(RECENT) ?? '[]');
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
export function saveRecent(list: string[], storage: Pick<Storage, 'setItem'> = localStorage): void {
  storage.setItem(RECENT, JSON.stringify(list));
}

/** The recent keys resolved against what the picker knows now (a deleted custom emoji,
 *  or one of another guild, drops out). */
export function resolveRecent(keys: string[], all: PickerEmoji[]): PickerEmoji[] {
  const byKey = new Map(all.map((e) => [e.key, e]));
  return keys.map((k) => byKey.get(k)).filter((e): e is PickerEmoji => !!e);
}

/** Inserts `text` into `value` in place of the selection `[start, end)`; returns the new
 *  value and the caret after the insertion. */
export function insertAt(value: string, start: number, end: number, text: string): { value: string; caret: number } {
  const s = Math.max(0, Math.min(start, value.length));
  const e = Math.max(s, Math.min(end, value.length));
  return { value: value.slice(0, s) + text + value.slice(e), caret: s + text.length };
}
