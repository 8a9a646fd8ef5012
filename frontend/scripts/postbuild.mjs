// @ts-check
// After `vite build`: checks the login route's initial JavaScript against its
// budget, removes Vite's manifest from the output, and writes .gz and .br
// siblings of every compressible file for `wms web` to serve as they are.
//
// Usage: node scripts/postbuild.mjs DIST_DIR
// Exits non-zero if the budget is exceeded or the build output is not as expected.

import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

/** Budget for the JavaScript a browser must load to show /login (gzip bytes). */
const LOGIN_BUDGET_GZIP = 250 * 1000;
/** The SPA's HTML entry and the API documentation page, as named in Vite's manifest. */
const SPA_ENTRY = 'index.html';
const API_DOCS_ENTRY = 'api-docs/index.html';
/** The page module of the login route, as named in Vite's manifest. */
const LOGIN_ROUTE = 'src/app/routes/LoginPage.tsx';
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.svg', '.json', '.txt', '.xml', '.map', '.ico', '.webmanifest']);
/** Below this size a compressed copy saves nothing worth a file. */
const MIN_SIZE = 256;

const dist = process.argv[2];
if (dist === undefined) {
  console.error('usage: node scripts/postbuild.mjs DIST_DIR');
  process.exit(2);
}

/** @typedef {{ file: string, isEntry?: boolean, imports?: string[] }} Chunk */

/** @returns {Record<string, Chunk>} */
function readManifest() {
  const path = join(dist, '.vite', 'manifest.json');
  return JSON.parse(readFileSync(path, 'utf8'));
}

/**
 * Files loaded by `keys` and their static imports, transitively.
 * @param {Record<string, Chunk>} manifest
 * @param {string[]} keys
 */
function closure(manifest, keys) {
  /** @type {Set<string>} */
  const files = new Set();
  const seen = new Set();
  const queue = [...keys];
  while (queue.length > 0) {
    const key = /** @type {string} */ (queue.pop());
    if (seen.has(key)) continue;
    seen.add(key);
    const chunk = manifest[key];
    if (chunk === undefined) throw new Error(`manifest has no chunk ${key}`);
    files.add(chunk.file);
    queue.push(...(chunk.imports ?? []));
  }
  return files;
}

/** @param {string} file */
const gzipSize = (file) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;

function checkBudget() {
  const manifest = readManifest();
  // The SPA's entry only: other pages (the API documentation) are not part of /login.
  if (!(SPA_ENTRY in manifest)) throw new Error(`manifest has no ${SPA_ENTRY}`);
  if (!(LOGIN_ROUTE in manifest)) throw new Error(`manifest has no ${LOGIN_ROUTE}`);
  if (!(API_DOCS_ENTRY in manifest)) throw new Error(`manifest has no ${API_DOCS_ENTRY}`);
  const files = [...closure(manifest, [SPA_ENTRY, LOGIN_ROUTE])].filter((f) => f.endsWith('.js')).sort();
  let total = 0;
  for (const file of files) {
    const size = gzipSize(file);
    total += size;
    console.log(`  ${(size / 1000).toFixed(1).padStart(7)} kB gzip  ${file}`);
  }
  console.log(`login route initial JS: ${(total / 1000).toFixed(1)} kB gzip (budget ${LOGIN_BUDGET_GZIP / 1000} kB)`);
  if (total > LOGIN_BUDGET_GZIP) {
    console.error('login route initial JS is over budget');
    process.exit(1);
  }
}

/** @param {string} dir @returns {string[]} */
function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

function compressAll() {
  let count = 0;
  for (const path of walk(dist)) {
    if (!COMPRESSIBLE.has(extname(path))) continue;
    const data = readFileSync(path);
    if (data.length < MIN_SIZE) continue;
    const gz = gzipSync(data, { level: 9 });
    const br = brotliCompressSync(data, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
      },
    });
    if (gz.length < data.length) writeFileSync(`${path}.gz`, gz);
    if (br.length < data.length) writeFileSync(`${path}.br`, br);
    count += 1;
    if (process.env.POSTBUILD_VERBOSE !== undefined) {
      console.log(`  ${relative(dist, path)}: ${data.length} → gz ${gz.length}, br ${br.length}`);
    }
  }
  console.log(`compressed ${count} files (.gz and .br)`);
}

checkBudget();
rmSync(join(dist, '.vite'), { recursive: true, force: true });
compressAll();
