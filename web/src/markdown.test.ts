// @vitest-environment jsdom
import { describe, expect, it } from 'vitest';
import hljs from 'highlight.js/lib/common';
import { createRenderer } from './markdown';
import { compareIds } from './state/store';
import { inviteCode } from './ui/route';

const render = createRenderer({
  user: (id) => (id === '1' ? 'alice' : undefined),
  channel: (id) => (id === '2' ? 'general' : undefined),
  role: (id) => (id === '3' ? 'mods' : undefined),
});

describe('Discord-flavoured markdown', () => {
  it('renders emphasis, underline, strikethrough and spoilers', () => {
    const html = render('**b** *i* __u__ ~~s~~ ||secret||');
    expect(html).toContain('<strong>b</strong>');
    expect(html).toContain('<em>i</em>');
    expect(html).toContain('<u>u</u>');
    expect(html).toContain('<del>s</del>');
    expect(html).toContain('<span class="spoiler" tabindex="0">secret</span>');
  });

  it('renders mentions by name and unknown ones safely', () => {
    const html = render('<@1> <@!1> <#2> <@&3> <@99>');
    expect(html).toContain('@alice');
    expect(html).toContain('#general');
    expect(html).toContain('@mods');
    expect(html).toContain('@unknown-user');
  });

  it('renders timestamps as <time>', () => {
    const html = render('<t:0:d>');
    expect(html).toMatch(/<time datetime="1970-01-01T00:00:00.000Z"/);
  });

  it('renders code blocks and quotes', () => {
    expect(render('```\nlet x = 1;\n```')).toContain('<pre><code>let x = 1;');
    expect(render('> quoted')).toContain('<blockquote>');
  });

  it('shows raw HTML as text and drops dangerous links', () => {
    const html = render('<img src=x onerror=alert(1)><script>alert(2)</script>');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<script');
    expect(html).toContain('&lt;img');
    const link = render('[x](javascript:alert(1)) [y](https://example.org)');
    expect(link).not.toContain('javascript:');
    expect(link).toContain('href="https://example.org"');
    expect(link).toContain('rel="noopener noreferrer nofollow"');
    expect(render('![pic](https://example.org/a.png)')).not.toContain('<img');
  });
});

describe('helpers', () => {
  it('compares snowflakes numerically', () => {
    expect(compareIds('9', '10')).toBeLessThan(0);
    expect(compareIds('1578033031162101760', '1578033031162101761')).toBeLessThan(0);
  });

  it('extracts invite codes from links', () => {
    expect(inviteCode('abc')).toBe('abc');
    expect(inviteCode(' http://h:8080/invite/xyz ', 'h:8080')).toBe('xyz');
    expect(inviteCode('code@b.example')).toBe('code@b.example');
  });
});

describe('custom emoji', () => {
  const render = createRenderer({ user: () => undefined, channel: () => undefined, role: () => undefined });
  it('shows <:name:id> as its CDN image', () => {
    const html = render('hi <:hearth:123> <a:dance:456>');
    expect(html).toContain('<img class="emoji" src="/emojis/123.png?size=48" alt=":hearth:" title=":hearth:">');
    expect(html).toContain('src="/emojis/456.gif?size=48"');
  });
  it('allows no other images', () => {
    expect(render('<img src="https://evil.example/x.png">')).not.toContain('<img');
    expect(render('![x](https://evil.example/x.png)')).not.toContain('<img');
  });
});

describe('code block highlighting', () => {
  const names = { user: () => undefined, channel: () => undefined, role: () => undefined };

  it('highlights a block with a known language, and the result passes the sanitizer', () => {
    const html = createRenderer(names, { highlighter: hljs })('```rust\nfn main() { let s = "<b>x</b>"; }\n```');
    expect(html).toContain('<pre><code class="language-rust">');
    expect(html).toContain('<span class="hljs-keyword">fn</span>');
    expect(html).toContain('<span class="hljs-string">"&lt;b&gt;x&lt;/b&gt;"</span>');
    expect(html).not.toContain('<b>');
  });

  it('keeps hostile code as text inside highlighted output', () => {
    const html = createRenderer(names, { highlighter: hljs })('```html\n<img src=x onerror=alert(1)><script>alert(2)</script>\n```');
    const doc = new DOMParser().parseFromString(html, 'text/html');
    expect(doc.querySelector('img, script')).toBeNull();
    expect(doc.querySelector('code')?.textContent).toBe('<img src=x onerror=alert(1)><script>alert(2)</script>\n');
    expect(doc.querySelectorAll('code span[class^="hljs-"]').length).toBeGreaterThan(0);
  });

  it('asks for the highlighter while it is missing, and shows the block plain meanwhile', () => {
    let asked = 0;
    const html = createRenderer(names, { highlighter: null, wanted: () => asked++ })('```js\nconst a = 1;\n```');
    expect(asked).toBe(1);
    expect(html).toContain('<pre><code class="language-js">const a = 1;');
    expect(html).not.toContain('hljs-');
  });

  it('leaves blocks without a language, or with an unknown one, plain; a hostile language name stays inert', () => {
    let asked = 0;
    const r = createRenderer(names, { highlighter: hljs, wanted: () => asked++ });
    expect(r('```\nlet x = 1;\n```')).toContain('<pre><code>let x = 1;');
    expect(r('```klingon\nqapla\n```')).toContain('<pre><code class="language-klingon">qapla');
    const evil = r('```"><img/src=x/onerror=alert(1)>\nx\n```');
    expect(new DOMParser().parseFromString(evil, 'text/html').querySelector('img')).toBeNull();
    expect(evil).toContain('<pre><code>x');
    expect(asked).toBe(0);
  });
});
