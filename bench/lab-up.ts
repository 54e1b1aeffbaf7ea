// Time to bring the three lab hosts up and wired, from warm images (target: under 5 s).
//   npm run bench:lab                       # measure N times (default 3), print, tear down
//   node dist/bench/lab-up.js --runs 5
//   node dist/bench/lab-up.js --hold --run-id X   # bring up and wait (used by the SIGKILL test)

import { CtlabError } from '../src/errors.js';
import { installCleanupTraps } from '../src/runtime/cleanup.js';
import { DockerRuntime } from '../src/runtime/docker.js';
import { standardImages, upStandardLab } from '../src/runtime/standard-lab.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const hold = process.argv.includes('--hold');
  const runs = Number(arg('--runs') ?? (hold ? 1 : 3));
  const tImg = Date.now();
  const images = await standardImages();
  console.log(`images ready (warm check) in ${Date.now() - tImg} ms`);
  const ups: number[] = [];
  for (let i = 0; i < runs; i++) {
    const rt = await DockerRuntime.create({ images, runId: arg('--run-id') });
    const untrap = installCleanupTraps(rt);
    const t0 = Date.now();
    if (hold) console.log(`starting ${rt.runId}`);
    await upStandardLab(rt);
    const up = Date.now() - t0;
    ups.push(up);
    if (hold) {
      console.log(`up ${rt.runId} in ${up} ms; holding`);
      setInterval(() => undefined, 60_000);
      return;
    }
    // one packet end to end proves the wiring, outside the timed part
    await rt.node('client').exec(['ping', '-c', '1', '-W', '2', '198.18.2.2'], { timeoutMs: 5000 });
    const t1 = Date.now();
    await rt.destroy();
    untrap();
    console.log(`run ${i + 1}: up+wired ${up} ms, destroy ${Date.now() - t1} ms`);
  }
  ups.sort((a, b) => a - b);
  console.log(
    `lab up (3 hosts, 2 links, routes): median ${ups[Math.floor(ups.length / 2)]} ms, min ${ups[0]} ms, max ${ups[ups.length - 1]} ms over ${ups.length} runs (target < 5000 ms)`,
  );
}

main().catch((err) => {
  console.error(err instanceof CtlabError ? err.format() : err);
  process.exit(1);
});
