import { defineConfig } from 'vite';

// `npm run dev` serves the client on :5173 and forwards the API (and its
// WebSocket) to a Seatline started with `cargo run` on :8000.
const api = process.env.SEATLINE_URL ?? 'http://127.0.0.1:8000';

export default defineConfig({
  server: {
    proxy: {
      '/graphql': { target: api, ws: true, changeOrigin: true },
    },
  },
  build: {
    // Committed and embedded in the server binary: the output must be a
    // pure function of the sources and package-lock.json, so CI can
    // rebuild and `git diff --exit-code dist`.
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
    modulePreload: { polyfill: false },
  },
});
