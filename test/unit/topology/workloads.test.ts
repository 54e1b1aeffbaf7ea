// The lab's plan for the workloads beside oai-pmh: the server runs the HTTP service instead of
// nginx and the repository, the client runs the harvester with the workload as JSON, or the
// user's command under sh with the server's address in its environment (the VIP's with a NAT).
import { describe, expect, it } from 'vitest';
import { parseRequestsArgs } from '../../../src/harvester/requests-cli.js';
import { loadScenario, parseScenario } from '../../../src/scenario/load.js';
import { buildTopology, PATHS } from '../../../src/topology/build.js';
import { FAKE_KERNEL } from '../scenario/fake-kernel.js';

describe('topology of the workloads', () => {
  it('http: the service on the server, the harvester in its requests mode on the client', () => {
    const s = loadScenario('scenarios/http-asa.yaml');
    const t = buildTopology(s, s.variants[0]!, 7);
    const server = t.setup[t.names.server]!.map((c) => c.join(' '));
    expect(server.some((c) => c.includes("service.mjs' --port 80 --access-log"))).toBe(true);
    expect(server.some((c) => c.startsWith('nginx') || c.includes('repository.mjs'))).toBe(false);
    const cmd = t.harvester.command;
    expect(cmd.slice(0, 2)).toEqual(['node', '/opt/ctlab/dist/bundle/harvester.mjs']);
    expect(parseRequestsArgs(cmd.slice(2))).toMatchObject({
      baseUrl: 'http://198.18.2.2',
      events: PATHS.harvesterEvents,
      workload: { kind: 'http', requests: 16, sizes: [200_000, 500_000], concurrency: 4 },
    });
    expect(t.harvester.kind).toBe('http');
    expect(t.harvester.timeoutMs).toBe(60_000 + 30_000);
  });

  it("command: sh -c under timeout(1), the server's address in the environment, through the VIP with a NAT", () => {
    const s = parseScenario(
      'workload: { kind: command, command: "curl -s $CTLAB_URL/", maxDurationMs: 5000 }\nclient: { serviceVip: 198.18.3.80 }\nvariants: [{ name: a }]\n',
      'x.yaml',
      { kernel: FAKE_KERNEL },
    );
    const t = buildTopology(s, s.variants[0]!, 7);
    const cmd = t.harvester.command;
    expect(cmd.slice(0, 5)).toEqual([
      'env',
      'CTLAB_SERVER=198.18.3.80',
      'CTLAB_PORT=80',
      'CTLAB_URL=http://198.18.3.80:80',
      'CTLAB_COMMAND=curl -s $CTLAB_URL/',
    ]);
    expect(cmd.slice(5, 7)).toEqual(['sh', '-c']);
    expect(cmd[7]).toContain(`timeout -k 5 5.000 sh -c "$CTLAB_COMMAND" > '${PATHS.commandStdout}'`);
    expect(cmd[7]).toContain('echo "ctlab-command rc=$rc ms=');
  });
});
