import { createInterface } from 'node:readline';

/**
 * The new password: from a TTY it is asked twice without echo; otherwise the first line of stdin
 * (`printf '%s\n' "$PW" | cti-server user add …`), so it never appears in argv or shell history.
 */
export async function readPassword(
  input: NodeJS.ReadStream = process.stdin,
  output: NodeJS.WriteStream = process.stderr,
): Promise<string> {
  if (!input.isTTY) {
    const rl = createInterface({ input });
    for await (const line of rl) {
      rl.close();
      return line.replace(/\r$/, '');
    }
    return '';
  }
  const ask = (prompt: string) =>
    new Promise<string>((resolve) => {
      output.write(prompt);
      input.setRawMode(true);
      input.resume();
      let value = '';
      const onData = (chunk: Buffer) => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            input.setRawMode(false);
            input.pause();
            input.off('data', onData);
            output.write('\n');
            resolve(value);
            return;
          }
          if (ch === '\u0003') process.exit(130);
          value = ch === '\u007f' ? value.slice(0, -1) : value + ch;
        }
      };
      input.on('data', onData);
    });
  const first = await ask('Password: ');
  const again = await ask('Again: ');
  if (first !== again) throw new Error('the two passwords differ');
  return first;
}
