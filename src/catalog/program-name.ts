/**
 * The one rule for a program's name, wherever one is read: a request's `prog`, an admin API
 * path or body, a folder directly under FTP_ROOT (docs/protocol.md §2). A letter or digit,
 * then letters, digits, `.`, `_` or `-`; at most 64 characters.
 */
export const PROGRAM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

export const PROGRAM_NAME_RULE = 'a program name: a letter or digit, then letters, digits, . _ - (at most 64)'

export function isProgramName (name: string): boolean {
  return PROGRAM_NAME.test(name)
}
