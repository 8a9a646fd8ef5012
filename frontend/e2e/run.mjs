// @ts-check
// End-to-end walk through every screen of the UI (issues 7 and 19) in Debian's
// Chromium, driven by playwright-core (no browser download). Each step prints
// "ok"/"not ok"; the run ends with "N passed, M failed" and a non-zero exit on
// any failure. Every screenshot also runs axe-core on the page: a serious or
// critical accessibility violation fails the step.
//
// Environment:
//   E2E_BASE_URL   where the stack serves the SPA, e.g. http://127.0.0.1:8080 (required)
//   E2E_EMAIL      admin e-mail (default admin@wms.example.com)
//   E2E_PASSWORD   the administrator's password (required: the stack has no default)
//   E2E_ARTIFACTS  directory for screenshots (default ./e2e-artifacts)
//   E2E_STOP_CMD   shell command that stops a service (e.g. "wms ctl stop backend");
//   E2E_START_CMD  and the one that starts it again. Without both, that step is skipped.
//   E2E_CHROMIUM   browser binary (default /usr/bin/chromium)
//   E2E_HEADED=1   show the browser (needs a display)
//   E2E_A11Y=report  list serious/critical accessibility violations without failing (to survey)

/* global window, document, KeyboardEvent, HTMLElement, getComputedStyle -- used inside page.evaluate, which runs in the browser */

import { execSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { writeEan13Video, ean13CheckDigit } from './barcode-video.mjs';
import { parseCsv } from './csv.mjs';
import { makeXlsx } from './xlsx.mjs';

const BASE = process.env.E2E_BASE_URL;
if (BASE === undefined || BASE === '') {
  console.error('E2E_BASE_URL is required (e.g. http://127.0.0.1:8080)');
  process.exit(2);
}
const EMAIL = process.env.E2E_EMAIL ?? 'admin@wms.example.com';
const PASSWORD = process.env.E2E_PASSWORD ?? '';
if (PASSWORD === '') throw new Error('E2E_PASSWORD is not set (the stack has no default administrator password)');
const ARTIFACTS = resolve(process.env.E2E_ARTIFACTS ?? 'e2e-artifacts');
const STOP_CMD = process.env.E2E_STOP_CMD;
const START_CMD = process.env.E2E_START_CMD;
const RUN_ID = Date.now().toString(36).toUpperCase();
const BARCODE = `E2E-${RUN_ID}`;
const IMPORTED = `E2E-IMP-${RUN_ID}`;
const SHORTAGE = 'Недостаточно товара для отгрузки';
const SOURCE = `E2E Source ${RUN_ID}`;
const DC_CODE = `E2E-${RUN_ID}`;
const USER = `e2e-${RUN_ID.toLowerCase()}@wms.example.com`;
const UNKNOWN = `E2E-NEW-${RUN_ID}`;
const CHROMIUM = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';
/** An EAN-13 of this run, shown to the fake camera. */
const EAN_BASE = `2${String(Date.now()).slice(-11)}`;
const EAN = `${EAN_BASE}${ean13CheckDigit(EAN_BASE)}`;
const AXE_SOURCE = readFileSync(new URL('../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');

mkdirSync(ARTIFACTS, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), 'wms-e2e-chromium-'));

// A fresh profile directory (the --user-data-dir), removed at the end.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
// The fake camera plays a picture of the run's EAN-13 (camera permission granted).
const cameraVideo = join(ARTIFACTS, 'camera.y4m');
writeEan13Video(EAN, cameraVideo);
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: process.env.E2E_HEADED !== '1',
  args: [
    ...CHROMIUM_ARGS,
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
    `--use-file-for-fake-video-capture=${cameraVideo}`,
  ],
  acceptDownloads: true,
  viewport: { width: 1366, height: 860 },
  locale: 'en-US',
});
// English UI unless a step switches it; the choice is kept in localStorage.
await context.addInitScript(() => {
  if (localStorage.getItem('wms.lang') === null) localStorage.setItem('wms.lang', 'en');
});
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(15_000);
/** The browser's errors and failed requests, shown with a failing step. @type {string[]} */
const browserLog = [];
page.on('pageerror', (error) => browserLog.push(`page error: ${error.message}`));
page.on('console', (msg) => {
  if (msg.type() === 'error' || msg.type() === 'warning') browserLog.push(`console ${msg.type()}: ${msg.text()}`);
});
page.on('response', (response) => {
  if (response.status() >= 400) browserLog.push(`${response.status()} ${response.request().method()} ${response.url()}`);
});

let passed = 0;
let failed = 0;
let shots = 0;

/** Accessibility findings of the whole run, by screen. @type {string[]} */
const a11yReport = [];

/**
 * Runs axe-core on the page (injected through the debugging protocol, so the page's CSP
 * does not apply to it) and fails on serious or critical violations.
 * @param {string} name @param {import('playwright-core').Page} [on]
 */
async function axe(name, on = page) {
  await on.evaluate(AXE_SOURCE);
  /** @type {{ id: string, impact: string, help: string, nodes: string[] }[]} */
  const violations = await on.evaluate(async () => {
    // @ts-expect-error injected above
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((/** @type {any} */ v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((/** @type {any} */ n) => n.target.join(' ')),
    }));
  });
  for (const v of violations) a11yReport.push(`${name}: ${v.impact} ${v.id} (${v.help}) at ${v.nodes.join(', ')}`);
  const blocking = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (process.env.E2E_A11Y === 'report') return;
  check(
    blocking.length === 0,
    `accessibility (${name}):\n${blocking.map((v) => `${v.impact} ${v.id}: ${v.help}\n    ${v.nodes.join('\n    ')}`).join('\n')}`,
  );
}

/** Screenshot of the current screen, then the accessibility check of it. @param {string} name @param {import('playwright-core').Page} [on] */
async function shot(name, on = page) {
  shots += 1;
  // Let requests and loading overlays finish, so the picture shows the data.
  await on.waitForLoadState('networkidle', { timeout: 5_000 }).catch(() => {});
  // No hover state in the picture or in the contrast check.
  await on.mouse.move(0, 0);
  await on.locator('.ant-spin-spinning').first().waitFor({ state: 'detached', timeout: 5_000 }).catch(() => {});
  // Entry animations (modals, messages) finish before the picture and the contrast check.
  await on.waitForFunction(() => document.getAnimations().every((a) => a.playState !== 'running'), null, { timeout: 3_000 }).catch(() => {});
  await on.screenshot({ path: join(ARTIFACTS, `${String(shots).padStart(2, '0')}-${name}.png`), fullPage: true });
  await axe(name, on);
}

/**
 * What a USB scanner does: every character of `code` and Enter as key events a few
 * microseconds apart, sent to whatever has the focus (not a text field here).
 * @param {string} code @param {import('playwright-core').Page} [on]
 */
async function scanKeys(code, on = page) {
  await on.evaluate((text) => {
    const target = document.activeElement ?? document.body;
    // A modifier first, as a scanner sends Shift for capitals: it also wakes up whatever the
    // page does lazily on its first key, outside the timed burst.
    target.dispatchEvent(new KeyboardEvent('keydown', { key: 'Shift', bubbles: true }));
    for (const key of [...text, 'Enter']) {
      target.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true }));
      target.dispatchEvent(new KeyboardEvent('keyup', { key, bubbles: true, cancelable: true }));
    }
  }, code);
}

/** Moves the focus off any text field (as when the hands are on the scanner). */
async function blur(on = page) {
  await on.evaluate(() => {
    if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
  });
}

/** The admin's token, for API checks from the test itself. */
async function apiGet(/** @type {string} */ path) {
  return page.evaluate(async (p) => {
    const token = localStorage.getItem('wms.token');
    const r = await fetch(p, { headers: { Authorization: `Bearer ${token}` } });
    return { status: r.status, body: await r.json() };
  }, path);
}

/** POST with the admin's token, for set-up from the test itself. @param {string} path @param {unknown} body */
async function apiPost(path, body) {
  return page.evaluate(
    async ([p, b]) => {
      const token = localStorage.getItem('wms.token');
      const r = await fetch(/** @type {string} */ (p), {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(b),
      });
      return { status: r.status, body: await r.json() };
    },
    [path, body],
  );
}

/** Confirms the open Popconfirm with its button `label`. @param {string} label */
async function confirmPop(label) {
  await page.locator('.ant-popconfirm:visible').getByRole('button', { name: label }).click();
}

/** @param {unknown} condition @param {string} message @returns {asserts condition} */
function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** Runs one step; after a failure the remaining steps are not run. @param {string} name @param {() => Promise<void>} body */
async function step(name, body) {
  if (failed > 0) return;
  browserLog.length = 0;
  try {
    await body();
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (error) {
    failed += 1;
    console.log(`not ok - ${name}\n  ${String(error instanceof Error ? error.message : error).split('\n').join('\n  ')}`);
    if (browserLog.length > 0) console.log(`  browser, last lines:\n    ${browserLog.slice(-10).join('\n    ')}`);
    await page.screenshot({ path: join(ARTIFACTS, `failure-${name.replace(/\W+/g, '-')}.png`), fullPage: true }).catch(() => {});
  }
}

/** @param {string} path */
const go = (path) => page.goto(new URL(path, BASE).href);

/** Opens the antd Select whose input has `id` and picks the option with `text`. @param {string} id @param {string | RegExp} text */
async function choose(id, text) {
  const select = page.locator(`.ant-select:has(#${id})`);
  // Under load a click can land while the dropdown is still animating and pick nothing:
  // check that the select shows the choice, and try again (at most three times).
  // A click on an option still sliding in can land on what is under it (then the dropdown
  // closes): close it and try again.
  for (let attempt = 1; ; attempt += 1) {
    try {
      await select.click();
      // The dropdown that belongs to this select (another may still be fading out).
      const option = page.locator(`.ant-select-dropdown:has(#${id}_list) .ant-select-item-option`, { hasText: text }).first();
      await option.click({ timeout: 5_000 });
      await select.filter({ hasText: text }).waitFor({ timeout: 3_000 });
      return;
    } catch (error) {
      if (attempt >= 3) throw error;
      await page.keyboard.press('Escape');
    }
  }
}

/** The dialog currently open. */
const dialog = () => page.locator('.ant-modal:visible');

/** @param {string} type @param {number} quantity @param {{ dc?: boolean, expectError?: string }} [options] */
async function operation(type, quantity, options = {}) {
  await go(`/?q=${BARCODE}`);
  await page.getByTestId(`operation-for-${BARCODE}`).click();
  await dialog().waitFor();
  await choose('operation_type', type);
  if (options.dc) await choose('distribution_center_id', /./);
  await page.locator('#quantity').fill(String(quantity));
  await page.locator('#notes').fill(`e2e ${type} ${quantity}`);
  await dialog().getByRole('button', { name: 'Execute' }).click();
  if (options.expectError !== undefined) {
    await dialog().getByTestId('form-error').getByText(options.expectError).waitFor();
    return;
  }
  await page.getByText('Operation executed').waitFor();
  await dialog().waitFor({ state: 'detached' });
}

/** Reads the stock and defect cells of the product's dashboard row. */
async function balances() {
  await go(`/?q=${BARCODE}`);
  const row = page.locator('[data-testid=products-table] tr', { hasText: BARCODE });
  await row.waitFor();
  const cells = await row.locator('td').allInnerTexts();
  return { stock: Number(cells[5]), defect: Number(cells[6]) };
}

/** @param {string} status @param {number} timeoutMs */
async function waitForStack(status, timeoutMs) {
  await page.locator(`[data-testid=stack-status][data-status=${status}]`).waitFor({ timeout: timeoutMs });
}

await step('login: a wrong password shows the server message and stays', async () => {
  await go('/login');
  await page.locator('#login_email').fill(EMAIL);
  await page.locator('#login_password').fill(`${PASSWORD}-wrong`);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('login-error').waitFor();
  check(new URL(page.url()).pathname === '/login', 'left the login page');
  await shot('login-error');
});

await step('login: signs in and lands on the dashboard', async () => {
  await page.locator('#login_password').fill(PASSWORD);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('user-email').getByText(EMAIL, { exact: false }).waitFor();
  await page.getByTestId('total-products').waitFor();
  await shot('dashboard');
});

await step('products: create a product', async () => {
  await go('/products');
  await page.getByTestId('product-add').click();
  await dialog().waitFor();
  await page.locator('#barcode').fill(BARCODE);
  await page.locator('#seller_sku').fill(`SKU-${RUN_ID}`);
  await page.locator('#brand').fill('E2E Brand');
  await page.locator('#size').fill('M');
  await dialog().getByRole('button', { name: 'Save' }).click();
  await dialog().waitFor({ state: 'detached' });
  await page.locator('[data-testid=products-table] tr', { hasText: BARCODE }).waitFor();
  await shot('products');
});

await step('operations: receive 5', async () => {
  await operation('Receipt', 5);
  const b = await balances();
  check(b.stock === 5 && b.defect === 0, `balances ${JSON.stringify(b)}, expected 5/0`);
});

await step('operations: ship 3 to a distribution centre', async () => {
  await operation('Shipment to DC', 3, { dc: true });
  const b = await balances();
  check(b.stock === 2, `stock ${b.stock}, expected 2`);
});

await step("operations: shipping 10 shows the server's message", async () => {
  await operation('Shipment to DC', 10, { dc: true, expectError: SHORTAGE });
  await shot('operation-refused');
  await dialog().getByRole('button', { name: 'Cancel' }).click();
  const b = await balances();
  check(b.stock === 2, `stock ${b.stock} changed by a refused shipment`);
});

await step('operations: write off 1', async () => {
  await operation('Write-off to defect', 1);
  const b = await balances();
  check(b.stock === 1 && b.defect === 1, `balances ${JSON.stringify(b)}, expected 1/1`);
  await shot('dashboard-balances');
});

await step("product page: balances and the product's journal", async () => {
  await page.locator('[data-testid=products-table] tr', { hasText: BARCODE }).getByRole('link', { name: BARCODE }).click();
  await page.getByTestId('product-stock').getByText('1', { exact: true }).waitFor();
  await page.getByTestId('product-defect').getByText('1', { exact: true }).waitFor();
  await page.getByText('Total: 3', { exact: true }).waitFor();
  await shot('product');
});

await step('journal: filter by barcode and a single day (today)', async () => {
  await go('/movements');
  await page.locator('#journal-filters_barcode').fill(BARCODE);
  await page.locator('#journal-filters_range').click();
  await page.locator('.ant-picker-presets:visible').getByText('Today', { exact: true }).click();
  await page.keyboard.press('Escape');
  await page.getByTestId('filter-apply').click();
  const today = new Date();
  const day = [today.getFullYear(), today.getMonth() + 1, today.getDate()].map((n) => String(n).padStart(2, '0')).join('-');
  await page.waitForURL((url) => url.searchParams.get('from') === day && url.searchParams.get('to') === day);
  // The total, not the rows: the previous page stays on screen while the filtered one loads.
  await page.getByText('Total: 3', { exact: true }).waitFor();
  for (const label of ['Receipt', 'Shipment to DC', 'Write-off to defect']) {
    await page.locator('[data-testid=movements-table] .ant-tag', { hasText: label }).first().waitFor();
  }
  await shot('journal-today');
});

await step('journal: CSV export of the filtered journal', async () => {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('movements-export').click()]);
  const path = join(ARTIFACTS, 'movements.csv');
  await download.saveAs(path);
  const csv = readFileSync(path, 'utf8');
  check(csv.includes(BARCODE), 'the export does not list the product');
});

await step('journal: a single day with no movements is empty', async () => {
  const yesterday = new Date(Date.now() - 86_400_000);
  const day = [yesterday.getFullYear(), yesterday.getMonth() + 1, yesterday.getDate()].map((n) => String(n).padStart(2, '0')).join('-');
  await go(`/movements?barcode=${BARCODE}&from=${day}&to=${day}`);
  await page.locator('[data-testid=movements-table] .ant-empty').waitFor();
});

await step('import: an .xlsx updates one product and creates another', async () => {
  const file = join(ARTIFACTS, 'import.xlsx');
  writeFileSync(
    file,
    makeXlsx('Сводная', [
      ['Баркод', 'Артикул продавца', 'Размер', 'Бренд', 'АКТУАЛЬНЫЙ ОСТАТОК', 'БРАКИ'],
      [BARCODE, `SKU-${RUN_ID}`, 'M', 'E2E Brand', 4, 1],
      [IMPORTED, `SKU-IMP-${RUN_ID}`, 'L', 'E2E Brand', 7, 0],
    ]),
  );
  await go('/import');
  await page.locator('input[type=file]').setInputFiles(file);
  const result = page.getByTestId('import-result');
  await result.getByText('Import completed').waitFor();
  const text = await result.innerText();
  check(/Rows\s*2/.test(text) && /Created\s*1/.test(text) && /Updated\s*1/.test(text), `unexpected counters: ${text}`);
  await shot('import');
});

await step('import: row errors are listed', async () => {
  const file = join(ARTIFACTS, 'import-bad.xlsx');
  writeFileSync(file, makeXlsx('Сводная', [['Баркод', 'АКТУАЛЬНЫЙ ОСТАТОК'], [`${IMPORTED}-BAD`, -3]]));
  await go('/import');
  await page.locator('input[type=file]').setInputFiles(file);
  await page.getByTestId('import-errors').locator('tbody tr').first().waitFor();
  await shot('import-errors');
});

await step('products: edit a product', async () => {
  await go(`/products?q=${IMPORTED}`);
  await page.getByTestId(`product-edit-${IMPORTED}`).click();
  await dialog().waitFor();
  await page.locator('#brand').fill('E2E Edited');
  await page.locator('#color').fill('teal');
  await shot('product-edit');
  await dialog().getByRole('button', { name: 'Save' }).click();
  await dialog().waitFor({ state: 'detached' });
  await page.locator('[data-testid=products-table] tr', { hasText: IMPORTED }).getByText('E2E Edited').waitFor();
});

await step('products: delete a product, then restore it from the message', async () => {
  await page.getByTestId(`product-delete-${IMPORTED}`).click();
  await confirmPop('Delete');
  await page.getByTestId('deleted-message').waitFor();
  await page.locator('[data-testid=products-table] .ant-empty').waitFor();
  await shot('product-deleted');
  await page.getByTestId('product-restore').click();
  await page.getByTestId('product-restored').waitFor();
  await page.locator('[data-testid=products-table] tr', { hasText: IMPORTED }).waitFor();
});

await step('products: the CSV export downloads and parses', async () => {
  await go(`/products?q=${BARCODE}`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('products-export').click()]);
  const path = join(ARTIFACTS, 'products.csv');
  await download.saveAs(path);
  const [header, ...rows] = parseCsv(readFileSync(path, 'utf8'));
  check(header !== undefined && header.includes('barcode') && header.includes('stock_quantity'), `header ${header}`);
  const row = rows.find((r) => r[header.indexOf('barcode')] === BARCODE);
  check(row !== undefined, `${BARCODE} is not in the export (${rows.length} rows)`);
  check(row[header.indexOf('stock_quantity')] === '4' && row[header.indexOf('defect_quantity')] === '1', `row ${row}`);
});

await step('journal: the CSV export parses with a row per movement', async () => {
  const rows = parseCsv(readFileSync(join(ARTIFACTS, 'movements.csv'), 'utf8'));
  const [header, ...data] = rows;
  check(header !== undefined && header[0] === 'created_at' && header.includes('operation'), `header ${header}`);
  const mine = data.filter((r) => r[header.indexOf('product_barcode')] === BARCODE);
  check(mine.length === 3, `${mine.length} rows of ${BARCODE}, expected 3`);
  check(mine.some((r) => r[header.indexOf('operation')] === 'Приёмка'), 'no receipt labelled in Russian');
});

await step('sources: create, edit and delete a source', async () => {
  await go('/sources');
  await page.getByTestId('source-add').click();
  await dialog().waitFor();
  await page.locator('#name').fill(SOURCE);
  await page.locator('#description').fill('created by the browser test');
  await dialog().getByRole('button', { name: 'Save' }).click();
  await dialog().waitFor({ state: 'detached' });
  const row = page.locator('[data-testid=source-table] tr', { hasText: SOURCE });
  await row.waitFor();
  await page.getByRole('button', { name: `Edit: ${SOURCE}` }).click();
  await dialog().waitFor();
  await page.locator('#description').fill('edited by the browser test');
  await shot('source-edit');
  await dialog().getByRole('button', { name: 'Save' }).click();
  await dialog().waitFor({ state: 'detached' });
  await row.getByText('edited by the browser test').waitFor();
  await shot('sources');
  await page.getByRole('button', { name: `Delete: ${SOURCE}` }).click();
  await confirmPop('Delete');
  await row.waitFor({ state: 'detached' });
});

await step('distribution centres: create, edit and delete one', async () => {
  await go('/distribution-centers');
  await page.getByTestId('dc-add').click();
  await dialog().waitFor();
  await page.locator('#code').fill(DC_CODE);
  await page.locator('#name').fill('E2E Kazan');
  await page.locator('#marketplace').fill('WB');
  await dialog().getByRole('button', { name: 'Save' }).click();
  await dialog().waitFor({ state: 'detached' });
  const row = page.locator('[data-testid=dc-table] tr', { hasText: DC_CODE });
  await row.waitFor();
  await page.getByRole('button', { name: `Edit: E2E Kazan (${DC_CODE})` }).click();
  await dialog().waitFor();
  await page.locator('#name').fill('E2E Kazan 2');
  await dialog().getByRole('button', { name: 'Save' }).click();
  await dialog().waitFor({ state: 'detached' });
  await row.getByText('E2E Kazan 2').waitFor();
  await shot('distribution-centers');
  await page.getByRole('button', { name: `Delete: E2E Kazan 2 (${DC_CODE})` }).click();
  await confirmPop('Delete');
  await row.waitFor({ state: 'detached' });
});

// A second, separate browser for the user the admin manages.
const otherBrowser = await chromium.launch({ executablePath: CHROMIUM, headless: process.env.E2E_HEADED !== '1', args: CHROMIUM_ARGS });
const other = await otherBrowser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
await other.addInitScript(() => {
  if (localStorage.getItem('wms.lang') === null) localStorage.setItem('wms.lang', 'en');
});
const otherPage = await other.newPage();
otherPage.setDefaultTimeout(15_000);

/** Signs in on the second browser. @param {string} password */
async function otherLogin(password) {
  await otherPage.goto(new URL('/login', BASE).href);
  await otherPage.locator('#login_email').fill(USER);
  await otherPage.locator('#login_password').fill(password);
  await otherPage.getByTestId('login-submit').click();
}

await step('users: create an operator, who signs in elsewhere', async () => {
  await go('/users');
  await page.locator('.ant-table-row', { hasText: EMAIL }).waitFor();
  await page.getByTestId('user-add').click();
  await dialog().waitFor();
  await page.locator('#email').fill(USER);
  await page.locator('#password').fill('first-pass-1');
  await dialog().getByRole('button', { name: 'Save' }).click();
  await dialog().waitFor({ state: 'detached' });
  await page.locator('[data-testid=user-table] tr', { hasText: USER }).getByText('Operator').waitFor();
  await shot('users');
  await otherLogin('first-pass-1');
  await otherPage.getByTestId('user-email').getByText(USER).waitFor();
  // Operators do not see user management.
  check((await otherPage.getByTestId('nav').getByText('Users').count()) === 0, 'an operator sees Users');
});

await step('users: reset the password; the new one works, the old one not', async () => {
  await page.getByRole('button', { name: `Edit: ${USER}` }).click();
  await dialog().waitFor();
  await page.locator('#password').fill('second-pass-2');
  await shot('user-edit');
  await dialog().getByRole('button', { name: 'Save' }).click();
  await dialog().waitFor({ state: 'detached' });
  await otherPage.getByTestId('logout').click();
  await otherLogin('first-pass-1');
  await otherPage.getByTestId('login-error').waitFor();
  await otherPage.locator('#login_password').fill('second-pass-2');
  await otherPage.getByTestId('login-submit').click();
  await otherPage.getByTestId('user-email').getByText(USER).waitFor();
});

await step("users: deactivate; that user's open session ends at its next request", async () => {
  await page.getByRole('button', { name: `Edit: ${USER}` }).click();
  await dialog().waitFor();
  await dialog().getByRole('switch').click();
  await dialog().getByRole('button', { name: 'Save' }).click();
  await dialog().waitFor({ state: 'detached' });
  await page.locator('[data-testid=user-table] tr', { hasText: USER }).getByText('Deactivated').waitFor();
  // The operator, still on their screen, goes on working: the server refuses, the UI signs out.
  await otherPage.getByTestId('nav').getByText('Movement journal').click();
  await otherPage.waitForURL((url) => url.pathname === '/login');
  await otherPage.getByText('You have been signed out').waitFor();
  await otherLogin('second-pass-2');
  await otherPage.getByTestId('login-error').waitFor();
});
await otherBrowser.close();

await step('scanner: a scan anywhere opens the product', async () => {
  await go('/movements');
  await page.getByTestId('movements-table').waitFor();
  await blur();
  await scanKeys(BARCODE);
  await page.waitForURL((url) => url.pathname.startsWith('/products/'));
  await page.getByText(`Product ${BARCODE}`).waitFor();
});

await step('scanner: typing in a field is never taken for a scan', async () => {
  await go('/movements');
  await page.locator('#journal-filters_barcode').click();
  await scanKeys(BARCODE);
  // The keys went to the field's own handling; the page stays.
  check(new URL(page.url()).pathname === '/movements', `left the journal for ${page.url()}`);
});

await step('scanner: an unknown code beeps and offers to create the product', async () => {
  await go('/');
  await page.getByTestId('total-products').waitFor();
  await blur();
  await scanKeys(UNKNOWN);
  await page.locator('.ant-notification-notice', { hasText: `Unknown barcode ${UNKNOWN}` }).waitFor();
  await shot('scan-unknown');
  await page.locator('.ant-notification-notice').getByTestId('scan-create').click();
  await dialog().waitFor();
  check((await page.locator('#barcode').inputValue()) === UNKNOWN, 'the form does not carry the scanned code');
  await dialog().getByRole('button', { name: 'Save' }).click();
  await page.waitForURL((url) => url.pathname.startsWith('/products/'));
  await page.getByText(`Product ${UNKNOWN}`).waitFor();
});

/** The quantity of the scan session's line of `barcode`, or null. @param {string} barcode */
async function lineQuantity(barcode) {
  const row = page.locator('[data-testid=scan-lines] tr', { hasText: barcode });
  if ((await row.count()) === 0) return null;
  return Number(await row.getByRole('spinbutton').inputValue());
}

await step('scan session: scans count up, unknown codes are flagged, Backspace undoes', async () => {
  const before = await balances();
  await go('/scan');
  await page.getByTestId('scan-lines').waitFor();
  await blur();
  await scanKeys(BARCODE);
  await page.getByTestId('scan-last').getByText(`Added ${BARCODE}`).waitFor();
  await scanKeys(BARCODE);
  await scanKeys(UNKNOWN);
  await scanKeys('NO-SUCH-CODE-1');
  await page.getByTestId('scan-unknown').filter({ hasText: 'NO-SUCH-CODE-1' }).waitFor();
  await page.getByTestId('scan-totals').getByText('Lines: 2, units: 3').waitFor();
  check((await lineQuantity(BARCODE)) === 2, `${BARCODE} counted ${await lineQuantity(BARCODE)}`);
  await shot('scan-session');
  // One key takes the last scan back: the unknown code, then the unit of the new product.
  await page.keyboard.press('Backspace');
  await page.getByTestId('scan-unknown').waitFor({ state: 'detached' });
  await page.keyboard.press('Backspace');
  await page.getByTestId('scan-totals').getByText('Lines: 1, units: 2').waitFor();
  // Keyboard only: the barcode field takes typed codes with Enter, and Backspace when empty.
  await page.locator('#scan-input').focus();
  await page.keyboard.type(UNKNOWN);
  await page.keyboard.press('Enter');
  await page.getByTestId('scan-totals').getByText('Lines: 2, units: 3').waitFor();
  await page.keyboard.press('Backspace');
  await page.getByTestId('scan-totals').getByText('Lines: 1, units: 2').waitFor();
  // Tab from the field to the post button and press it, as a keyboard user would.
  await page.getByTestId('scan-post').focus();
  await page.keyboard.press('Enter');
  await page.getByTestId('scan-posted').getByText('Posted: movements 1').waitFor();
  const after = await balances();
  check(after.stock === before.stock + 2, `stock ${before.stock} → ${after.stock}, expected +2`);
});

await step('scan session: a retry after a lost answer posts once', async () => {
  const before = await balances();
  await go('/scan');
  await page.getByTestId('scan-lines').waitFor();
  await blur();
  for (let i = 0; i < 3; i += 1) await scanKeys(BARCODE);
  await page.getByTestId('scan-totals').getByText('Lines: 1, units: 3').waitFor();
  // The server posts, but the answer never arrives (the connection drops).
  let keys = /** @type {string[]} */ ([]);
  await page.route('**/api/stock/movements/batch', async (route) => {
    keys.push(route.request().headers()['idempotency-key'] ?? '');
    await route.fetch();
    await route.abort('connectionreset');
  });
  await page.getByTestId('scan-post').click();
  await page.getByTestId('scan-error').getByText('at most once').waitFor();
  await page.unroute('**/api/stock/movements/batch');
  await page.route('**/api/stock/movements/batch', async (route) => {
    keys.push(route.request().headers()['idempotency-key'] ?? '');
    await route.continue();
  });
  await page.getByTestId('scan-post').click();
  await page.getByTestId('scan-posted').waitFor();
  await page.unroute('**/api/stock/movements/batch');
  check(keys.length === 2 && keys[0] === keys[1] && keys[0] !== '', `keys ${JSON.stringify(keys)}`);
  const after = await balances();
  check(after.stock === before.stock + 3, `stock ${before.stock} → ${after.stock}, expected +3 once`);
});

await step('scan session: a shipment beyond the stock is refused on its line', async () => {
  const { stock } = await balances();
  await go('/scan');
  await choose('scan-setup_operation_type', 'Shipment to DC');
  await choose('scan-setup_distribution_center_id', /./);
  await blur();
  await scanKeys(UNKNOWN);
  await scanKeys(BARCODE);
  await page.getByTestId('scan-totals').getByText('Lines: 2, units: 2').waitFor();
  await page.getByTestId('scan-post').click();
  await page.getByTestId('scan-line-refusal').getByText(SHORTAGE).waitFor();
  await shot('scan-refused');
  const after = await balances();
  check(after.stock === stock, `stock changed by a refused batch: ${stock} → ${after.stock}`);
});

await step('camera: a barcode held in front of the camera is scanned once', async () => {
  const created = await apiPost('/api/products/', { barcode: EAN, brand: 'E2E Camera' });
  check(created.status === 201, `create ${EAN}: ${JSON.stringify(created.body)}`);
  await go('/scan');
  await page.getByTestId('scan-lines').waitFor();
  await page.getByTestId('camera-open').click();
  const video = page.locator('[data-testid=camera-video][data-decoder]');
  await video.waitFor({ timeout: 30_000 });
  console.log(`  # camera decoder: ${await video.getAttribute('data-decoder')}`);
  await page.getByTestId('scan-last').getByText(`Added ${EAN}`).waitFor({ timeout: 30_000 });
  await shot('camera');
  await dialog().locator('.ant-modal-footer').getByRole('button', { name: 'Close' }).click();
  await dialog().waitFor({ state: 'detached' });
  // The code stayed in view the whole time: one unit, not one per frame.
  check((await lineQuantity(EAN)) === 1, `camera counted ${await lineQuantity(EAN)}`);
});

let stocktakePath = '';

await step('stocktake: start a count of one product', async () => {
  await go('/stocktakes');
  await page.getByTestId('stocktakes-table').waitFor();
  await page.getByTestId('stocktake-start').click();
  await dialog().waitFor();
  await dialog().getByText('Chosen products').click();
  const picker = page.locator('.ant-select:has(#product_ids)');
  await picker.click();
  await page.keyboard.type(BARCODE);
  await page.locator('.ant-select-dropdown:has(#product_ids_list) .ant-select-item-option', { hasText: BARCODE }).first().click();
  await page.keyboard.press('Escape');
  await page.locator('#notes').fill(`e2e ${RUN_ID}`);
  await shot('stocktake-start');
  await dialog().getByRole('button', { name: 'Start' }).click();
  await page.waitForURL((url) => /^\/stocktakes\/[0-9a-f-]{36}$/.test(url.pathname));
  stocktakePath = new URL(page.url()).pathname;
  await page.locator('[data-testid=stocktake-status][data-status=open]').waitFor();
});

await step('stocktake: count by scanning and typing, review, approve', async () => {
  const before = await balances();
  await go(stocktakePath);
  await page.getByTestId('stocktake-lines').waitFor();
  await blur();
  for (let i = 0; i < 2; i += 1) {
    await scanKeys(BARCODE);
    await page.getByTestId('stocktake-last').getByText(`counted ${i + 1} good`).waitFor();
  }
  const defect = page.getByTestId(`count-defect-${BARCODE}`);
  await defect.fill(String(before.defect + 1));
  await defect.press('Enter');
  await page.getByTestId('stocktake-totals').getByText('1 / 1').waitFor();
  const expected = { good: 2 - before.stock, defect: 1 };
  const sign = (/** @type {number} */ n) => (n > 0 ? `+${n}` : String(n));
  await page.getByTestId('stocktake-difference').getByText(sign(expected.good)).waitFor();
  await shot('stocktake-count');
  await page.getByTestId('stocktake-lines-filter').getByText('Differences').click();
  await page.locator('[data-testid=stocktake-lines] tr', { hasText: BARCODE }).waitFor();
  await page.getByTestId('stocktake-approve').click();
  await dialog().waitFor();
  await page.locator('#reason').fill('browser test count');
  await shot('stocktake-approve');
  await dialog().getByRole('button', { name: 'Approve and post' }).click();
  await page.locator('[data-testid=stocktake-status][data-status=approved]').waitFor();
  await page.getByTestId('stocktake-reason').getByText('browser test count').waitFor();
  await shot('stocktake-approved');
  const after = await balances();
  check(after.stock === 2 && after.defect === before.defect + 1, `balances ${JSON.stringify(after)}, expected 2/${before.defect + 1}`);
  const ledger = await apiGet('/api/admin/ledger-check');
  check(ledger.status === 200 && ledger.body.consistent === true, `ledger ${JSON.stringify(ledger.body)}`);
  await go(`/movements?barcode=${BARCODE}&type=stocktake_stock`);
  await page.locator('[data-testid=movements-table] .ant-tag', { hasText: 'Stocktake: stock' }).first().waitFor();
});

await step('stocktakes: the list shows the approved count', async () => {
  await go('/stocktakes?status=approved');
  await page.locator('[data-testid=stocktakes-table] tr', { hasText: 'approved' }).first().waitFor();
  await shot('stocktakes');
});

await step('API docs: Swagger UI renders the OpenAPI document', async () => {
  await go('/api-docs/index.html');
  await page.locator('.opblock-summary-path', { hasText: '/api/stocktakes/{stocktake_id}/approve' }).first().waitFor({ timeout: 30_000 });
  await page.locator('.opblock-summary-path', { hasText: '/api/stock/movements/batch' }).first().waitFor();
  await shot('api-docs');
});

await step('status: the stack is healthy', async () => {
  await go('/status');
  await waitForStack('healthy', 60_000);
  await page.getByTestId('state-backend').waitFor();
  // The stack archives WAL (tests/e2e.sh gives it a backup volume): the backups are current.
  await page.locator('[data-testid=backup-status][data-status=ok]').waitFor({ timeout: 60_000 });
  await shot('status');
});

await step('status: degraded while a service is stopped, healthy again after start', async () => {
  if (STOP_CMD === undefined || START_CMD === undefined) {
    console.log('  # skipped: E2E_STOP_CMD / E2E_START_CMD not set');
    return;
  }
  execSync(STOP_CMD, { stdio: 'inherit' });
  await waitForStack('degraded', 30_000);
  await page.locator('[data-testid^=state-][data-state=stopped]').first().waitFor();
  await shot('status-degraded');
  execSync(START_CMD, { stdio: 'inherit' });
  await waitForStack('healthy', 60_000);
  await shot('status-recovered');
});

await step('keyboard: every focused control shows where the focus is', async () => {
  await go('/');
  await page.getByTestId('total-products').waitFor();
  await blur();
  /** @type {string[]} */
  const invisible = [];
  for (let i = 0; i < 25; i += 1) {
    await page.keyboard.press('Tab');
    const focus = await page.evaluate(() => {
      const el = document.activeElement;
      if (!(el instanceof HTMLElement) || el === document.body) return null;
      // A ring on the control or on the box drawn around it (a field's wrapper).
      let visible = false;
      for (let node = /** @type {HTMLElement | null} */ (el), depth = 0; node !== null && depth < 3; node = node.parentElement, depth += 1) {
        const style = getComputedStyle(node);
        if ((style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none') visible = true;
      }
      const name = el.getAttribute('aria-label') ?? el.getAttribute('placeholder') ?? el.textContent?.trim().slice(0, 30) ?? '';
      return { what: `${el.tagName.toLowerCase()} "${name}"`, visible };
    });
    if (focus !== null && !focus.visible) invisible.push(focus.what);
  }
  check(invisible.length === 0, `focus not visible on: ${invisible.join('; ')}`);
});

await step('language: switch to Russian, and it is remembered', async () => {
  await go('/');
  await page.getByTestId('lang-switch').getByText('RU', { exact: true }).click();
  await page.getByText('Всего товаров').waitFor();
  await page.reload();
  await page.getByText('Всего товаров').waitFor();
  await shot('dashboard-ru');
  await page.getByTestId('lang-switch').getByText('EN', { exact: true }).click();
});

await step('session: a 401 returns to login and back to the page after signing in', async () => {
  await go('/products');
  await page.evaluate(() => {
    const claims = btoa(JSON.stringify({ sub: 'x@y.z', exp: Math.floor(Date.now() / 1000) + 3600 }));
    localStorage.setItem('wms.token', `eyJhbGciOiJIUzI1NiJ9.${claims.replace(/=+$/, '')}.forged`);
  });
  await go('/movements?type=receipt');
  await page.waitForURL((url) => url.pathname === '/login');
  await page.getByText('You have been signed out').waitFor();
  await page.locator('#login_email').fill(EMAIL);
  await page.locator('#login_password').fill(PASSWORD);
  await page.getByTestId('login-submit').click();
  await page.waitForURL((url) => url.pathname === '/movements' && url.searchParams.get('type') === 'receipt');
});

await step('logout: returns to the login page', async () => {
  await page.getByTestId('logout').click();
  await page.waitForURL((url) => url.pathname === '/login');
  await go('/');
  await page.waitForURL((url) => url.pathname === '/login');
});

await context.close();
rmSync(profile, { recursive: true, force: true });
writeFileSync(join(ARTIFACTS, 'accessibility.txt'), `${a11yReport.join('\n')}\n`);
console.log(`screenshots: ${ARTIFACTS} (accessibility findings: accessibility.txt, ${a11yReport.length} minor or moderate)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
