/**
 * Which attachment and header values a call record must not show: credentials travel as
 * attachments (a token filter's `token`, an `authorization` header), and a record is shown on
 * screen and written to files. Names are matched case-insensitively as substrings, so
 * `x-auth-token` and `Proxy-Authorization` are caught as well. Arguments are never redacted: they
 * are the call itself, and replaying a call needs them whole.
 */

export const REDACTED = '<redacted>';

/** Name parts that always mark a credential. */
export const CREDENTIAL_NAME_PARTS: readonly string[] = ['authorization', 'token', 'password', 'secret', 'cookie'];

export class Redaction {
  readonly #parts: readonly string[];

  /** `extra`: more name parts to redact (`--redact a,b`), on top of the credential ones. */
  constructor(extra: readonly string[] = []) {
    const parts = [...CREDENTIAL_NAME_PARTS, ...extra.map((part) => part.trim().toLowerCase()).filter((part) => part !== '')];
    this.#parts = [...new Set(parts)];
  }

  /** The name parts matched, for messages and docs. */
  get parts(): readonly string[] {
    return this.#parts;
  }

  redacts(name: string): boolean {
    const lower = name.toLowerCase();
    return this.#parts.some((part) => lower.includes(part));
  }

  /** A copy of `entries` with the values of matching names replaced by "<redacted>". */
  apply<T>(entries: Readonly<Record<string, T>>): Record<string, T | typeof REDACTED> {
    const out: Record<string, T | typeof REDACTED> = {};
    for (const [name, value] of Object.entries(entries)) out[name] = this.redacts(name) ? REDACTED : value;
    return out;
  }
}
