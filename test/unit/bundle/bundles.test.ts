// The in-lab programs as the lab runs them: each bundle (dist/bundle/*.mjs, from `npm run build`)
// copied alone into an empty directory with no node_modules anywhere above it, run with node.
// Usage mistakes print one line (harvester, repository: exit 2; middlebox: exit 1, its one
// failure code), the middlebox validates its config with the bundled zod schema.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLES } from '../../../src/bundles.js';
import { roleContextFiles } from '../../../src/runtime/images.js';
import { repoRoot } from '../../../src/util/repo-root.js';
import { OPT_ROOT_FILES } from '../../../src/runtime/opt-root.js';
import { PATHS } from '../../../src/topology/build.js';

const root = repoRoot();
let dir: string;

function run(name: keyof typeof BUNDLES, args: string[]) {
  const r = spawnSync(process.execPath, [join(dir, `${name}.mjs`), ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ctlab-bundles-'));
  for (let d = dir; dirname(d) !== d; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules')))
      throw new Error(`${d}/node_modules exists: the bundles would not be tested alone`);
  }
  for (const [name, b] of Object.entries(BUNDLES)) {
    const file = join(root, b.out);
    if (!existsSync(file)) throw new Error(`${b.out} is missing: run npm run build`);
    copyFileSync(file, join(dir, `${name}.mjs`));
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the bundled in-lab programs', () => {
  it('import nothing but Node built-ins (zod and the project modules are inside)', () => {
    for (const b of Object.values(BUNDLES)) {
      const text = readFileSync(join(root, b.out), 'utf8');
      const specifiers = [...text.matchAll(/^\s*import\s[^;]*?from\s*"([^"]+)"|^\s*import\s*"([^"]+)"/gm)].map(
        (m) => m[1] ?? m[2],
      );
      expect(specifiers.length, b.out).toBeGreaterThan(0);
      expect(
        specifiers.filter((s) => !s!.startsWith('node:')),
        b.out,
      ).toEqual([]);
    }
  });

  it('harvester: --help, and usage mistakes as one line with exit 2', () => {
    const help = run('harvester', ['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: harvester\.mjs --base-url URL/);
    for (const argv of [
      [],
      ['--base-url'],
      ['--base-url', 'http://127.0.0.1/oai', '--retries', 'three'],
      ['--base-url', 'http://127.0.0.1/oai', '--frobnicate'],
      ['--base-url', 'https://x/oai'],
    ]) {
      const r = run('harvester', argv);
      expect(r.status, argv.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), argv.join(' ')).toHaveLength(1);
      expect(r.stderr, argv.join(' ')).toMatch(/^ctlab-harvester: .* \(try --help\)\n$/);
    }
  });

  it('repository: writes the repository; usage mistakes as one line with exit 2', () => {
    const out = join(dir, 'oai');
    const r = run('repository', [
      '--out',
      out,
      '--records',
      '250',
      '--page-size',
      '100',
      '--record-bytes',
      '1200',
      '--seed',
      '4',
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ out, records: 250, pages: 3 });
    expect(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).options).toMatchObject({
      records: 250,
      pageSize: 100,
      recordBytes: 1200,
      seed: 4,
    });
    for (const argv of [
      ['--records', '5'],
      ['--out', out, '--page-size', 'ten'],
      ['--out', out, '--bogus', '1'],
      ['--out'],
    ]) {
      const bad = run('repository', argv);
      expect(bad.status, argv.join(' ')).toBe(2);
      expect(bad.stderr.trim().split('\n'), argv.join(' ')).toHaveLength(1);
    }
  });

  it('middlebox: --help; a missing --config or a bad config is one line and exit 1, before binding any queue', () => {
    const help = run('middlebox', ['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toBe('usage: middlebox.mjs --config FILE\n');
    const none = run('middlebox', []);
    expect(none.status).toBe(1);
    expect(none.stderr).toBe('middlebox: fatal: --config FILE is required (usage: middlebox.mjs --config FILE)\n');
    const cfg = join(dir, 'bad.json');
    // A whole config but for one value past the scenario schema's limit (one delay limit everywhere).
    const profile = {
      name: 't',
      isn: { client: true, server: true },
      sackTranslation: false,
      options: { sackPermitted: { strip: 'none' }, windowScale: { strip: 'none' }, timestamps: { strip: 'none' } },
    };
    const path = { delayMs: 6000, rateMbit: 0, loss: { kind: 'none' }, reorder: { rate: 0, extraDelayMs: 0 } };
    writeFileSync(
      cfg,
      JSON.stringify({
        queue: 0,
        seed: 1,
        profile,
        path,
        countersFile: join(dir, 'c.json'),
        flowsFile: join(dir, 'f.jsonl'),
      }),
    );
    const bad = run('middlebox', ['--config', cfg]);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toBe(
      `middlebox: fatal: middlebox config ${cfg}: path.delayMs: must be at most 5000 (got 6000)\n`,
    );
    writeFileSync(cfg, JSON.stringify({ queue: 0, seed: 1 }));
    const partial = run('middlebox', ['--config', cfg]);
    expect(partial.status).toBe(1);
    expect(partial.stderr).toBe(
      `middlebox: fatal: middlebox config ${cfg}: profile: required (object) (and 3 more problems)\n`,
    );
  });
});

describe('where the bundles go', () => {
  const byRole = {
    middlebox: [BUNDLES.middlebox.out],
    harvester: [BUNDLES.harvester.out],
    server: [BUNDLES.repository.out, BUNDLES.service.out],
  } as const;

  it('each role image is sent and copies its bundles to the same path under /opt/ctlab', async () => {
    for (const [role, outs] of Object.entries(byRole)) {
      const files = (await roleContextFiles(root, `lab/${role}`)).map((f) => f.path);
      expect(
        files.filter((f) => f.startsWith('dist/')),
        role,
      ).toEqual(outs);
      for (const out of outs)
        expect(readFileSync(join(root, `lab/${role}/Dockerfile`), 'utf8'), role).toContain(
          `COPY ${out} ${PATHS.optRoot}/${out}\n`,
        );
    }
  });

  it('every bundle goes into some role image', () => {
    expect(Object.values(byRole).flat().sort()).toEqual(
      Object.values(BUNDLES)
        .map((b) => b.out)
        .sort(),
    );
  });

  it('the namespace runtime stages every bundle', () => {
    for (const b of Object.values(BUNDLES)) expect(OPT_ROOT_FILES).toContain(b.out);
  });
});
