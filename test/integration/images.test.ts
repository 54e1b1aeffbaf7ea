// Your own server image (`server.image`) on the real engine and kernel. The image is a small HTTP
// service (test/fixtures/own-server/) the test builds from ctlab's offline base and tags by content
// (no registry needed). It reproduces the incident against that image (ASA preset with loss:
// INVALID drops and a stalled transfer with the flag off) and cures it with the flag on; ctlab's
// conntrack, firewall, counters and captures stay in the server node. The same image as
// `client.image` runs a command workload in the client node's namespace. A bad image name and a
// service that never becomes ready each give one line and exit 3 with nothing left; --runtime
// netns refuses images (exit 2). Without Docker: fails when CI=true, skips (with a message) otherwise.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { buildImages, runtimeFor } from '../../src/cli/lab.js';
import type { RunResult } from '../../src/result/types.js';
import { runScenario } from '../../src/run/run.js';
import { connectDocker } from '../../src/runtime/connect.js';
import { buildImageOn, type LabImages } from '../../src/runtime/images.js';
import { LABEL_RUN, newRunId } from '../../src/runtime/labels.js';
import { loadScenario } from '../../src/scenario/load.js';
import { assertBuilt, ctlab, lines, REPO, STACK_FRAME, tempDir } from '../unit/cli/cli.js';
import { describeWith } from '../gate.js';
import { dockerGate } from './docker-gate.js';

const prerequisites = await dockerGate();

async function leftover(runId: string): Promise<string[]> {
  const docker = await connectDocker();
  const cs = await docker.listContainers({ all: true, filters: { label: [`${LABEL_RUN}=${runId}`] } });
  return cs.map((c) => c.Names.join(','));
}

/** The run id a `ctlab run` printed in its first progress line. */
function runIdOf(stderr: string): string {
  const m = /, run (\S+)$/m.exec(stderr);
  if (!m) throw new Error(`no run id in:\n${stderr}`);
  return m[1]!;
}

describeWith(prerequisites, 'your own server image (real Docker, real kernel)', () => {
  const dir = tempDir('ctlab-images-');
  let images: LabImages;
  let service: string;

  /** A scenario file in the test's folder: one variant unless given, server.image as given. */
  function scenario(name: string, image: string, rest = 'variants: [{ name: a }]\n'): string {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, `name: ${name}\nserver:\n  image: ${image}\n${rest}`);
    return file;
  }

  beforeAll(async () => {
    assertBuilt();
    images = await buildImages({ runId: newRunId(), progress: () => {} });
    service = (
      await buildImageOn({
        repo: 'ctlab-test-own-server',
        role: 'test-service',
        parent: images.base,
        dockerfile: 'test/fixtures/own-server/Dockerfile',
        files: ['test/fixtures/own-server/server.mjs'],
      })
    ).tag;
  }, 300_000);

  it('reproduces the incident against the image (INVALID drops, stalled responses) and cures it with the flag', async () => {
    // scenarios/http-asa.yaml (16 GETs of 200 and 500 kB behind the ASA preset, 1.5 % loss),
    // with the test's service image as the server.
    const text = readFileSync(join(REPO, 'scenarios/http-asa.yaml'), 'utf8');
    const at = '  firewall: { dropInvalid: true, backend: nft }\n';
    if (!text.includes(at)) throw new Error(`"${at.trim()}" not in scenarios/http-asa.yaml`);
    const file = join(dir, 'own-server-asa.yaml');
    writeFileSync(
      file,
      text
        .replace('name: http-asa', 'name: own-server-asa')
        .replace(
          at,
          `${at}  image: { name: ${service}, port: 8080, ready: { http: /health }, startupTimeoutMs: 20000 }\n`,
        ),
    );
    const s = loadScenario(file);
    expect(s.server.image).toMatchObject({ name: service, port: 8080 });
    const runId = newRunId();
    const r: RunResult = await runScenario(s, {
      outDir: join(dir, 'out-asa'),
      runId,
      createRuntime: (id) => runtimeFor(id, images),
    });
    const off = r.variants.find((v) => v.name === 'flag-off')!;
    const on = r.variants.find((v) => v.name === 'flag-on')!;
    // Flag off: the server node's firewall dropped what its conntrack judged INVALID, and
    // responses stalled into read timeouts.
    expect(off.server.invalidDrops).toBeGreaterThan(0);
    expect(off.server.conntrackInvalid).toBeGreaterThanOrEqual(off.server.invalidDrops);
    expect(off.attempts.timedOut).toBeGreaterThan(0);
    expect(off.middlebox.counters.sackBlocksUntranslated).toBeGreaterThan(0);
    // Flag on: every response arrived in full, no INVALID drop.
    expect(on.workload).toMatchObject({ kind: 'http' });
    expect(on.attempts.timedOut).toBe(0);
    expect(on.server.invalidDrops).toBe(0);
    expect(r.passed).toBe(true);
    // The image served (its log, kept per variant), ctlab's own service did not run, and the
    // server node's captures are there as with ctlab's server.
    const v = join(dir, 'out-asa', 'flag-on');
    expect(readFileSync(join(v, 'server-image.log'), 'utf8')).toMatch(/^own-server listening on 8080$/m);
    expect(readFileSync(join(v, 'service-access.log'), 'utf8')).toBe('');
    for (const f of ['server.pcap', 'client.pcap', 'invalid-drops.pcap']) expect(existsSync(join(v, f)), f).toBe(true);
    expect(await leftover(runId)).toEqual([]);
  }, 300_000);

  it.concurrent("client.image: the command workload runs in the image, in the client node's namespace", async () => {
    const file = join(dir, 'client-image.yaml');
    writeFileSync(
      file,
      [
        'name: client-image',
        'client:',
        `  image: { name: ${service}, ready: { log: listening } }`,
        'workload:',
        '  kind: command',
        `  command: "curl -s -o /dev/null -w '%{http_code}\\n' $CTLAB_URL/bytes/100000; ls /srv"`,
        'variants: [{ name: a, expect: [command.exitCode == 0] }]',
        '',
      ].join('\n'),
    );
    const out = join(dir, 'out-client');
    const r = await ctlab(['run', file, '--out', out], { timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    // ctlab's service answered through the middlebox; /srv/own-server.mjs exists only in the image.
    expect(readFileSync(join(out, 'a', 'command-stdout.txt'), 'utf8')).toBe('200\nown-server.mjs\n');
    expect(readFileSync(join(out, 'a', 'client-image.log'), 'utf8')).toMatch(/listening on 8080/);
    expect(await leftover(runIdOf(r.stderr))).toEqual([]);
  }, 150_000);

  it.concurrent('a bad image name: one line naming the image, exit 3, nothing left', async () => {
    const file = scenario('no-such-image', '{ name: ctlab-no-such-image:404, port: 8080 }');
    const r = await ctlab(['run', file, '--out', join(dir, 'out-bad')], { timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr).toBe(3);
    const errs = lines(r.stderr).filter((l) => l.startsWith('ctlab: '));
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(
      /^ctlab: image ctlab-no-such-image:404 for node \S*server is not on this machine and could not be pulled: /,
    );
    expect(r.stderr).not.toMatch(STACK_FRAME);
    expect(await leftover(runIdOf(r.stderr))).toEqual([]);
  }, 150_000);

  it.concurrent('a service that never becomes ready: one line naming the image and what it waited for, its last log lines, exit 3, nothing left', async () => {
    const file = scenario('never-ready', `{ name: ${service}, port: 9999, startupTimeoutMs: 4000 }`);
    const r = await ctlab(['run', file, '--out', join(dir, 'out-never')], { timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr).toBe(3);
    const errs = lines(r.stderr).filter((l) => l.startsWith('ctlab: '));
    expect(errs).toEqual([
      `ctlab: image ${service} in node server was not ready within 4 s: it waited for port 9999 to listen`,
    ]);
    // Its last log lines, as the error's detail: the service says where it really listens.
    expect(r.stderr).toMatch(/^ {2}stderr: own-server listening on 8080$/m);
    expect(await leftover(runIdOf(r.stderr))).toEqual([]);
  }, 150_000);

  it('--runtime netns cannot run images: one line, exit 2, before anything starts', async () => {
    const file = scenario('netns-image', `{ name: ${service}, port: 8080 }`);
    const r = await ctlab(['run', file, '--runtime', 'netns']);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(lines(r.stderr)).toEqual([
      `ctlab: ${file}: server.image (${service}): --runtime netns cannot run images (only the Docker runtime can: leave --runtime out)`,
    ]);
  });
});
