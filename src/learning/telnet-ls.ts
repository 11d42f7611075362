/**
 * Telnet `ls` on the Dubbo port (2.7 providers that enabled it with the protocol parameter `telnet`).
 * The answer ends with the prompt `dubbo>` (no line end); `ls -l` lists `PROVIDER:` then one
 * `<key> ->  published: Y|N` per service. Since 2.7.13 / 3.0.11 the command is disabled by default, and
 * 3.x has no `ls` on the Dubbo port at all. Pure.
 */
import {isInternalService, normalizeServiceKey} from '../router/service-key.js';

export const TELNET_PROMPT = 'dubbo>';

/**
 * `ls -l` + CRLF: 7 bytes. A 3.2 server reads nothing until 5 bytes have arrived (it sniffs for TLS), so
 * a 4-byte `ls\r\n` would go unanswered there.
 */
export const TELNET_LS_COMMAND = Buffer.from('ls -l\r\n', 'latin1');

export type TelnetLsAnswer =
  | {kind: 'listing'; keys: string[]}
  /** "Command: ls disabled for security reasons ..." */
  | {kind: 'disabled'; message: string}
  /** "Unsupported command: ls" (3.x, or a server without the command). */
  | {kind: 'unsupported'; message: string}
  | {kind: 'failed'; message: string};

const MAX_ANSWER = 256 * 1024;

/** Accumulates the answer until the prompt; `push` returns it once complete. */
export class TelnetLsReader {
  #text = '';
  #done: TelnetLsAnswer | undefined;

  push(chunk: Buffer): TelnetLsAnswer | undefined {
    if (this.#done) return this.#done;
    this.#text += chunk.toString('latin1');
    if (this.#text.length > MAX_ANSWER) return (this.#done = {kind: 'failed', message: `the telnet answer is over ${MAX_ANSWER} bytes`});
    if (!this.#text.endsWith(TELNET_PROMPT)) {
      // A Dubbo frame (magic 0xdabb) means the port is not answering in text at all.
      if (this.#text.startsWith('\xda\xbb')) return (this.#done = {kind: 'failed', message: 'the port answered in binary Dubbo, not telnet'});
      return undefined;
    }
    return (this.#done = parseTelnetLs(this.#text.slice(0, -TELNET_PROMPT.length)));
  }

  end(): TelnetLsAnswer {
    return this.#done ?? {kind: 'failed', message: this.#text === '' ? 'the port closed without a telnet answer' : 'the telnet answer ended without a prompt'};
  }
}

/** Reads one answer (prompt removed). */
export function parseTelnetLs(answer: string): TelnetLsAnswer {
  const text = answer.replace(/\r\n/g, '\n');
  const first = text.split('\n', 1)[0]?.trim() ?? '';
  if (first.startsWith('Command: ') && first.includes('disabled')) return {kind: 'disabled', message: first};
  if (first.startsWith('Unsupported command')) return {kind: 'unsupported', message: first};
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.trim() === 'PROVIDER:');
  if (start < 0) return {kind: 'failed', message: first === '' ? 'an empty telnet answer' : `an unexpected telnet answer: ${first.slice(0, 120)}`};
  const keys: string[] = [];
  for (const raw of lines.slice(start + 1)) {
    const line = raw.trim();
    if (line === '' || line === 'CONSUMER:') break;
    const name = line.split(' ->', 1)[0]?.trim() ?? '';
    const key = normalizeServiceKey(name);
    if (key !== undefined && !isInternalService(key) && !keys.includes(key)) keys.push(key);
  }
  return {kind: 'listing', keys};
}
