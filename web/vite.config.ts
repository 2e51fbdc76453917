// Vite config for Hearth's web client. `npm run dev` proxies the API and the gateway to a
// hearth server (HEARTH_DEV_SERVER, default http://127.0.0.1:8080); `npm run build` writes
// the assets that the hearth binary embeds (see build.rs at the repository root).
import { defineConfig } from 'vitest/config';

const server = process.env.HEARTH_DEV_SERVER ?? 'http://127.0.0.1:8080';

export default defineConfig({
  // React's automatic JSX runtime through Vite's own transform (no framework plugin needed).
  oxc: { jsx: { runtime: 'automatic' } },
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
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
  },
});
