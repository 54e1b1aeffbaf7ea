import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCpio } from '../../../src/vm/cpio.js';
import { baseKey, GUEST_PACKAGES, prodDependencyDirs, writeJobCpio } from '../../../src/vm/guest.js';
import { repoRoot } from '../../../src/util/repo-root.js';
import { shq } from '../../../src/util/shq.js';

async function pkg(dir: string, name: string, deps: Record<string, string> = {}, extra: object = {}) {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', dependencies: deps, ...extra }));
}

describe('production dependencies', () => {
  it("follows node's resolution: nested copies, hoisted ones, optional ones that are absent", async () => {
    const root = await mkdtemp(join(tmpdir(), 'ctlab-deps-'));
    await pkg(root, 'ctlab', { a: '1', '@s/b': '1' }, { devDependencies: { vitest: '1' } });
    await pkg(join(root, 'node_modules', 'a'), 'a', { c: '1' }, { optionalDependencies: { gone: '1' } });
    await pkg(join(root, 'node_modules', '@s', 'b'), '@s/b', { c: '2' });
    await pkg(join(root, 'node_modules', '@s', 'b', 'node_modules', 'c'), 'c'); // b's own c
    await pkg(join(root, 'node_modules', 'c'), 'c');
    await pkg(join(root, 'node_modules', 'vitest'), 'vitest');
    const got = prodDependencyDirs(root).map((d) => d.slice(root.length + 1));
    expect(got).toEqual(['node_modules/@s/b', 'node_modules/@s/b/node_modules/c', 'node_modules/a', 'node_modules/c']);
  });
  it('a missing required dependency is an error that says to install', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ctlab-deps-'));
    await pkg(root, 'ctlab', { zod: '3' });
    expect(() => prodDependencyDirs(root)).toThrow(/zod .* not installed/);
  });
  it("the repository's CLI dependencies are all found", () => {
    const names = prodDependencyDirs(repoRoot()).map((d) => d.split('node_modules/').pop());
    for (const n of ['commander', 'yaml', 'zod', 'execa', 'dockerode']) expect(names).toContain(n);
    expect(names).not.toContain('vitest');
    expect(names).not.toContain('typescript');
  });
});

describe('guest pieces', () => {
  it('the base key changes with the package list and the script', () => {
    const k = baseKey('script');
    expect(baseKey('script')).toBe(k);
    expect(baseKey('script2')).not.toBe(k);
    expect(baseKey('script', [...GUEST_PACKAGES, 'gdb'])).not.toBe(k);
    expect(baseKey('script', [...GUEST_PACKAGES].reverse())).toBe(k); // order does not matter
  });

  it('quotes anything for sh', () => {
    const tricky = ["it's", '$(reboot)', 'a b', '"q"', '\\', ''];
    const out = execFileSync('sh', ['-c', `printf '%s\\n' ${tricky.map(shq).join(' ')}`], { encoding: 'utf8' });
    expect(out).toBe(tricky.map((t) => `${t}\n`).join(''));
  });

  it('the job cpio carries init, job, scenario, env and the repository; the env restores the arguments', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctlab-job-'));
    const scenario = join(dir, 's.yaml');
    await writeFile(scenario, 'name: x\n');
    const root = repoRoot();
    const args = ['--seed', '7', '--variant', "flag off's", '$(x)'];
    writeJobCpio(join(dir, 'job.cpio'), {
      scenarioFile: scenario,
      jobScript: join(root, 'lab', 'vm', 'job-run.sh'),
      env: { CTLAB_VM_JOB_TIMEOUT: '600' },
      args,
      modules: ['veth', 'nf_log_syslog|nf_log_ipv4'],
    });
    const entries = readCpio(await readFile(join(dir, 'job.cpio')));
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(byName.get('init')!.mode & 0o111).not.toBe(0);
    expect(byName.get('job/scenario.yaml')!.content.toString()).toBe('name: x\n');
    expect(byName.has('opt/ctlab/package.json')).toBe(true);
    expect(byName.has('opt/ctlab/bin/ctlab.js')).toBe(true);
    expect(byName.has('opt/ctlab/lab/vm/smoke.mjs')).toBe(true);
    expect([...byName.keys()].some((n) => n.startsWith('opt/ctlab/dist/test/'))).toBe(false);
    expect([...byName.keys()].some((n) => n.endsWith('.map'))).toBe(false);
    const env = join(dir, 'env');
    await writeFile(env, byName.get('job/env')!.content);
    const out = execFileSync(
      'sh',
      ['-c', `. ${env}; echo "$CTLAB_VM_JOB_TIMEOUT|$CTLAB_VM_MODULES"; printf '%s\\n' "$@"`],
      { encoding: 'utf8' },
    );
    expect(out).toBe(`600|veth nf_log_syslog|nf_log_ipv4\n${args.join('\n')}\n`);
  });

  it('a missing scenario file is a SCENARIO error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ctlab-job-'));
    expect(() =>
      writeJobCpio(join(dir, 'job.cpio'), {
        scenarioFile: join(dir, 'nope.yaml'),
        jobScript: join(repoRoot(), 'lab', 'vm', 'job-run.sh'),
        env: {},
        args: [],
        modules: [],
      }),
    ).toThrow(/does not exist/);
  });
});
