// A private apt for kernel packages: its own sources list, lists, dpkg status and archive cache
// under the ctlab cache, used through APT_CONFIG, so the system's apt state is never touched.
// Mirrors come from the host's own apt sources (nothing here names a mirror host), or from
// $CTLAB_DEBIAN_MIRROR / $CTLAB_DEBIAN_SECURITY_MIRROR.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CtlabError } from '../errors.js';
import { hostAptSources, pickDebianMirror, type AptSource } from '../runtime/apt-sources.js';
import type { DebianSeries } from './spec.js';

const exec = promisify(execFile);

export const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/** The mirror URI serving `archive` ("debian" or "debian-security"), from the host's sources. */
export function mirrorFor(
  archive: DebianSeries['archive'],
  sources: AptSource[],
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (archive === 'debian')
    return env.CTLAB_DEBIAN_MIRROR?.replace(/\/+$/, '') || pickDebianMirror(sources, 'bookworm');
  if (env.CTLAB_DEBIAN_SECURITY_MIRROR) return env.CTLAB_DEBIAN_SECURITY_MIRROR.replace(/\/+$/, '');
  const sec = sources.find((s) => /^https?:\/\//.test(s.uri) && s.suites.some((x) => x.endsWith('-security')));
  if (sec) return sec.uri.replace(/\/+$/, '');
  // Debian's convention: the security archive sits next to the main one.
  const main = mirrorFor('debian', sources, env);
  return main && /\/debian$/.test(main) ? `${main}-security` : undefined;
}

export interface PrivateApt {
  dir: string;
  /** The apt.conf to pass as APT_CONFIG. */
  configFile: string;
  /** Where `apt-get download` leaves .deb files (the command's working directory). */
  debDir: string;
}

/** sources.list text for one suite (main only, verified with Debian's archive keyring). */
export function sourcesListText(mirror: string, suite: string): string {
  return `deb [signed-by=${DEBIAN_KEYRING}] ${mirror} ${suite} main\n`;
}

/** apt.conf text that moves every piece of apt state apt-get update/download use under `dir`. */
export function aptConfigText(dir: string): string {
  const q = (s: string) => `"${s.replace(/"/g, '')}"`;
  return [
    `Dir::Etc::SourceList ${q(join(dir, 'sources.list'))};`,
    `Dir::Etc::SourceParts ${q(join(dir, 'sources.list.d'))};`,
    `Dir::Etc::Preferences ${q(join(dir, 'preferences'))};`,
    `Dir::Etc::PreferencesParts ${q(join(dir, 'preferences.d'))};`,
    `Dir::State ${q(join(dir, 'state'))};`,
    `Dir::State::Lists ${q(join(dir, 'lists'))};`,
    `Dir::State::status ${q(join(dir, 'status'))};`,
    `Dir::Cache ${q(join(dir, 'cache'))};`,
    `Dir::Log ${q(join(dir, 'log'))};`,
    'APT::Architecture "amd64";',
    'APT::Architectures { "amd64"; };',
    'Acquire::Languages "none";',
    'Acquire::Retries "3";',
    // Unprivileged download sandboxing wants an _apt-owned partial dir; ours is root's.
    'APT::Sandbox::User "root";',
    '',
  ].join('\n');
}

/** Create (idempotently) the private apt folder for one suite. */
export async function preparePrivateApt(root: string, mirror: string, suite: string): Promise<PrivateApt> {
  const dir = join(root, suite);
  for (const d of [
    'sources.list.d',
    'preferences.d',
    'state',
    'lists/partial',
    'cache/archives/partial',
    'log',
    'debs',
  ]) {
    await mkdir(join(dir, d), { recursive: true });
  }
  await writeFile(join(dir, 'sources.list'), sourcesListText(mirror, suite));
  await writeFile(join(dir, 'status'), '', { flag: 'a' });
  const configFile = join(dir, 'apt.conf');
  await writeFile(configFile, aptConfigText(dir));
  return { dir, configFile, debDir: join(dir, 'debs') };
}

async function apt(p: PrivateApt, cmd: string, args: string[], timeoutMs: number, cwd?: string): Promise<string> {
  try {
    const r = await exec(cmd, args, {
      env: { ...process.env, APT_CONFIG: p.configFile, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' },
      cwd,
      timeout: timeoutMs,
      maxBuffer: 64 << 20,
    });
    return r.stdout;
  } catch (e) {
    const err = e as { stderr?: string; code?: number | string; killed?: boolean };
    if (err.code === 'ENOENT')
      throw new CtlabError('HOST', `${cmd} not found`, {
        hint: 'the VM runner fetches kernels with apt: run it on Debian or Ubuntu',
      });
    throw new CtlabError('KERNEL', `${cmd} ${args.join(' ')} failed (private apt in ${p.dir})`, {
      command: [cmd, ...args],
      exitCode: typeof err.code === 'number' ? err.code : null,
      timedOut: !!err.killed,
      stderr: err.stderr,
      cause: e,
      hint: "check that the Debian mirror in the host's apt sources is reachable (or set CTLAB_DEBIAN_MIRROR / CTLAB_DEBIAN_SECURITY_MIRROR)",
    });
  }
}

export async function aptUpdate(p: PrivateApt): Promise<void> {
  await apt(p, 'apt-get', ['-q', 'update'], 300_000);
}

export async function aptPackageNames(p: PrivateApt, prefix: string): Promise<string[]> {
  return (await apt(p, 'apt-cache', ['pkgnames', prefix], 60_000)).split('\n').filter(Boolean);
}

/** Fields of `apt-cache show --no-all-versions PKG` (first paragraph). */
export async function aptShow(p: PrivateApt, pkg: string): Promise<Record<string, string>> {
  const text = await apt(p, 'apt-cache', ['show', '--no-all-versions', pkg], 60_000);
  return parseControl(text);
}

/** Download PKG=VERSION into the private debs folder; returns nothing (the caller knows the file name). */
export async function aptDownload(p: PrivateApt, pkg: string, version: string): Promise<void> {
  await apt(p, 'apt-get', ['-q', 'download', `${pkg}=${version}`], 900_000, p.debDir);
}

/** Parse the first paragraph of Debian control-file text ("Key: value", continuations). */
export function parseControl(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let last: string | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (Object.keys(out).length) break;
      continue;
    }
    if (/^\s/.test(line) && last) {
      out[last] += `\n${line.trim()}`;
      continue;
    }
    const m = /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line);
    if (m) {
      last = m[1]!;
      out[last] = m[2]!;
    }
  }
  return out;
}

/** The .deb file name apt-get download writes: name_version_arch.deb, ':' escaped as %3a. */
export function debFileName(pkg: string, version: string, arch = 'amd64'): string {
  return `${pkg}_${version.replace(/:/g, '%3a')}_${arch}.deb`;
}

export async function hostSources(): Promise<AptSource[]> {
  return hostAptSources();
}
