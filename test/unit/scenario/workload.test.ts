// The workloads beside oai-pmh in a scenario file: what each resolves to, and every impossible
// one refused before anything starts (one problem per line, naming the field).
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../../src/scenario/load.js';
import { bytesText, parseByteSize, WORKLOAD_LIMITS } from '../../../src/scenario/workload.js';
import { FAKE_KERNEL } from './fake-kernel.js';
import { problems } from './problems.js';

const variants = 'variants: [{ name: a }]\n';
const load = (workload: string) =>
  parseScenario(`workload: ${workload}\n${variants}`, 'x.yaml', { kernel: FAKE_KERNEL });
const bad = (workload: string) => problems(`workload: ${workload}\n${variants}`);

describe('workload kinds', () => {
  it('keeps oai-pmh the default, with its kind filled in', () => {
    expect(load('{ records: 10 }').workload).toMatchObject({ kind: 'oai-pmh', records: 10, pageSize: 100 });
  });

  it('http: sizes with units, requests defaulting to one per size, the HTTP client defaults', () => {
    expect(load('{ kind: http, sizes: [1000, 64KiB, "1.5 MB"] }').workload).toEqual({
      kind: 'http',
      requests: 3,
      sizes: [1000, 65536, 1_500_000],
      concurrency: 1,
      keepAlive: false,
      connectTimeoutMs: 5000,
      readTimeoutMs: 10000,
      retries: 3,
      backoffMs: 500,
      maxDurationMs: 600_000,
    });
    expect(load('{ kind: http, size: 1MiB, requests: 20, concurrency: 4, keepAlive: true }').workload).toMatchObject({
      requests: 20,
      sizes: [1048576],
      concurrency: 4,
      keepAlive: true,
    });
  });

  it('upload and bulk and command', () => {
    expect(load('{ kind: upload, size: 100kB, requests: 5 }').workload).toMatchObject({
      kind: 'upload',
      requests: 5,
      sizes: [100_000],
    });
    expect(load('{ kind: bulk, direction: to-server, size: 10MiB }').workload).toMatchObject({
      kind: 'bulk',
      direction: 'to-server',
      bytes: 10 * 1024 * 1024,
      durationMs: null,
      retries: 0,
    });
    expect(load('{ kind: bulk, durationMs: 3000 }').workload).toMatchObject({
      direction: 'to-client',
      bytes: null,
      durationMs: 3000,
    });
    expect(load('{ kind: command, command: "curl -sS $CTLAB_URL/bytes/10" }').workload).toEqual({
      kind: 'command',
      command: 'curl -sS $CTLAB_URL/bytes/10',
      maxDurationMs: 60_000,
    });
  });
});

describe('impossible workloads (exit 2, before anything starts)', () => {
  it('refuses sizes of 0, negative, fractional, absurd or unreadable', () => {
    expect(bad('{ kind: http, size: 0 }')).toEqual(['1: workload.size: a response must be at least 1 byte, got 0']);
    expect(bad('{ kind: upload, sizes: [10, -5] }')).toEqual([
      '1: workload.sizes[1]: an upload body must be at least 1 byte, got -5',
    ]);
    expect(bad('{ kind: http, size: 1.5 }')).toEqual([
      '1: workload.size: a response must be a whole number of bytes, got 1.5 = 1.5',
    ]);
    expect(bad('{ kind: http, size: 2GiB }')).toEqual([
      '1: workload.size: a response must be at most 1 GiB, got "2GiB"',
    ]);
    expect(bad('{ kind: http, size: 10 parsecs }')[0]).toMatch(/^1: workload\.size: .*a size in bytes, e\.g\. 1000/);
    expect(bad('{ kind: bulk, size: 65GiB }')).toEqual([
      '1: workload.size: a bulk transfer must be at most 64 GiB, got "65GiB"',
    ]);
  });

  it('refuses a total beyond what a run may move, and more concurrency than requests', () => {
    expect(bad('{ kind: http, size: 1GiB, requests: 17 }')).toEqual([
      '1: workload.requests: 17 requests would move 17 GiB: at most 16 GiB per run',
    ]);
    expect(bad('{ kind: upload, size: 10, requests: 2, concurrency: 3 }')).toEqual([
      '1: workload.concurrency: 3 requests at once, but only 2 requests to make',
    ]);
    expect(bad('{ kind: http, size: 10, requests: 0 }')).toEqual(['1: workload.requests: must be at least 1']);
  });

  it('refuses http/upload without a size or with both size and sizes', () => {
    expect(bad('{ kind: http }')).toEqual(['1: workload: an http workload needs size (bytes) or sizes (a list)']);
    expect(bad('{ kind: upload, size: 1, sizes: [1] }')).toEqual(['1: workload.sizes: give size or sizes, not both']);
  });

  it('refuses a bulk with neither or both of size and duration, or an impossible duration', () => {
    expect(bad('{ kind: bulk }')).toEqual([
      '1: workload: a bulk workload needs size (bytes to move) or durationMs (how long to move data)',
    ]);
    expect(bad('{ kind: bulk, size: 1MB, durationMs: 1000 }')).toEqual([
      '1: workload.durationMs: give size or durationMs, not both',
    ]);
    expect(bad('{ kind: bulk, durationMs: 5 }')).toEqual([
      '1: workload.durationMs: must be between 100 and 3600000 ms, got 5',
    ]);
    expect(bad('{ kind: bulk, durationMs: 9000, maxDurationMs: 5000 }')).toEqual([
      '1: workload.durationMs: 9000 ms is not before workload.maxDurationMs (5000 ms): the transfer could never finish',
    ]);
    expect(bad('{ kind: bulk, direction: both, size: 1 }')[0]).toMatch(/workload\.direction: "both" is not one of/);
  });

  it('refuses an empty command, and fields of another kind', () => {
    expect(bad('{ kind: command, command: "  " }')).toEqual([
      '1: workload.command: the command is empty: give the shell command to run',
    ]);
    expect(bad('{ kind: command }')).toEqual(['1: workload.command: required (string)']);
    expect(bad('{ kind: command, command: "true", records: 3 }')).toEqual(['1: workload.records: unknown field']);
    expect(bad('{ kind: ftp }')[0]).toMatch(
      /^1: workload\.kind: must be one of "oai-pmh", "http", "upload", "bulk", "command"/,
    );
  });

  it('sizes read in bytes and are written back in words', () => {
    expect(parseByteSize('64KiB')).toBe(65536);
    expect(parseByteSize(' 2 GB ')).toBe(2e9);
    expect(parseByteSize('12 XB')).toBeNaN();
    expect(bytesText(WORKLOAD_LIMITS.bodyBytes)).toBe('1 GiB');
    expect(bytesText(1500)).toBe('1,500 bytes');
  });
});
