// A small non-validating XML 1.0 well-formedness walker (it runs in the lab, bundled into
// dist/bundle/harvester.mjs). Enough to tell a complete OAI-PMH response from a truncated or garbled one: balanced
// tags, one root, quoted attributes, known entity references, comments/CDATA/PIs closed. No DTDs
// (an internal subset is rejected: OAI-PMH responses never carry one).

export class XmlError extends Error {
  override readonly name = 'XmlError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset}`);
  }
}

export interface XmlVisitor {
  /** An element starts. `attrs` values are entity-decoded. depth: 0 for the root. */
  start?(name: string, attrs: Record<string, string>, depth: number): void;
  end?(name: string, depth: number): void;
  /** Character data (entity-decoded) directly inside the element at `depth`; CDATA included. */
  text?(text: string, depth: number): void;
}

const NAME = /[A-Za-z_:\u00C0-\uFFFF][A-Za-z0-9_:.\-\u00B7\u00C0-\uFFFF]*/y;
const ATTR = /\s+([A-Za-z_:\u00C0-\uFFFF][A-Za-z0-9_:.\-\u00B7\u00C0-\uFFFF]*)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/y;
const TAG_END = /\s*(\/?)>/y;
const CLOSE = /\s*>/y;
const BAD_AMP = /&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);)/;
const ENTITY = /&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decode the five predefined entities and character references. */
export function decodeEntities(s: string): string {
  if (s.indexOf('&') < 0) return s;
  return s.replace(ENTITY, (_m, e: string) => {
    if (e[0] !== '#') return NAMED[e]!; // ENTITY matches only the names in NAMED, or #...
    const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return String.fromCodePoint(cp);
  });
}

function checkText(s: string, offset: number): void {
  const m = BAD_AMP.exec(s);
  if (m) throw new XmlError('bare or unknown entity reference "&"', offset + m.index);
  const cdEnd = s.indexOf(']]>');
  if (cdEnd >= 0) throw new XmlError('"]]>" in character data', offset + cdEnd);
}

/** Walk `xml`, calling the visitor; throws XmlError on the first well-formedness error. */
export function walkXml(xml: string, v: XmlVisitor = {}): void {
  const stack: string[] = [];
  let pos = xml.charCodeAt(0) === 0xfeff ? 1 : 0;
  let rootSeen = false;
  const n = xml.length;
  while (pos < n) {
    const lt = xml.indexOf('<', pos);
    const textEnd = lt < 0 ? n : lt;
    if (textEnd > pos) {
      const raw = xml.slice(pos, textEnd);
      if (stack.length === 0) {
        if (raw.trim() !== '') throw new XmlError('text outside the root element', pos);
      } else {
        checkText(raw, pos);
        v.text?.(decodeEntities(raw), stack.length - 1);
      }
    }
    if (lt < 0) break;
    pos = lt;
    const c1 = xml.charCodeAt(pos + 1);
    if (c1 === 0x21 /* ! */) {
      if (xml.startsWith('<!--', pos)) {
        const e = xml.indexOf('-->', pos + 4);
        if (e < 0) throw new XmlError('unterminated comment', pos);
        pos = e + 3;
      } else if (xml.startsWith('<![CDATA[', pos)) {
        if (stack.length === 0) throw new XmlError('CDATA outside the root element', pos);
        const e = xml.indexOf(']]>', pos + 9);
        if (e < 0) throw new XmlError('unterminated CDATA section', pos);
        v.text?.(xml.slice(pos + 9, e), stack.length - 1);
        pos = e + 3;
      } else if (xml.startsWith('<!DOCTYPE', pos)) {
        if (rootSeen || stack.length) throw new XmlError('DOCTYPE after the root element started', pos);
        const e = xml.indexOf('>', pos);
        if (e < 0) throw new XmlError('unterminated DOCTYPE', pos);
        if (xml.slice(pos, e).includes('[')) throw new XmlError('DOCTYPE internal subsets are not accepted', pos);
        pos = e + 1;
      } else {
        throw new XmlError('unknown markup declaration', pos);
      }
    } else if (c1 === 0x3f /* ? */) {
      const e = xml.indexOf('?>', pos + 2);
      if (e < 0) throw new XmlError('unterminated processing instruction', pos);
      if (
        xml.startsWith('<?xml', pos) &&
        /\s/.test(xml[pos + 5] ?? '') &&
        pos !== (xml.charCodeAt(0) === 0xfeff ? 1 : 0)
      ) {
        throw new XmlError('XML declaration not at the start of the document', pos);
      }
      pos = e + 2;
    } else if (c1 === 0x2f /* / */) {
      NAME.lastIndex = pos + 2;
      const m = NAME.exec(xml);
      if (!m) throw new XmlError(pos + 2 >= n ? 'unexpected end of document' : 'bad end tag', pos);
      const open = stack.pop();
      if (open === undefined) throw new XmlError(`end tag </${m[0]}> without a start tag`, pos);
      if (open !== m[0]) throw new XmlError(`end tag </${m[0]}> does not match <${open}>`, pos);
      CLOSE.lastIndex = NAME.lastIndex;
      if (!CLOSE.exec(xml))
        throw new XmlError(CLOSE.lastIndex >= n ? 'unexpected end of document' : 'bad end tag', pos);
      pos = CLOSE.lastIndex;
      v.end?.(open, stack.length);
    } else {
      NAME.lastIndex = pos + 1;
      const m = NAME.exec(xml);
      if (!m) throw new XmlError(pos + 1 >= n ? 'unexpected end of document' : 'bad start tag', pos);
      if (stack.length === 0 && rootSeen) throw new XmlError('a second root element', pos);
      const name = m[0];
      const attrs: Record<string, string> = {};
      let p = NAME.lastIndex;
      for (;;) {
        ATTR.lastIndex = p;
        const a = ATTR.exec(xml);
        if (!a) break;
        if (Object.hasOwn(attrs, a[1]!)) throw new XmlError(`duplicate attribute ${a[1]}`, p);
        const raw = a[2] ?? a[3] ?? '';
        checkText(raw, p);
        attrs[a[1]!] = decodeEntities(raw);
        p = ATTR.lastIndex;
      }
      TAG_END.lastIndex = p;
      const t = TAG_END.exec(xml);
      if (!t) throw new XmlError(p >= n - 1 ? 'unexpected end of document' : `malformed start tag <${name}>`, pos);
      pos = TAG_END.lastIndex;
      rootSeen = true;
      v.start?.(name, attrs, stack.length);
      if (t[1] === '/') v.end?.(name, stack.length);
      else stack.push(name);
    }
  }
  if (stack.length) throw new XmlError(`unexpected end of document inside <${stack[stack.length - 1]}>`, n);
  if (!rootSeen) throw new XmlError('no root element', n);
}

/** The local part of a possibly prefixed name. */
export function localName(name: string): string {
  const i = name.indexOf(':');
  return i < 0 ? name : name.slice(i + 1);
}
