/**
 * The resolve file: a Java properties file `<interface>=dubbo://<host>:<port>?...` that stock Dubbo consumers
 * read at reference time (ReferenceConfig(Base).resolveFile, 2.7 and 3.x): `-D<interface>` first, else the
 * file named by `-Ddubbo.resolve.file`, else `${user.home}/dubbo-resolve.properties` when it exists. So
 * writing ~/dubbo-resolve.properties needs no JVM flag at all; keys are matched as exact interface names.
 *
 * Ownership: next to the file we keep `<file>.dubbo-tunnel.json` (our pid, whether we created the file, and
 * where its previous content is saved). A file another live dubbo-tunnel owns is refused; a marker left by a
 * dead one is taken over together with the original content it saved. On close the previous content is put
 * back byte for byte, or the file removed if we created it. Writes are atomic (temporary file + rename).
 *
 * The user's lines stay: while we run, the file is the previous content, untouched and first, then a blank
 * line and our block. An interface the user's own lines already name (as an exact key) keeps the user's
 * line and gets none from us: it was written for that one interface on purpose, while ours are written in
 * bulk for everything learned, and a line of ours after it would win (java.util.Properties keeps the last
 * value of a key), silently sending that interface elsewhere until we stop. Our block's header names such
 * interfaces. A user's pattern key (`*`, `com.example.*`, Dubbo 3.0.2+) is not an exact key: Dubbo looks up
 * exact keys first, so our lines take those interfaces while we run.
 */
import {existsSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {DubboTunnelError} from '../core/errors.js';

export const DEFAULT_RESOLVE_FILE = '~/dubbo-resolve.properties';

/**
 * URL parameters every line carries. serialization=hessian2: what the tunnel reads to route. A 3.2 consumer
 * prefers fastjson2 when the provider URL does not say otherwise (its default prefer.serialization is
 * "fastjson2,hessian2", and a direct URL has no provider parameters), so the line says it as a provider would.
 */
export const RESOLVE_URL_PARAMETERS = 'serialization=hessian2&prefer.serialization=hessian2';

interface OwnerMarker {
  pid: number;
  /** true when the file did not exist before: it is deleted on close. */
  created: boolean;
  /** Where the previous content is kept (when not created). */
  backup?: string;
  startedAt: string;
}

export function expandHome(file: string, home = os.homedir()): string {
  if (file === '~') return home;
  if (file.startsWith('~/')) return path.join(home, file.slice(2));
  return path.resolve(file);
}

/** `pid` is running (signal 0 only checks). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class ResolveFile {
  readonly path: string;
  readonly #marker: string;
  readonly #owner: OwnerMarker;
  /** The file as it was before we took it (empty when we created it): kept first, byte for byte. */
  readonly #previous: Buffer;
  /** Keys the previous content defines: interfaces whose line stays the user's. */
  readonly #userKeys: ReadonlySet<string>;
  #lastWritten: Buffer | undefined;
  #closed = false;

  private constructor(file: string, marker: string, owner: OwnerMarker, previous: Buffer) {
    this.path = file;
    this.#marker = marker;
    this.#owner = owner;
    this.#previous = previous;
    // Properties.load(InputStream) reads ISO 8859-1; interface names are ASCII either way.
    this.#userKeys = propertyKeys(previous.toString('latin1'));
  }

  /** Takes ownership of `file` (already expanded). Throws DT_ERR_RESOLVE_FILE when another dubbo-tunnel owns it. */
  static open(file: string, pid = process.pid): ResolveFile {
    const marker = `${file}.dubbo-tunnel.json`;
    let previous: OwnerMarker | undefined;
    if (existsSync(marker)) {
      try {
        previous = JSON.parse(readFileSync(marker, 'utf8')) as OwnerMarker;
      } catch {
        previous = undefined;
      }
      if (previous && previous.pid !== pid && alive(previous.pid)) {
        throw new DubboTunnelError('DT_ERR_RESOLVE_FILE', `${file} is managed by another running dubbo-tunnel (pid ${previous.pid})`, {
          hint: `stop that one first, or give this one its own file: --resolve-file <path> (consumers then need -Ddubbo.resolve.file=<path>)`,
        });
      }
    }
    let owner: OwnerMarker;
    let content: Buffer = Buffer.alloc(0);
    if (previous) {
      // A dubbo-tunnel that died without cleaning up: keep what it saved, so close() still restores the original.
      owner = {...previous, pid, startedAt: new Date().toISOString()};
      if (!owner.created && owner.backup !== undefined && existsSync(owner.backup)) content = readSaved(owner.backup);
    } else if (existsSync(file)) {
      const backup = `${file}.dubbo-tunnel.orig`;
      try {
        content = readFileSync(file);
        writeFileSync(backup, content);
      } catch (error) {
        throw fileError(`cannot save a copy of ${file}`, error);
      }
      owner = {pid, created: false, backup, startedAt: new Date().toISOString()};
    } else {
      owner = {pid, created: true, startedAt: new Date().toISOString()};
    }
    try {
      writeAtomic(marker, `${JSON.stringify(owner, null, 2)}\n`);
    } catch (error) {
      throw fileError(`cannot write ${marker}`, error);
    }
    return new ResolveFile(file, marker, owner, content);
  }

  /**
   * Rewrites the file for these interfaces: the previous content as it was, then our lines for the
   * interfaces it does not name (nothing happens when the content would not change).
   */
  /** `triple`: the interfaces whose application has only a Triple port (their lines say `tri://`). */
  write(interfaces: Iterable<string>, address: string, triple: ReadonlySet<string> = new Set()): void {
    if (this.#closed) return;
    const wanted = [...new Set(interfaces)];
    const block = renderResolveFile(wanted.filter((name) => !this.#userKeys.has(name)), address, this.#owner.pid, {
      keptByUser: wanted.filter((name) => this.#userKeys.has(name)),
      below: this.#previous.length > 0,
      triple,
    });
    const content = Buffer.concat([this.#previous, Buffer.from(separator(this.#previous), 'latin1'), Buffer.from(block, 'latin1')]);
    if (this.#lastWritten?.equals(content) === true) return;
    writeAtomic(this.path, content);
    this.#lastWritten = content;
  }

  /** Puts back the previous content (or removes the file we created) and drops the marker. Synchronous: safe in 'exit' handlers. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      if (this.#owner.created) {
        rmSync(this.path, {force: true});
      } else if (this.#owner.backup !== undefined && existsSync(this.#owner.backup)) {
        writeAtomic(this.path, readFileSync(this.#owner.backup));
        rmSync(this.#owner.backup, {force: true});
      }
    } finally {
      rmSync(this.#marker, {force: true});
    }
  }
}

/** How our block is set apart from the previous content. */
export interface BlockPlacement {
  /** Interfaces the previous content already names: their line stays the user's, and the header says so. */
  keptByUser?: readonly string[];
  /** The block comes after the user's lines (the header says whose lines are whose). */
  below?: boolean;
  /**
   * Interfaces to reach over Triple: their applications have no Dubbo port, so a `dubbo://` line would
   * only get the "has only a Triple port" answer. A Dubbo 3 consumer reads `tri://` as the protocol.
   */
  triple?: ReadonlySet<string>;
}

/** Our block: a header that says who wrote it, then one sorted line per interface. */
export function renderResolveFile(interfaces: string[], address: string, pid: number, placement: BlockPlacement = {}): string {
  const lines = placement.below === true
    ? [
      `# Written by dubbo-tunnel (pid ${pid}) while it runs: the lines from here on. The lines above are yours and stay`,
      '# as they are; when dubbo-tunnel stops, the file goes back to exactly what it was.',
      '# Dubbo consumers read this file at startup: every reference below goes to the tunnel.',
    ]
    : [
      `# Written by dubbo-tunnel (pid ${pid}) while it runs; the previous content comes back when it stops.`,
      '# Dubbo consumers read this file at startup: every reference below goes to the tunnel.',
    ];
  const kept = [...new Set(placement.keptByUser ?? [])].sort();
  if (kept.length > 0) lines.push(`# Your own line above is kept for ${kept.join(', ')} (remove it to go through the tunnel).`);
  for (const name of [...new Set(interfaces)].sort()) {
    lines.push(placement.triple?.has(name) === true ? `${escapeKey(name)}=tri://${address}` : `${escapeKey(name)}=dubbo://${address}?${RESOLVE_URL_PARAMETERS}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * What goes between the previous content and our block: a line end if its last line has none, then a
 * blank line. The blank line also ends a last line that ends in `\` (a continuation), which would
 * otherwise swallow our header into the user's value.
 */
function separator(previous: Buffer): string {
  if (previous.length === 0) return '';
  const last = previous.at(-1);
  // A file with old Mac line ends (\r alone) gets its blank line in the same style: a \n right after
  // its last \r would only complete that line end (\r\n), not add a blank line.
  return last === 0x0a ? '\n' : last === 0x0d ? '\r' : '\n\n';
}

/**
 * The keys a properties file defines, read as java.util.Properties.load does: natural lines end at
 * \n, \r or \r\n; leading blanks are skipped; `#` or `!` first makes a comment; an odd number of
 * backslashes at the end continues the line; the key ends at the first unescaped `=`, `:` or blank;
 * escapes in the key (`\uXXXX`, `\t`, `\=`, ...) are decoded.
 */
export function propertyKeys(text: string): Set<string> {
  const keys = new Set<string>();
  const natural = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < natural.length; i++) {
    let line = (natural[i] ?? '').replace(/^[ \t\f]+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    while (endsInContinuation(line) && i + 1 < natural.length) {
      line = line.slice(0, -1) + (natural[++i] ?? '').replace(/^[ \t\f]+/, '');
    }
    let key = '';
    for (let at = 0; at < line.length; at++) {
      const c = line[at];
      if (c === '=' || c === ':' || c === ' ' || c === '\t' || c === '\f') break;
      if (c !== '\\') {
        key += c;
        continue;
      }
      const next = line[++at];
      if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(line.slice(at + 1, at + 5))) {
        key += String.fromCharCode(Number.parseInt(line.slice(at + 1, at + 5), 16));
        at += 4;
      } else if (next !== undefined) {
        key += next === 't' ? '\t' : next === 'n' ? '\n' : next === 'r' ? '\r' : next === 'f' ? '\f' : next;
      }
    }
    keys.add(key);
  }
  return keys;
}

function endsInContinuation(line: string): boolean {
  let backslashes = 0;
  for (let at = line.length - 1; at >= 0 && line[at] === '\\'; at--) backslashes++;
  return backslashes % 2 === 1;
}

/**
 * java.util.Properties: `=`, `:`, whitespace and `#!` at the start must be escaped in a key (interface
 * names have none), and Properties.load reads ISO 8859-1, so anything outside ASCII is written as \uXXXX.
 */
function escapeKey(key: string): string {
  const named: Record<string, string> = {'\t': 't', '\n': 'n', '\r': 'r', '\f': 'f'};
  return key.replace(/[=: \t\n\r\f#!\\]/g, (c) => `\\${named[c] ?? c}`).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function writeAtomic(file: string, content: string | Buffer): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, content);
  renameSync(temporary, file);
}

/** The content a dead owner saved; unreadable, it is treated as empty (close() still tries to put it back). */
function readSaved(backup: string): Buffer {
  try {
    return readFileSync(backup);
  } catch {
    return Buffer.alloc(0);
  }
}

function fileError(message: string, error: unknown): DubboTunnelError {
  return new DubboTunnelError('DT_ERR_RESOLVE_FILE', `${message}: ${(error as Error).message}`, {
    hint: 'check the path and its permissions, or choose another with --resolve-file <path>',
    cause: error,
  });
}
