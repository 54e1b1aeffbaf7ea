// XML text helpers shared by the repository generator. Runs in the lab (dist/bundle/repository.mjs).

// Characters XML 1.0 forbids anywhere (C0 controls except tab/LF/CR, lone surrogates, U+FFFE/U+FFFF).
const INVALID_XML_CHARS =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the C0 controls XML 1.0 forbids; matching them is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const SPECIAL = /[&<>"']/g;
const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/**
 * Escape text for XML element content or a quoted attribute value. Characters XML 1.0 cannot
 * carry at all are replaced with U+FFFD rather than emitted (a page with one would be unparseable).
 */
export function escapeXml(s: string): string {
  return s.replace(INVALID_XML_CHARS, '\uFFFD').replace(SPECIAL, (c) => ENTITY[c]!); // SPECIAL matches ENTITY's keys only
}
