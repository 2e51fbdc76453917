// @vitest-environment jsdom
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { embedColour, embedView, embedViews, fieldColumns } from './embeds';
import { createRenderer } from './markdown';
import { Embeds } from './ui/Embeds';

const ORIGIN = 'https://chat.example';
const render = createRenderer({ user: () => undefined, channel: () => undefined, role: () => undefined });

const rich = {
  type: 'rich',
  title: 'Build <b>passed</b><img src=x onerror=alert(1)>',
  url: 'javascript:alert(1)',
  description: 'All **green** <script>alert(2)</script> [docs](javascript:alert(3))',
  color: 0x2ecc71,
  author: { name: 'CI', url: 'https://ci.example/run/1', icon_url: 'https://ci.example/i.png' },
  fields: [
    { name: 'Branch', value: '`main`', inline: true },
    { name: 'Time', value: '42 s', inline: true },
    { name: 'Log', value: 'long', inline: false },
    { name: 7, value: null },
  ],
  image: { url: 'https://cdn.example/shot.png', width: 640, height: 480 },
  thumbnail: { url: `${ORIGIN}/attachments/1/2/t.png` },
  footer: { text: 'hearth-ci', icon_url: `${ORIGIN}/avatars/1/a.png` },
  timestamp: '2026-01-02T03:04:05.000Z',
};

describe('the embed model', () => {
  it('reads a rich embed: colour, author, title, fields, images, footer, timestamp', () => {
    const e = embedView(rich, ORIGIN);
    expect(e).not.toBeNull();
    if (!e) return;
    expect(e.type).toBe('rich');
    expect(e.colour).toBe('#2ecc71');
    expect(e.author).toEqual({ name: 'CI', url: 'https://ci.example/run/1', icon: null });
    expect(e.fields).toEqual([
      { name: 'Branch', value: '`main`', inline: true },
      { name: 'Time', value: '42 s', inline: true },
      { name: 'Log', value: 'long', inline: false },
    ]);
    expect(e.image).toEqual({ url: 'https://cdn.example/shot.png', inline: false, width: 640, height: 480 });
    expect(e.thumbnail).toEqual({ url: `${ORIGIN}/attachments/1/2/t.png`, inline: true });
    expect(e.footer).toEqual({ text: 'hearth-ci', icon: { url: `${ORIGIN}/avatars/1/a.png`, inline: true } });
    expect(e.timestamp).toBe('2026-01-02T03:04:05.000Z');
  });

  it('drops every URL that is not http(s)', () => {
    const e = embedView(
      {
        title: 't',
        url: 'javascript:alert(1)',
        author: { name: 'a', url: 'data:text/html,<b>x</b>' },
        image: { url: 'javascript:alert(1)' },
        thumbnail: { url: '/relative.png' },
        video: { url: 'vbscript:x' },
        provider: { name: 'p', url: 'JaVaScRiPt:alert(1)' },
      },
      ORIGIN,
    );
    expect(e?.url).toBeNull();
    expect(e?.author?.url).toBeNull();
    expect(e?.image).toBeNull();
    expect(e?.thumbnail).toBeNull();
    expect(e?.video).toBeNull();
    expect(e?.provider?.url).toBeNull();
  });

  it('keeps the server’s type for video, link and article; anything else is rich', () => {
    for (const type of ['video', 'link', 'article']) expect(embedView({ type, title: 'x' }, ORIGIN)?.type).toBe(type);
    expect(embedView({ type: '<b>', title: 'x' }, ORIGIN)?.type).toBe('rich');
    expect(embedView({ type: 'video', video: { url: 'https://v.example/1.mp4' } }, ORIGIN)?.video?.url).toBe('https://v.example/1.mp4');
  });

  it('leaves out what would show nothing, and values of the wrong type', () => {
    expect(embedViews([null, 3, 'x', {}, { color: 5 }, { title: '  ' }, { title: 'ok' }], ORIGIN).map((e) => e.title)).toEqual(['ok']);
    expect(embedViews('nope', ORIGIN)).toEqual([]);
    expect(embedColour(-1)).toBeNull();
    expect(embedColour(0x1000000)).toBeNull();
    expect(embedColour(255)).toBe('#0000ff');
    expect(embedView({ title: 'x', timestamp: 'soon' }, ORIGIN)?.timestamp).toBeNull();
    expect(embedView({ title: 'x'.repeat(300) }, ORIGIN)?.title).toHaveLength(256);
  });

  it('lays inline fields out up to three a row, others on their own row', () => {
    const f = (inline: boolean) => ({ name: 'n', value: 'v', inline });
    expect(fieldColumns([f(true), f(true), f(false), f(true), f(true), f(true), f(true)])).toEqual([
      [1, 6], [7, 6], [1, 12], [1, 4], [5, 4], [9, 4], [1, 12],
    ]);
  });
});

describe('the embed view', () => {
  it('renders hostile text as text and only safe links, with noopener noreferrer', () => {
    const html = renderToStaticMarkup(createElement(Embeds, { list: [rich], render, origin: ORIGIN }));
    const doc = new DOMParser().parseFromString(`<div>${html}</div>`, 'text/html');
    const root = doc.body.firstElementChild as HTMLElement;
    // The title's HTML is its text; no element came out of it.
    expect(root.querySelector('.embed-title')?.textContent).toBe(rich.title);
    expect(root.querySelector('.embed-title a')).toBeNull();
    expect(root.querySelector('b, script')).toBeNull();
    expect(root.querySelectorAll('img[onerror]')).toHaveLength(0);
    // The description through the sanitizing markdown renderer.
    expect(root.querySelector('.embed-description strong')?.textContent).toBe('green');
    expect(root.querySelector('.embed-description')?.innerHTML).not.toContain('javascript:');
    // (The description's `javascript:` link lost its href to the sanitizer: no link at all.)
    for (const a of root.querySelectorAll('a[href]')) {
      expect(a.getAttribute('href')).toMatch(/^https?:/);
      expect(a.getAttribute('rel') ?? '').toContain('noopener noreferrer');
    }
    // Fields as a definition list; the external image as a link, the same-origin one inline.
    expect([...root.querySelectorAll('.embed-fields dt')].map((d) => d.textContent)).toEqual(['Branch', 'Time', 'Log']);
    expect(root.querySelector('.embed-fields dd code')?.textContent).toBe('main');
    expect(root.querySelector('.embed-image img')).toBeNull();
    expect(root.querySelector('.embed-image a')?.getAttribute('href')).toBe('https://cdn.example/shot.png');
    expect(root.querySelector('.embed-thumbnail img')?.getAttribute('src')).toBe(`${ORIGIN}/attachments/1/2/t.png`);
    expect(root.querySelector('.embed-author a')?.getAttribute('href')).toBe('https://ci.example/run/1');
    expect(root.querySelector('.embed-footer time')?.getAttribute('datetime')).toBe(rich.timestamp);
    expect(root.querySelector('article')?.getAttribute('aria-label')).toBe(`Embed: ${rich.title}`);
  });
});
