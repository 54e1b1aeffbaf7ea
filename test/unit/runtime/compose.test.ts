// docker-compose.yml is for people poking by hand; it must stay in step with the runtime:
// no Docker network, the same caps and sysctls, every container labelled, and a wire service.
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { NODE_DEFAULT_SYSCTLS } from '../../../src/runtime/docker.js';
import { repoRoot } from '../../../src/util/repo-root.js';

import { BUNDLES } from '../../../src/bundles.js';
import { parseProcessConfigText } from '../../../src/middlebox/process-config.js';
import { PATHS } from '../../../src/topology/build.js';

const root = repoRoot();
// biome-ignore lint/suspicious/noExplicitAny: parsed YAML of open shape; the assertions below check it field by field
type Svc = Record<string, any>;
const doc = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Svc>;
};

describe('docker-compose.yml', () => {
  it('has the three hosts built from the lab Dockerfiles, with no Docker network', () => {
    for (const [svc, role] of [
      ['harvester', 'harvester'],
      ['middlebox', 'middlebox'],
      ['server', 'server'],
    ] as const) {
      const s = doc.services[svc]!;
      expect(s.build.dockerfile).toBe(`lab/${role}/Dockerfile`);
      expect(s.build.context).toBe('.');
      expect(s.network_mode).toBe('none');
      expect(s.init).toBe(true);
      expect(s.cap_add.sort()).toEqual(['NET_ADMIN', 'NET_RAW']);
      expect(s.labels['ctlab.run']).toBe('compose');
      for (const [k, v] of Object.entries(NODE_DEFAULT_SYSCTLS)) {
        if (k === 'net.ipv4.ip_forward') continue;
        expect(s.sysctls[k]).toBe(v);
      }
    }
    // The client idles; the server starts its firewall, repository and nginx; the middlebox
    // queues forwarded TCP without bypass (fail closed) and runs the middlebox on a config that
    // is a valid middlebox config.
    expect(doc.services.harvester!.command).toEqual(['sleep', 'infinity']);
    expect(doc.services.server!.command.join(' ')).toContain(
      `ctlab-firewall && node ${PATHS.optRoot}/${BUNDLES.repository.out} `,
    );
    expect(doc.services.server!.command.join(' ')).toMatch(/ --seed 7 && nginx /);
    expect(doc.services.middlebox!.command.join(' ')).toContain(
      `exec node ${PATHS.optRoot}/${BUNDLES.middlebox.out} --config /etc/ctlab/middlebox.json`,
    );
    const mb = doc.services.middlebox!.command.join(' ');
    expect(mb).toContain('iptables -A FORWARD -p tcp -j NFQUEUE --queue-num 0 &&');
    expect(mb).not.toContain('bypass');
    expect(
      parseProcessConfigText(readFileSync(join(root, 'lab/compose/middlebox.json'), 'utf8'), 'middlebox.json').profile
        .name,
    ).toBe('asa');
    expect(doc.services.middlebox!.sysctls['net.ipv4.ip_forward']).toBe('1');
    expect(doc.services.server!.sysctls['net.ipv4.ip_forward']).toBe('0');
  });

  it('wires with a one-shot host-pid service running lab/compose/wire.sh, without the Docker socket', () => {
    const w = doc.services.wire!;
    expect(w.pid).toBe('host');
    expect(w.network_mode).toBe('host');
    expect(w.cap_add.sort()).toEqual(['NET_ADMIN', 'SYS_ADMIN']);
    expect(w.volumes.join(' ')).toContain('./lab/compose/wire.sh');
    expect(w.volumes.join(' ')).not.toContain('docker.sock');
    expect(w.depends_on.sort()).toEqual(['harvester', 'middlebox', 'server']);
    const wire = readFileSync(join(root, 'lab/compose/wire.sh'), 'utf8');
    for (const addr of ['198.18.1.2/24', '198.18.1.1/24', '198.18.2.1/24', '198.18.2.2/24'])
      expect(wire).toContain(addr);
  });

  it('passes `docker-compose config` when docker-compose is installed', async () => {
    const dc = await execa('docker-compose', ['-f', join(root, 'docker-compose.yml'), 'config', '-q'], {
      reject: false,
    });
    if ((dc as { code?: string }).code === 'ENOENT' || dc.exitCode === 127) {
      console.warn('[compose.test] docker-compose not installed: YAML checks only');
      return;
    }
    expect(dc.stderr).toBe('');
    expect(dc.exitCode).toBe(0);
  });
});
