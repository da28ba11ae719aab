/** How much of stdin is read looking for the password's line (the policy allows 128 characters). */
const MAX_LINE_BYTES = 4096;

/**
 * The first line of piped stdin as the password. Bytes that are not UTF-8 would become U+FFFD (a
 * password nobody can type) and a NUL or other control character is a binary file or a stray escape,
 * not something a sign-in form sends: both are refused, naming the problem, never echoing the input.
 */
async function readPipedLine(input: NodeJS.ReadableStream): Promise<string> {
  let bytes = Buffer.alloc(0);
  for await (const chunk of input) {
    bytes = Buffer.concat([bytes, chunk as Buffer]);
    if (bytes.includes(0x0a) || bytes.length > MAX_LINE_BYTES) break;
  }
  const end = bytes.indexOf(0x0a);
  const line = end >= 0 ? bytes.subarray(0, end) : bytes;
  if (line.length > MAX_LINE_BYTES) {
    throw new Error(`the password on stdin is longer than ${MAX_LINE_BYTES} bytes (no newline found)`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(line);
  } catch {
    throw new Error('the password on stdin is not UTF-8 text');
  }
  text = text.replace(/\r$/, '');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(text)) {
    throw new Error('the password on stdin contains a control character (NUL, tab, escape…)');
  }
  return text;
}

/**
 * The new password: from a TTY it is asked twice without echo; otherwise the first line of stdin
 * (`printf '%s\n' "$PW" | cti-server user add …`), so it never appears in argv or shell history.
 */
export async function readPassword(
  input: NodeJS.ReadStream = process.stdin,
  output: NodeJS.WriteStream = process.stderr,
): Promise<string> {
  if (!input.isTTY) return readPipedLine(input);
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
