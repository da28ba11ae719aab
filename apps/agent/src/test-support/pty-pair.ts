import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '@cti/testkit';

export type PtyPair = {
  /** The end the agent opens (like /dev/cti-probe). */
  hostPath: string;
  /** The end the probe emulator opens. */
  devicePath: string;
  /** Kill socat: both ends vanish, like a USB probe being unplugged. */
  unplug(): Promise<void>;
  /** socat's process id while plugged in (to signal it without this process's event loop running). */
  pid(): number | undefined;
  /** Start a fresh socat on the same link names, like the probe re-enumerating. */
  plug(): Promise<void>;
  close(): Promise<void>;
};

/** A real PTY pair from socat, with stable symlink names inside `dir`. */
export async function createPtyPair(dir: string, name = 'probe'): Promise<PtyPair> {
  const hostPath = join(dir, `${name}-host`);
  const devicePath = join(dir, `${name}-device`);
  let child: ChildProcess | null = null;

  const plug = async () => {
    const c = spawn('socat', [`pty,raw,echo=0,link=${hostPath}`, `pty,raw,echo=0,link=${devicePath}`], {
      stdio: 'ignore',
    });
    child = c;
    await waitFor(() => existsSync(hostPath) && existsSync(devicePath), { what: 'socat PTY links' });
  };
  const unplug = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGTERM');
    // socat blocked on a full PTY can sit on SIGTERM; a test must never hang on its teardown.
    const force = setTimeout(() => c.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(force);
    await waitFor(() => !existsSync(hostPath) && !existsSync(devicePath), { what: 'PTY links removed' });
  };
  await plug();
  return { hostPath, devicePath, plug, unplug, pid: () => child?.pid, close: unplug };
}
