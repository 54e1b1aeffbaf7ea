// Quoting for sh: one word, safe to paste into a command line or a script whatever it contains.

/** `s` single-quoted for sh (a ' inside becomes '\''). */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
