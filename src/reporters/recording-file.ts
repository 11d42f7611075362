/**
 * The file behind `up --record <file>`: text lines appended off the request path, size-bounded with
 * rotation (`<file>` → `<file>.1` → `<file>.2` …, keeping `keepFiles` old files), with a bounded
 * buffer. Writing never blocks a caller: `write` queues the line and returns; one write at a time
 * goes to the disk. A disk slower than the calls fills the buffer, and lines that do not fit are
 * dropped and counted (`dropped`), so memory stays bounded whatever the traffic.
 */
import {constants} from 'node:fs';
import {access, open, rename, rm, stat} from 'node:fs/promises';
import type {FileHandle} from 'node:fs/promises';
import path from 'node:path';
import {DubboTunnelError} from '../core/errors.js';

/** `--record-max-size` default: one file of a busy afternoon, small enough to open in an editor. */
export const DEFAULT_RECORD_MAX_BYTES = 64 * 1024 * 1024;
/** `--record-files` default: old files kept next to the one being written. */
export const DEFAULT_RECORD_FILES = 3;
/** Lines waiting for the disk, at most: a few seconds of a fast consumer's calls. */
export const DEFAULT_RECORD_BUFFER_BYTES = 8 * 1024 * 1024;

export interface RecordingFileOptions {
  readonly file: string;
  /** A file is rotated before a line would take it past this size (a longer line gets a file of its own). */
  readonly maxBytes?: number;
  /** Rotated files kept (`<file>.1` newest … `<file>.<keepFiles>` oldest); 0 keeps none. */
  readonly keepFiles?: number;
  /** Bytes of lines waiting to be written, at most; past it lines are dropped. */
  readonly maxBufferedBytes?: number;
  /** A write or rotation failed: recording stops there (every later line is dropped). Said once. */
  readonly onError?: (error: DubboTunnelError) => void;
}

export class RecordingFile {
  readonly file: string;
  readonly #maxBytes: number;
  readonly #keepFiles: number;
  readonly #maxBuffered: number;
  readonly #onError: ((error: DubboTunnelError) => void) | undefined;
  #handle: FileHandle;
  /** Bytes in the file being written (what was there when it was opened, plus what we wrote). */
  #size: number;
  #queue: string[] = [];
  #queuedBytes = 0;
  #writing: Promise<void> | undefined;
  #failed = false;
  #closed = false;
  #dropped = 0;
  #written = 0;

  private constructor(file: string, handle: FileHandle, size: number, options: RecordingFileOptions) {
    this.file = file;
    this.#handle = handle;
    this.#size = size;
    this.#maxBytes = options.maxBytes ?? DEFAULT_RECORD_MAX_BYTES;
    this.#keepFiles = options.keepFiles ?? DEFAULT_RECORD_FILES;
    this.#maxBuffered = options.maxBufferedBytes ?? DEFAULT_RECORD_BUFFER_BYTES;
    this.#onError = options.onError;
  }

  /**
   * Opens `file` for appending (a recording adds to what an earlier session wrote). Fails with
   * DT_ERR_RECORD_FILE and the fix when the folder is missing or the file cannot be written, so
   * `up` stops before it listens instead of running a session that records nothing.
   */
  static async open(options: RecordingFileOptions): Promise<RecordingFile> {
    const file = path.resolve(options.file);
    const folder = path.dirname(file);
    try {
      await access(folder, constants.W_OK);
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      throw new DubboTunnelError('DT_ERR_RECORD_FILE', `cannot record to ${options.file}: the folder ${folder} ${missing ? 'does not exist' : 'is not writable'}`, {
        hint: missing ? `create it first (mkdir -p ${folder}), or pass another --record <file>` : 'pass a --record <file> in a folder you may write to',
      });
    }
    let handle: FileHandle;
    try {
      handle = await open(file, 'a');
    } catch (error) {
      throw new DubboTunnelError('DT_ERR_RECORD_FILE', `cannot record to ${options.file}: ${describe(error)}`, {
        hint: 'pass a --record <file> you may write to (not a folder)',
      });
    }
    const {size} = await handle.stat();
    return new RecordingFile(file, handle, size, options);
  }

  /** Lines dropped because the buffer was full, or after a write failed. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Lines handed to the disk. */
  get written(): number {
    return this.#written;
  }

  /** Queues one line (without its newline). Never waits; a line that does not fit is dropped. */
  write(line: string): void {
    if (this.#closed || this.#failed) {
      this.#dropped++;
      return;
    }
    const text = `${line}\n`;
    // Characters, not bytes: an estimate that is exact for ASCII and errs small otherwise, without
    // measuring every line on the caller's time.
    if (this.#queuedBytes + text.length > this.#maxBuffered && this.#queue.length > 0) {
      this.#dropped++;
      return;
    }
    this.#queue.push(text);
    this.#queuedBytes += text.length;
    this.#writing ??= this.#drain();
  }

  /** Writes what is queued, then closes the file. Later `write`s are dropped. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writing;
    await this.#handle.close().catch(() => undefined);
  }

  /** One writer: takes the queue, writes it in pieces that fit the current file, until it is empty. */
  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#failed) {
        const lines = this.#queue;
        this.#queue = [];
        this.#queuedBytes = 0;
        await this.#writeLines(lines);
      }
    } catch (error) {
      this.#failed = true;
      this.#dropped += this.#queue.length;
      this.#queue = [];
      this.#queuedBytes = 0;
      this.#onError?.(new DubboTunnelError('DT_ERR_RECORD_FILE', `recording to ${this.file} stopped: ${describe(error)}`, {
        hint: 'free some disk space or pass another --record <file>; the calls are still routed',
      }));
    } finally {
      this.#writing = undefined;
    }
  }

  async #writeLines(lines: readonly string[]): Promise<void> {
    let piece: Buffer[] = [];
    let pieceBytes = 0;
    const flush = async () => {
      if (pieceBytes === 0) return;
      const data = Buffer.concat(piece, pieceBytes);
      const count = piece.length;
      piece = [];
      pieceBytes = 0;
      await this.#handle.write(data);
      this.#size += data.length;
      this.#written += count;
    };
    for (const line of lines) {
      const bytes = Buffer.from(line, 'utf8');
      if (this.#size + pieceBytes + bytes.length > this.#maxBytes && this.#size + pieceBytes > 0) {
        await flush();
        await this.#rotate();
      }
      piece.push(bytes);
      pieceBytes += bytes.length;
    }
    await flush();
  }

  /** `<file>.<n-1>` → `<file>.<n>` from the oldest kept, `<file>` → `<file>.1`, and a new `<file>`. */
  async #rotate(): Promise<void> {
    await this.#handle.close();
    if (this.#keepFiles === 0) {
      await rm(this.file, {force: true});
    } else {
      await rm(`${this.file}.${this.#keepFiles}`, {force: true});
      for (let n = this.#keepFiles - 1; n >= 1; n--) {
        if (await exists(`${this.file}.${n}`)) await rename(`${this.file}.${n}`, `${this.file}.${n + 1}`);
      }
      await rename(this.file, `${this.file}.1`);
    }
    this.#handle = await open(this.file, 'a');
    this.#size = 0;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EISDIR') return 'it is a folder';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOSPC') return 'the disk is full';
  return error instanceof Error ? error.message : String(error);
}
