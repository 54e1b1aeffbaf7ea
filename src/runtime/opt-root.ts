// /opt/ctlab outside an image, for the namespace runtime (bound into every node) and the VM guest
// (src/vm/): what the images carry (package.json, dist/bundle/, the NFQUEUE addon, the server's
// firewall.sh and nginx.conf) staged from the repository, or checked when given ready-made, and
// the NFQUEUE N-API addon built on the host for it (asynchronously, cached by source hash).

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BUNDLE_DIR, BUNDLES } from '../bundles.js';
import { CtlabError } from '../errors.js';
import { findRepoRoot } from '../util/repo-root.js';
import { missingMessage, missingPrograms, type HostProgram } from './host-programs.js';

/** Files an optRoot must have (relative paths), like the images' /opt/ctlab. */
export const OPT_ROOT_FILES = [
  'package.json',
  BUNDLES.middlebox.out,
  BUNDLES.harvester.out,
  BUNDLES.repository.out,
  BUNDLES.service.out,
  'native/nfqueue.node',
  'lab/server/firewall.sh',
  'lab/server/nginx.conf',
] as const;

export function assertOptRoot(dir: string): void {
  const missing = OPT_ROOT_FILES.filter((f) => !existsSync(join(dir, f)));
  if (missing.length) {
    throw new CtlabError('HOST', `${dir} is not a ctlab opt root: missing ${missing.join(', ')}`, {
      hint: 'stage one with stageOptRoot({ dest }) (needs `npm run build` and the NFQUEUE addon), or leave optRoot out to stage from the repository',
    });
  }
}

/** Programs needed only to build the NFQUEUE addon on the host (not when an optRoot is given). */
export const ADDON_BUILD_PROGRAMS: readonly HostProgram[] = [
  { program: 'gcc', pkg: 'gcc', why: 'builds the NFQUEUE addon' },
];

/**
 * Build the NFQUEUE N-API addon on the host with lab/middlebox/native/build.sh, cached by the
 * hash of its sources under <repo>/.cache/ctlab/native/ (N-API is ABI-stable across Node 18/20).
 */
export async function ensureAddon(o: { repoRoot?: string; log?: (m: string) => void } = {}): Promise<string> {
  // A prebuilt addon (the VM guest carries the host's; it has no compiler).
  const given = process.env.CTLAB_NFQUEUE_ADDON;
  if (given) {
    if (!existsSync(given))
      throw new CtlabError('HOST', `CTLAB_NFQUEUE_ADDON names ${given}, which does not exist`, {
        hint: 'unset it to build the addon from lab/middlebox/native',
      });
    return given;
  }
  const root = o.repoRoot ?? findRepoRoot();
  if (!root)
    throw new CtlabError('HOST', 'cannot find the ctlab repository to build the NFQUEUE addon from', {
      hint: 'pass optRoot with native/nfqueue.node',
    });
  const src = join(root, 'lab', 'middlebox', 'native');
  const h = createHash('sha256');
  for (const f of ['nfqueue.c', 'build.sh']) h.update(await readFile(join(src, f)));
  const dir = join(root, '.cache', 'ctlab', 'native', h.digest('hex').slice(0, 16));
  const file = join(dir, 'nfqueue.node');
  if (existsSync(file)) return file;
  const gcc = missingPrograms(ADDON_BUILD_PROGRAMS);
  if (gcc.missing.length) {
    const m = missingMessage(gcc.missing);
    throw new CtlabError('HOST', m.message, { hint: `${m.hint} libnetfilter-queue-dev libmnl-dev libnode-dev` });
  }
  await mkdir(dirname(dir), { recursive: true });
  const tmp = await mkdtemp(join(dirname(dir), 'build-'));
  o.log?.('building the NFQUEUE addon on the host');
  const r = await runBuild('sh', [join(src, 'build.sh'), tmp]);
  if (r.status !== 0) {
    await rm(tmp, { recursive: true, force: true });
    throw new CtlabError('HOST', 'building the NFQUEUE addon on the host failed', {
      command: ['sh', join(src, 'build.sh'), tmp],
      exitCode: r.status,
      stderr: r.stderr,
      hint: 'apt-get install -y gcc libc6-dev libnetfilter-queue-dev libmnl-dev libnode-dev',
    });
  }
  await mkdir(dir, { recursive: true });
  await rename(join(tmp, 'nfqueue.node'), file).catch(async (e) => {
    if (!existsSync(file)) throw e;
  });
  await rm(tmp, { recursive: true, force: true });
  return file;
}

/** Run the build script without blocking the event loop; its exit status (null: did not run) and stderr. */
function runBuild(cmd: string, args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    child.on('error', (e) => resolve({ status: null, stderr: stderr + e.message }));
    child.on('close', (code) => resolve({ status: code, stderr }));
  });
}

/**
 * Lay out `dest` like the images' /opt/ctlab: package.json (ESM), dist/bundle/ (the in-lab programs' bundles, a copy, so a rebuild
 * during a run changes nothing), native/nfqueue.node, lab/server/{firewall.sh,nginx.conf}.
 */
export async function stageOptRoot(o: {
  dest: string;
  repoRoot?: string;
  addon?: string;
  log?: (m: string) => void;
}): Promise<string> {
  const root = o.repoRoot ?? findRepoRoot();
  if (!root)
    throw new CtlabError('HOST', 'cannot find the ctlab repository to stage /opt/ctlab from', { hint: 'pass optRoot' });
  if (!Object.values(BUNDLES).every((b) => existsSync(join(root, b.out)))) {
    throw new CtlabError('HOST', `${join(root, BUNDLE_DIR)} is missing or incomplete`, {
      hint: 'run `npm run build` first',
    });
  }
  const addon = o.addon ?? (await ensureAddon({ repoRoot: root, log: o.log }));
  await mkdir(join(o.dest, 'native'), { recursive: true });
  await mkdir(join(o.dest, 'lab', 'server'), { recursive: true });
  await writeFile(join(o.dest, 'package.json'), '{"type":"module","private":true}\n');
  await cp(join(root, BUNDLE_DIR), join(o.dest, BUNDLE_DIR), { recursive: true });
  await cp(addon, join(o.dest, 'native', 'nfqueue.node'));
  await cp(join(root, 'lab', 'server', 'firewall.sh'), join(o.dest, 'lab', 'server', 'firewall.sh'));
  await cp(join(root, 'lab', 'server', 'nginx.conf'), join(o.dest, 'lab', 'server', 'nginx.conf'));
  assertOptRoot(o.dest);
  return o.dest;
}
