import { describe, expect, it } from 'vitest';
import { fitImage, formatSize, isInlineImage, isPreviewable, messageForm } from './files';

describe('formatSize', () => {
  it('shows bytes, then powers of 1024 with one decimal below 10', () => {
    expect(formatSize(0)).toBe('0 B');
    expect(formatSize(1023)).toBe('1023 B');
    expect(formatSize(1024)).toBe('1 KB');
    expect(formatSize(1536)).toBe('1.5 KB');
    expect(formatSize(20 * 1024 + 300)).toBe('20 KB');
    expect(formatSize(25 * 1024 * 1024)).toBe('25 MB');
    expect(formatSize(3.25 * 1024 ** 3)).toBe('3.3 GB');
  });
  it('refuses nonsense', () => {
    expect(formatSize(-1)).toBe('?');
    expect(formatSize(Number.NaN)).toBe('?');
  });
});

describe('inline images', () => {
  it('are raster images the server measured', () => {
    expect(isInlineImage({ content_type: 'image/png', width: 10, height: 20 })).toBe(true);
    expect(isInlineImage({ content_type: 'image/jpeg; charset=binary', width: 1, height: 1 })).toBe(true);
    expect(isInlineImage({ content_type: 'image/png' })).toBe(false);
    expect(isInlineImage({ content_type: 'image/svg+xml', width: 10, height: 10 })).toBe(false);
    expect(isInlineImage({ content_type: 'text/html', width: 10, height: 10 })).toBe(false);
    expect(isInlineImage({ width: 10, height: 10 })).toBe(false);
    expect(isPreviewable('image/gif')).toBe(true);
    expect(isPreviewable('application/pdf')).toBe(false);
  });
  it('fit their box without being enlarged, aspect kept', () => {
    expect(fitImage(100, 50, 400, 300)).toEqual({ width: 100, height: 50 });
    expect(fitImage(4000, 1000, 400, 300)).toEqual({ width: 400, height: 100 });
    expect(fitImage(600, 1200, 400, 300)).toEqual({ width: 150, height: 300 });
    expect(fitImage(10000, 1, 400, 300)).toEqual({ width: 400, height: 1 });
    expect(fitImage(0, 10, 400, 300)).toEqual({ width: 0, height: 0 });
  });
});

describe('messageForm', () => {
  it('is payload_json with attachments naming files[n], then the files', async () => {
    const a = new File([new Uint8Array([1, 2, 3])], 'a.png', { type: 'image/png' });
    const b = new File(['hello'], 'notes <b>.txt', { type: 'text/plain' });
    const form = messageForm({ content: 'hi', nonce: '7' }, [a, b]);
    const payload = JSON.parse(form.get('payload_json') as string) as unknown;
    expect(payload).toEqual({
      content: 'hi',
      nonce: '7',
      attachments: [
        { id: 0, filename: 'a.png' },
        { id: 1, filename: 'notes <b>.txt' },
      ],
    });
    const f1 = form.get('files[1]') as File;
    expect(f1.name).toBe('notes <b>.txt');
    expect(await f1.text()).toBe('hello');
    expect((form.get('files[0]') as File).size).toBe(3);
  });
});
