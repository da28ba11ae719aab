import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { waitFor } from '@cti/testkit';

/**
 * A stand-in for systemd's notify socket: Node cannot bind a unix datagram socket, so a tiny Python
 * process does and prints each sd_notify message as one JSON line. `onMessage` sees each one as it
 * arrives (to act on READY=1 at once, as systemd may).
 */
export async function startNotifySocket(
  path: string,
  { onMessage }: { onMessage?: (message: string) => void } = {},
) {
  const messages: string[] = [];
  const script = [
    'import socket, sys, json, os',
    // Ends with the test process even when close() is never reached: it holds the runner's stderr.
    'parent = os.getppid()',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    `s.bind(${JSON.stringify(path)})`,
    's.settimeout(1)',
    'while os.getppid() == parent:',
    '    try:',
    '        print(json.dumps(s.recv(65536).decode()), flush=True)',
    '    except TimeoutError:',
    '        pass',
  ].join('\n');
  const child: ChildProcess = spawn(process.env.CTI_PYTHON ?? 'python3', ['-c', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) {
      if (!line) continue;
      const message = JSON.parse(line) as string;
      messages.push(message);
      onMessage?.(message);
    }
  });
  await waitFor(() => existsSync(path), { what: 'notify socket bound' });
  return {
    path,
    messages,
    close() {
      child.kill();
    },
  };
}

/** The sd_notify STATUS= values in `messages` (one datagram may carry READY=1 and STATUS=), in order. */
export function statusLines(messages: string[]): string[] {
  return messages.flatMap((m) =>
    m
      .split('\n')
      .filter((l) => l.startsWith('STATUS='))
      .map((l) => l.slice('STATUS='.length)),
  );
}
