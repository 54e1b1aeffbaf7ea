// What the user can name as a kernel for the VM runner, parsed without touching the disk:
//   a Debian series ("5.10", "6.1", "6.12"): Debian's cloud-flavour kernel package of that series
//   "path:<kernel image>[,<modules dir>]": a kernel you built or installed yourself, e.g.
//     path:/boot/vmlinuz-6.1.0-37-cloud-amd64,/lib/modules/6.1.0-37-cloud-amd64
//   (without a modules dir, /lib/modules/<release of the image> is used when it exists; a kernel
//   with everything built in needs none).
import { CtlabError } from '../errors.js';

/** Where Debian publishes each series' kernel: the suite, and whether it is on the security archive. */
export interface DebianSeries {
  series: string;
  suite: string;
  archive: 'debian' | 'debian-security';
}

export const DEBIAN_SERIES: Readonly<Record<string, DebianSeries>> = {
  '5.10': { series: '5.10', suite: 'bullseye-security', archive: 'debian-security' },
  '6.1': { series: '6.1', suite: 'bookworm', archive: 'debian' },
  '6.12': { series: '6.12', suite: 'bookworm-backports', archive: 'debian' },
};

export type KernelSpec =
  | { kind: 'debian'; spec: string; debian: DebianSeries }
  | { kind: 'path'; spec: string; image: string; modulesDir?: string };

const SPEC_HINT = `name a Debian series (${Object.keys(DEBIAN_SERIES).join(', ')}) or path:<kernel image>[,<modules dir>], e.g. path:/boot/vmlinuz-6.1.0-37-cloud-amd64,/lib/modules/6.1.0-37-cloud-amd64`;

export function parseKernelSpec(text: string): KernelSpec {
  const spec = text.trim();
  if (/^\d+\.\d+$/.test(spec)) {
    const debian = DEBIAN_SERIES[spec];
    if (!debian)
      throw new CtlabError('SCENARIO', `kernel ${spec}: no Debian kernel series ${spec} is known`, { hint: SPEC_HINT });
    return { kind: 'debian', spec, debian };
  }
  if (spec.startsWith('path:')) {
    const parts = spec
      .slice('path:'.length)
      .split(',')
      .map((s) => s.trim());
    if (parts.length > 2 || !parts[0])
      throw new CtlabError('SCENARIO', `kernel "${spec}": expected path:<kernel image>[,<modules dir>]`, {
        hint: SPEC_HINT,
      });
    for (const p of parts) {
      if (!p.startsWith('/'))
        throw new CtlabError('SCENARIO', `kernel "${spec}": "${p}" is not an absolute path`, { hint: SPEC_HINT });
    }
    return parts[1]
      ? { kind: 'path', spec, image: parts[0], modulesDir: parts[1] }
      : { kind: 'path', spec, image: parts[0] };
  }
  throw new CtlabError('SCENARIO', `"${spec}" is not a kernel the VM runner can boot`, { hint: SPEC_HINT });
}

/** Numbers in a kernel package name or release, for ordering: "6.1.0-37" -> [6,1,0,37]. */
function numbers(s: string): number[] {
  return (s.match(/\d+/g) ?? []).map(Number);
}

export function compareNumeric(a: string, b: string): number {
  const x = numbers(a);
  const y = numbers(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The newest cloud-flavour kernel image package of `series` among apt's package names:
 * "linux-image-6.1.0-37-cloud-amd64", "linux-image-6.12.95+deb12-cloud-amd64". Not the meta
 * package (linux-image-cloud-amd64), not -unsigned or -dbg builds. Returns the package name and
 * the kernel release it installs (the name without "linux-image-").
 */
export function pickKernelPackage(names: string[], series: string): { pkg: string; release: string } | undefined {
  const esc = series.replace(/\./g, '\\.');
  const re = new RegExp(`^linux-image-(${esc}(?:\\.\\d+)*(?:-\\d+)?(?:\\+[a-z0-9.]+)?-cloud-amd64)$`);
  const hits = names.map((n) => n.trim()).filter((n) => re.test(n));
  hits.sort(compareNumeric);
  const pkg = hits.at(-1);
  if (pkg === undefined) return undefined;
  return { pkg, release: pkg.slice('linux-image-'.length) };
}
