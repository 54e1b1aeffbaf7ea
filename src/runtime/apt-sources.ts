// Find the Debian mirror the host's apt already uses, so offline builds (debootstrap, apt in
// image builds) go where this machine is allowed to go. Nothing here names a mirror host.

import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export interface AptSource {
  uri: string;
  suites: string[];
  components: string[];
}

/** Parse deb822 (.sources) text: paragraphs of "Key: value" separated by blank lines. */
export function parseDeb822Sources(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    const fields: Record<string, string> = {};
    let last: string | undefined;
    for (const raw of para.split('\n')) {
      if (/^\s*#/.test(raw)) continue;
      if (/^\s/.test(raw) && last) {
        fields[last] += ` ${raw.trim()}`;
        continue;
      } // continuation
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(raw);
      if (m) {
        last = m[1]!.toLowerCase();
        fields[last] = m[2]!.trim();
      }
    }
    if (!fields.uris || !fields.suites) continue;
    if (fields.types && !fields.types.split(/\s+/).includes('deb')) continue;
    if (fields.enabled && fields.enabled.toLowerCase() === 'no') continue;
    const suites = fields.suites.split(/\s+/);
    const components = (fields.components ?? '').split(/\s+/).filter(Boolean);
    for (const uri of fields.uris.split(/\s+/)) out.push({ uri, suites, components });
  }
  return out;
}

/** Parse one-line-style sources.list text: "deb [opts] URI SUITE COMP...". */
export function parseOneLineSources(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (let line of text.split('\n')) {
    line = line.replace(/#.*$/, '').trim();
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    out.push({ uri: m[1]!, suites: [m[2]!], components: m[3]!.split(/\s+/).filter(Boolean) });
  }
  return out;
}

/**
 * The first source that serves the main archive of `suite` (not -security, -updates or
 * -backports), normalised without a trailing slash; undefined when there is none.
 */
export function pickDebianMirror(sources: AptSource[], suite = 'bookworm'): string | undefined {
  for (const s of sources) {
    if (!/^https?:\/\//.test(s.uri)) continue;
    if (s.suites.includes(suite) && (s.components.length === 0 || s.components.includes('main'))) {
      return s.uri.replace(/\/+$/, '');
    }
  }
  return undefined;
}

/** Read the host's apt sources (sources.list and sources.list.d/*.list|*.sources). */
export async function hostAptSources(root = '/etc/apt'): Promise<AptSource[]> {
  const out: AptSource[] = [];
  const read = async (p: string) => {
    try {
      return await readFile(p, 'utf8');
    } catch {
      return undefined;
    }
  };
  const main = await read(join(root, 'sources.list'));
  if (main) out.push(...parseOneLineSources(main));
  let names: string[] = [];
  try {
    names = (await readdir(join(root, 'sources.list.d'))).sort();
  } catch {
    /* none */
  }
  for (const n of names) {
    const text = await read(join(root, 'sources.list.d', n));
    if (!text) continue;
    if (n.endsWith('.sources')) out.push(...parseDeb822Sources(text));
    else if (n.endsWith('.list')) out.push(...parseOneLineSources(text));
  }
  return out;
}

/** The host's Debian mirror for `suite`, if apt is configured with one. */
export async function hostDebianMirror(suite = 'bookworm', root = '/etc/apt'): Promise<string | undefined> {
  return pickDebianMirror(await hostAptSources(root), suite);
}
