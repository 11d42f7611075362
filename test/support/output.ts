import {Writable} from 'node:stream';

/** A writable that keeps what is written (a CLI's stdout or stderr in tests); text() decodes it as UTF-8. */
export function collector(): {stream: Writable; text: () => string} {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(Buffer.from(chunk));
      callback();
    },
  });
  return {stream, text: () => Buffer.concat(chunks).toString('utf8')};
}
