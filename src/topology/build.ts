// model → topology: which hosts, which links and addresses, and the exact commands that set
// each host up for one variant. Pure: no Docker here, so the whole plan is unit-testable and a
// second runtime (plain network namespaces) can execute the same plan.
import { BUNDLES } from '../bundles.js';
import {
  commandArgv,
  GENERATOR_MAIN,
  generatorArgv,
  HARVESTER_MAIN,
  harvesterArgv,
  requestsArgv,
  SERVICE_PORT,
  serviceStartScript,
} from '../harvester/workload.js';
import type { MiddleboxProcessConfig } from '../middlebox/process-config.js';
import type { ImageSpec, LinkSpec, NodeSpec } from '../runtime/types.js';
import { variantActions, variantClient, variantSysctls } from '../scenario/load.js';
import type { ClientModel, LabAction, Scenario, ServiceImage, VariantModel, WorkloadKind } from '../scenario/model.js';
import { rulesetCommands, serverFirewallCommands } from './firewall.js';

/** Lab addresses live in 198.18.0.0/15, the benchmarking range; nothing routes elsewhere. */
export const ADDR = {
  client: '198.18.1.2',
  mbClientSide: '198.18.1.1',
  mbServerSide: '198.18.2.1',
  server: '198.18.2.2',
  prefix: 24,
  labNet: '198.18.0.0/15',
} as const;

export const IFACE = { client: 'eth0', mbClient: 'eth0', mbServer: 'eth1', server: 'eth0' } as const;

export const PATHS = {
  optRoot: '/opt/ctlab',
  middleboxConfig: '/etc/ctlab/middlebox.json',
  middleboxCounters: '/run/ctlab/middlebox-counters.json',
  middleboxFlows: '/run/ctlab/middlebox-flows.jsonl',
  middleboxLog: '/run/ctlab/middlebox.log',
  middleboxPid: '/run/ctlab/middlebox.pid',
  repository: '/srv/oai',
  harvesterEvents: '/run/ctlab/events.jsonl',
  nginxAccessLog: '/var/log/nginx/access.log',
  /** The service of the http, upload, bulk and command workloads (src/service/): its access log and its own log. */
  serviceAccessLog: '/run/ctlab/service-access.log',
  serviceLog: '/run/ctlab/service.log',
  /** A command workload's output. */
  commandStdout: '/run/ctlab/command-stdout.txt',
  commandStderr: '/run/ctlab/command-stderr.txt',
  captures: '/run/ctlab/captures',
} as const;

export const NFQUEUE_NUM = 0;

/** What the middlebox process reads (validated inside the lab by process-config.ts, with the scenario schema's limits). */
export type MiddleboxConfig = MiddleboxProcessConfig;

/** One capture: tcpdump on `iface` of `node`, written to `file` inside the node. */
export interface CaptureSpec {
  /** Name of the kept file, e.g. "client.pcap". */
  name: string;
  node: string;
  iface: string;
  file: string;
  /** Bytes kept per packet (headers and TCP options; 0 = whole packets). */
  snaplen: number;
  what: string;
}

/** Headers only: Ethernet 14 + IPv4 20 + TCP 60 (with every option), rounded up. */
export const CAPTURE_SNAPLEN = 128;

export function captureCommand(c: CaptureSpec): string[] {
  // --immediate-mode: without it tcpdump on this kernel wrote no packet before being stopped.
  // -c bounds a capture's size whatever the scenario does (2 M packets of at most 128 bytes).
  return [
    'tcpdump',
    '-i',
    c.iface,
    '-n',
    '--immediate-mode',
    '-U',
    '-s',
    String(c.snaplen),
    // NFLOG: a larger socket buffer (KiB; the kernel caps it at net.core.rmem_max), or a burst of
    // INVALID packets overflows it and conntrack's reasons are lost (measured: 31 of 1,343 in a
    // window-overflow upload with the default buffer).
    ...(c.iface.startsWith('nflog:') ? ['-B', '8192'] : []),
    '-c',
    '2000000',
    '-w',
    c.file,
  ];
}

export interface Topology {
  /** Node names by role (a prefix keeps labs of variants run side by side apart). */
  names: { harvester: string; middlebox: string; server: string };
  scenario: string;
  variant: string;
  seed: number;
  nodes: NodeSpec[];
  links: LinkSpec[];
  /** Commands per node, run in order after the links are up. */
  setup: Record<string, string[][]>;
  middlebox: { config: MiddleboxConfig; command: string[] };
  /** Packet captures taken during the harvest, one tcpdump each. */
  captures: CaptureSpec[];
  /**
   * `iptables` is the binary whose counters are read: the firewall's backend. `rules`: the
   * user's ruleset is loaded (its INVALID drops are counted by the ctlab_count table).
   */
  server: { url: string; sysctls: Record<string, string>; iptables: string; rules?: boolean };
  /** The users' rulesets by node name: the field that named each, and the file as given (for a failed load's message). */
  rulesets?: Record<string, { field: string; given: string }>;
  /** The client node's NAT/firewall/sysctls when the scenario gives it any (see clientSetup()). */
  client?: ClientModel & { iptables: string };
  /**
   * The client's part of the workload: `command` runs in the client node (the harvester, or the
   * shell around a command workload); `url`: what it talks to (the VIP's when the client NATs).
   */
  harvester: { kind: WorkloadKind; command: string[]; timeoutMs: number; url: string };
  /** Mid-run actions, in time order: `command` runs in `node` `atMs` after the workload's first connection reaches the server. */
  actions?: ActionSpec[];
  /**
   * The user's own images (`server.image`, `client.image`), each started in its node's network
   * namespace once the node is set up (ctlab's nginx and service are then not started in the
   * server; a client image runs the command workload).
   */
  images?: { server?: ImageSpec; client?: ImageSpec };
}

export interface ActionSpec {
  atMs: number;
  /** The node's name in this lab. */
  node: string;
  command: string[];
  text: string;
}

/**
 * What an action runs. conntrack-flush: conntrack -F deletes every entry of the node's table
 * (per network namespace); the count printed first shows it hit live entries (this conntrack
 * version's -F does not say how many it deleted).
 */
export function actionCommand(a: LabAction): string[] {
  switch (a.do) {
    case 'conntrack-flush':
      return ['sh', '-c', 'echo "conntrack entries: $(conntrack -C)" && conntrack -F'];
  }
}

/**
 * The client node as a Kubernetes node in miniature. kube-proxy's ClusterIP rule for traffic
 * from the node itself: `-t nat -A OUTPUT -d VIP --dport 80 -j DNAT` to the server. The
 * client's conntrack then rewrites every reply from the server back to the VIP; a reply it
 * judges INVALID skips that reverse NAT and reaches TCP from the server's own address, for
 * which no socket exists: TCP answers with a RST to the server (kubernetes#74839). kube-proxy's
 * fix (PR #74840) drops INVALID first; here it goes through a chain whose DROP rule counts.
 */
export function clientSetup(c: ClientModel, iptables = 'iptables', port = 80): string[][] {
  // The user's ruleset first: its own tables (an iptables-save `*nat`, an nft `flush ruleset`)
  // would otherwise replace the NAT rule below.
  const cmds: string[][] = c.firewall ? rulesetCommands(c.firewall.rules, c.firewall.backend) : [];
  if (c.serviceVip) {
    cmds.push([
      iptables,
      '-w',
      '-t',
      'nat',
      '-A',
      'OUTPUT',
      '-d',
      `${c.serviceVip}/32`,
      '-p',
      'tcp',
      '--dport',
      String(port),
      '-j',
      'DNAT',
      '--to-destination',
      `${ADDR.server}:${port}`,
    ]);
  }
  if (c.dropInvalid) {
    cmds.push(
      [iptables, '-w', '-N', CLIENT_INVALID_CHAIN],
      [iptables, '-w', '-A', CLIENT_INVALID_CHAIN, '-j', 'DROP'],
      [iptables, '-w', '-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'INVALID', '-j', CLIENT_INVALID_CHAIN],
    );
  }
  return cmds;
}

/** The client's INVALID chain: its DROP rule's counter is client.invalidDrops. */
export const CLIENT_INVALID_CHAIN = 'CTLAB_INVALID';

function shaping(dev: string, rateMbit: number): string[][] {
  if (rateMbit <= 0) return [];
  // HTB (built into this kernel; no netem, no fq) shapes the middlebox's egress so the path,
  // not the middlebox, is the bottleneck of a measurement.
  const rate = `${rateMbit}mbit`;
  return [
    ['tc', 'qdisc', 'replace', 'dev', dev, 'root', 'handle', '1:', 'htb', 'default', '10'],
    ['tc', 'class', 'add', 'dev', dev, 'parent', '1:', 'classid', '1:10', 'htb', 'rate', rate, 'ceil', rate],
  ];
}

/** The lab for one variant of a scenario, run with `seed`; node names start with `prefix`. */
export function buildTopology(s: Scenario, v: VariantModel, seed: number, prefix = ''): Topology {
  const sysctls = variantSysctls(s, v.name);
  const client = variantClient(s, v);
  const names = { harvester: `${prefix}harvester`, middlebox: `${prefix}middlebox`, server: `${prefix}server` };
  const nodes: NodeSpec[] = [
    {
      name: names.harvester,
      role: 'harvester',
      ...(client && Object.keys(client.sysctls).length > 0 ? { sysctls: client.sysctls } : {}),
    },
    { name: names.middlebox, role: 'middlebox', sysctls: { 'net.ipv4.ip_forward': '1' } },
    { name: names.server, role: 'server', sysctls },
  ];
  const links: LinkSpec[] = [
    {
      a: { node: names.harvester, ifname: IFACE.client, address: `${ADDR.client}/${ADDR.prefix}` },
      b: { node: names.middlebox, ifname: IFACE.mbClient, address: `${ADDR.mbClientSide}/${ADDR.prefix}` },
      mtu: 1500,
    },
    {
      a: { node: names.middlebox, ifname: IFACE.mbServer, address: `${ADDR.mbServerSide}/${ADDR.prefix}` },
      b: { node: names.server, ifname: IFACE.server, address: `${ADDR.server}/${ADDR.prefix}` },
      mtu: 1500,
    },
  ];
  const w = s.workload;
  const config: MiddleboxConfig = {
    queue: NFQUEUE_NUM,
    seed,
    profile: s.middlebox,
    path: s.path,
    countersFile: PATHS.middleboxCounters,
    flowsFile: PATHS.middleboxFlows,
  };
  const own = s.server.image;
  const firewall = serverFirewallCommands(s.server.firewall, own ? [own.port] : []);
  const images = imageSpecs(s, names);
  const byRole = { server: names.server, client: names.harvester, middlebox: names.middlebox };
  const actions = variantActions(s, v)
    .map((a) => ({ atMs: a.atMs, node: byRole[a.node], command: actionCommand(a), text: a.text }))
    .sort((a, b) => a.atMs - b.atMs);
  // Through the VIP when the client NATs: the same server, reached only via the client's DNAT.
  const host = client?.serviceVip ?? ADDR.server;
  // The workloads are aimed at the user's service when it has its own image.
  const port = own ? own.port : SERVICE_PORT;
  const hostPort = (h: string) => (port === 80 ? h : `${h}:${port}`);
  const url = w.kind === 'oai-pmh' ? `http://${hostPort(ADDR.server)}/oai` : `http://${hostPort(ADDR.server)}`;
  const harvestUrl = w.kind === 'oai-pmh' ? `http://${hostPort(host)}/oai` : `http://${hostPort(host)}`;
  // The server: nginx and the OAI-PMH repository for a harvest, the service for the others.
  // With the user's own image, neither: the image serves.
  const serve: string[][] = own
    ? []
    : w.kind === 'oai-pmh'
      ? [
          [
            'node',
            `${PATHS.optRoot}/${GENERATOR_MAIN}`,
            ...generatorArgv(w, { out: PATHS.repository, seed: s.seed, baseUrl: harvestUrl }),
          ],
          // Returns once nginx listens, so a bad config fails this step.
          ['nginx', '-g', 'daemon on;'],
        ]
      : [
          [
            'sh',
            '-c',
            serviceStartScript({ optRoot: PATHS.optRoot, accessLog: PATHS.serviceAccessLog, log: PATHS.serviceLog }),
          ],
        ];
  const clientCommand =
    w.kind === 'oai-pmh'
      ? [
          'node',
          `${PATHS.optRoot}/${HARVESTER_MAIN}`,
          ...harvesterArgv(w, { baseUrl: harvestUrl, events: PATHS.harvesterEvents }),
        ]
      : w.kind === 'command'
        ? inClientImage(s, commandArgv(w, { host, port, stdout: PATHS.commandStdout, stderr: PATHS.commandStderr }))
        : [
            'node',
            `${PATHS.optRoot}/${HARVESTER_MAIN}`,
            ...requestsArgv(w, { baseUrl: harvestUrl, events: PATHS.harvesterEvents }),
          ];
  return {
    names,
    scenario: s.name,
    variant: v.name,
    seed,
    nodes,
    links,
    setup: {
      // Only lab routes: the client and the server reach each other through the middlebox and
      // nothing else (no default route anywhere).
      [names.harvester]: [
        ['ip', 'route', 'add', ADDR.labNet, 'via', ADDR.mbClientSide],
        ['mkdir', '-p', PATHS.captures],
        ...(client ? clientSetup(client, 'iptables', port) : []),
      ],
      [names.server]: [
        ['ip', 'route', 'add', ADDR.labNet, 'via', ADDR.mbServerSide],
        ['mkdir', '-p', PATHS.captures],
        ...firewall,
        ...serve,
      ],
      [names.middlebox]: [
        ['mkdir', '-p', '/etc/ctlab', '/run/ctlab'],
        // Every forwarded TCP packet goes to the middlebox process. No --queue-bypass: if the
        // process dies, traffic stops (fail closed) instead of silently flowing unmodified.
        ['iptables', '-A', 'FORWARD', '-p', 'tcp', '-j', 'NFQUEUE', '--queue-num', String(NFQUEUE_NUM)],
        ...shaping(IFACE.mbClient, s.path.rateMbit),
        ...shaping(IFACE.mbServer, s.path.rateMbit),
      ],
    },
    middlebox: {
      config,
      command: ['node', `${PATHS.optRoot}/${BUNDLES.middlebox.out}`, '--config', PATHS.middleboxConfig],
    },
    server: {
      url,
      sysctls,
      iptables: s.server.firewall.backend === 'legacy' ? 'iptables-legacy' : 'iptables-nft',
      ...(s.server.firewall.rules ? { rules: true } : {}),
    },
    ...(client ? { client: { ...client, iptables: 'iptables' } } : {}),
    ...(s.server.firewall.rules || client?.firewall
      ? {
          rulesets: {
            ...(s.server.firewall.rules
              ? { [names.server]: { field: 'server.firewall.rules', given: s.server.firewall.rules.given } }
              : {}),
            ...(client?.firewall
              ? { [names.harvester]: { field: 'client.firewall.rules', given: client.firewall.rules.given } }
              : {}),
          },
        }
      : {}),
    captures: [
      {
        name: 'client.pcap',
        node: names.harvester,
        iface: IFACE.client,
        file: `${PATHS.captures}/client.pcap`,
        snaplen: CAPTURE_SNAPLEN,
        what: 'the client side of the middlebox (the client sees shifted sequence numbers)',
      },
      {
        name: 'server.pcap',
        node: names.server,
        iface: IFACE.server,
        file: `${PATHS.captures}/server.pcap`,
        snaplen: CAPTURE_SNAPLEN,
        what: 'the server side of the middlebox (what conntrack judged)',
      },
      // conntrack's own INVALID reasons (nf_conntrack_log_invalid) reach NFLOG group 0 in the
      // server's namespace: no host syslog needed. The firewall's drops are NFLOG group 1.
      {
        name: 'invalid-reasons.pcap',
        node: names.server,
        iface: 'nflog:0',
        file: `${PATHS.captures}/invalid-reasons.pcap`,
        snaplen: 0,
        what: "conntrack's INVALID reasons (NFLOG group 0)",
      },
      {
        name: 'invalid-drops.pcap',
        node: names.server,
        iface: 'nflog:1',
        file: `${PATHS.captures}/invalid-drops.pcap`,
        snaplen: 0,
        what: "packets the firewall's INVALID rule dropped (NFLOG group 1)",
      },
      // The client's conntrack runs when it NATs or filters: its reasons, from its own namespace.
      ...(client && (client.serviceVip || client.dropInvalid || client.firewall)
        ? [
            {
              name: 'client-invalid-reasons.pcap',
              node: names.harvester,
              iface: 'nflog:0',
              file: `${PATHS.captures}/client-invalid-reasons.pcap`,
              snaplen: 0,
              what: "the client's conntrack INVALID reasons (NFLOG group 0)",
            },
          ]
        : []),
    ],
    harvester: {
      kind: w.kind,
      command: clientCommand,
      timeoutMs: w.maxDurationMs + 30_000,
      url: harvestUrl,
    },
    ...(actions.length > 0 ? { actions } : {}),
    ...(images ? { images } : {}),
  };
}

/**
 * The command workload's shell in the user's client image: the folder its output files go to may
 * not exist there, so it is made first.
 */
function inClientImage(s: Scenario, argv: string[]): string[] {
  if (!s.client?.image) return argv;
  const dir = PATHS.commandStdout.replace(/\/[^/]*$/, '');
  return ['sh', '-c', `mkdir -p ${dir} && exec "$@"`, 'sh', ...argv];
}

/** The scenario's own images as runtime specs for this lab's nodes (server: ready default = its port listening). */
export function imageSpecs(
  s: Scenario,
  names: Topology['names'],
): { server?: ImageSpec; client?: ImageSpec } | undefined {
  const spec = (node: string, i: ServiceImage, defaultReady?: ImageSpec['ready']): ImageSpec => {
    const ready: ImageSpec['ready'] =
      i.ready === undefined
        ? defaultReady
        : 'http' in i.ready
          ? { http: i.ready.http, port: i.port ?? 80 } // only a server image has an HTTP check, on its port
          : i.ready;
    return {
      node,
      image: i.name,
      ...(i.env ? { env: i.env } : {}),
      ...(i.command ? { command: i.command } : {}),
      ...(ready ? { ready } : {}),
      startupTimeoutMs: i.startupTimeoutMs,
    };
  };
  const server = s.server.image ? spec(names.server, s.server.image, { port: s.server.image.port }) : undefined;
  const client = s.client?.image ? spec(names.harvester, s.client.image) : undefined;
  if (!server && !client) return undefined;
  return { ...(server ? { server } : {}), ...(client ? { client } : {}) };
}
