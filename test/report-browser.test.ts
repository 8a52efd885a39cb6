/**
 * reports/index.html, in a real browser (Debian's Chromium driven by
 * playwright-core): the grid shows the run's cells with the right verdicts,
 * a filter works, a detail view opens; a screenshot is saved in reports/.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { matrixOfRows, writeMatrix, type Matrix, type MatrixRow } from '../support/report/matrix';

const ROOT = resolve(__dirname, '..');
const CHROMIUM = process.env.TLS_CONFORMANCE_CHROMIUM ?? '/usr/bin/chromium';
const scratch = mkdtempSync(join(tmpdir(), 'grid-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A run of its own process: Cucumber registers step definitions once per process. */
function conformance(args: readonly string[]): number | null {
  return spawnSync(process.execPath, ['--require', 'ts-node/register/transpile-only', 'bin/conformance.ts', ...args], { cwd: ROOT, stdio: 'ignore', env: { ...process.env, TLS_CONFORMANCE_REQUIRE_ALL: '' } }).status;
}
// CI installs Chromium and must not pass by skipping this test.
const skip = !existsSync(CHROMIUM) && process.env.TLS_CONFORMANCE_REQUIRE_ALL !== '1' ? `no Chromium at ${CHROMIUM} (apt-get install -y chromium)` : false;

interface Row {
  verdict: string;
  expected: string;
  location: string;
  server: { implementation: string };
  client: { implementation: string };
  outcome: { verdict: string; reason: string | null } | null;
}

describe('the combination grid in a browser', { skip }, () => {
  it('shows every cell with its verdict, filters, opens a detail view, and compares with an earlier run', async () => {
    const reports = join(scratch, 'reports');
    const args = ['--rule', 'mutual.server-requires-client-cert', '--rule', 'mutual.optional', '--servers', 'node,nginx', '--clients', 'axios,curl', '--reports', reports];
    assert.equal(conformance(args), 0);
    const matrix = JSON.parse(readFileSync(join(reports, 'matrix.json'), 'utf8')) as { rows: Row[] };
    // An earlier run in which one cell had another outcome: --compare must mark exactly that one.
    const earlier = structuredClone(matrix);
    earlier.rows[0]!.outcome = { ...earlier.rows[0]!.outcome!, verdict: 'connected', reason: null };
    writeFileSync(join(scratch, 'earlier.json'), JSON.stringify(earlier));
    assert.equal(conformance([...args, '--compare', join(scratch, 'earlier.json')]), 0);

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
      await page.goto(`file://${join(reports, 'index.html')}`);
      const cells = page.locator('td.cell[id]');
      assert.equal(await cells.count(), matrix.rows.length, 'one cell per combination and pair');
      for (const verdict of ['as expected', 'expected deviation', 'violated']) {
        assert.equal(await page.locator(`td.cell[id][data-verdict="${verdict}"]`).count(), matrix.rows.filter((r) => r.verdict === verdict).length, verdict);
      }
      assert.ok((await page.locator('td.cell.dev').count()) > 0, 'nginx answers 400: expected deviations are shown');
      assert.equal(await page.locator('td.cell.changed').count(), 1, 'the one changed cell is marked');

      await page.selectOption('#f-verdict', 'expected deviation');
      const deviations = matrix.rows.filter((r) => r.verdict === 'expected deviation').length;
      assert.equal(await page.locator('#f-count').textContent(), `${deviations} cells shown`);
      assert.equal(await page.locator('td.cell[id]:not(.dim):not(.hidden)').count(), deviations);
      await page.selectOption('#f-verdict', '');
      await page.selectOption('#f-impl', 'server:node');
      assert.equal(await page.locator('th.pair:not(.hidden)').count(), 2, 'only the node columns');
      await page.selectOption('#f-impl', '');

      const cell = page.locator('td.cell.dev').first();
      await cell.click();
      const detail = page.locator('#detail');
      assert.equal(await detail.isVisible(), true);
      const text = (await detail.textContent()) ?? '';
      assert.match(text, /nginx × /);
      assert.match(text, /nginx-answers-http-400/);
      assert.match(text, /expected/);
      assert.match(text, /evidence \(both ends\)/);
      mkdirSync(join(ROOT, 'reports'), { recursive: true });
      await page.screenshot({ path: join(ROOT, 'reports', 'index.png') });
    } finally {
      await browser.close();
    }
  });

  it('stays usable at the size of the whole grid: opens and filters in ≤ 2 s, and grows with the number of cells, no faster', async () => {
    // One real run gives the cells' shape (evidence of both ends, checks); the grid of every rule on 8 servers × 8
    // clients is then built from them: ~165 combinations × 64 pairs.
    const reports = join(scratch, 'small');
    assert.equal(conformance(['--rule', 'mutual.server-requires-client-cert', '--rule', 'one-way.client-verifies-server', '--servers', 'node', '--clients', 'axios', '--reports', reports]), 0);
    const small = JSON.parse(readFileSync(join(reports, 'matrix.json'), 'utf8')) as Matrix;
    const servers = ['node', 'python-eventlet', 'python-context', 'openssl', 'nginx', 'apache', 'go', 'gnutls'];
    const clients = ['axios', 'requests', 'python-context', 'openssl', 'curl', 'go', 'gnutls', 'chromium'];
    const grid = (combinations: number): Matrix => {
      const rows: MatrixRow[] = [];
      for (let c = 0; c < combinations; c++) {
        const template = small.rows[c % small.rows.length]!;
        const location = `features/scale.feature:${c + 1}`;
        for (const server of servers) for (const client of clients) rows.push({ ...template, location, scenario: `${template.scenario} #${c}`, server: { ...template.server, implementation: server }, client: { ...template.client, implementation: client } });
      }
      return matrixOfRows(rows, { servers: servers.map((name) => ({ name, version: 'x' })), clients: clients.map((name) => ({ name, version: 'x' })), missing: [] }, []);
    };
    const sizes = (combinations: number): { json: number; html: number; dir: string } => {
      const dir = join(scratch, `scale-${combinations}`);
      writeMatrix(dir, grid(combinations));
      return { json: statSync(join(dir, 'matrix.json')).size, html: statSync(join(dir, 'index.html')).size, dir };
    };
    const half = sizes(85);
    const whole = sizes(170);
    // Twice the cells: at most a little more than twice the bytes (a fixed part, the page's script and style, is shared).
    assert.ok(whole.json / half.json <= 2.05, `matrix.json ${half.json} → ${whole.json} bytes`);
    assert.ok(whole.html / half.html <= 2.05, `index.html ${half.html} → ${whole.html} bytes`);

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
      const opened = performance.now();
      await page.goto(`file://${join(whole.dir, 'index.html')}`, { waitUntil: 'load' });
      await page.waitForFunction(() => /cells shown/.test(document.getElementById('f-count')?.textContent ?? ''));
      const openMs = performance.now() - opened;
      assert.equal(await page.locator('td.cell[id]').count(), 170 * 64);
      const filters: [string, string][] = [['#f-verdict', 'violated'], ['#f-impl', 'client:chromium'], ['#f-rule', 'one-way.client-verifies-server'], ['#f-verdict', ''], ['#f-impl', ''], ['#f-rule', '']];
      const filterMs: number[] = [];
      for (const [select, value] of filters) {
        const before = await page.locator('#f-count').textContent();
        const started = performance.now();
        await page.selectOption(select, value);
        await page.waitForFunction((was) => document.getElementById('f-count')!.textContent !== was || true, before);
        filterMs.push(performance.now() - started);
      }
      const started = performance.now();
      await page.locator('td.cell[id]').nth(5000).click();
      await page.locator('#detail').waitFor({ state: 'visible' });
      const detailMs = performance.now() - started;
      console.log(`# grid of ${170 * 64} cells: index.html ${(whole.html / 1e6).toFixed(1)} MB, matrix.json ${(whole.json / 1e6).toFixed(1)} MB; opened in ${openMs.toFixed(0)} ms; filters ${filterMs.map((m) => m.toFixed(0)).join(', ')} ms; a cell's detail ${detailMs.toFixed(0)} ms`);
      assert.ok(openMs <= 2000, `opened in ${openMs.toFixed(0)} ms`);
      for (const took of filterMs) assert.ok(took <= 2000, `a filter answered in ${took.toFixed(0)} ms`);
      assert.ok(detailMs <= 2000, `a detail opened in ${detailMs.toFixed(0)} ms`);
    } finally {
      await browser.close();
    }
  });
});
