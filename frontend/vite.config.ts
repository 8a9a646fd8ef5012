// Build and dev-server configuration. React's JSX goes through esbuild's automatic
// runtime (no React plugin: it does not install with the image's old npm, and we do
// without fast refresh). Unit tests (Vitest) share this configuration.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const apiTarget = process.env.WMS_API_TARGET ?? 'http://127.0.0.1:8000';
const healthTarget = process.env.WMS_HEALTH_TARGET ?? 'http://127.0.0.1:8081';
const proxy = {
  '/api': { target: apiTarget },
  '/health': { target: healthTarget },
};

export default defineConfig({
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  esbuild: { jsx: 'automatic' },
  build: {
    target: 'es2022',
    manifest: true,
    sourcemap: false,
    // The API documentation page is Swagger UI's own bundle (1.6 MB), loaded only on that page.
    chunkSizeWarningLimit: 2048,
    rollupOptions: {
      // The SPA, and the API documentation page (dist/api-docs/index.html) that
      // `wms web` serves at /api/docs; the SPA never loads the latter's code.
      input: {
        main: fileURLToPath(new URL('./index.html', import.meta.url)),
        'api-docs': fileURLToPath(new URL('./api-docs/index.html', import.meta.url)),
      },
      onwarn(warning, warn) {
        // Ant Design marks modules "use client" (for React Server Components); meaningless here.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  server: { proxy },
  preview: { proxy },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
