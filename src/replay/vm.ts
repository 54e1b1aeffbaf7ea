// A replay on another kernel: the VM runner (src/vm) boots it with the capture in the job
// (/job/capture.pcap) and runs `ctlab replay --kernel host` inside (lab/vm/job-replay.sh); the
// guest's replay folder comes back into `dir` and its replay.json is read.
import { readReplayResult } from './run.js';
import type { ReplayResult } from './result.js';

export async function replayInVm(o: {
  spec: string;
  capture: string;
  dir: string;
  sysctls: Record<string, string>;
  flow?: string;
  pace: boolean;
  log: (m: string) => void;
}): Promise<ReplayResult> {
  const { resolveKernel, runScenarioInVm } = await import('../vm/index.js');
  const kernel = await resolveKernel(o.spec, o.log);
  const args = [
    ...Object.entries(o.sysctls).flatMap(([k, v]) => ['--sysctl', `${k}=${v}`]),
    ...(o.flow !== undefined ? ['--flow', o.flow] : []),
    ...(o.pace ? ['--pace'] : []),
  ];
  await runScenarioInVm({
    kernel,
    scenarioFile: o.capture,
    job: 'replay',
    files: { 'capture.pcap': o.capture },
    args,
    outDir: o.dir,
    progress: (m) => o.log(`[${o.spec}] ${m}`),
  });
  const r = await readReplayResult(o.dir);
  return r;
}
