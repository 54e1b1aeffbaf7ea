// The CLI's glue to the runtimes: images (Docker), host checks (netns), a runtime that cleans up
// on signals, clean, doctor. Docker modules are loaded only when Docker is used, so
// `--runtime netns` runs where no Docker (nor dockerode's dependencies) exists.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { platform } from 'node:os';
import type Docker from 'dockerode';
import { CtlabError } from '../errors.js';
import type { LabImages } from '../runtime/images.js';
import { newRunId } from '../runtime/labels.js';
import { installCleanupTraps, type TrapOptions } from '../runtime/traps.js';
import type { Runtime } from '../runtime/types.js';

export const RUNTIME_KINDS = ['docker', 'netns'] as const;
export type RuntimeKind = (typeof RUNTIME_KINDS)[number];

export function isRuntimeKind(v: string): v is RuntimeKind {
  return (RUNTIME_KINDS as readonly string[]).includes(v);
}

/** Destroy the lab on SIGINT/SIGTERM/SIGHUP or a crash; the traps go away with a normal destroy(). */
async function withCleanupTraps<R extends Runtime>(rt: R, traps?: TrapOptions): Promise<R> {
  const untrap = installCleanupTraps(rt, traps);
  const destroy = rt.destroy.bind(rt);
  rt.destroy = async () => {
    try {
      await destroy();
    } finally {
      untrap();
    }
  };
  return rt;
}

/**
 * Get the lab ready for one CLI command and return its runtime factory (one runtime per run id):
 * docker builds (or finds cached) images; netns checks root, host programs and kernel, and builds
 * the NFQUEUE addon on the host once (cached). Nothing is started yet.
 */
export async function prepareRuntime(o: {
  kind: RuntimeKind;
  runId: string;
  verbose?: boolean;
  progress: (m: string) => void;
  /** How the runtimes trap signals and crashes (the library API traps signals only). */
  traps?: TrapOptions;
}): Promise<(runId: string) => Promise<Runtime>> {
  if (o.kind === 'docker') {
    const images = await buildImages({ runId: o.runId, verbose: o.verbose, progress: o.progress });
    // Whether testcontainers' reaper runs here, said once in the progress.
    const [{ ensureReaper }, { dockerError }] = await Promise.all([
      import('../runtime/reaper.js'),
      import('../runtime/connect.js'),
    ]);
    await ensureReaper(o.progress).catch((err) => {
      throw dockerError(err, 'starting testcontainers');
    });
    return (id) => runtimeFor(id, images, o.traps);
  }
  const t = Date.now();
  const { checkNetnsHost } = await import('../runtime/netns/host-check.js');
  const { ensureAddon } = await import('../runtime/opt-root.js');
  checkNetnsHost();
  const addon = await ensureAddon({ log: o.progress });
  o.progress(
    `netns runtime ready in ${((Date.now() - t) / 1000).toFixed(1)} s (host programs ok; NFQUEUE addon ${addon})`,
  );
  return (id) => netnsRuntimeFor(id, { traps: o.traps });
}

/** A namespace runtime (no Docker) whose lab is removed on Ctrl-C, SIGTERM or a crash. */
export async function netnsRuntimeFor(
  runId: string,
  opts: { optRoot?: string; traps?: TrapOptions } = {},
): Promise<Runtime> {
  const { NetnsRuntime } = await import('../runtime/netns/runtime.js');
  return withCleanupTraps(await NetnsRuntime.create({ runId, optRoot: opts.optRoot }), opts.traps);
}

export async function buildImages(o: {
  runId: string;
  verbose?: boolean;
  force?: boolean;
  progress: (m: string) => void;
}): Promise<LabImages> {
  const t = Date.now();
  const { buildLabImages } = await import('../runtime/images.js');
  const r = await buildLabImages({ runId: o.runId, verbose: o.verbose, force: o.force });
  const built = r.built.length ? `built ${r.built.join(', ')}` : 'all cached';
  o.progress(`images ready in ${((Date.now() - t) / 1000).toFixed(1)} s (${built}; log ${r.logFile})`);
  for (const role of ['server', 'middlebox', 'harvester'] as const) {
    if (!r.images[role])
      throw new CtlabError('IMAGE', `no ${role} image after the build`, { hint: `see ${r.logFile}` });
  }
  return r.images as LabImages;
}

/** A Docker runtime whose lab is removed on Ctrl-C, SIGTERM or a crash. */
export async function runtimeFor(runId: string, images: LabImages, traps?: TrapOptions): Promise<Runtime> {
  const { DockerRuntime } = await import('../runtime/docker.js');
  return withCleanupTraps(await DockerRuntime.create({ runId, images }), traps);
}

export async function clean(o: { runId?: string; images?: boolean }): Promise<string> {
  // Namespace labs and replay namespaces first (needs root to see every process; no Docker
  // needed), then Docker's.
  let netns = '';
  if (process.getuid?.() === 0 && platform() === 'linux') {
    const { cleanNetnsLab } = await import('../runtime/netns/clean.js');
    const n = await cleanNetnsLab({ runId: o.runId });
    netns = `, ${n.nodes.length} namespace node(s) (${n.processes} process(es))`;
    const { cleanReplay } = await import('../replay/clean.js');
    const rp = await cleanReplay({ runId: o.runId });
    netns += `, ${rp.namespaces.length} replay namespace(s)${rp.namespaces.length ? ` ${rp.namespaces.join(' ')}` : ''} (${rp.processes} process(es))`;
  }
  const { cleanLab } = await import('../runtime/cleanup.js');
  const r = await cleanLab(o);
  const parts = [`removed ${r.containers.length} container(s)`, `${r.networks.length} network(s)`];
  if (o.images) parts.push(`${r.images.length} image(s)`);
  return parts.join(', ') + netns + (o.runId ? ` of run ${o.runId}` : ' labelled ctlab.run');
}

type Line = (l: string) => void;

/** Prints one line per check with its fix; returns whether everything needed is there. */
export async function doctor(out: Line): Promise<boolean> {
  let ok = true;
  const report = (good: boolean, what: string, fix?: string, needed = true) => {
    out(`${good ? 'ok  ' : needed ? 'FAIL' : 'warn'} ${what}${!good && fix ? `\n       fix: ${fix}` : ''}`);
    if (!good && needed) ok = false;
  };
  report(platform() === 'linux', `platform ${platform()}`, 'ctlab needs Linux (netfilter conntrack, NFQUEUE, veth)');
  report(
    process.getuid?.() === 0,
    `running as ${process.getuid?.() === 0 ? 'root' : 'a non-root user'}`,
    'run `bash scripts/setup.sh` as root once; runs need access to the Docker socket',
    false,
  );
  const { connectDocker } = await import('../runtime/connect.js');
  const { checkKernel, DockerRuntime } = await import('../runtime/docker.js');
  const { imageId } = await import('../runtime/images.js');
  let docker: Docker | undefined;
  try {
    docker = await connectDocker({ timeoutMs: 5000 });
    const v = (await docker.version()) as { Version: string; ApiVersion: string };
    report(true, `Docker ${v.Version} (API ${v.ApiVersion})`);
  } catch (e) {
    report(
      false,
      `Docker reachable: ${e instanceof CtlabError ? e.message : String(e)}`,
      e instanceof CtlabError ? e.hint : undefined,
    );
  }
  const kernel = (await readFile('/proc/sys/kernel/osrelease', 'utf8').catch(() => '?')).trim();
  out(`info kernel ${kernel}`);
  const haveProc = async (p: string) =>
    readFile(p).then(
      () => true,
      () => false,
    );
  report(
    await haveProc('/proc/net/netfilter/nfnetlink_queue'),
    'NFQUEUE (nfnetlink_queue)',
    'modprobe nfnetlink_queue, or a kernel with CONFIG_NETFILTER_NETLINK_QUEUE',
  );
  report(
    await haveProc('/proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal'),
    'conntrack (nf_conntrack)',
    'modprobe nf_conntrack, or a kernel with CONFIG_NF_CONNTRACK',
  );
  const ipt = await execa('iptables', ['--version'], { reject: false });
  out(
    `info host iptables: ${ipt.exitCode === 0 ? ipt.stdout.trim() : 'not installed (not needed: lab hosts have their own)'}`,
  );
  const brnf = await haveProc('/proc/sys/net/bridge/bridge-nf-call-iptables');
  out(
    `info br_netfilter ${brnf ? 'loaded' : 'not loaded'} (lab links are veths between containers, never a bridge, so it cannot see lab traffic)`,
  );
  if (docker) {
    const tags = ['ctlab-base', 'ctlab-server', 'ctlab-middlebox', 'ctlab-harvester'];
    const images = await docker.listImages({ filters: { label: ['ctlab.role'] } });
    for (const t of tags) {
      const has = images.some((i) => (i.RepoTags ?? []).some((r) => r.startsWith(`${t}:`)));
      report(has, `image ${t}`, 'built on first `ctlab run`, or now with `npx ctlab images`', false);
    }
    if (ok && images.length > 0) {
      // Look from inside a real lab node: the kernel features as a container sees them.
      const runId = newRunId();
      try {
        const base = images.find((i) => (i.RepoTags ?? []).some((r) => r.startsWith('ctlab-base:')))?.RepoTags?.[0];
        if (base && (await imageId(docker, base))) {
          const rt = await DockerRuntime.create({ runId, images: { base, server: base } });
          try {
            const n = await rt.createNode({
              name: 'doctor',
              role: 'server',
              sysctls: { 'net.netfilter.nf_conntrack_tcp_be_liberal': '1' },
            });
            await checkKernel(n);
            report(true, 'inside a lab container: conntrack, NFQUEUE, per-namespace conntrack sysctls');
          } finally {
            await rt.destroy();
          }
        }
      } catch (e) {
        report(false, 'inside a lab container', e instanceof CtlabError ? e.format() : String(e));
      }
    }
  } else {
    out('skip images and the in-container check (Docker unreachable)');
  }
  // The other ways to run: plain namespaces on this host, and other kernels in a VM. Neither is
  // needed for the default Docker runs, so they only warn.
  const { checkNetnsHost } = await import('../runtime/netns/host-check.js');
  try {
    checkNetnsHost();
    report(true, '--runtime netns: root, host programs and kernel features present', undefined, false);
  } catch (e) {
    report(
      false,
      `--runtime netns: ${e instanceof CtlabError ? e.message : String(e)}`,
      e instanceof CtlabError ? e.hint : undefined,
      false,
    );
  }
  const qemu = await execa('qemu-system-x86_64', ['--version'], { reject: false });
  report(
    qemu.exitCode === 0,
    `--kernel (VM): ${qemu.exitCode === 0 ? qemu.stdout.split('\n')[0]!.trim() : 'qemu-system-x86_64 not installed'}`,
    'apt-get install --no-install-recommends qemu-system-x86 (or bash scripts/setup.sh)',
    false,
  );
  const kvm = existsSync('/dev/kvm');
  out(
    `info /dev/kvm ${kvm ? 'present (tried first per kernel; software emulation where it does not boot the kernel)' : 'absent: VMs run under software emulation (slower; compare emulated kernels only with each other)'}`,
  );
  return ok;
}
