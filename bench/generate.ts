// How long generating the incident-sized OAI-PMH repository takes (3812 records of ~3000 B in
// pages of 100, the size the canonical scenario serves): one warm-up, then the median, minimum
// and maximum of N runs. Run: npm run bench:generate [-- <runs>]
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { generateRepository } from '../src/repository/generate.js';

const INCIDENT = { records: 3812, pageSize: 100, recordBytes: 3000, seed: 1 };
const runs = Number(process.argv[2] ?? 15);

const warm = generateRepository(INCIDENT);
const bytes = warm.files.reduce((n, f) => n + f.content.length, 0);
const ms: number[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  generateRepository(INCIDENT);
  ms.push(performance.now() - t0);
}
ms.sort((a, b) => a - b);
const median = ms[Math.floor(ms.length / 2)]!;
console.log(
  `generateRepository(${INCIDENT.records} records x ${INCIDENT.recordBytes} B, ${warm.files.length} files, ${(bytes / 1e6).toFixed(1)} MB): ` +
    `median ${median.toFixed(1)} ms over ${runs} runs (${ms[0]!.toFixed(1)}-${ms.at(-1)!.toFixed(1)} ms)`,
);
console.log(`(${cpus().length} cores, load average ${loadavg()[0]!.toFixed(2)} at the end)`);
