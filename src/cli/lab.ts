// The CLI's glue to the Docker runtime: images, a runtime that cleans up on signals, clean,
// doctor.
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { platform } from 'node:os';
import { CtlabError } from '../errors.js';
import { cleanLab, installCleanupTraps } from '../runtime/cleanup.js';
import { connectDocker } from '../runtime/connect.js';
import { checkKernel, DockerRuntime } from '../runtime/docker.js';
import { buildLabImages, imageId, type LabImages } from '../runtime/images.js';
import { newRunId } from '../runtime/labels.js';
import type { Runtime } from '../runtime/types.js';

export async function buildImages(o: { runId: string; verbose?: boolean; force?: boolean; progress: (m: string) => void }): Promise<LabImages> {
  const t = Date.now();
  const r = await buildLabImages({ runId: o.runId, verbose: o.verbose, force: o.force });
  const built = r.built.length ? `built ${r.built.join(', ')}` : 'all cached';
  o.progress(`images ready in ${((Date.now() - t) / 1000).toFixed(1)} s (${built}; log ${r.logFile})`);
  for (const role of ['server', 'middlebox', 'harvester'] as const) {
    if (!r.images[role]) throw new CtlabError('IMAGE', `no ${role} image after the build`, { hint: `see ${r.logFile}` });
  }
  return r.images as LabImages;
}

/** A Docker runtime whose lab is removed on Ctrl-C, SIGTERM or a crash. */
export async function runtimeFor(runId: string, images: LabImages): Promise<Runtime> {
  const rt = await DockerRuntime.create({ runId, images });
  const untrap = installCleanupTraps(rt);
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

export async function clean(o: { runId?: string; images?: boolean }): Promise<string> {
  const r = await cleanLab(o);
  const parts = [`removed ${r.containers.length} container(s)`, `${r.networks.length} network(s)`];
  if (o.images) parts.push(`${r.images.length} image(s)`);
  return parts.join(', ') + (o.runId ? ` of run ${o.runId}` : ' labelled ctlab.run');
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
  report(process.getuid?.() === 0, `running as ${process.getuid?.() === 0 ? 'root' : 'a non-root user'}`, 'run `bash scripts/setup.sh` as root once; runs need access to the Docker socket', false);
  let docker;
  try {
    docker = await connectDocker({ timeoutMs: 5000 });
    const v = (await docker.version()) as { Version: string; ApiVersion: string };
    report(true, `Docker ${v.Version} (API ${v.ApiVersion})`);
  } catch (e) {
    report(false, `Docker reachable: ${e instanceof CtlabError ? e.message : String(e)}`, e instanceof CtlabError ? e.hint : undefined);
  }
  const kernel = (await readFile('/proc/sys/kernel/osrelease', 'utf8').catch(() => '?')).trim();
  out(`info kernel ${kernel}`);
  const haveProc = async (p: string) => readFile(p).then(() => true, () => false);
  report(await haveProc('/proc/net/netfilter/nfnetlink_queue'), 'NFQUEUE (nfnetlink_queue)', 'modprobe nfnetlink_queue, or a kernel with CONFIG_NETFILTER_NETLINK_QUEUE');
  report(await haveProc('/proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal'), 'conntrack (nf_conntrack)', 'modprobe nf_conntrack, or a kernel with CONFIG_NF_CONNTRACK');
  const ipt = await execa('iptables', ['--version'], { reject: false });
  out(`info host iptables: ${ipt.exitCode === 0 ? ipt.stdout.trim() : 'not installed (not needed: lab hosts have their own)'}`);
  const brnf = await haveProc('/proc/sys/net/bridge/bridge-nf-call-iptables');
  out(`info br_netfilter ${brnf ? 'loaded' : 'not loaded'} (lab links are veths between containers, never a bridge, so it cannot see lab traffic)`);
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
            const n = await rt.createNode({ name: 'doctor', role: 'server', sysctls: { 'net.netfilter.nf_conntrack_tcp_be_liberal': '1' } });
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
  return ok;
}
