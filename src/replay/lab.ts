// The replay lab on this machine's kernel: two network namespaces, `wire` (where tcpreplay
// sends) and `router` (whose conntrack judges), joined by two veth pairs: a0–a1 carries the
// client's packets, b0–b1 the server's. The router forwards each packet out the other side
// (policy routes by input interface to a permanent neighbour), so every packet passes conntrack
// in PREROUTING and is confirmed in POSTROUTING, as on a real server or firewall; what comes
// back into `wire` is dropped there (no addresses, no forwarding).
//
// Evidence, as the scenario lab collects it: conntrack's own reasons (nf_conntrack_log_invalid,
// NFLOG group 0) and every packet whose ctstate is INVALID (an iptables mangle/PREROUTING NFLOG
// rule, group 1: the packets a `--ctstate INVALID -j DROP` rule would eat), each captured by
// tcpdump; plus the rule counters and each veth's packet counters, to prove every packet
// arrived on the side it belongs to.
//
// Debian's tcpreplay (dual-interface mode: a tcpprep cache split by source MAC) puts the frames
// on a0 and b0 in capture order; it runs pinned to one CPU so the two veths' packets enter the
// router's backlog in that order.
import { execa, type ResultPromise } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CtlabError } from '../errors.js';
import { sleep } from '../util/sleep.js';
import { ROUTER_MAC, WIRE_MAC } from './prepare.js';

/**
 * The namespaces of one lab: `ctlab-<run id>-<setting index>-rpr` (router) and `-rpw` (wire).
 * `ctlab clean` finds what a SIGKILLed replay left by this naming (replayNetnsRun).
 */
export function replayNetns(runId: string, setting: number): { router: string; wire: string } {
  return { router: `ctlab-${runId}-${setting}-rpr`, wire: `ctlab-${runId}-${setting}-rpw` };
}

// The setting index is one run of digits before a fixed suffix, so the run id (src/runtime/labels.ts
// RUN_ID_RE) is everything before it, unambiguously: run "a-1" setting 2 is ctlab-a-1-2-rpr.
const REPLAY_NETNS_RE = /^ctlab-([a-z0-9][a-z0-9_.-]{0,39})-\d+-rp[rw]$/;

/** The run id of a replay lab's namespace name, or undefined for any other name. */
export function replayNetnsRun(name: string): string | undefined {
  return REPLAY_NETNS_RE.exec(name)?.[1];
}

export interface LabRunOptions {
  /** The replay's run id (namespace names, with `setting`). */
  runId: string;
  /** Index of the setting this lab plays (namespace names). */
  setting: number;
  /** Folder for this lab's files (replay.pcap is read from `pcap`; captures are written here). */
  dir: string;
  /** The Ethernet pcap to play. */
  pcap: string;
  /** Expected packets per side, to check the split. */
  expectA: number;
  expectB: number;
  sysctls: Record<string, string>;
  /** Keep the capture's timing (default: as fast as possible). */
  pace: boolean;
  log: (m: string) => void;
}

export interface LabRunResult {
  /** Packets tcpreplay reported sent. */
  sent: number;
  /** TCP packets the router's PREROUTING saw. */
  received: number;
  receivedA: number;
  receivedB: number;
  /** The INVALID rule's packet counter. */
  invalidCounter: number;
  /** Files written in dir. */
  reasonsPcap: string;
  invalidPcap: string;
  /** tcpdump's own drop counts ("dropped by kernel"), per capture. */
  captureDrops: { reasons: number; invalid: number };
  /** Time tcpreplay took (ms). */
  replayMs: number;
  /** The sysctls as read back after setting them. */
  sysctls: Record<string, string>;
  problems: string[];
}

const NEEDED = [
  { program: 'tcpreplay', pkg: 'tcpreplay' },
  { program: 'tcpprep', pkg: 'tcpreplay' },
  { program: 'tcpdump', pkg: 'tcpdump' },
  { program: 'ip', pkg: 'iproute2' },
  { program: 'iptables', pkg: 'iptables' },
  { program: 'taskset', pkg: 'util-linux' },
];

/** Refuse early (exit 3, nothing started) when a tool or root is missing. */
export async function checkHost(): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new CtlabError('HOST', 'ctlab replay needs root (it creates network namespaces)', {
      hint: 'run it as root (sudo)',
    });
  const missing: string[] = [];
  for (const n of NEEDED) {
    const r = await execa('sh', ['-c', `command -v ${n.program}`], { reject: false });
    if (r.exitCode !== 0) missing.push(n.pkg);
  }
  if (missing.length)
    throw new CtlabError('HOST', `missing ${[...new Set(missing)].join(', ')} (needed by ctlab replay)`, {
      hint: `apt-get install ${[...new Set(missing)].join(' ')} (or bash scripts/setup.sh)`,
    });
}

async function sh(script: string, what: string): Promise<string> {
  const r = await execa('sh', ['-ec', script], { reject: false, all: true });
  if (r.exitCode !== 0)
    throw new CtlabError('LAB', `replay lab: ${what} failed`, {
      stderr: r.all ?? '',
      exitCode: r.exitCode,
      command: ['sh', '-ec', `${script.split('\n')[0]} ...`],
    });
  return r.stdout;
}

const SETUP = (R: string, W: string) => `
ip netns add ${R}
ip netns add ${W}
ip -n ${W} link add a0 address ${WIRE_MAC.a} mtu 65535 type veth peer name a1 address ${ROUTER_MAC.a} mtu 65535 netns ${R}
ip -n ${W} link add b0 address ${WIRE_MAC.b} mtu 65535 type veth peer name b1 address ${ROUTER_MAC.b} mtu 65535 netns ${R}
for ns in ${R} ${W}; do
  ip netns exec $ns sh -c 'for f in /proc/sys/net/ipv6/conf/*/disable_ipv6; do echo 1 > $f; done'
  ip -n $ns link set lo up
done
ip -n ${W} link set a0 up
ip -n ${W} link set b0 up
ip -n ${R} link set a1 up
ip -n ${R} link set b1 up
ip netns exec ${R} sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward; for f in /proc/sys/net/ipv4/conf/*/rp_filter; do echo 0 > $f; done; for f in /proc/sys/net/ipv4/conf/*/send_redirects; do echo 0 > $f; done'
ip -n ${R} route add default via 198.19.255.2 dev b1 onlink table 100
ip -n ${R} route add default via 198.19.255.3 dev a1 onlink table 101
ip -n ${R} rule add iif a1 table 100 pref 100
ip -n ${R} rule add iif b1 table 101 pref 101
ip -n ${R} neigh add 198.19.255.2 lladdr ${WIRE_MAC.b} dev b1 nud permanent
ip -n ${R} neigh add 198.19.255.3 lladdr ${WIRE_MAC.a} dev a1 nud permanent
ip netns exec ${R} iptables -w -t mangle -A PREROUTING -p tcp -m comment --comment ctlab-replay-all
ip netns exec ${R} iptables -w -t mangle -A PREROUTING -p tcp -m conntrack --ctstate INVALID -j NFLOG --nflog-group 1 --nflog-prefix ctlab-invalid
`;

/**
 * Set sysctls in the router (conntrack's exist once the rules above loaded it) and read them back.
 * Names and values were checked against this kernel before anything started (run.ts).
 */
async function setSysctls(R: string, s: Record<string, string>): Promise<Record<string, string>> {
  const lines = Object.entries(s).map(([k, v]) => {
    const path = `/proc/sys/${k.replace(/\./g, '/')}`;
    return `echo '${v.replace(/'/g, '')}' > ${path}; echo "${k}=$(cat ${path})"`;
  });
  const out = await sh(`ip netns exec ${R} sh -ec '${lines.join('\n').replace(/'/g, `'\\''`)}'`, 'setting sysctls');
  const back: Record<string, string> = {};
  for (const l of out.split('\n')) {
    const i = l.indexOf('=');
    if (i > 0) back[l.slice(0, i)] = l.slice(i + 1).trim();
  }
  return back;
}

async function startNflog(
  R: string,
  group: number,
  file: string,
): Promise<{ proc: ResultPromise; stderr: () => string }> {
  const proc = execa(
    'ip',
    ['netns', 'exec', R, 'tcpdump', '-i', `nflog:${group}`, '-n', '-U', '--immediate-mode', '-s', '0', '-w', file],
    { reject: false, buffer: false, stdout: 'ignore', stderr: 'pipe', cleanup: false },
  );
  let err = '';
  proc.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const deadline = Date.now() + 10_000;
  while (!/listening on/.test(err)) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new CtlabError('LAB', `tcpdump on nflog:${group} did not start in the replay router`, { stderr: err });
    }
    await sleep(30);
  }
  return { proc, stderr: () => err };
}

async function stopNflog(c: { proc: ResultPromise; stderr: () => string }): Promise<number> {
  c.proc.kill('SIGINT');
  const t = setTimeout(() => c.proc.kill('SIGKILL'), 5000);
  await c.proc;
  clearTimeout(t);
  const m = /(\d+) packets? dropped by kernel/.exec(c.stderr());
  return m ? Number(m[1]) : 0;
}

async function linkRx(R: string, dev: string): Promise<number> {
  const out = await sh(
    `cat /dev/null; ip netns exec ${R} cat /sys/class/net/${dev}/statistics/rx_packets`,
    `reading ${dev}'s counters`,
  );
  return Number(out.trim());
}

function ruleCounters(text: string): { all: number; invalid: number } {
  let all = 0;
  let invalid = 0;
  for (const l of text.split('\n')) {
    const m = /^\s*(\d+)\s+\d+\s+(\S+)/.exec(l);
    if (!m) continue;
    if (/ctlab-replay-all/.test(l)) all = Number(m[1]);
    else if (/NFLOG/.test(m[2]!)) invalid = Number(m[1]);
  }
  return { all, invalid };
}

/** Complete records in a pcap file tcpdump is still writing (0 if not there yet). */
export async function countRecords(file: string): Promise<number> {
  let b: Buffer;
  try {
    b = await readFile(file);
  } catch {
    return 0;
  }
  if (b.length < 24) return 0;
  const le = b.readUInt32LE(0) === 0xa1b2c3d4 || b.readUInt32LE(0) === 0xa1b23c4d;
  let n = 0;
  for (let o = 24; o + 16 <= b.length; n++) {
    const len = le ? b.readUInt32LE(o + 8) : b.readUInt32BE(o + 8);
    if (o + 16 + len > b.length) break;
    o += 16 + len;
  }
  return n;
}

/**
 * On SIGINT/SIGTERM/SIGHUP while a lab is up: stop its tcpdumps and tcpreplay, delete its
 * namespaces, then exit (130/143/129), so an interrupted replay leaves nothing behind. The
 * long-running children are started with execa's `cleanup: false`: its signal-exit hook counts
 * them and, when that count equals the number of signal listeners, re-raises the signal and
 * kills this process before this handler has run (seen: SIGINT left the namespaces behind).
 */
const active = new Map<string, { procs: Set<ResultPromise>; names: string[] }>();
let trapped = false;
function trapSignals(): void {
  if (trapped) return;
  trapped = true;
  let exiting = false;
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.on(sig, () => {
      if (exiting) return;
      exiting = true;
      void (async () => {
        for (const lab of active.values()) {
          for (const p of lab.procs) p.kill('SIGKILL');
          for (const n of lab.names) await execa('ip', ['netns', 'del', n], { reject: false });
        }
        process.exit(code);
      })();
    });
  }
}

/** Play the pcap once through a fresh router with these sysctls. Namespaces are always removed. */
export async function runLab(o: LabRunOptions): Promise<LabRunResult> {
  const { router: R, wire: W } = replayNetns(o.runId, o.setting);
  const key = `${R} ${W}`;
  const problems: string[] = [];
  const caps: Array<{ proc: ResultPromise; stderr: () => string }> = [];
  const procs = new Set<ResultPromise>();
  trapSignals();
  active.set(key, { procs, names: [R, W] });
  try {
    await sh(SETUP(R, W), 'setting up the router and wire namespaces');
    const sysctls = await setSysctls(R, o.sysctls);
    for (const [k, v] of Object.entries(o.sysctls))
      if (sysctls[k] !== v) problems.push(`sysctl ${k}: set ${v}, reads back ${sysctls[k] ?? 'nothing'}`);
    const reasonsPcap = join(o.dir, 'invalid-reasons.pcap');
    const invalidPcap = join(o.dir, 'invalid-packets.pcap');
    caps.push(await startNflog(R, 0, reasonsPcap));
    caps.push(await startNflog(R, 1, invalidPcap));
    for (const c of caps) procs.add(c.proc);
    // tcpprep's MAC split: frames whose source MAC is listed are "server" traffic, which
    // tcpreplay sends on its primary interface (-i) unless --reverse (measured with tcpreplay
    // 4.4.3; the a1/b1 counters below check it on every run).
    const cache = join(o.dir, 'replay.cache');
    const prep = await execa('tcpprep', [`--mac=${WIRE_MAC.b}`, '--reverse', '-i', o.pcap, '-o', cache], {
      reject: false,
      all: true,
    });
    if (prep.exitCode !== 0)
      throw new CtlabError('LAB', 'tcpprep failed', {
        stderr: prep.all ?? '',
        exitCode: prep.exitCode,
        command: ['tcpprep', `--mac=${WIRE_MAC.b}`, '--reverse', '-i', o.pcap, '-o', cache],
      });
    const t0 = Date.now();
    const replaying = execa(
      'ip',
      [
        'netns',
        'exec',
        W,
        'taskset',
        '-c',
        '0',
        'tcpreplay',
        '-q',
        '-i',
        'a0',
        '-I',
        'b0',
        `--cachefile=${cache}`,
        ...(o.pace ? [] : ['--topspeed']),
        o.pcap,
      ],
      { reject: false, all: true, cleanup: false },
    );
    procs.add(replaying);
    const rp = await replaying;
    const replayMs = Date.now() - t0;
    await writeFile(join(o.dir, 'tcpreplay.log'), rp.all ?? '');
    if (rp.exitCode !== 0)
      throw new CtlabError('LAB', `tcpreplay failed (exit ${rp.exitCode})`, {
        stderr: rp.all ?? '',
        hint: `see ${join(o.dir, 'tcpreplay.log')}`,
      });
    const sum = (re: RegExp) => [...(rp.all ?? '').matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
    const sent = sum(/Successful packets:\s+(\d+)/g);
    const failed = sum(/Failed packets:\s+(\d+)/g);
    if (failed > 0) problems.push(`tcpreplay could not send ${failed} packets`);
    // The router handles each packet in the sender's softirq; wait until its counters stand still.
    let counters = ruleCounters(
      await sh(`ip netns exec ${R} iptables -w -t mangle -L PREROUTING -vnx`, 'reading counters'),
    );
    for (let i = 0; i < 50; i++) {
      await sleep(100);
      const c = ruleCounters(
        await sh(`ip netns exec ${R} iptables -w -t mangle -L PREROUTING -vnx`, 'reading counters'),
      );
      if (c.all === counters.all && c.invalid === counters.invalid) break;
      counters = c;
    }
    // nfnetlink_log batches records (flushed by size or after its timeout, 1 s by default): wait
    // until the INVALID capture holds as many records as the rule counted and both captures
    // have stood still for a while (at most 5 s).
    {
      const deadline = Date.now() + 5000;
      let last = '';
      let still = 0;
      for (;;) {
        const now = `${await countRecords(invalidPcap)}/${await countRecords(reasonsPcap)}`;
        still = now === last ? still + 1 : 0;
        last = now;
        if ((Number(now.split('/')[0]) >= counters.invalid && still >= 3) || Date.now() > deadline) break;
        await sleep(100);
      }
    }
    const receivedA = await linkRx(R, 'a1');
    const receivedB = await linkRx(R, 'b1');
    // Both captures were pushed, in this order, when the lab came up.
    const dropsReasons = await stopNflog(caps[0]!);
    const dropsInvalid = await stopNflog(caps[1]!);
    caps.length = 0;
    if (receivedA !== o.expectA || receivedB !== o.expectB) {
      problems.push(
        `the router received ${receivedA} client and ${receivedB} server packets, ${o.expectA} and ${o.expectB} were sent`,
      );
    }
    if (dropsReasons || dropsInvalid)
      problems.push(`tcpdump lost NFLOG records (${dropsReasons} reasons, ${dropsInvalid} INVALID packets)`);
    return {
      sent,
      received: counters.all,
      receivedA,
      receivedB,
      invalidCounter: counters.invalid,
      reasonsPcap,
      invalidPcap,
      captureDrops: { reasons: dropsReasons, invalid: dropsInvalid },
      replayMs,
      sysctls,
      problems,
    };
  } finally {
    active.delete(key);
    for (const c of caps) c.proc.kill('SIGKILL');
    await Promise.all(caps.map((c) => c.proc));
    await execa('ip', ['netns', 'del', R], { reject: false });
    await execa('ip', ['netns', 'del', W], { reject: false });
  }
}
