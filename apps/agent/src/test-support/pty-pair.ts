import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, renameSync, rmSync } from 'node:fs';
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
  /**
   * Start a fresh socat on the same link names, like the probe re-enumerating. With `openDevice`, the
   * device end is opened (by the probe emulator) before the host link appears: bytes the agent writes
   * into the host end while the device end is not open yet (its identify on connect) can wedge socat's
   * relay, and no frame then ever reaches the agent (a real probe has no socat in between).
   */
  plug(openDevice?: (devicePath: string) => Promise<void>): Promise<void>;
  close(): Promise<void>;
};

/** A real PTY pair from socat, with stable symlink names inside `dir`. */
export async function createPtyPair(dir: string, name = 'probe'): Promise<PtyPair> {
  const hostPath = join(dir, `${name}-host`);
  const devicePath = join(dir, `${name}-device`);
  let child: ChildProcess | null = null;
  /** The host link was renamed into place (socat would remove only the name it made). */
  let hostRenamed = false;

  const plug = async (openDevice?: (devicePath: string) => Promise<void>) => {
    // The host link is made under another name first when the device end must be open before it.
    const hostLink = openDevice ? `${hostPath}.plugging` : hostPath;
    const c = spawn('socat', [`pty,raw,echo=0,link=${hostLink}`, `pty,raw,echo=0,link=${devicePath}`], {
      stdio: 'ignore',
    });
    child = c;
    await waitFor(() => existsSync(hostLink) && existsSync(devicePath), { what: 'socat PTY links' });
    if (openDevice) {
      await openDevice(devicePath);
      renameSync(hostLink, hostPath); // atomically: the agent sees the host end only now
      hostRenamed = true;
    }
  };
  const unplug = async () => {
    const c = child;
    child = null;
    if (hostRenamed) {
      // socat removes only the link name it made; this one goes first, while its PTY still exists, so
      // nothing can open it once the PTY number is free for another socat.
      rmSync(hostPath, { force: true });
      hostRenamed = false;
    }
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
