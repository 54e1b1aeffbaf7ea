// The middlebox process's config file (/etc/ctlab/middlebox.json): its type and its one
// validation, the zod schema in scenario/schema.ts (the same pieces and limits as the scenario
// file's). Errors are CtlabError('SCENARIO') with one line naming the file and the field.

import type { z } from 'zod';
import { CtlabError } from '../errors.js';
import { issueLine } from '../scenario/issues.js';
import type { MiddleboxProfile, PathModel } from '../scenario/model.js';
import { middleboxProcessSchema } from '../scenario/schema.js';

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

// The schema's output and the interface are the same shape (checked when compiling).
type Parsed = z.infer<typeof middleboxProcessSchema>;
const sameShape: [Parsed] extends [MiddleboxProcessConfig]
  ? [MiddleboxProcessConfig] extends [Parsed]
    ? true
    : false
  : false = true;
void sameShape;

/** Validate parsed JSON. Throws CtlabError('SCENARIO') with a one-line message. */
export function parseProcessConfig(v: unknown, file = 'config'): MiddleboxProcessConfig {
  const r = middleboxProcessSchema.safeParse(v);
  if (!r.success) throw new CtlabError('SCENARIO', `middlebox config ${file}: ${issueLine(r.error.issues, v)}`);
  return r.data;
}

/** Parse the file's text (JSON) and validate it. */
export function parseProcessConfigText(text: string, file = 'config'): MiddleboxProcessConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CtlabError('SCENARIO', `middlebox config ${file}: not valid JSON (${(err as Error).message})`);
  }
  return parseProcessConfig(json, file);
}
