// The CLI's other promises, through `node bin/ctlab.js`: --help, `validate` on every shipped
// scenario, and Docker unreachable is exit 3 with a message that says to run scripts/setup.sh
// (no stack trace). Docker is made unreachable with DOCKER_HOST, so these run without Docker.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, CANONICAL, ctlab, lines, NO_DOCKER, REPO, STACK_FRAME, tempDir } from './cli.js';

beforeAll(assertBuilt);

const SCENARIOS = readdirSync(join(REPO, 'scenarios'))
  .filter((f) => /\.ya?ml$/.test(f))
  .sort()
  .map((f) => `scenarios/${f}`);

describe('ctlab --help', () => {
  it('lists every command and exits 0', async () => {
    const r = await ctlab(['--help'], { env: NO_DOCKER });
    expect(r.exitCode).toBe(0);
    for (const cmd of ['run', 'validate', 'images', 'clean', 'doctor'])
      expect(r.stdout).toMatch(new RegExp(`^\\s+${cmd}\\b`, 'm'));
  });

  it('run --help documents the options the README promises', async () => {
    const r = await ctlab(['run', '--help'], { env: NO_DOCKER });
    expect(r.exitCode).toBe(0);
    for (const opt of ['--out <dir>', '--seed <n>', '--variant <name...>', '--json']) expect(r.stdout).toContain(opt);
  });

  it('no command at all prints the usage and is a usage error, not a crash', async () => {
    const r = await ctlab([], { env: NO_DOCKER });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/Usage: ctlab/);
    expect(r.stderr).not.toMatch(STACK_FRAME);
  });
});

describe('ctlab validate', () => {
  it('finds scenarios to check', () => {
    expect(SCENARIOS).toContain('scenarios/harvester-asa.yaml');
  });

  it('passes every file in scenarios/, one "ok" line each, without Docker', async () => {
    const r = await ctlab(['validate', ...SCENARIOS], { env: NO_DOCKER });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(lines(r.stdout)).toEqual(
      SCENARIOS.map((f) =>
        expect.stringMatching(new RegExp(`^${f.replace(/\./g, '\\.')}: ok \\(\\d+ variants?: .+\\)$`)),
      ),
    );
  });

  it('--json prints the validated model (defaults filled in)', async () => {
    const r = await ctlab(['validate', '--json', 'scenarios/harvester-asa.yaml'], { env: NO_DOCKER });
    expect(r.exitCode).toBe(0);
    const m = JSON.parse(r.stdout) as {
      name: string;
      seed: number;
      variants: { name: string; sysctls: Record<string, string> }[];
    };
    expect(m.name).toBe('harvester-asa');
    expect(m.variants.map((v) => [v.name, String(v.sysctls['net.netfilter.nf_conntrack_tcp_be_liberal'])])).toEqual([
      ['flag-off', '0'],
      ['flag-on', '1'],
    ]);
  });

  it('one bad file among good ones fails the whole command with exit 2', async () => {
    const r = await ctlab(['validate', 'scenarios/harvester-asa.yaml', 'scenarios/does-not-exist.yaml'], {
      env: NO_DOCKER,
    });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^ctlab: cannot read scenario scenarios\/does-not-exist\.yaml: no such file/);
  });
});

describe('Docker unreachable: exit 3, says to run scripts/setup.sh, no stack trace', () => {
  it('ctlab run', async () => {
    const cwd = tempDir('ctlab-nodocker-');
    const r = await ctlab(['run', CANONICAL], { cwd, env: NO_DOCKER });
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('Docker is unreachable');
    expect(r.stderr).toContain(NO_DOCKER.DOCKER_HOST.slice('unix://'.length)); // names the socket it tried
    expect(r.stderr).toMatch(/fix: .*scripts\/setup\.sh/);
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(r.stderr).not.toContain('unexpected error');
    expect(r.stdout).toBe('');
  });

  // `clean` names a run no one uses: a bare `ctlab clean` as root would also remove every
  // namespace lab on the machine, including ones other test files or people are running.
  for (const args of [['images'], ['clean', '--run', 'no-such-run-for-this-test']]) {
    it(`ctlab ${args.join(' ')}`, async () => {
      const r = await ctlab(args, { env: NO_DOCKER });
      expect(r.exitCode).toBe(3);
      expect(r.stderr).toMatch(/fix: .*scripts\/setup\.sh/);
      expect(r.stderr).not.toMatch(STACK_FRAME);
    });
  }

  it('ctlab clean --vm-cache removes the VM cache even without Docker, and says how much', async () => {
    const base = mkdtempSync(join(tmpdir(), 'ctlab-cache-'));
    mkdirSync(join(base, 'vm', 'kernels'), { recursive: true });
    writeFileSync(join(base, 'vm', 'kernels', 'k'), Buffer.alloc(3_000_000));
    const r = await ctlab(['clean', '--vm-cache', '--run', 'no-such-run-for-this-test'], {
      env: { ...NO_DOCKER, CTLAB_CACHE: base },
    });
    expect(r.stdout).toContain(`removed the VM cache ${join(base, 'vm')} (3 MB)`);
    expect(existsSync(join(base, 'vm'))).toBe(false);
    expect(existsSync(base)).toBe(true); // only the VM part of the cache
    expect(r.exitCode).toBe(3); // and then Docker was unreachable
    rmSync(base, { recursive: true, force: true });
  });

  it('ctlab doctor marks Docker FAIL with the fix, still reports the kernel, exits 3', async () => {
    const r = await ctlab(['doctor'], { env: NO_DOCKER });
    expect(r.exitCode).toBe(3);
    const out = lines(r.stdout);
    const i = out.findIndex((l) => /^FAIL\s+Docker/.test(l));
    expect(i, r.stdout).toBeGreaterThanOrEqual(0);
    expect(out[i + 1]).toMatch(/^\s+fix: .*scripts\/setup\.sh/);
    expect(out).toContainEqual(expect.stringMatching(/^info\s+kernel \d+\.\d+/));
    expect(r.stdout + r.stderr).not.toMatch(STACK_FRAME);
  });
});
