// Vite config for Hearth's web client. `npm run dev` proxies the API and the gateway to a
// hearth server (HEARTH_DEV_SERVER, default http://127.0.0.1:8080); `npm run build` writes
// the assets that the hearth binary embeds (see build.rs at the repository root).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';

/** Text files of at least this size also get `.br` and `.gz` copies (smaller ones, like
 *  index.html, are sent as they are). */
const COMPRESS_MIN_BYTES = 1024;

/**
 * Precompressed copies of the built text files (`X.js.br`, `X.js.gz`, ...) next to them, made
 * once at build time with Node's zlib (brotli at quality 11, gzip at level 9): hearth serves
 * the copy the browser accepts (src/web.rs), so the client travels compressed with no
 * compression work per request.
 */
function precompress(): Plugin {
  return {
    name: 'hearth-precompress',
    apply: 'build',
    // After the files are written: their final bytes (Vite still rewrites chunks during
    // generateBundle, e.g. the preload list of dynamic imports).
    writeBundle(options, bundle) {
      const dir = options.dir ?? 'dist';
      for (const fileName of Object.keys(bundle)) {
        if (!/\.(js|css|html|svg|json|txt)$/.test(fileName)) continue;
        const bytes = readFileSync(join(dir, fileName));
        if (bytes.length < COMPRESS_MIN_BYTES) continue;
        const br = brotliCompressSync(bytes, {
          params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
        });
        writeFileSync(join(dir, `${fileName}.br`), br);
        writeFileSync(join(dir, `${fileName}.gz`), gzipSync(bytes, { level: 9 }));
      }
    },
  };
}

const server = process.env.HEARTH_DEV_SERVER ?? 'http://127.0.0.1:8080';

export default defineConfig({
  // React's automatic JSX runtime through Vite's own transform (no framework plugin needed).
  oxc: { jsx: { runtime: 'automatic' } },
  plugins: [precompress()],
  build: {
    outDir: process.env.HEARTH_WEB_OUT ?? 'dist',
    emptyOutDir: true,
    sourcemap: false,
    assetsInlineLimit: 0,
  },
  server: {
    proxy: {
      '/api': server,
      '/gateway': { target: server.replace(/^http/, 'ws'), ws: true },
      '/.well-known': server,
      // Images of the CDN (guild icons, avatars) live on the server too.
      '/icons': server,
      '/avatars': server,
      '/emojis': server,
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
  },
});
