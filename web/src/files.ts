// Pure helpers for attachments: sizes for people, which attachments show inline, the box an
// inline image gets before it loads, and the multipart body of a message with files
// (Discord "Reference > Uploading Files").
import type { Attachment, CreateMessageBody } from './api/wire';

/** A size in bytes for people: `0 B`, `512 B`, `1.5 KB`, `12 MB` (powers of 1024, as Discord shows them). */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return `${v} B`;
  const text = v < 10 ? v.toFixed(1).replace(/\.0$/, '') : String(Math.round(v));
  return `${text} ${units[i]}`;
}

/** Image types a browser shows inline (SVG is left out: it is a document, offered as a download). */
const INLINE = /^image\/(png|jpe?g|gif|webp|avif|bmp)$/i;

/** Whether the attachment is shown as an image: a raster type whose size the server measured. */
export function isInlineImage(a: Pick<Attachment, 'content_type' | 'width' | 'height'>): boolean {
  return !!a.content_type && INLINE.test(a.content_type.split(';')[0]?.trim() ?? '') && !!a.width && !!a.height;
}

/** Whether a file chosen for upload gets an image thumbnail in the composer. */
export function isPreviewable(type: string): boolean {
  return INLINE.test(type);
}

/** The displayed box of an image of `width` x `height` within `maxW` x `maxH`, aspect kept, never enlarged. */
export function fitImage(width: number, height: number, maxW: number, maxH: number): { width: number; height: number } {
  if (width <= 0 || height <= 0) return { width: 0, height: 0 };
  const scale = Math.min(1, maxW / width, maxH / height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** The files of a paste or drop (`DataTransfer.files`; items of kind `file` as a fallback). */
export function filesOf(dt: DataTransfer | null): File[] {
  if (!dt) return [];
  if (dt.files.length > 0) return Array.from(dt.files);
  const out: File[] = [];
  for (const item of Array.from(dt.items)) {
    if (item.kind !== 'file') continue;
    const f = item.getAsFile();
    if (f) out.push(f);
  }
  return out;
}

/** A message with files: `payload_json` (the body, `attachments[n].id` = `n`) and `files[n]`. */
export function messageForm(body: CreateMessageBody, files: File[]): FormData {
  const form = new FormData();
  const payload: CreateMessageBody = { ...body, attachments: files.map((f, n) => ({ id: n, filename: f.name })) };
  form.append('payload_json', JSON.stringify(payload));
  files.forEach((f, n) => form.append(`files[${n}]`, f, f.name));
  return form;
}
