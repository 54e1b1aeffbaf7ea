// The lab image builder: ctlab-base (one apt layer) and one image per role on top of it.
// Context = the repository root, but only the files a role needs are sent (lab/<role>/ plus
// the paths in lab/<role>/context.list). Images are tagged ctlab-<role>:<content hash> and
// are not rebuilt while the hash is unchanged. Works offline: when the Debian base image is
// neither present nor pullable, it is made with debootstrap from the host's apt mirror.

import type Docker from 'dockerode';
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { CtlabError } from '../errors.js';
import { hostDebianMirror } from './apt-sources.js';
import { connectDocker, dockerError, isNotFound } from './connect.js';
import { LABEL_HASH, LABEL_ROLE, LABEL_RUN, newRunId } from './labels.js';
import { packTar } from './tar.js';
import { repoRoot as findRoot } from '../util/repo-root.js';
import type { Role } from './types.js';

export const ROLES: readonly Role[] = ['server', 'middlebox', 'harvester'];
export const DEFAULT_DEBIAN_IMAGE = 'debian:bookworm-slim';
export const DEBOOTSTRAP_IMAGE = 'ctlab-debian:bookworm';

export type LabImages = { base: string } & Record<Role, string>;

export interface BuildOptions {
  /** Repository root (default: found from this file's location). */
  repoRoot?: string;
  /** Roles to build (default: all three). The base is always ensured. */
  roles?: readonly Role[];
  /** Run id recorded in label ctlab.run and in the log name. */
  runId?: string;
  docker?: Docker;
  /** Also write build output to stderr. */
  verbose?: boolean;
  /** Called with every line of build output (after the log file). */
  onLine?: (line: string) => void;
  /** Rebuild even when an image with the content-hash tag exists. */
  force?: boolean;
  /** Do not use Docker's layer cache (implies force). */
  noCache?: boolean;
  /** Debian image to start from (default: env CTLAB_BASE_IMAGE, else debian:bookworm-slim, else debootstrap). */
  debianImage?: string;
}

export interface BuildResult {
  images: Partial<LabImages> & { base: string };
  /** Tags built in this call (the rest were cached). */
  built: string[];
  cached: string[];
  logFile: string;
  durationMs: number;
}

export interface ContextFile {
  /** Repository-relative, '/'-separated. */
  path: string;
  content: Buffer;
  mode: number;
}

/** Parse a context.list: one repository path per line, '#' comments, blank lines ignored. */
export function parseContextList(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    if (line.startsWith('/') || line.split('/').includes('..')) {
      throw new CtlabError('IMAGE', `context.list entry ${JSON.stringify(line)} must be a path inside the repository`);
    }
    out.push(line.replace(/\/+$/, ''));
  }
  return out;
}

/** Files we never send: source maps and declaration files are dead weight in an image. */
export function skipContextFile(path: string): boolean {
  return path.endsWith('.map') || path.endsWith('.d.ts');
}

async function walk(root: string, rel: string, out: string[]): Promise<void> {
  const abs = join(root, rel);
  const st = await stat(abs);
  if (st.isDirectory()) {
    for (const name of (await readdir(abs)).sort()) await walk(root, rel ? `${rel}/${name}` : name, out);
  } else if (st.isFile() && !skipContextFile(rel)) {
    out.push(rel);
  }
}

/** The files a role's build context carries, sorted, with contents (mode: 0755 if executable). */
export async function roleContextFiles(repoRoot: string, dir: string): Promise<ContextFile[]> {
  const paths: string[] = [];
  await walk(repoRoot, dir, paths);
  const listPath = join(repoRoot, dir, 'context.list');
  if (existsSync(listPath)) {
    for (const entry of parseContextList(await readFile(listPath, 'utf8'))) {
      if (!existsSync(join(repoRoot, entry))) {
        throw new CtlabError('IMAGE', `${dir}/context.list names ${entry}, which does not exist`, {
          hint: entry.startsWith('dist')
            ? 'run `npm run build` first (the images carry the compiled code)'
            : `create ${entry} or remove it from ${dir}/context.list`,
        });
      }
      await walk(repoRoot, entry, paths);
    }
  }
  const unique = [...new Set(paths)].sort();
  return Promise.all(
    unique.map(async (p) => {
      const abs = join(repoRoot, p);
      const st = await stat(abs);
      return { path: p.split(sep).join('/'), content: await readFile(abs), mode: st.mode & 0o111 ? 0o755 : 0o644 };
    }),
  );
}

/**
 * Content hash of an image: its Dockerfile, every file sent (path, mode, bytes), the parent
 * image id and the build args. 12 hex digits, like Docker's short ids.
 */
export function contentHash(input: {
  dockerfile: string | Buffer;
  files: ContextFile[];
  parentId: string;
  buildArgs?: Record<string, string>;
}): string {
  const h = createHash('sha256');
  const field = (s: string | Buffer) => {
    const b = Buffer.isBuffer(s) ? s : Buffer.from(s);
    h.update(`${b.length}:`);
    h.update(b);
  };
  field('ctlab-image-v1');
  field(input.dockerfile);
  field(input.parentId);
  for (const [k, v] of Object.entries(input.buildArgs ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    field(k);
    field(v);
  }
  for (const f of [...input.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    field(f.path);
    field(String(f.mode));
    field(f.content);
  }
  return h.digest('hex').slice(0, 12);
}

/** Image id if the reference exists locally, else undefined. */
export async function imageId(docker: Docker, ref: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(ref).inspect()).Id;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw dockerError(err, `inspecting image ${ref}`);
  }
}

class BuildLog {
  private tail: string[] = [];
  private stream: WriteStream;
  constructor(
    readonly file: string,
    private verbose: boolean,
    private onLine?: (l: string) => void,
  ) {
    this.stream = createWriteStream(file, { flags: 'a' });
  }
  line(text: string): void {
    for (const l of text.replace(/\r/g, '').split('\n')) {
      if (l === '') continue;
      this.stream.write(`${l}\n`);
      this.tail.push(l);
      if (this.tail.length > 30) this.tail.shift();
      if (this.verbose) process.stderr.write(`${l}\n`);
      this.onLine?.(l);
    }
  }
  lastLines(n = 15): string {
    return this.tail.slice(-n).join('\n');
  }
  close(): Promise<void> {
    return new Promise((r) => this.stream.end(r));
  }
}

/** Follow a Docker JSON-lines progress stream; reject with the daemon's error message. */
function follow(docker: Docker, stream: NodeJS.ReadableStream, log: BuildLog): Promise<{ id?: string }> {
  return new Promise((resolve, reject) => {
    let id: string | undefined;
    docker.modem.followProgress(
      stream,
      (err: Error | null) => {
        if (err) reject(err);
        else resolve({ id });
      },
      (ev: {
        stream?: string;
        status?: string;
        progress?: string;
        error?: string;
        errorDetail?: { message?: string };
        aux?: { ID?: string };
      }) => {
        if (ev.stream) log.line(ev.stream);
        else if (ev.status && !ev.progress) log.line(ev.status);
        if (ev.aux?.ID) id = ev.aux.ID;
        if (ev.error) {
          log.line(`ERROR: ${ev.error}`);
          reject(new Error(ev.errorDetail?.message ?? ev.error));
        }
      },
    );
  });
}

async function buildOne(
  docker: Docker,
  log: BuildLog,
  p: {
    tag: string;
    dockerfilePath: string;
    files: ContextFile[];
    buildargs: Record<string, string>;
    labels: Record<string, string>;
    role: string;
    nocache?: boolean;
  },
): Promise<void> {
  const t0 = Date.now();
  log.line(`=== building ${p.tag} (${p.files.length} files in context)`);
  const tar = packTar(p.files.map((f) => ({ name: f.path, content: f.content, mode: f.mode })));
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage(
      tar as unknown as NodeJS.ReadableStream,
      {
        t: p.tag,
        dockerfile: p.dockerfilePath,
        buildargs: p.buildargs,
        labels: p.labels,
        rm: true,
        forcerm: true,
        nocache: p.nocache ?? false,
      } as Docker.ImageBuildOptions,
    );
  } catch (err) {
    throw dockerError(err, `starting the build of ${p.tag}`);
  }
  try {
    await follow(docker, stream, log);
  } catch (err) {
    throw new CtlabError(
      'IMAGE',
      `building the ${p.role} image (${p.tag}) failed: ${(err as Error).message}\n--- last lines of the build ---\n${log.lastLines()}`,
      {
        hint: `see the full log in ${log.file}; check ${p.dockerfilePath}, and that the apt mirror is reachable from containers (\`docker run --rm <base> apt-get update\`)`,
        cause: err,
      },
    );
  }
  if (!(await imageId(docker, p.tag)))
    throw new CtlabError('IMAGE', `the build of ${p.tag} ended without an image\n${log.lastLines()}`, {
      hint: `see ${log.file}`,
    });
  log.line(`=== built ${p.tag} in ${Date.now() - t0} ms`);
}

/** Make ctlab-debian:bookworm with debootstrap (minbase) from the host's mirror and import it. */
async function debootstrapImage(docker: Docker, log: BuildLog, runId: string): Promise<string> {
  const mirror = await hostDebianMirror('bookworm');
  log.line(
    `=== no Debian base image: debootstrap --variant=minbase bookworm (mirror: ${mirror ?? "debootstrap's default"})`,
  );
  const t0 = Date.now();
  const dir = await mkdtemp('/var/tmp/ctlab-debootstrap-');
  try {
    const args = ['--variant=minbase', 'bookworm', dir, ...(mirror ? [mirror] : [])];
    try {
      const sub = execa('debootstrap', args, { all: true, reject: true });
      sub.all?.on('data', (d: Buffer) => log.line(d.toString()));
      await sub;
    } catch (err) {
      const e = err as { code?: string };
      throw new CtlabError(
        e.code === 'ENOENT' ? 'HOST' : 'IMAGE',
        `debootstrap failed: ${(err as Error).message.split('\n')[0]}\n${log.lastLines()}`,
        {
          hint:
            e.code === 'ENOENT'
              ? 'install it: `apt-get install debootstrap` (or run `sudo bash scripts/setup.sh`)'
              : `debootstrap needs root and the Debian mirror; see ${log.file}`,
          command: ['debootstrap', ...args],
          cause: err,
        },
      );
    }
    // Keep the image lean: no apt lists or caches from the bootstrap.
    await execa('sh', ['-c', `rm -rf "${dir}"/var/cache/apt/archives/*.deb "${dir}"/var/lib/apt/lists/*`]);
    const tar = execa('tar', ['-C', dir, '--numeric-owner', '-cf', '-', '.'], { buffer: false, encoding: 'buffer' });
    const [repo, tag] = DEBOOTSTRAP_IMAGE.split(':') as [string, string];
    const stream = await docker.importImage(
      tar.stdout as unknown as NodeJS.ReadableStream,
      {
        repo,
        tag,
        changes: [`LABEL ${LABEL_ROLE}=debian-root ${LABEL_RUN}=${runId}`, 'CMD ["bash"]'],
      } as never,
    );
    await follow(docker, stream as unknown as NodeJS.ReadableStream, log);
    await tar;
    log.line(`=== imported ${DEBOOTSTRAP_IMAGE} (debootstrap + import: ${Date.now() - t0} ms)`);
    return DEBOOTSTRAP_IMAGE;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The Debian image the base builds FROM: given, local, pulled, or debootstrapped (in that order). */
async function ensureDebianImage(
  docker: Docker,
  log: BuildLog,
  runId: string,
  wanted?: string,
): Promise<{ ref: string; id: string }> {
  const explicit = wanted ?? process.env.CTLAB_BASE_IMAGE;
  const ref = explicit ?? DEFAULT_DEBIAN_IMAGE;
  let id = await imageId(docker, ref);
  if (id) return { ref, id };
  if (!explicit) {
    id = await imageId(docker, DEBOOTSTRAP_IMAGE);
    if (id) return { ref: DEBOOTSTRAP_IMAGE, id };
  }
  try {
    log.line(`=== pulling ${ref}`);
    await follow(docker, await docker.pull(ref), log);
    id = await imageId(docker, ref);
    if (id) return { ref, id };
  } catch (err) {
    log.line(`pull of ${ref} failed (${(err as Error).message.split('\n')[0]})`);
    if (explicit)
      throw new CtlabError('IMAGE', `base image ${ref} is not present and cannot be pulled`, {
        hint: 'unset CTLAB_BASE_IMAGE to let ctlab debootstrap one',
        cause: err,
      });
  }
  const made = await debootstrapImage(docker, log, runId);
  const madeId = await imageId(docker, made);
  if (!madeId) throw new CtlabError('IMAGE', `the base image ${made} was just built, but Docker does not know it`);
  return { ref: made, id: madeId };
}

/**
 * Keep the newest `keep` content-hash images of a role (every source change makes a new tag,
 * so they pile up). Images in use, or parents of others, are left alone (Docker says 409).
 */
export async function pruneOldImages(docker: Docker, role: string, keep = 3): Promise<string[]> {
  const imgs = await docker.listImages({ filters: { label: [`${LABEL_ROLE}=${role}`] } });
  const re = new RegExp(`^ctlab-${role}:[0-9a-f]{12}$`);
  const ours = imgs.filter((i) => (i.RepoTags ?? []).some((t) => re.test(t))).sort((a, b) => b.Created - a.Created);
  const removed: string[] = [];
  for (const img of ours.slice(keep)) {
    for (const tag of (img.RepoTags ?? []).filter((t) => re.test(t))) {
      try {
        await docker.getImage(tag).remove();
        removed.push(tag);
      } catch {
        /* in use or already gone */
      }
    }
  }
  return removed;
}

/** Build (or find cached) the base image and the role images. */
export async function buildLabImages(opts: BuildOptions = {}): Promise<BuildResult> {
  const t0 = Date.now();
  const repoRoot = opts.repoRoot ?? findRoot();
  const runId = opts.runId ?? newRunId();
  const docker = await connectDocker({ docker: opts.docker });
  const logDir = join(repoRoot, '.cache', 'ctlab', 'logs');
  await mkdir(logDir, { recursive: true });
  const log = new BuildLog(join(logDir, `build-${runId}.log`), opts.verbose ?? false, opts.onLine);
  const built: string[] = [];
  const cached: string[] = [];
  const force = opts.force || opts.noCache;
  const nocache = opts.noCache ?? false;
  try {
    const debian = await ensureDebianImage(docker, log, runId, opts.debianImage);
    const mirror = (await hostDebianMirror('bookworm')) ?? '';

    const baseDockerfile = await readFile(join(repoRoot, 'lab/base/Dockerfile'));
    const baseArgs = { BASE_IMAGE: debian.ref, APT_MIRROR: mirror };
    const baseHash = contentHash({ dockerfile: baseDockerfile, files: [], parentId: debian.id, buildArgs: baseArgs });
    const baseTag = `ctlab-base:${baseHash}`;
    if (!force && (await imageId(docker, baseTag))) cached.push(baseTag);
    else {
      await buildOne(docker, log, {
        tag: baseTag,
        role: 'base',
        dockerfilePath: 'lab/base/Dockerfile',
        files: [{ path: 'lab/base/Dockerfile', content: baseDockerfile, mode: 0o644 }],
        buildargs: baseArgs,
        nocache,
        labels: { [LABEL_ROLE]: 'base', [LABEL_RUN]: runId, [LABEL_HASH]: baseHash },
      });
      built.push(baseTag);
    }
    const baseId = await imageId(docker, baseTag);
    if (!baseId)
      throw new CtlabError('IMAGE', `the base image ${baseTag} is missing right after it was built or found`);

    const images: BuildResult['images'] = { base: baseTag };
    for (const role of opts.roles ?? ROLES) {
      const dockerfilePath = `lab/${role}/Dockerfile`;
      if (!existsSync(join(repoRoot, dockerfilePath))) {
        throw new CtlabError('IMAGE', `${dockerfilePath} does not exist`, {
          hint: `every role needs lab/<role>/Dockerfile (see lab/README.md)`,
        });
      }
      const files = await roleContextFiles(repoRoot, `lab/${role}`);
      // The Dockerfile exists (checked above) and roleContextFiles lists every file of lab/<role>.
      const dockerfile = files.find((f) => f.path === dockerfilePath)!.content;
      const args = { CTLAB_BASE: baseTag };
      const hash = contentHash({ dockerfile, files, parentId: baseId, buildArgs: args });
      const tag = `ctlab-${role}:${hash}`;
      if (!force && (await imageId(docker, tag))) cached.push(tag);
      else {
        await buildOne(docker, log, {
          tag,
          role,
          dockerfilePath,
          files,
          buildargs: args,
          nocache,
          labels: { [LABEL_ROLE]: role, [LABEL_RUN]: runId, [LABEL_HASH]: hash },
        });
        built.push(tag);
      }
      images[role] = tag;
    }
    if (built.length) {
      for (const role of ['base', ...(opts.roles ?? ROLES)]) {
        const gone = await pruneOldImages(docker, role).catch(() => []);
        if (gone.length) log.line(`pruned old images: ${gone.join(' ')}`);
      }
    }
    log.line(`=== done in ${Date.now() - t0} ms: built ${built.length}, cached ${cached.length}`);
    return {
      images,
      built,
      cached,
      logFile: relative(process.cwd(), log.file) || log.file,
      durationMs: Date.now() - t0,
    };
  } finally {
    await log.close();
  }
}

/**
 * One more image on top of one of ctlab's (e.g. a test's service image on the offline base),
 * built and tagged the same way: `<repo>:<content hash>` over its Dockerfile, the files sent, the
 * parent image's id and the build args (the parent's tag goes in as build arg `BASE`); not
 * rebuilt while the hash is unchanged. Labelled ctlab.role=<role>, so `ctlab clean --images` removes it.
 */
export async function buildImageOn(o: {
  repo: string;
  role: string;
  /** Parent image tag (e.g. buildLabImages().images.base). */
  parent: string;
  /** Repository-relative paths: the Dockerfile, then every file it copies. */
  dockerfile: string;
  files: string[];
  repoRoot?: string;
  docker?: Docker;
  runId?: string;
}): Promise<{ tag: string; built: boolean }> {
  const repoRoot = o.repoRoot ?? findRoot();
  const docker = await connectDocker({ docker: o.docker });
  const parentId = await imageId(docker, o.parent);
  if (!parentId) throw new CtlabError('IMAGE', `the parent image ${o.parent} of ${o.repo} is missing`);
  const files: ContextFile[] = await Promise.all(
    [...new Set([o.dockerfile, ...o.files])].map(async (p) => ({
      path: p,
      content: await readFile(join(repoRoot, p)),
      mode: (await stat(join(repoRoot, p))).mode & 0o111 ? 0o755 : 0o644,
    })),
  );
  const buildArgs = { BASE: o.parent };
  const hash = contentHash({
    dockerfile: files.find((f) => f.path === o.dockerfile)!.content, // the Dockerfile is the first path read
    files,
    parentId,
    buildArgs,
  });
  const tag = `${o.repo}:${hash}`;
  if (await imageId(docker, tag)) return { tag, built: false };
  const runId = o.runId ?? newRunId();
  const logDir = join(repoRoot, '.cache', 'ctlab', 'logs');
  await mkdir(logDir, { recursive: true });
  const log = new BuildLog(join(logDir, `build-${runId}.log`), false);
  try {
    await buildOne(docker, log, {
      tag,
      role: o.role,
      dockerfilePath: o.dockerfile,
      files,
      buildargs: buildArgs,
      labels: { [LABEL_ROLE]: o.role, [LABEL_RUN]: runId, [LABEL_HASH]: hash },
    });
  } finally {
    await log.close();
  }
  return { tag, built: true };
}
