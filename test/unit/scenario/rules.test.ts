// The user's own rulesets (server.firewall.rules, client.firewall.rules): format detection, nft
// priorities against the counting chains, the lab commands and the counting table, and bad input
// through the real CLI: a missing file and a file that does not load are one line, exit 2,
// nothing started.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { clientCounters } from '../../../src/measure/collect.js';
import { loadScenario, parseScenario, variantClient } from '../../../src/scenario/load.js';
import {
  COUNT_PRIORITY,
  detectFormat,
  loadCommand,
  loadError,
  nftBaseChains,
  unbracketed,
} from '../../../src/scenario/rules.js';
import { buildTopology } from '../../../src/topology/build.js';
import {
  countTableText,
  invalidCountOf,
  parseCountTable,
  rulesetCommands,
  serverFirewallCommands,
} from '../../../src/topology/firewall.js';
import { allOf, itWith, requireRoot, requireTool } from '../../gate.js';
import { assertBuilt, ctlab, lines, NO_DOCKER, REPO, STACK_FRAME, tempDir } from '../cli/cli.js';

const UFW = join(REPO, 'scenarios/harvester-asa-ufw.yaml');
const FIREWALLD = join(REPO, 'scenarios/harvester-asa-firewalld.yaml');
const CLIENT = join(REPO, 'test/fixtures/scenarios/client-rules.yaml');

describe('ruleset files', () => {
  it('tells iptables-save output from an nft ruleset by content', () => {
    expect(detectFormat(readFileSync(join(REPO, 'scenarios/rules/ufw.rules'), 'utf8'))).toBe('iptables');
    expect(detectFormat(readFileSync(join(REPO, 'scenarios/rules/firewalld.nft'), 'utf8'))).toBe('nft');
  });

  it("reads the nft base chains' hooks and priorities (named, with offsets)", () => {
    const chains = nftBaseChains(readFileSync(join(REPO, 'scenarios/rules/firewalld.nft'), 'utf8'));
    expect(chains.map((c) => `${c.chain}:${c.hook}:${c.priority}`)).toEqual([
      'mangle_PREROUTING:prerouting:-140',
      'filter_INPUT:input:10',
      'filter_FORWARD:forward:10',
      'filter_OUTPUT:output:10',
    ]);
    expect(unbracketed(chains)).toEqual([]);
  });

  it('refuses a chain the counting chains cannot bracket, naming file, line and priority', () => {
    const dir = tempDir('ctlab-rules-');
    writeFileSync(
      join(dir, 'late.nft'),
      'table inet t {\n  chain late {\n    type filter hook input priority 2000; policy accept;\n    ct state invalid drop\n  }\n}\n',
    );
    const text = readFileSync(UFW, 'utf8').replace('rules: rules/ufw.rules, backend: nft', 'rules: late.nft');
    expect(() => parseScenario(text, join(dir, 's.yaml'))).toThrow(
      /s\.yaml:\d+:\d+: server\.firewall\.rules: late\.nft:3: chain t\/late \(hook input, priority 2000\) is not between ctlab's INVALID-counting chains/,
    );
    // A chain before conntrack (raw, -300) cannot see INVALID state: it is fine.
    expect(unbracketed([{ table: 't', chain: 'c', hook: 'input', priority: -300, line: 1 }])).toEqual([]);
    expect(
      unbracketed([{ table: 't', chain: 'c', hook: 'input', priority: COUNT_PRIORITY.before, line: 1 }]),
    ).toHaveLength(1);
  });

  it('carries the text in the model and loads it with the backend the scenario names', () => {
    const s = parseScenario(readFileSync(UFW, 'utf8'), UFW);
    const r = s.server.firewall.rules!;
    expect(r).toMatchObject({ given: 'rules/ufw.rules', format: 'iptables' });
    expect(r.text).toContain('-A ufw-before-input -m conntrack --ctstate INVALID -j DROP');
    const cmds = serverFirewallCommands(s.server.firewall);
    expect(cmds[0]![cmds[0]!.length - 1]).toBe(r.text);
    expect(cmds[1]).toEqual(['iptables-nft-restore', '/etc/ctlab/firewall.rules']);
    expect(loadCommand('iptables', 'legacy', 'f', true)).toEqual(['iptables-legacy-restore', '--test', 'f']);
    expect(loadCommand('nft', 'nft', 'f', true)).toEqual(['nft', '-c', '-f', 'f']);
    // Without rules: ctlab's own firewall, as before.
    const plain = parseScenario(readFileSync(join(REPO, 'scenarios/harvester-asa.yaml'), 'utf8'), 'x.yaml');
    expect(serverFirewallCommands(plain.server.firewall)).toEqual([['ctlab-firewall', '--backend', 'nft']]);
  });

  it("words the tools' own errors as file:line: message", () => {
    const r = { given: 'my.rules', path: '/x/my.rules', format: 'iptables' as const, text: '' };
    expect(
      loadError(
        r,
        'iptables-nft-restore v1.8.9 (nf_tables): unknown option "--dpurt"\nError occurred at line: 4\nTry `iptables-nft-restore -h\' or more\n',
      ),
    ).toBe('my.rules:4: iptables-nft-restore v1.8.9 (nf_tables): unknown option "--dpurt"');
    expect(
      loadError(
        { ...r, format: 'nft' },
        '/x/my.rules:4:24-24: Error: syntax error, unexpected newline\n  ct state invalid drup\n     ^\n',
      ),
    ).toBe('my.rules:4: syntax error, unexpected newline (nft -c)');
  });

  it('parses the counting table, and refuses one that lacks a counter', () => {
    const counters = ['input', 'forward', 'output'].flatMap((h, i) =>
      ['before', 'after'].map((s, j) => ({ counter: { name: `${h}_${s}`, packets: 10 * i + j } })),
    );
    expect(parseCountTable(JSON.stringify({ nftables: [{ metainfo: {} }, ...counters] }))).toEqual({
      input: { before: 0, after: 1 },
      forward: { before: 10, after: 11 },
      output: { before: 20, after: 21 },
    });
    expect(parseCountTable(JSON.stringify({ nftables: counters.slice(1) }))).toBeUndefined();
    expect(parseCountTable('Error: No such file or directory')).toBeUndefined();
    expect(countTableText()).toContain(`type filter hook input priority ${COUNT_PRIORITY.before}; policy accept;`);
    expect(countTableText()).toContain('ct state invalid counter name "forward_after"');
  });
});

/** `ctlab ARGS` in an empty folder: exit 2, one line on stderr (returned), nothing on stdout, nothing written. */
async function run(args: string[]) {
  const cwd = tempDir('ctlab-badrules-cwd-');
  const r = await ctlab(args, { cwd, env: NO_DOCKER });
  expect(r.exitCode, r.stderr).toBe(2);
  expect(r.stderr).not.toMatch(STACK_FRAME);
  expect(r.stdout).toBe('');
  expect(readdirSync(cwd)).toEqual([]);
  expect(lines(r.stderr)).toHaveLength(1);
  return lines(r.stderr)[0]!;
}

describe('ctlab validate/run: a bad rules file is one line, exit 2, nothing started', () => {
  beforeAll(assertBuilt);
  const dir = tempDir('ctlab-badrules-');

  it('a missing rules file', async () => {
    const file = join(dir, 'missing.yaml');
    writeFileSync(file, readFileSync(UFW, 'utf8').replace('rules: rules/ufw.rules', 'rules: no-such.rules'));
    for (const cmd of ['validate', 'run'])
      expect(await run([cmd, file])).toMatch(
        new RegExp(
          `^ctlab: ${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: server\\.firewall\\.rules: cannot read no-such\\.rules \\(.*\\): no such file$`,
        ),
      );
  });

  const loadGate = allOf(requireRoot(), requireTool('unshare', 'iptables-nft-restore', 'nft'));
  itWith(loadGate, 'an iptables-save file that does not load (the tool names the line)', async () => {
    const file = join(dir, 'bad-ipt.yaml');
    writeFileSync(file, readFileSync(UFW, 'utf8').replace('rules: rules/ufw.rules', 'rules: bad.rules'));
    const rules = readFileSync(join(REPO, 'scenarios/rules/ufw.rules'), 'utf8').split('\n');
    const at = rules.findIndex((l) => l.includes('--dport 80 -j ACCEPT'));
    rules[at] = rules[at]!.replace('--dport', '--dpurt');
    writeFileSync(join(dir, 'bad.rules'), rules.join('\n'));
    for (const cmd of ['validate', 'run'])
      expect(await run([cmd, file])).toMatch(
        new RegExp(
          `^ctlab: server\\.firewall\\.rules: bad\\.rules:${at + 1}: iptables-nft-restore v[\\d.]+ \\(nf_tables\\): unknown option "--dpurt"$`,
        ),
      );
  });

  itWith(loadGate, 'an nft ruleset that does not load (nft -c names the line)', async () => {
    const file = join(dir, 'bad-nft.yaml');
    writeFileSync(file, readFileSync(FIREWALLD, 'utf8').replace('rules: rules/firewalld.nft', 'rules: bad.nft'));
    const text = readFileSync(join(REPO, 'scenarios/rules/firewalld.nft'), 'utf8').split('\n');
    const at = text.findIndex((l) => l.trim() === 'ct state invalid drop');
    text[at] = text[at]!.replace('drop', 'drup');
    writeFileSync(join(dir, 'bad.nft'), text.join('\n'));
    const first = await run(['validate', file]);
    expect(first).toMatch(new RegExp(`^ctlab: server\\.firewall\\.rules: bad\\.nft:${at + 1}: .+ \\(nft -c\\)$`));
  });
});

describe('a matrix over a scenario with its own ruleset', () => {
  it("refuses ctlab's firewall options on the server axis: the ruleset decides", () => {
    const text = `${readFileSync(UFW, 'utf8')}matrix:\n  axes:\n    server:\n      open: { firewall: { dropInvalid: false } }\n`;
    expect(() => parseScenario(text, UFW)).toThrow(
      /matrix\.axes\.server\.open\.firewall\.dropInvalid: does nothing with server\.firewall\.rules \(rules\/ufw\.rules\)/,
    );
  });
});

describe('an nft ruleset that includes other files', () => {
  it('is refused, naming the line: only the file itself travels, and it is test-loaded as root', () => {
    const dir = tempDir('ctlab-rules-inc-');
    writeFileSync(join(dir, 'inc.nft'), 'table inet t {\n}\ninclude "/etc/shadow"\n');
    const text = readFileSync(UFW, 'utf8').replace('rules: rules/ufw.rules, backend: nft', 'rules: inc.nft');
    expect(() => parseScenario(text, join(dir, 's.yaml'))).toThrow(
      /server\.firewall\.rules: inc\.nft:3: include is not supported/,
    );
  });
});

describe("the client's own ruleset (client.firewall.rules)", () => {
  it('is carried in the model, pins the client conntrack, and loads before the NAT with the counting table', () => {
    const s = loadScenario(CLIENT);
    const fw = s.client!.firewall!;
    expect(fw.rules).toMatchObject({ given: 'rules/client-drop-invalid.nft', format: 'nft' });
    expect(fw.backend).toBe('nft');
    const c = variantClient(s, s.variants[0]!)!;
    expect(c.firewall).toEqual(fw);
    expect(c.sysctls).toMatchObject({
      'net.netfilter.nf_conntrack_tcp_be_liberal': '0',
      'net.netfilter.nf_conntrack_log_invalid': '6',
      'net.netfilter.nf_conntrack_tcp_loose': '0',
    });
    // With a service VIP too: the ruleset (which flushes the ruleset) first, then the counting
    // table, then kube-proxy's DNAT; no ctlab INVALID rule.
    const withNat = parseScenario(
      readFileSync(CLIENT, 'utf8').replace('client:\n', 'client:\n  serviceVip: 198.18.3.80\n'),
      CLIENT,
    );
    const t = buildTopology(withNat, withNat.variants[0]!, 1);
    const setup = t.setup[t.names.harvester]!;
    const ruleset = rulesetCommands(fw.rules, 'nft');
    const first = setup.findIndex((cmd) => cmd === setup.find((x) => x[x.length - 1] === fw.rules.text));
    expect(setup.slice(first, first + 3)).toEqual(ruleset);
    expect(setup.slice(first + 3).map((cmd) => cmd.slice(0, 5).join(' '))).toEqual(['iptables -w -t nat -A']);
    expect(t.client!.firewall).toEqual(fw);
    expect(t.captures.map((x) => x.name)).toContain('client-invalid-reasons.pcap');
  });

  it("counts the client's drops with the bracket: seen before the ruleset minus after it", () => {
    const s = loadScenario(CLIENT);
    const t = buildTopology(s, s.variants[0]!, 1);
    const count = invalidCountOf(
      JSON.stringify({
        nftables: ['input', 'forward', 'output'].flatMap((h) =>
          ['before', 'after'].map((side) => ({
            counter: {
              name: `${h}_${side}`,
              packets: h === 'input' ? (side === 'before' ? 220 : 0) : h === 'output' ? 5 : 0,
            },
          })),
        ),
      }),
    )!;
    expect(count).toMatchObject({ method: 'nft-bracket', before: 225, after: 5 });
    const c = clientCounters(t.client!, '', 'cpu=0 found=0 invalid=225 insert=0\n', '', count);
    expect(c).toMatchObject({ conntrackInvalid: 225, invalidDrops: 220, invalidCount: count });
  });

  it("refuses client.dropInvalid beside it (the scenario's or a variant's): the ruleset decides", () => {
    const text = readFileSync(CLIENT, 'utf8');
    expect(() => parseScenario(text.replace('client:\n', 'client:\n  dropInvalid: true\n'), CLIENT)).toThrow(
      /client\.dropInvalid: does nothing with client\.firewall\.rules \(rules\/client-drop-invalid\.nft\)/,
    );
    expect(() =>
      parseScenario(
        text.replace('  - name: flushed\n', '  - name: flushed\n    client: { dropInvalid: false }\n'),
        CLIENT,
      ),
    ).toThrow(/variants\[0\]\.client\.dropInvalid: does nothing with client\.firewall\.rules/);
  });

  it('refuses a chain the counting chains cannot bracket, and an include, naming the client field', () => {
    const dir = tempDir('ctlab-client-rules-');
    writeFileSync(
      join(dir, 'late.nft'),
      'table inet t {\n  chain late {\n    type filter hook output priority -250; policy accept;\n  }\n}\ninclude "x"\n',
    );
    const text = readFileSync(CLIENT, 'utf8').replace('rules/client-drop-invalid.nft', 'late.nft');
    const msg = (() => {
      try {
        parseScenario(text, join(dir, 's.yaml'));
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(msg).toMatch(/client\.firewall\.rules: late\.nft:6: include is not supported/);
    // -250 is before conntrack (-200): fine; the same chain at -100 would not be.
    expect(msg).not.toMatch(/late\.nft:3/);
    writeFileSync(
      join(dir, 'late2.nft'),
      'table inet t {\n  chain late {\n    type filter hook output priority -199; policy accept;\n  }\n}\n',
    );
    expect(() => parseScenario(text.replace('late.nft', 'late2.nft'), join(dir, 's.yaml'))).toThrow(
      /client\.firewall\.rules: late2\.nft:3: chain t\/late \(hook output, priority -199\) is not between/,
    );
  });
});

describe('ctlab validate: a bad client rules file is one line, exit 2, nothing started', () => {
  beforeAll(assertBuilt);
  const dir = tempDir('ctlab-badclientrules-');

  const validate = (file: string) => run(['validate', file]);

  it('a missing client rules file', async () => {
    const file = join(dir, 'missing.yaml');
    writeFileSync(file, readFileSync(CLIENT, 'utf8').replace('rules/client-drop-invalid.nft', 'no-such.nft'));
    expect(await validate(file)).toMatch(
      /^ctlab: .*missing\.yaml:\d+:\d+: client\.firewall\.rules: cannot read no-such\.nft \(.*\): no such file$/,
    );
  });

  itWith(
    allOf(requireRoot(), requireTool('unshare', 'iptables-legacy-restore')),
    'a client iptables-save file that does not load, with the legacy backend (the tool names the line)',
    async () => {
      const file = join(dir, 'bad-ipt.yaml');
      writeFileSync(
        file,
        readFileSync(CLIENT, 'utf8').replace(
          '{ rules: rules/client-drop-invalid.nft }',
          '{ rules: bad.rules, backend: legacy }',
        ),
      );
      writeFileSync(
        join(dir, 'bad.rules'),
        '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate INVALID -j DORP\nCOMMIT\n',
      );
      expect(await validate(file)).toMatch(
        /^ctlab: client\.firewall\.rules: bad\.rules:3: iptables-restore v[\d.]+ \(legacy\): Couldn't load target `DORP'/,
      );
    },
  );
});
