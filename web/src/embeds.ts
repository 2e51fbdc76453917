// Message embeds ("Resources > Message > Embed Object") as the client shows them. The server
// keeps a message's `embeds` as the sender's free-form JSON (hearth-wire `Vec<Value>`; only the
// title and description lengths are checked), so every field is read defensively here: a
// value of the wrong JSON type is dropped, texts are clipped to Discord's limits, and only
// http(s) URLs survive (`javascript:`, `data:` and relative URLs are dropped). The view
// (src/ui/Embeds.tsx) renders texts as React text, never as HTML, except the description and
// field values, which go through the message's own markdown renderer (sanitized).
//
// Images: the page's Content-Security-Policy (src/web.rs) lets images load only from this
// origin (and the media origin, `data:` and `blob:`), and the server has no media proxy for
// embed images (it sets no `proxy_url`). So an embed's image, thumbnail and video show as
// links; an image URL on this page's own origin (which the policy allows) shows inline, as do
// author and footer icons from it (icons from elsewhere are left out).
import { safeUrl } from './bots';

/** Discord's limits on embed texts (longer texts are clipped). */
const LIMITS = { title: 256, description: 4096, fieldName: 256, fieldValue: 1024, footer: 2048, author: 256, provider: 256 };
/** At most this many fields. */
const MAX_FIELDS = 25;

/** An image or video of an embed: its safe URL, and whether it may load inline (same origin). */
export interface EmbedMedia {
  url: string;
  inline: boolean;
  width?: number;
  height?: number;
}

export interface EmbedField {
  name: string;
  value: string;
  inline: boolean;
}

/** One embed as shown. Every member is safe to put in the page as text or as an href. */
export interface EmbedView {
  /** rich, image, video, gifv, article, link, … as the server gives it (unknown types: rich). */
  type: string;
  /** `#rrggbb` of the colour bar, or null. */
  colour: string | null;
  author: { name: string; url: string | null; icon: EmbedMedia | null } | null;
  title: string | null;
  url: string | null;
  description: string | null;
  fields: EmbedField[];
  image: EmbedMedia | null;
  thumbnail: EmbedMedia | null;
  video: EmbedMedia | null;
  provider: { name: string; url: string | null } | null;
  footer: { text: string; icon: EmbedMedia | null } | null;
  /** ISO 8601, when the value is a valid date. */
  timestamp: string | null;
}

const TYPES = new Set(['rich', 'image', 'video', 'gifv', 'article', 'link', 'poll_result', 'auto_moderation_message']);

const obj = (v: unknown): Record<string, unknown> | null =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;

/** A non-empty string clipped to `max` characters (code points), else null. */
function text(v: unknown, max: number): string | null {
  if (typeof v !== 'string' || v.trim() === '') return null;
  const chars = [...v];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : v;
}

const dimension = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= 16384 ? v : undefined;

/** An image or video object (`{url, width, height}`): null unless its URL is http(s). */
export function media(v: unknown, origin: string): EmbedMedia | null {
  const o = obj(v);
  const url = safeUrl(typeof o?.['url'] === 'string' ? o['url'] : undefined);
  if (!o || !url) return null;
  const out: EmbedMedia = { url, inline: new URL(url).origin === origin };
  const width = dimension(o['width']);
  const height = dimension(o['height']);
  if (width && height) Object.assign(out, { width, height });
  return out;
}

/** An icon URL (`icon_url`) that may load: http(s) on this page's origin, else null. */
function icon(v: unknown, origin: string): EmbedMedia | null {
  const m = media({ url: v }, origin);
  return m?.inline ? m : null;
}

/** `#rrggbb` of Discord's integer colour. */
export function embedColour(v: unknown): string | null {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffff ? `#${v.toString(16).padStart(6, '0')}` : null;
}

/**
 * One server embed as shown, or null when nothing of it would show. `origin` is the page's
 * (`location.origin`): images from it load inline, as the CSP allows.
 */
export function embedView(raw: unknown, origin: string): EmbedView | null {
  const e = obj(raw);
  if (!e) return null;
  const type = typeof e['type'] === 'string' && TYPES.has(e['type']) ? e['type'] : 'rich';
  const a = obj(e['author']);
  const authorName = text(a?.['name'], LIMITS.author);
  const f = obj(e['footer']);
  const footerText = text(f?.['text'], LIMITS.footer);
  const p = obj(e['provider']);
  const providerName = text(p?.['name'], LIMITS.provider);
  const fields: EmbedField[] = [];
  if (Array.isArray(e['fields'])) {
    for (const x of e['fields'].slice(0, MAX_FIELDS)) {
      const fo = obj(x);
      const name = text(fo?.['name'], LIMITS.fieldName);
      const value = text(fo?.['value'], LIMITS.fieldValue);
      if (name || value) fields.push({ name: name ?? '', value: value ?? '', inline: fo?.['inline'] === true });
    }
  }
  const ts = typeof e['timestamp'] === 'string' ? Date.parse(e['timestamp']) : NaN;
  const view: EmbedView = {
    type,
    colour: embedColour(e['color']),
    author: authorName ? { name: authorName, url: safeUrl(typeof a?.['url'] === 'string' ? a['url'] : undefined), icon: icon(a?.['icon_url'], origin) } : null,
    title: text(e['title'], LIMITS.title),
    url: safeUrl(typeof e['url'] === 'string' ? e['url'] : undefined),
    description: text(e['description'], LIMITS.description),
    fields,
    image: media(e['image'], origin),
    thumbnail: media(e['thumbnail'], origin),
    video: media(e['video'], origin),
    provider: providerName ? { name: providerName, url: safeUrl(typeof p?.['url'] === 'string' ? p['url'] : undefined) } : null,
    footer: footerText ? { text: footerText, icon: icon(f?.['icon_url'], origin) } : null,
    timestamp: Number.isFinite(ts) ? new Date(ts).toISOString() : null,
  };
  const shows =
    view.author || view.title || view.description || view.fields.length > 0 || view.image || view.thumbnail || view.video || view.footer || view.provider;
  return shows ? view : null;
}

/** A message's embeds as shown (those with nothing to show left out; at most 10). */
export function embedViews(list: unknown, origin: string): EmbedView[] {
  if (!Array.isArray(list)) return [];
  return list
    .slice(0, 10)
    .map((e) => embedView(e, origin))
    .filter((e): e is EmbedView => e !== null);
}

/**
 * Fields laid out as Discord does: an inline field shares a row with the inline fields next to
 * it, up to three a row; a field that is not inline takes a whole row. Each field's
 * `[column start, span]` on a 12-column grid.
 */
export function fieldColumns(fields: readonly EmbedField[]): [number, number][] {
  const out: [number, number][] = [];
  let i = 0;
  while (i < fields.length) {
    if (!fields[i]?.inline) {
      out.push([1, 12]);
      i++;
      continue;
    }
    let j = i;
    while (j < fields.length && fields[j]?.inline && j - i < 3) j++;
    const n = j - i;
    const span = 12 / n;
    for (let k = 0; k < n; k++) out.push([1 + k * span, span]);
    i = j;
  }
  return out;
}
