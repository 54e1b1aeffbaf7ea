// Escaping for everything that comes from outside (scenario names, paths, log lines, reasons).

/** Text or attribute value for HTML (and SVG). */
export function esc(s: unknown): string {
  return String(s ?? '').replace(
    /[&<>"']/g,
    // The pattern matches only the five keys of the table.
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** Text or attribute value for XML 1.0: also drops the control characters XML cannot hold. */
export function escXml(s: unknown): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the C0 controls XML 1.0 cannot hold; matching them is the point
  return esc(String(s ?? '').replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd'));
}

/** A relative link target: each path segment percent-encoded (no scheme can sneak in). */
export function hrefPath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}
