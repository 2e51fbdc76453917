// Syntax highlighting of code blocks with a language (```rust … ```), by highlight.js's
// "common" set (core and 36 common languages: C, C++, C#, CSS, Go, Java, JavaScript, JSON,
// Kotlin, Python, Rust, Shell, SQL, TypeScript, XML/HTML, YAML, …). It is its own chunk, fetched
// by dynamic `import()` the first time a message shows such a block (as the emoji data is), so
// the initial JavaScript stays within its budget. Until it arrives, and for languages it does
// not know, the block shows plain. Its output (text escaped, `<span class="hljs-…">`) goes
// through the markdown renderer's sanitizer like everything else.
import { useSyncExternalStore } from 'react';

/** The part of highlight.js the client uses. */
export interface Highlighter {
  getLanguage(name: string): object | undefined;
  highlight(code: string, options: { language: string; ignoreIllegals?: boolean }): { value: string };
}

let loaded: Highlighter | null = null;
let loading: Promise<Highlighter> | null = null;
const listeners = new Set<() => void>();

/** Starts fetching highlight.js (once; again after a failed fetch); resolves when it is
 *  ready. */
export function loadHighlighter(): Promise<Highlighter> {
  loading ??= import('highlight.js/lib/common').then(
    (m) => {
      loaded = (m as { default: Highlighter }).default;
      for (const f of listeners) f();
      return loaded;
    },
    (e: unknown) => {
      loading = null;
      throw e;
    },
  );
  return loading;
}

function subscribe(f: () => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

/** highlight.js once it has loaded, else null (components render again when it arrives). */
export function useHighlighter(): Highlighter | null {
  return useSyncExternalStore(subscribe, () => loaded);
}

/** The language name of a fence's info string (its first word, lower case), or '' when it
 *  is none or not a plausible name (letters, digits, `+#._-`, at most 32). */
export function fenceLanguage(info: string | undefined): string {
  const word = (info ?? '').trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  return /^[\w+#.-]{1,32}$/.test(word) ? word : '';
}

/** `code` highlighted as `language` (HTML: the code's text escaped inside `<span
 *  class="hljs-…">`), or null when the language is unknown to `hl`. */
export function highlightCode(hl: Highlighter, code: string, language: string): string | null {
  if (!language || !hl.getLanguage(language)) return null;
  try {
    return hl.highlight(code, { language, ignoreIllegals: true }).value;
  } catch {
    return null;
  }
}
