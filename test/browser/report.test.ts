// Renders report.html, built from a real run's evidence, in headless Chromium: the page loads
// offline, its charts draw, and a screenshot is kept under the test's temp dir for a human look.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect } from 'vitest';
import { analyzeRun } from '../../src/evidence/index.js';
import { writeReports } from '../../src/report/reports.js';
import type { RunResult } from '../../src/result/types.js';
import { gate, itWith } from '../gate.js';

const run = promisify(execFile);
const FIX = join(import.meta.dirname, '../fixtures/evidence/run');
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

function flags(profile: string): string[] {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    `--user-data-dir=${profile}`,
  ];
}

describe('report.html in Chromium', () => {
  itWith(
    gate(!CHROMIUM && 'chromium (apt-get install -y chromium)'),
    'loads offline, draws its charts and screenshots',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'ctlab-report-'));
      await cp(FIX, dir, { recursive: true });
      const r = JSON.parse(await readFile(join(dir, 'result.json'), 'utf8')) as RunResult;
      r.scenario = '<script>alert(1)</script>';
      const { html } = await writeReports(r, dir, await analyzeRun(r, dir));
      const url = `file://${html}`;

      const dom = (
        await run(CHROMIUM!, [...flags(join(dir, 'profile-dom')), '--dump-dom', url], {
          maxBuffer: 64 << 20,
          timeout: 60_000,
        })
      ).stdout;
      // The page's own script counted the charts and their data points after load.
      const drawn = /data-charts-drawn="(\d+):(\d+)"/.exec(dom);
      expect(drawn, 'the marker script did not run').not.toBeNull();
      expect(Number(drawn![1])).toBe(6);
      expect(Number(drawn![2])).toBeGreaterThan(42);
      expect((dom.match(/<rect class="pt"/g) ?? []).length).toBeGreaterThan(42);
      // The hostile scenario name is text, not a script that ran.
      expect(dom).toContain('ctlab report: &lt;script&gt;alert(1)&lt;/script&gt;');

      const shot = join(dir, 'report.png');
      await run(
        CHROMIUM!,
        [...flags(join(dir, 'profile-shot')), `--screenshot=${shot}`, '--window-size=1280,2000', url],
        { timeout: 60_000 },
      );
      expect((await stat(shot)).size).toBeGreaterThan(50_000);
      console.log(`screenshot: ${shot}`);
    },
    120_000,
  );
});
