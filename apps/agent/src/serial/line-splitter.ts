import { Transform, type TransformCallback } from 'node:stream';

/**
 * Bytes → text lines for serial devices that end lines with CR, LF or CR LF (readers differ). Empty
 * lines are dropped; a "line" longer than `maxLength` without a terminator (noise on an open line, the
 * wrong baud rate) is discarded rather than buffered forever.
 */
export function createLineSplitter({ maxLength = 512 }: { maxLength?: number } = {}): Transform {
  let rest = '';
  let overflow = false;
  return new Transform({
    readableObjectMode: true,
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      const parts = (rest + chunk.toString('latin1')).split(/\r\n|\r|\n/);
      rest = parts.pop() ?? '';
      for (const part of parts) {
        if (!overflow && part !== '') this.push(part);
        overflow = false;
      }
      if (rest.length > maxLength) {
        rest = '';
        overflow = true; // the tail of this over-long line is dropped too
      }
      done();
    },
  });
}
