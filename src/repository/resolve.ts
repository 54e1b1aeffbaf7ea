// Which static file answers an OAI-PMH request: the same table as the `map` in
// lab/server/nginx.conf (a unit test checks that the two are identical, entry by entry), so a
// Node test server and nginx answer every query with the same file.

/** The map key nginx builds from the raw (not percent-decoded) query arguments. */
export const NGINX_MAP_KEY = '$arg_verb&$arg_metadataPrefix&$arg_resumptionToken&$arg_from$arg_until&$arg_set';

/** Served when the mapped file does not exist (an unknown resumptionToken). */
export const FALLBACK_FILE = '/errors/badResumptionToken.xml';
export const DEFAULT_FILE = '/errors/badVerb.xml';

/**
 * [regex source, file] in nginx's order (first match wins). '&' separates the arguments because
 * a raw query argument can never contain it. `$tok` is the named capture of the token.
 */
export const OAI_ROUTES: ReadonlyArray<readonly [string, string]> = [
  ['^Identify&&&&$', '/Identify.xml'],
  ['^ListMetadataFormats&&&&$', '/ListMetadataFormats.xml'],
  ['^ListSets&&&&$', '/errors/noSetHierarchy.xml'],
  ['^ListRecords&oai_dc&&&$', '/ListRecords/oai_dc.xml'],
  ['^ListRecords&&(?<tok>[A-Za-z0-9_-]{1,128})&&$', '/ListRecords/tokens/$tok.xml'],
  ['^ListRecords&&[^&]+&&$', '/errors/badResumptionToken.xml'],
  ['^ListRecords&oai_dc&&&[^&]+$', '/errors/noSetHierarchy.xml'],
  ['^ListRecords&[^&]+&&&$', '/errors/cannotDisseminateFormat.xml'],
  ['^(Identify|ListMetadataFormats|ListSets|ListRecords|GetRecord|ListIdentifiers)&', '/errors/badArgument.xml'],
];

const COMPILED = OAI_ROUTES.map(([re, file]) => [new RegExp(re), file] as const);

/**
 * nginx's $arg_NAME: the first argument whose name matches case-insensitively, raw value
 * (no percent-decoding), '' when absent.
 */
export function nginxArg(query: string, name: string): string {
  const lname = name.toLowerCase();
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    if (k.toLowerCase() === lname) return eq < 0 ? '' : part.slice(eq + 1);
  }
  return '';
}

export interface Resolved {
  /** Path relative to the repository root, e.g. "ListRecords/oai_dc.xml". */
  file: string;
  /** Path to serve when `file` does not exist (try_files' last argument). */
  fallback: string;
}

/** The file nginx serves for `GET /oai?<query>` (query without the leading '?'). */
export function resolveOaiRequest(query: string): Resolved {
  const a = (n: string) => nginxArg(query, n);
  const key = `${a('verb')}&${a('metadataPrefix')}&${a('resumptionToken')}&${a('from')}${a('until')}&${a('set')}`;
  let file = DEFAULT_FILE;
  for (const [re, target] of COMPILED) {
    const m = re.exec(key);
    if (m) {
      file = target.replace('$tok', m.groups?.tok ?? '');
      break;
    }
  }
  return { file: file.slice(1), fallback: FALLBACK_FILE.slice(1) };
}
