// A `node --test` reporter that prints nothing while the tests run. It stops one way a finished test
// run can hang for ever: a process a test left running that still holds a test file's stdout or
// stderr (spawned with stdio 'inherit', say). The runner prints its summary and then waits for that
// pipe to close, which never happens. Each test script in the workspace lists this reporter after
// `spec` (see README, "The tests").
//
// LINGER_MS (CTI_TEST_LINGER_MS, default 30 s) after the run's summary, if the runner is still alive,
// this names every other process holding one of the runner's pipes, kills it, and the runner exits
// with its own status. Timers are unref'd, so a clean run exits at once.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const LINGER_MS = Number(process.env.CTI_TEST_LINGER_MS ?? 30_000);

/** The sockets (`socket:[inode]`) and pipes a process holds: Node gives a child's stdio as socketpairs. */
function streamsOf(pid) {
  const held = new Set();
  let fds = [];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return held; // gone, or not ours to read
  }
  for (const fd of fds) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (target.startsWith('socket:') || target.startsWith('pipe:')) held.add(target);
    } catch {}
  }
  return held;
}

function parentOf(pid) {
  try {
    return Number(/^PPid:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  } catch {
    return 0;
  }
}

/** This process and its ancestors: whatever they hold was inherited, not made for a test file. */
function selfAndAncestors() {
  const chain = new Set();
  for (let pid = process.pid; pid > 1 && !chain.has(pid); pid = parentOf(pid)) chain.add(pid);
  return chain;
}

function commandLine(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, 300);
  } catch {
    return '?';
  }
}

/**
 * The processes at the other end of the streams the runner made for its test files (held by it, by
 * none of its ancestors): pipes by inode, socketpairs through `ss -xp` (their two ends differ).
 */
function streamHolders() {
  const ancestry = selfAndAncestors();
  const mine = streamsOf(process.pid);
  for (const pid of ancestry) if (pid !== process.pid) for (const s of streamsOf(pid)) mine.delete(s);
  const holders = new Set();
  const sockets = new Set([...mine].filter((s) => s.startsWith('socket:')).map((s) => s.slice(8, -1)));
  const ss = spawnSync('ss', ['-xpnH'], { encoding: 'utf8' });
  for (const line of (ss.stdout ?? '').split('\n')) {
    // u_str ESTAB 0 0 * <inode> * <peer inode> users:(("sleep",pid=123,fd=2),…)
    const m = /^\S+\s+\S+\s+\d+\s+\d+\s+\S+\s+(\d+)\s+\S+\s+(\d+)\s+users:(.*)$/.exec(line);
    if (!m || !sockets.has(m[2]) || sockets.has(m[1])) continue;
    for (const [, pid] of m[3].matchAll(/pid=(\d+)/g)) holders.add(Number(pid));
  }
  const pipes = new Set([...mine].filter((s) => s.startsWith('pipe:')));
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || ancestry.has(Number(entry))) continue;
    if ([...streamsOf(entry)].some((s) => pipes.has(s))) holders.add(Number(entry));
  }
  for (const pid of ancestry) holders.delete(pid);
  return [...holders];
}

/** Every process holding the runner's test-file streams, killed; a line for each. */
function killStreamHolders() {
  return streamHolders().map((pid) => {
    const line = `  pid ${pid}: ${commandLine(pid)}`;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
    return line;
  });
}

export default async function* lingerReporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:summary' || event.data.file !== undefined) continue;
    setTimeout(() => {
      const lines = killStreamHolders();
      process.stderr.write(
        lines.length === 0
          ? `test runner: still running ${LINGER_MS} ms after its summary; no process holds its pipes\n`
          : `test runner: still running ${LINGER_MS} ms after its summary, held open by processes a test left running (killed now):\n${lines.join('\n')}\n`,
      );
    }, LINGER_MS).unref();
  }
}
