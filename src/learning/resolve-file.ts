/**
 * The resolve file: a Java properties file `<interface>=dubbo://<host>:<port>?...` that stock Dubbo consumers
 * read at reference time (ReferenceConfig(Base).resolveFile, 2.7 and 3.x): `-D<interface>` first, else the
 * file named by `-Ddubbo.resolve.file`, else `${user.home}/dubbo-resolve.properties` when it exists. So
 * writing ~/dubbo-resolve.properties needs no JVM flag at all; keys are matched as exact interface names.
 *
 * Ownership: next to the file we keep `<file>.dubbo-tunnel.json` (our pid, whether we created the file, and
 * where its previous content is saved). A file another live dubbo-tunnel owns is refused; a marker left by a
 * dead one is taken over together with the original content it saved. On close the previous content is put
 * back, or the file removed if we created it. Writes are atomic (temporary file + rename).
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
  #lastWritten: string | undefined;
  #closed = false;

  private constructor(file: string, marker: string, owner: OwnerMarker) {
    this.path = file;
    this.#marker = marker;
    this.#owner = owner;
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
    if (previous) {
      // A dubbo-tunnel that died without cleaning up: keep what it saved, so close() still restores the original.
      owner = {...previous, pid, startedAt: new Date().toISOString()};
    } else if (existsSync(file)) {
      const backup = `${file}.dubbo-tunnel.orig`;
      try {
        writeFileSync(backup, readFileSync(file));
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
    return new ResolveFile(file, marker, owner);
  }

  /** Rewrites the file for these interfaces (nothing happens when the content would not change). */
  write(interfaces: Iterable<string>, address: string): void {
    if (this.#closed) return;
    const content = renderResolveFile([...interfaces], address, this.#owner.pid);
    if (content === this.#lastWritten) return;
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

/** The file's text: a header that says who wrote it, then one sorted line per interface. */
export function renderResolveFile(interfaces: string[], address: string, pid: number): string {
  const lines = [
    `# Written by dubbo-tunnel (pid ${pid}) while it runs; the previous content comes back when it stops.`,
    '# Dubbo consumers read this file at startup: every reference below goes to the tunnel.',
  ];
  for (const name of [...new Set(interfaces)].sort()) lines.push(`${escapeKey(name)}=dubbo://${address}?${RESOLVE_URL_PARAMETERS}`);
  return `${lines.join('\n')}\n`;
}

/** java.util.Properties: `=`, `:`, whitespace and `#!` at the start must be escaped in a key (interface names have none). */
function escapeKey(key: string): string {
  return key.replace(/[=:\s#!\\]/g, (c) => `\\${c}`);
}

function writeAtomic(file: string, content: string | Buffer): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, content);
  renameSync(temporary, file);
}

function fileError(message: string, error: unknown): DubboTunnelError {
  return new DubboTunnelError('DT_ERR_RESOLVE_FILE', `${message}: ${(error as Error).message}`, {
    hint: 'check the path and its permissions, or choose another with --resolve-file <path>',
    cause: error,
  });
}
