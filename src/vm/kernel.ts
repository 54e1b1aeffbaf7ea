// resolveKernel(spec): a bootable kernel image, its release string and its modules, all in the
// cache. Debian series are fetched with a private apt (src/vm/apt.ts) and kept by the .deb's
// sha256; a second resolution of the same series reads a small index and touches no network
// (it re-checks the mirror once the index is a week old, and keeps the cached kernel if the
// mirror is unreachable).
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CtlabError } from '../errors.js';
import {
  aptDownload,
  aptPackageNames,
  aptShow,
  aptUpdate,
  debFileName,
  hostSources,
  mirrorFor,
  preparePrivateApt,
} from './apt.js';
import { cacheRoot, exists, produce, run, sha256, sha256File, writeFileAtomic } from './cache.js';
import { packModules } from './modules.js';
import { parseKernelSpec, pickKernelPackage, type DebianSeries } from './spec.js';

export interface KernelImage {
  /** What the user named: "6.1", "path:/boot/vmlinuz-x,/lib/modules/x". */
  spec: string;
  /** The kernel release (`uname -r` in the guest). */
  release: string;
  /** The bzImage to boot (in the cache for Debian kernels). */
  image: string;
  /** lib/modules/<release>, or undefined for a kernel without modules. */
  modulesDir?: string;
  /** Content key: the .deb's sha256, or a hash of the image and the modules folder listing. */
  key: string;
  /** Where it came from, for logs: "linux-image-6.1.0-37-cloud-amd64 6.1.140-1 (bookworm)". */
  source: string;
}

/** How long a resolved series is trusted before the mirror is asked again. */
const INDEX_TTL_MS = 7 * 24 * 3600_000;

/**
 * The release string embedded in a bzImage (the x86 boot protocol: "HdrS" at 0x202, a pointer
 * to the version string at 0x20e, relative to 0x200). Undefined when the file is not a bzImage.
 */
export function bzImageRelease(head: Buffer): string | undefined {
  if (head.length < 0x210 || head.toString('ascii', 0x202, 0x206) !== 'HdrS') return undefined;
  const off = head.readUInt16LE(0x20e) + 0x200;
  if (off >= head.length) return undefined;
  const end = head.indexOf(0, off);
  const text = head.toString('latin1', off, end < 0 ? Math.min(head.length, off + 256) : end);
  const release = text.split(' ')[0];
  return release && /^\d+\.\d+/.test(release) ? release : undefined;
}

async function readHead(path: string, bytes = 64 * 1024): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(b, 0, bytes, 0);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

export async function resolveKernel(spec: string, progress: (m: string) => void = () => {}): Promise<KernelImage> {
  const k = parseKernelSpec(spec);
  if (k.kind === 'debian') return resolveDebian(k.spec, k.debian, progress);
  return resolvePath(k.spec, k.image, k.modulesDir);
}

async function resolvePath(spec: string, image: string, modulesDir?: string): Promise<KernelImage> {
  let head: Buffer;
  try {
    head = await readHead(image);
  } catch (e) {
    throw new CtlabError('SCENARIO', `kernel image ${image} cannot be read: ${(e as Error).message}`, {
      hint: 'give the path of a bzImage / vmlinuz file',
      cause: e,
    });
  }
  const release = bzImageRelease(head);
  if (!release)
    throw new CtlabError('SCENARIO', `${image} is not an x86 bzImage (no boot header)`, {
      hint: 'pass the compressed kernel (arch/x86/boot/bzImage or /boot/vmlinuz-*), not vmlinux',
    });
  let mods = modulesDir;
  if (!mods && (await exists(join('/lib/modules', release, 'modules.dep')))) mods = join('/lib/modules', release);
  if (mods) {
    if (!(await exists(join(mods, 'modules.dep')))) {
      throw new CtlabError('SCENARIO', `${mods} has no modules.dep`, {
        hint: `point at the kernel's lib/modules/<release> folder (run depmod -b <root> ${release} if it was never indexed)`,
      });
    }
    if (basename(mods) !== release) {
      throw new CtlabError('SCENARIO', `modules folder ${mods} is for ${basename(mods)}, but ${image} is ${release}`, {
        hint: `use the modules built with that kernel (lib/modules/${release})`,
      });
    }
  }
  const st = await stat(image);
  const key = sha256(
    await sha256File(image),
    mods ? await readFile(join(mods, 'modules.dep'), 'utf8') : '',
    String(st.size),
  ).slice(0, 24);
  return { spec, release, image, modulesDir: mods, key, source: image };
}

interface SeriesIndex {
  pkg: string;
  version: string;
  release: string;
  sha256: string;
  suite: string;
  resolvedAt: string;
}

async function resolveDebian(spec: string, d: DebianSeries, progress: (m: string) => void): Promise<KernelImage> {
  const root = cacheRoot();
  const indexFile = join(root, 'kernels', 'index', `${d.series}.json`);
  let index: SeriesIndex | undefined;
  try {
    index = JSON.parse(await readFile(indexFile, 'utf8')) as SeriesIndex;
  } catch {
    /* first time */
  }
  const fresh = index && Date.now() - Date.parse(index.resolvedAt) < INDEX_TTL_MS && !process.env.CTLAB_VM_REFRESH;
  if (index && fresh) {
    const k = await kernelFromCache(spec, index);
    if (k) return k;
  }
  let resolved: SeriesIndex;
  try {
    resolved = await fetchDebian(d, progress);
  } catch (e) {
    if (index) {
      const k = await kernelFromCache(spec, index);
      if (k) {
        progress(
          `kernel ${spec}: cannot check the mirror (${(e as Error).message}); using the cached ${index.pkg} ${index.version}`,
        );
        return k;
      }
    }
    throw e;
  }
  await writeFileAtomic(indexFile, `${JSON.stringify(resolved, null, 2)}\n`);
  const k = await kernelFromCache(spec, resolved);
  if (!k)
    throw new CtlabError('KERNEL', `kernel ${spec}: ${resolved.pkg} was downloaded but its files are not in the cache`);
  return k;
}

function kernelDir(sha: string): string {
  return join(cacheRoot(), 'kernels', sha.slice(0, 24));
}

async function kernelFromCache(spec: string, ix: SeriesIndex): Promise<KernelImage | undefined> {
  const dir = kernelDir(ix.sha256);
  const image = join(dir, `vmlinuz-${ix.release}`);
  const modulesDir = join(dir, 'modules', ix.release);
  if (!(await exists(image)) || !(await exists(join(modulesDir, 'modules.dep')))) return undefined;
  return {
    spec,
    release: ix.release,
    image,
    modulesDir,
    key: ix.sha256.slice(0, 24),
    source: `${ix.pkg} ${ix.version} (${ix.suite})`,
  };
}

async function fetchDebian(d: DebianSeries, progress: (m: string) => void): Promise<SeriesIndex> {
  const mirror = mirrorFor(d.archive, await hostSources());
  if (!mirror) {
    throw new CtlabError('HOST', `no Debian mirror for ${d.archive} in the host's apt sources`, {
      hint: `add one to /etc/apt/sources.list.d, or set ${d.archive === 'debian' ? 'CTLAB_DEBIAN_MIRROR' : 'CTLAB_DEBIAN_SECURITY_MIRROR'}=http://<mirror>/${d.archive}`,
    });
  }
  const apt = await preparePrivateApt(join(cacheRoot(), 'apt'), mirror, d.suite);
  const t0 = Date.now();
  progress(`kernel ${d.series}: apt-get update of ${d.suite} (private apt in ${apt.dir})`);
  await aptUpdate(apt);
  const pick = pickKernelPackage(await aptPackageNames(apt, 'linux-image-'), d.series);
  if (!pick)
    throw new CtlabError('KERNEL', `no linux-image-${d.series}.*-cloud-amd64 package in ${d.suite} at ${mirror}`, {
      hint: 'the mirror does not carry that series; pass a kernel as path:<bzImage>,<modules dir> instead',
    });
  const info = await aptShow(apt, pick.pkg);
  const version = info.Version;
  const want = info.SHA256;
  if (!version) throw new CtlabError('KERNEL', `apt-cache show ${pick.pkg} gave no Version`);
  const deb = join(apt.debDir, debFileName(pick.pkg, version, info.Architecture || 'amd64'));
  if (!(await exists(deb)) || (want && (await sha256File(deb)) !== want)) {
    progress(
      `kernel ${d.series}: downloading ${pick.pkg} ${version}${info.Size ? ` (${(Number(info.Size) / 1e6).toFixed(0)} MB)` : ''}`,
    );
    await aptDownload(apt, pick.pkg, version);
  }
  const sha = await sha256File(deb);
  if (want && sha !== want)
    throw new CtlabError('KERNEL', `${deb}: sha256 ${sha} differs from the archive's ${want}`, {
      hint: 'delete the file and run again',
    });
  await produce(kernelDir(sha), async (tmp) => {
    const x = join(tmp, 'x');
    await mkdir(x, { recursive: true });
    await run('dpkg-deb', ['-x', deb, x], { code: 'KERNEL', hint: 'dpkg-deb comes with dpkg (Debian/Ubuntu)' });
    const boot = join(x, 'boot');
    const vmlinuz = (await readdir(boot)).find((f) => f === `vmlinuz-${pick.release}`);
    if (!vmlinuz) throw new CtlabError('KERNEL', `${pick.pkg} has no boot/vmlinuz-${pick.release}`);
    let mods = join(x, 'lib', 'modules', pick.release);
    if (!(await exists(mods))) mods = join(x, 'usr', 'lib', 'modules', pick.release);
    if (!(await exists(join(mods, 'modules.dep')))) {
      // Some packages leave indexing to postinst: do it here.
      await run('depmod', ['-b', mods.replace(/\/lib\/modules\/[^/]+$/, ''), pick.release], {
        code: 'KERNEL',
        hint: 'install kmod',
      });
    }
    await rename(join(boot, vmlinuz), join(tmp, vmlinuz));
    await mkdir(join(tmp, 'modules'), { recursive: true });
    await rename(mods, join(tmp, 'modules', pick.release));
    await rm(x, { recursive: true, force: true });
  });
  progress(`kernel ${d.series}: ${pick.pkg} ${version} ready (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  return {
    pkg: pick.pkg,
    version,
    release: pick.release,
    sha256: sha,
    suite: d.suite,
    resolvedAt: new Date().toISOString(),
  };
}

/** The per-kernel trimmed modules cpio (cached by the kernel's key). */
export async function modulesCpio(
  k: KernelImage,
  progress: (m: string) => void = () => {},
): Promise<string | undefined> {
  const modulesDir = k.modulesDir;
  if (!modulesDir) return undefined;
  const out = join(cacheRoot(), 'modules', `${k.release}-${k.key}.cpio`);
  if (await exists(out)) return out;
  const t0 = Date.now();
  return produce(out, async (tmp) => {
    const stage = `${tmp}.stage`;
    try {
      const r = await packModules(modulesDir, k.release, stage, tmp);
      progress(
        `kernel ${k.release}: ${r.modules} modules packed (${(r.bytes / 1e6).toFixed(1)} MB, ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
      );
    } finally {
      await rm(stage, { recursive: true, force: true });
    }
  });
}
