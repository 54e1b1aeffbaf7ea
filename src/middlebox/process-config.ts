// The middlebox process's config file (/etc/ctlab/middlebox.json), validated by hand:
// this runs inside the image on Node 18 with no npm packages (no zod there).
// Errors are one line, naming the field and what was expected.

import type { Direction, LateModel, LateRule, LossModel, MiddleboxProfile, PathModel, Sides } from '../scenario/model.js';

export interface MiddleboxProcessConfig {
  /** NFQUEUE queue number the middlebox's iptables rule sends to. */
  queue: number;
  seed: number;
  profile: MiddleboxProfile;
  path: PathModel;
  /** Counters JSON, rewritten atomically every second and on exit. */
  countersFile: string;
  /** Flow records, JSON lines, written on exit. */
  flowsFile: string;
  /** Packets per batch (optional, default 128). */
  batch?: number;
  /** Byte pool for held (delayed) modified packets (optional, default 32 MiB). */
  holdPoolBytes?: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Obj = Record<string, unknown>;

function fail(where: string, want: string, got: unknown): never {
  const shown = got === undefined ? 'nothing' : JSON.stringify(got)?.slice(0, 60) ?? String(got);
  throw new ConfigError(`middlebox config: ${where} must be ${want}, got ${shown}`);
}

function obj(v: unknown, where: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, 'an object', v);
  return v as Obj;
}

function int(v: unknown, where: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(where, `an integer in [${min}, ${max}]`, v);
  return v;
}

function num(v: unknown, where: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) fail(where, `a number in [${min}, ${max}]`, v);
  return v;
}

function bool(v: unknown, where: string): boolean {
  if (typeof v !== 'boolean') fail(where, 'true or false', v);
  return v;
}

function str(v: unknown, where: string): string {
  if (typeof v !== 'string' || v.length === 0) fail(where, 'a non-empty string', v);
  return v;
}

function oneOf<T extends string>(v: unknown, where: string, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) fail(where, `one of ${allowed.join('|')}`, v);
  return v as T;
}

const SIDES = ['none', 'syn', 'synack', 'both'] as const satisfies readonly Sides[];
const DIRS = ['to-client', 'to-server', 'both'] as const satisfies readonly Direction[];

export function parseProfile(v: unknown, where = 'profile'): MiddleboxProfile {
  const p = obj(v, where);
  const isn = obj(p.isn, `${where}.isn`);
  const options = obj(p.options, `${where}.options`);
  const sp = obj(options.sackPermitted, `${where}.options.sackPermitted`);
  const ws = obj(options.windowScale, `${where}.options.windowScale`);
  const ts = obj(options.timestamps, `${where}.options.timestamps`);
  const profile: MiddleboxProfile = {
    name: str(p.name, `${where}.name`),
    isn: { client: bool(isn.client, `${where}.isn.client`), server: bool(isn.server, `${where}.isn.server`) },
    sackTranslation: bool(p.sackTranslation, `${where}.sackTranslation`),
    options: {
      sackPermitted: { strip: oneOf(sp.strip, `${where}.options.sackPermitted.strip`, SIDES) },
      windowScale: { strip: oneOf(ws.strip, `${where}.options.windowScale.strip`, SIDES) },
      timestamps: { strip: oneOf(ts.strip, `${where}.options.timestamps.strip`, [...SIDES, 'all'] as const) },
    },
  };
  if (ws.setSyn !== undefined) profile.options.windowScale.setSyn = int(ws.setSyn, `${where}.options.windowScale.setSyn`, 0, 14);
  if (ws.setSynAck !== undefined) profile.options.windowScale.setSynAck = int(ws.setSynAck, `${where}.options.windowScale.setSynAck`, 0, 14);
  if (p.fixedOffsets !== undefined) {
    const fo = obj(p.fixedOffsets, `${where}.fixedOffsets`);
    profile.fixedOffsets = {};
    if (fo.client !== undefined) profile.fixedOffsets.client = int(fo.client, `${where}.fixedOffsets.client`, 0, 0xffffffff);
    if (fo.server !== undefined) profile.fixedOffsets.server = int(fo.server, `${where}.fixedOffsets.server`, 0, 0xffffffff);
  }
  return profile;
}

export function parseLoss(v: unknown, where = 'path.loss'): LossModel {
  const l = obj(v, where);
  const kind = oneOf(l.kind, `${where}.kind`, ['none', 'rate', 'every-nth'] as const);
  if (kind === 'none') return { kind };
  const direction = oneOf(l.direction, `${where}.direction`, DIRS);
  if (kind === 'rate') return { kind, rate: num(l.rate, `${where}.rate`, 0, 1), direction };
  return { kind, n: int(l.n, `${where}.n`, 1, 1e9), direction };
}

function lateRule(v: unknown, where: string): LateRule {
  const r = obj(v, where);
  const every = int(r.every, `${where}.every`, 2, 1e9);
  const holdMs = num(r.holdMs, `${where}.holdMs`, 0, 60_000);
  if (holdMs === 0) fail(`${where}.holdMs`, 'a number in (0, 60000]', holdMs);
  return { every, holdMs };
}

export function parseLate(v: unknown, where = 'path.late'): LateModel {
  const l = obj(v, where);
  for (const k of Object.keys(l)) if (k !== 'clientAcks' && k !== 'serverData') throw new ConfigError(`middlebox config: ${where}: unknown field ${JSON.stringify(k)} (expected clientAcks, serverData)`);
  const late: LateModel = {};
  if (l.clientAcks !== undefined) late.clientAcks = lateRule(l.clientAcks, `${where}.clientAcks`);
  if (l.serverData !== undefined) late.serverData = lateRule(l.serverData, `${where}.serverData`);
  return late;
}

export function parsePath(v: unknown, where = 'path'): PathModel {
  const p = obj(v, where);
  const r = obj(p.reorder, `${where}.reorder`);
  const path: PathModel = {
    delayMs: num(p.delayMs, `${where}.delayMs`, 0, 60_000),
    rateMbit: num(p.rateMbit, `${where}.rateMbit`, 0, 1e6),
    loss: parseLoss(p.loss, `${where}.loss`),
    reorder: { rate: num(r.rate, `${where}.reorder.rate`, 0, 1), extraDelayMs: num(r.extraDelayMs, `${where}.reorder.extraDelayMs`, 0, 60_000) },
  };
  if (p.late !== undefined) path.late = parseLate(p.late, `${where}.late`);
  return path;
}

/** Validate parsed JSON. Throws ConfigError with a one-line message. */
export function parseProcessConfig(v: unknown): MiddleboxProcessConfig {
  const c = obj(v, 'the config');
  const known = new Set(['queue', 'seed', 'profile', 'path', 'countersFile', 'flowsFile', 'batch', 'holdPoolBytes']);
  for (const k of Object.keys(c)) if (!known.has(k)) throw new ConfigError(`middlebox config: unknown field ${JSON.stringify(k)} (expected ${[...known].join(', ')})`);
  const cfg: MiddleboxProcessConfig = {
    queue: int(c.queue, 'queue', 0, 65535),
    seed: int(c.seed, 'seed', 0, Number.MAX_SAFE_INTEGER),
    profile: parseProfile(c.profile),
    path: parsePath(c.path),
    countersFile: str(c.countersFile, 'countersFile'),
    flowsFile: str(c.flowsFile, 'flowsFile'),
  };
  if (c.batch !== undefined) cfg.batch = int(c.batch, 'batch', 1, 1024);
  if (c.holdPoolBytes !== undefined) cfg.holdPoolBytes = int(c.holdPoolBytes, 'holdPoolBytes', 1 << 16, 1 << 30);
  return cfg;
}

/** Parse the file's text (JSON) and validate it. */
export function parseProcessConfigText(text: string, file = 'config'): MiddleboxProcessConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`middlebox config ${file}: not valid JSON (${(err as Error).message})`);
  }
  return parseProcessConfig(json);
}
