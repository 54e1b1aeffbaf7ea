// The user's own images (`server.image`, `client.image`): what a scenario file resolves to, each
// impossible one refused before anything starts (one problem per line, naming the field), the
// runtimes that cannot run images refused (exit 2), and the lab plan around an image: ctlab's
// nginx off, the firewall open on the image's port, the workloads aimed at it.
import { describe, expect, it } from 'vitest';
import { imagesRuntimeProblem } from '../../../src/scenario/images.js';
import { parseScenario } from '../../../src/scenario/load.js';
import { buildTopology } from '../../../src/topology/build.js';
import { FAKE_KERNEL } from './fake-kernel.js';
import { problems } from './problems.js';

const variants = 'variants: [{ name: a }]\n';
const load = (text: string) => parseScenario(`${text}\n${variants}`, 'x.yaml', { kernel: FAKE_KERNEL });
const bad = (text: string) => problems(`${text}\n${variants}`);

describe('server.image and client.image', () => {
  it('resolves an image with its port, readiness (default: the port listening), env and command', () => {
    const s = load('server: { image: { name: my-svc:1.2, port: 8080 } }');
    expect(s.server.image).toEqual({ name: 'my-svc:1.2', port: 8080, startupTimeoutMs: 60_000 });
    const t = load(
      'server:\n  image: { name: "registry.example.com:5000/team/app@sha256:' +
        'a'.repeat(64) +
        '", port: 80, ready: { http: /health }, env: { MODE: fast, N: 3 }, command: [serve, --fast], startupTimeoutMs: 5000 }',
    );
    expect(t.server.image).toMatchObject({
      ready: { http: '/health' },
      env: { MODE: 'fast', N: '3' },
      command: ['serve', '--fast'],
      startupTimeoutMs: 5000,
    });
    expect(
      load('server: { image: { name: x, port: 81, ready: { log: "listening on \\\\d+" } } }').server.image?.ready,
    ).toEqual({
      log: 'listening on \\d+',
    });
    const c = load('client: { image: { name: curl-box } }\nworkload: { kind: command, command: "curl -s $CTLAB_URL" }');
    expect(c.client?.image).toEqual({ name: 'curl-box', startupTimeoutMs: 60_000 });
  });

  it('refuses bad images on their line, naming the field', () => {
    expect(bad('server: { image: { name: my-svc } }')).toEqual(['1: server.image.port: required (number)']);
    expect(bad('server: { image: { name: My_Svc, port: 80 } }')[0]).toMatch(
      /^1: server\.image\.name: an image reference/,
    );
    expect(bad('server: { image: { name: x, port: 70000 } }')[0]).toMatch(/^1: server\.image\.port: /);
    expect(bad('server: { image: { name: x, port: 80, ready: { log: "(" } } }')[0]).toMatch(
      /^1: server\.image\.ready\.log: not a regular expression/,
    );
    expect(bad('server: { image: { name: x, port: 80, ready: { http: health } } }').join('\n')).toMatch(
      /a path starting with \//,
    );
    expect(bad('server: { image: { name: x, port: 80, volumes: [/x] } }')).toEqual([
      '1: server.image.volumes: unknown field',
    ]);
    expect(bad('client: { image: { name: curl-box, ready: { http: /x } } }').length).toBeGreaterThan(0);
    expect(bad('client: { image: { name: curl-box } }')).toEqual([
      "1: client.image: a client image runs the command workload (workload.kind: command), not oai-pmh: ctlab's own client runs in the client node",
    ]);
  });

  it('runs only with the Docker runtime on this kernel', () => {
    const s = load('server: { image: { name: my-svc:1, port: 8080 } }');
    expect(imagesRuntimeProblem(s, { runtime: 'docker' })).toBeUndefined();
    expect(imagesRuntimeProblem(s, { runtime: 'docker', kernels: ['host'] })).toBeUndefined();
    expect(imagesRuntimeProblem(s, { runtime: 'netns' })).toBe(
      'server.image (my-svc:1): --runtime netns cannot run images (only the Docker runtime can: leave --runtime out)',
    );
    expect(imagesRuntimeProblem(s, { runtime: 'docker', kernels: ['5.10', 'host'] })).toMatch(
      /^server\.image \(my-svc:1\): --kernel 5\.10 runs the lab in a VM as plain namespaces, which cannot run images/,
    );
    expect(imagesRuntimeProblem(load(''), { runtime: 'netns', kernels: ['6.1'] })).toBeUndefined();
  });

  it('plans the lab around the image: no nginx or repository, the firewall open on its port, the workload aimed at it', () => {
    const s = load('server: { image: { name: my-svc:1, port: 8080 } }');
    const t = buildTopology(s, s.variants[0]!, 1);
    const server = t.setup.server!.map((c) => c.join(' '));
    expect(server.some((c) => c.startsWith('nginx'))).toBe(false);
    expect(server.some((c) => c.includes('generate'))).toBe(false);
    expect(server).toContain('ctlab-firewall --backend nft --port 8080');
    expect(t.harvester.url).toBe('http://198.18.2.2:8080/oai');
    expect(t.images).toEqual({
      server: { node: 'server', image: 'my-svc:1', ready: { port: 8080 }, startupTimeoutMs: 60_000 },
    });
    const h = load('server: { image: { name: my-svc:1, port: 8080 } }\nworkload: { kind: http, size: 1000 }');
    const th = buildTopology(h, h.variants[0]!, 1);
    expect(th.harvester.url).toBe('http://198.18.2.2:8080');
    expect(th.harvester.command.join(' ')).toContain('http://198.18.2.2:8080');
    expect(th.setup.server!.map((c) => c.join(' ')).join('\n')).not.toMatch(/service|nginx/);
    const c = load(
      'client: { image: { name: box, command: [sleep, infinity] } }\nworkload: { kind: command, command: "true" }',
    );
    const tc = buildTopology(c, c.variants[0]!, 1);
    expect(tc.images?.client).toEqual({
      node: 'harvester',
      image: 'box',
      command: ['sleep', 'infinity'],
      startupTimeoutMs: 60_000,
    });
    expect(tc.harvester.command.slice(0, 3)).toEqual(['sh', '-c', 'mkdir -p /run/ctlab && exec "$@"']);
    const plain = buildTopology(load(''), load('').variants[0]!, 1);
    expect(plain.images).toBeUndefined();
    expect(plain.setup.server!.map((c) => c.join(' '))).toContain('nginx -g daemon on;');
  });
});
