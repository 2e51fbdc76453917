// Discord-flavoured markdown ("Reference > Message Formatting"), rendered with marked and
// sanitized with DOMPurify: bold, italics, __underline__, ~~strikethrough~~, ||spoilers||,
// quotes, code blocks (highlighted by src/highlight.ts when a language is named), links, user/role/channel mentions and `<t:unix:style>` timestamps.
// Raw HTML in a message is shown as text, never parsed; the output passes DOMPurify with a
// short list of allowed tags as a second line of defence.
import DOMPurify from 'dompurify';
import { Marked, type TokenizerAndRendererExtension, type Tokens } from 'marked';
import { format, formatDistanceToNow } from 'date-fns';
import { fenceLanguage, highlightCode, type Highlighter } from './highlight';

export interface MentionNames {
  user(id: string): string | undefined;
  channel(id: string): string | undefined;
  role(id: string): string | undefined;
}

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** `<t:1700000000:R>` styles: t, T, d, D, f (default), F, R. */
export function formatTimestamp(unixSeconds: number, style = 'f'): string {
  const d = new Date(unixSeconds * 1000);
  switch (style) {
    case 't':
      return format(d, 'p');
    case 'T':
      return format(d, 'pp');
    case 'd':
      return format(d, 'P');
    case 'D':
      return format(d, 'PPP');
    case 'F':
      return format(d, 'PPPPp');
    case 'R':
      return formatDistanceToNow(d, { addSuffix: true });
    default:
      return format(d, 'PPPp');
  }
}

function inline(name: string, start: string, re: RegExp, render: (m: RegExpExecArray, parse: (s: string) => string) => string): TokenizerAndRendererExtension {
  return {
    name,
    level: 'inline',
    start: (src: string) => src.indexOf(start),
    tokenizer(src: string) {
      const m = re.exec(src);
      if (!m) return undefined;
      return { type: name, raw: m[0], groups: [...m], tokens: name === 'spoiler' || name === 'underline' ? this.lexer.inlineTokens(m[1] ?? '') : [] };
    },
    renderer(token) {
      const t = token as Tokens.Generic;
      const groups = t['groups'] as string[];
      const match = Object.assign([...groups], { index: 0, input: t.raw }) as unknown as RegExpExecArray;
      return render(match, () => this.parser.parseInline(t.tokens ?? []));
    },
  };
}

/** Code highlighting for a renderer: highlight.js once loaded (null before), and what to do
 *  when a block names a language while it is not (start loading it). */
export interface CodeHighlighting {
  highlighter: Highlighter | null;
  wanted?: () => void;
}

export function createRenderer(names: MentionNames, highlighting: CodeHighlighting = { highlighter: null }) {
  const marked = new Marked({ gfm: true, breaks: true, async: false });
  marked.use({
    extensions: [
      inline('underline', '__', /^__(?=\S)([\s\S]*?\S)__(?!_)/, (_m, parse) => `<u>${parse('')}</u>`),
      inline('spoiler', '||', /^\|\|([\s\S]+?)\|\|/, (_m, parse) => `<span class="spoiler" tabindex="0">${parse('')}</span>`),
      inline('timestamp', '<t:', /^<t:(-?\d{1,13})(?::([tTdDfFR]))?>/, (m) => {
        const secs = Number(m[1]);
        const iso = new Date(secs * 1000).toISOString();
        return `<time datetime="${iso}" title="${escape(formatTimestamp(secs, 'F'))}">${escape(formatTimestamp(secs, m[2] ?? 'f'))}</time>`;
      }),
      // A custom emoji, `<:name:id>` or `<a:name:id>` (animated): its image on this server's CDN.
      inline('emoji', '<', /^<(a?):(\w{2,32}):(\d{1,20})>/, (m) => {
        const [, animated, name = '', id = ''] = m;
        return `<img class="emoji" src="/emojis/${id}.${animated ? 'gif' : 'png'}?size=48" alt=":${escape(name)}:" title=":${escape(name)}:">`;
      }),
      inline('mention', '<', /^<(@!?|@&|#)(\d{1,20})>/, (m) => {
        const [, kind, id = ''] = m;
        if (kind === '#') return `<span class="mention">#${escape(names.channel(id) ?? 'unknown-channel')}</span>`;
        if (kind === '@&') return `<span class="mention">@${escape(names.role(id) ?? 'unknown-role')}</span>`;
        return `<span class="mention">@${escape(names.user(id) ?? 'unknown-user')}</span>`;
      }),
    ],
    renderer: {
      // Raw HTML is text in a chat message.
      html({ text }: Tokens.HTML | Tokens.Tag) {
        return escape(text);
      },
      // Images become links: no remote fetch from someone else's message.
      image({ href, text }: Tokens.Image) {
        return `<a href="${escape(href)}">${escape(text || href)}</a>`;
      },
      // A fenced block with a language is highlighted once highlight.js is there (its spans
      // pass the sanitizer); without one, or until then, plain text.
      code({ text, lang }: Tokens.Code) {
        const language = fenceLanguage(lang);
        const body = text.replace(/\n$/, '') + '\n';
        if (language && !highlighting.highlighter) highlighting.wanted?.();
        const hl = language && highlighting.highlighter ? highlightCode(highlighting.highlighter, body, language) : null;
        const cls = language ? ` class="language-${escape(language)}"` : '';
        return `<pre><code${cls}>${hl ?? escape(body)}</code></pre>\n`;
      },
      heading({ tokens, depth }: Tokens.Heading) {
        const level = Math.min(depth, 3);
        return `<h${level + 2}>${this.parser.parseInline(tokens)}</h${level + 2}>`;
      },
    },
  });
  // Rendering is pure for a given set of names: each text is parsed and sanitized once per
  // renderer (a virtualized list renders rows again as they scroll back into view).
  const cache = new Map<string, string>();
  return (content: string): string => {
    const hit = cache.get(content);
    if (hit !== undefined) return hit;
    const html = sanitize(marked.parse(content) as string);
    if (cache.size >= RENDER_CACHE_MAX) cache.clear();
    // Relative timestamps (`<t:…:R>`, "3 minutes ago") change with the clock: never kept.
    if (!/<t:-?\d+:R>/.test(content)) cache.set(content, html);
    return html;
  };
}

/** Rendered texts a renderer keeps (then it starts over). */
const RENDER_CACHE_MAX = 5000;

const ALLOWED_TAGS = [
  'p', 'br', 'strong', 'em', 'u', 'del', 's', 'code', 'pre', 'blockquote', 'a', 'span', 'time',
  'ul', 'ol', 'li', 'h3', 'h4', 'h5', 'hr', 'img',
];

let hooked = false;
export function sanitize(html: string): string {
  if (!hooked) {
    DOMPurify.addHook('afterSanitizeAttributes', (node) => {
      // Images only as custom emoji from this server's CDN (raw HTML is text anyway).
      if (node.tagName === 'IMG' && !/^\/emojis\/\d+\.(png|gif)\?size=\d+$/.test(node.getAttribute('src') ?? '')) {
        node.remove();
        return;
      }
      if (node.tagName === 'A') {
        node.setAttribute('target', '_blank');
        node.setAttribute('rel', 'noopener noreferrer nofollow');
      }
    });
    hooked = true;
  }
  return DOMPurify.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR: ['href', 'class', 'datetime', 'title', 'tabindex', 'target', 'rel', 'src', 'alt'],
    // Absolute http(s)/mailto URLs and scheme-less values (DOMPurify checks every attribute
    // value that is not URI-safe against this); any other scheme (javascript:, data:) is dropped.
    ALLOWED_URI_REGEXP: /^(?:(?:https?|mailto):|[^a-z]|[a-z+.-]+(?:[^a-z+.\-:]|$))/i,
  });
}
