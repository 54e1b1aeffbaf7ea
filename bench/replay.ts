// `ctlab replay` speed on the host kernel (target: 100,000 packets in under 30 s on this 2-core
// machine). Writes a synthetic capture of at least --packets TCP packets (default 100,000): 40
// HTTP-like connections, each a handshake, server data segments cut to a 128-byte snap length
// (so every one is padded and re-checksummed, as with ctlab's own captures) each ACKed by the
// client, every 100th client ACK acknowledging data never sent (INVALID: "ACK is over upper
// bound"), and a FIN exchange. Then replays it (be_liberal 0 and 1) and prints the figures:
// the whole command's time and tcpreplay's packets per second, per setting.
//   npm run build && node dist/bench/replay.js [--packets 100000] [--pace]
import { writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTcpPacket } from '../src/packet/packet.js';
import { LINKTYPE_RAW, writePcap } from '../src/packet/pcap.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN } from '../src/packet/tcp.js';
import { runReplay } from '../src/replay/run.js';
import { newRunId } from '../src/runtime/labels.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const FLOWS = 40;
const MSS = 1448;

function capture(target: number): { pcap: Uint8Array; packets: number; invalidPlanted: number } {
  const per = Math.ceil(target / FLOWS);
  const rounds = Math.ceil((per - 7) / 2);
  const flows = Array.from({ length: FLOWS }, (_, f) => ({
    c: `10.9.${f >> 8}.${(f & 255) + 1}`,
    s: '10.8.0.80',
    cp: 30000 + f,
    ciss: (f * 7919 * 104729) >>> 0,
    siss: (f * 15485863) >>> 0,
  }));
  const out: Array<{ timeMs: number; data: Uint8Array; originalLength: number }> = [];
  let t = 1_700_000_000_000;
  let planted = 0;
  const push = (b: Uint8Array) => {
    t += 0.01;
    out.push({ timeMs: t, data: b.subarray(0, 128), originalLength: b.length });
  };
  type Flow = (typeof flows)[number];
  type More = { ack?: number; payload?: number };
  const client = (x: Flow, seq: number, flags: number, o: More = {}) =>
    buildTcpPacket({ src: x.c, dst: x.s, srcPort: x.cp, dstPort: 80, seq, flags, window: 64240, ...o });
  const server = (x: Flow, seq: number, flags: number, o: More = {}) =>
    buildTcpPacket({ src: x.s, dst: x.c, srcPort: 80, dstPort: x.cp, seq, flags, window: 65160, ...o });
  for (const x of flows) {
    push(client(x, x.ciss, TCP_SYN));
    push(server(x, x.siss, TCP_SYN | TCP_ACK, { ack: x.ciss + 1 }));
    push(client(x, x.ciss + 1, TCP_ACK, { ack: x.siss + 1 }));
    push(client(x, x.ciss + 1, TCP_ACK | TCP_PSH, { ack: x.siss + 1, payload: 100 }));
  }
  // Interleave the flows' data rounds, as concurrent connections would be captured.
  for (let r = 0; r < rounds; r++) {
    for (const x of flows) {
      const seq = (x.siss + 1 + r * MSS) >>> 0;
      push(server(x, seq, TCP_ACK, { ack: x.ciss + 101, payload: MSS }));
      const bogus = r % 100 === 99;
      if (bogus) planted++;
      push(client(x, x.ciss + 101, TCP_ACK, { ack: (seq + MSS + (bogus ? 10_000_000 : 0)) >>> 0 }));
    }
  }
  for (const x of flows) {
    const end = (x.siss + 1 + rounds * MSS) >>> 0;
    push(client(x, x.ciss + 101, TCP_ACK | TCP_FIN, { ack: end }));
    push(server(x, end, TCP_ACK | TCP_FIN, { ack: x.ciss + 102 }));
    push(client(x, x.ciss + 102, TCP_ACK, { ack: end + 1 }));
  }
  return { pcap: writePcap(out, LINKTYPE_RAW, 128), packets: out.length, invalidPlanted: planted };
}

async function main(): Promise<void> {
  const target = Number(arg('--packets') ?? 100_000);
  const dir = mkdtempSync(join(tmpdir(), 'ctlab-bench-replay-'));
  const c = capture(target);
  const file = join(dir, 'bench.pcap');
  writeFileSync(file, c.pcap);
  console.log(
    `capture: ${c.packets} TCP packets in ${FLOWS} flows, snap length 128, ${c.invalidPlanted} ACKs over the upper bound planted (${file})`,
  );
  const t0 = Date.now();
  const r = await runReplay({
    capture: file,
    outDir: join(dir, 'out'),
    kernels: ['host'],
    sysctls: {},
    expect: [],
    pace: process.argv.includes('--pace'),
    runId: newRunId(),
    version: 'bench',
    log: (m) => console.log(`  ${m}`),
  });
  const ms = Date.now() - t0;
  for (const x of r.runs) {
    console.log(
      `${x.setting.name}: ${x.packets.replayed} replayed, ${x.packets.received} received by the router, ${x.invalid} INVALID; tcpreplay ${(x.replayMs / 1000).toFixed(2)} s = ${x.packetsPerSecond.toLocaleString('en-US')} packets/s${x.problems.length ? `; PROBLEMS: ${x.problems.join('; ')}` : ''}`,
    );
  }
  const settings = r.runs.length;
  console.log(
    `whole command (read, repair, ${settings} settings on fresh routers, attribute, write reports): ${(ms / 1000).toFixed(1)} s for ${c.packets} packets x ${settings} = ${Math.round((c.packets * settings) / (ms / 1000)).toLocaleString('en-US')} packets/s overall`,
  );
  console.log(
    `per setting: ${(ms / settings / 1000).toFixed(1)} s for ${c.packets} packets (target: 100,000 in under 30 s)`,
  );
  console.log(`verdict: ${r.verdict}`);
  if (r.runs[0]!.invalid !== c.invalidPlanted)
    console.log(`NOTE: ${c.invalidPlanted} INVALID ACKs planted, ${r.runs[0]!.invalid} found`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
