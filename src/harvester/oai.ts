// What a harvester needs from one OAI-PMH response: how many records, the resumptionToken with
// its completeListSize and cursor, or the OAI <error>. The whole document must be well-formed:
// a page cut short by a broken connection is a parse error, never a short page.

import { localName, walkXml, XmlError } from './xml.js';

export interface OaiError {
  code: string;
  message: string;
}

export interface OaiResponse {
  /** Local name of the verb element (ListRecords, Identify, ...) or null for an error response. */
  verb: string | null;
  /** <record> children of ListRecords (<header> children of ListIdentifiers). */
  records: number;
  /** Whether a resumptionToken element was present at all. */
  hasResumptionToken: boolean;
  /** Its text, trimmed; null when absent or empty (the last page). */
  resumptionToken: string | null;
  completeListSize: number | null;
  cursor: number | null;
  /** OAI-PMH errors (a response may carry several); empty on success. */
  errors: OaiError[];
}

export class OaiParseError extends Error {
  override readonly name = 'OaiParseError';
}

const COUNTED: Record<string, string> = { ListRecords: 'record', ListIdentifiers: 'header' };

function nonNegInt(v: string | undefined, what: string): number | null {
  if (v === undefined || v.trim() === '') return null;
  if (!/^\s*\d+\s*$/.test(v)) throw new OaiParseError(`${what} is not a non-negative integer: ${JSON.stringify(v)}`);
  return Number(v);
}

/** Parse one response body (already decoded from UTF-8). Throws OaiParseError. */
export function parseOaiResponse(xml: string): OaiResponse {
  const r: OaiResponse = {
    verb: null,
    records: 0,
    hasResumptionToken: false,
    resumptionToken: null,
    completeListSize: null,
    cursor: null,
    errors: [],
  };
  let counted: string | null = null; // local name of the elements to count under the verb element
  let inToken = false;
  let tokenText = '';
  let errorIdx = -1;
  let rootOk = false;
  try {
    walkXml(xml, {
      start(name, attrs, depth) {
        const ln = localName(name);
        if (depth === 0) {
          if (ln !== 'OAI-PMH') throw new OaiParseError(`root element is <${name}>, not <OAI-PMH>`);
          rootOk = true;
        } else if (depth === 1) {
          if (ln === 'error') {
            r.errors.push({ code: attrs.code ?? '', message: '' });
            errorIdx = r.errors.length - 1;
          } else if (ln !== 'responseDate' && ln !== 'request') {
            if (r.verb !== null) throw new OaiParseError(`two verb elements <${r.verb}> and <${ln}>`);
            r.verb = ln;
            counted = COUNTED[ln] ?? null;
          }
        } else if (depth === 2) {
          if (counted !== null && ln === counted) r.records++;
          else if (ln === 'resumptionToken' && r.verb !== null) {
            if (r.hasResumptionToken) throw new OaiParseError('two resumptionToken elements');
            r.hasResumptionToken = true;
            r.completeListSize = nonNegInt(attrs.completeListSize, 'completeListSize');
            r.cursor = nonNegInt(attrs.cursor, 'cursor');
            inToken = true;
          }
        }
      },
      end(_name, depth) {
        if (depth === 1) errorIdx = -1;
        if (depth === 2 && inToken) {
          inToken = false;
          const t = tokenText.trim();
          r.resumptionToken = t === '' ? null : t;
        }
      },
      text(text, depth) {
        if (inToken && depth === 2) tokenText += text;
        else if (errorIdx >= 0 && depth === 1) r.errors[errorIdx]!.message += text; // errorIdx: the error pushed last
      },
    });
  } catch (err) {
    if (err instanceof OaiParseError) throw err;
    if (err instanceof XmlError) throw new OaiParseError(`malformed XML: ${err.message}`);
    throw err;
  }
  if (!rootOk) throw new OaiParseError('no <OAI-PMH> root element');
  for (const e of r.errors) e.message = e.message.trim();
  if (r.errors.length === 0 && r.verb === null) throw new OaiParseError('neither a verb element nor an <error>');
  return r;
}
