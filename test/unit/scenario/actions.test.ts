// Mid-run actions and the firewall policy: from the file to the topology's plan.
import { describe, expect, it } from 'vitest';
import { expandMatrix } from '../../../src/matrix/cells.js';
import { parseScenario, ScenarioError } from '../../../src/scenario/load.js';
import { buildTopology } from '../../../src/topology/build.js';

const scenario = `name: flush
workload: { records: 100, maxDurationMs: 60000 }
actions:
  - { at: 2s, node: server, do: conntrack-flush }
variants:
  - name: flushed
  - name: control
    actions: []
  - name: late
    actions: [{ at: 1500ms, do: conntrack-flush }, { at: 0.5s, node: client, do: conntrack-flush }]
`;

function problems(text: string): string[] {
  try {
    parseScenario(text, 'a.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return (e as ScenarioError).problems.map((p) => `${p.line} ${p.field}: ${p.message}`);
  }
  throw new Error('expected a ScenarioError');
}

describe('actions', () => {
  const s = parseScenario(scenario, 'a.yaml');

  it('loads scenario actions in ms, and a variant list that replaces them ([] = none)', () => {
    expect(s.actions).toEqual([
      { atMs: 2000, node: 'server', do: 'conntrack-flush', text: 'conntrack-flush on server at 2s' },
    ]);
    expect(s.variants[0]!.actions).toBeUndefined();
    expect(s.variants[1]!.actions).toEqual([]);
    expect(s.variants[2]!.actions!.map((a) => [a.atMs, a.node])).toEqual([
      [1500, 'server'],
      [500, 'client'],
    ]);
  });

  it("plans each variant's actions on its own node names, in time order", () => {
    const t = (i: number) => buildTopology(s, s.variants[i]!, 1, 'v1-');
    expect(t(0).actions).toEqual([
      {
        atMs: 2000,
        node: 'v1-server',
        command: ['sh', '-c', 'echo "conntrack entries: $(conntrack -C)" && conntrack -F'],
        text: 'conntrack-flush on server at 2s',
      },
    ]);
    expect(t(1).actions).toBeUndefined();
    expect(t(2).actions!.map((a) => [a.atMs, a.node])).toEqual([
      [500, 'v1-harvester'],
      [1500, 'v1-server'],
    ]);
  });

  it("matrix cells inherit the scenario's actions", () => {
    const m = parseScenario(
      `${scenario.replace(/variants:[\s\S]*$/, '')}matrix:\n  axes:\n    firewall: [transparent]\n    server:\n      loose-off: { sysctls: { net.netfilter.nf_conntrack_tcp_loose: 0 } }\n`,
      'm.yaml',
    );
    const [cell] = expandMatrix(m);
    expect(buildTopology(cell!.scenario, cell!.scenario.variants[0]!, 1).actions).toHaveLength(1);
  });

  it('rejects bad times, unknown actions and nodes, and actions after the time limit, with lines', () => {
    expect(
      problems(
        'workload: { maxDurationMs: 5000 }\nactions:\n  - { at: 2, do: conntrack-flush }\n  - { at: 2 s, do: conntrack-flush }\n  - { at: 9s, do: conntrack-flush }\nvariants: [{ name: a }]\n',
      ),
    ).toEqual([
      '3 actions[0].at: expected string, got number',
      `4 actions[1].at: a time after the workload's first connection, e.g. "2s" or "1500ms"`,
    ]);
    expect(
      problems(
        'workload: { maxDurationMs: 5000 }\nactions: [{ at: 9s, do: conntrack-flush }]\nvariants: [{ name: a, actions: [{ at: 5000ms, do: conntrack-flush }] }]\n',
      ),
    ).toEqual([
      '3 variants[0].actions[0].at: 5000 ms is not before workload.maxDurationMs (5000 ms): the action would never run',
      '2 actions[0].at: 9000 ms is not before workload.maxDurationMs (5000 ms): the action would never run',
    ]);
    const bad = problems('actions: [{ at: 1s, node: router, do: reboot }]\nvariants: [{ name: a }]\n');
    expect(bad).toHaveLength(2);
    expect(bad.join('\n')).toMatch(/node: "router" is not one of "server", "client", "middlebox"/);
    expect(bad.join('\n')).toMatch(/do: "reboot" is not one of "conntrack-flush"/);
  });
});

describe('firewall policy', () => {
  const fw = (yaml: string) => {
    const s = parseScenario(`server: { firewall: ${yaml} }\nvariants: [{ name: a }]\n`, 'f.yaml');
    return {
      model: s.server.firewall,
      cmd: buildTopology(s, s.variants[0]!, 1).setup.server!.find((c) => c[0] === 'ctlab-firewall'),
    };
  };

  it('defaults to default-deny, and passes accept to ctlab-firewall', () => {
    expect(fw('{}')).toEqual({
      model: { dropInvalid: true, backend: 'nft', policy: 'drop' },
      cmd: ['ctlab-firewall', '--backend', 'nft'],
    });
    expect(fw('{ dropInvalid: false, policy: accept }')).toEqual({
      model: { dropInvalid: false, backend: 'nft', policy: 'accept' },
      cmd: ['ctlab-firewall', '--backend', 'nft', '--no-drop-invalid', '--policy', 'accept'],
    });
    expect(problems('server: { firewall: { policy: reject } }\nvariants: [{ name: a }]\n')).toEqual([
      '1 server.firewall.policy: "reject" is not one of "drop", "accept"',
    ]);
  });

  it('a matrix server configuration may set the policy alone', () => {
    const m = parseScenario(
      'matrix:\n  axes:\n    firewall: [asa]\n    server:\n      open: { firewall: { dropInvalid: false, policy: accept } }\n',
      'm.yaml',
    );
    expect(expandMatrix(m)[0]!.scenario.server.firewall).toEqual({
      dropInvalid: false,
      backend: 'nft',
      policy: 'accept',
    });
  });
});
