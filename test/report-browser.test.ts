/**
 * reports/index.html, in a real browser (Debian's Chromium driven by
 * playwright-core): the grid shows the run's cells with the right verdicts,
 * a filter works, a detail view opens; a screenshot is saved in reports/.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { chromium } from 'playwright-core';

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
});
