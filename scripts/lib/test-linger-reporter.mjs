// A `node --test` reporter that prints nothing while the tests run. It stops one way a test run can
// hang for ever: a process a test left running that still holds a test file's stdout or stderr
// (spawned with stdio 'inherit', say). The runner waits for that stream to close before it finishes
// the file (stdout) or exits after its summary (stderr), which never happens. Each test script in
// the workspace lists this reporter after `spec` (see README, "The tests").
//
// Every 10 s it looks at the streams the runner made for its test files. Once one has been held open
// for CTI_TEST_LINGER_MS (default 30 s) only by processes that are not the runner's own children (the
// test file's process is gone), it names those processes and kills them; the runner then goes on and
// exits with its own status. Its timer is unref'd: a clean run exits at once.
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
 * The streams the runner made for its test files (held by it, by none of its ancestors), each with the
 * processes at their other end: socketpairs through `ss -xp` (their two ends differ), pipes by inode.
 */
function streamHolders() {
  const ancestry = selfAndAncestors();
  const mine = streamsOf(process.pid);
  for (const pid of ancestry) if (pid !== process.pid) for (const s of streamsOf(pid)) mine.delete(s);
  const holders = new Map();
  const add = (stream, pid) => {
    if (ancestry.has(pid)) return;
    if (!holders.has(stream)) holders.set(stream, new Set());
    holders.get(stream).add(pid);
  };
  const sockets = new Set([...mine].filter((s) => s.startsWith('socket:')).map((s) => s.slice(8, -1)));
  // Only when there is something to match: every sweep would otherwise list every socket and fd.
  const ss = sockets.size > 0 ? spawnSync('ss', ['-xpnH'], { encoding: 'utf8' }).stdout : '';
  for (const line of (ss ?? '').split('\n')) {
    // u_str ESTAB 0 0 * <inode> * <peer inode> users:(("sleep",pid=123,fd=2),…)
    const m = /^\S+\s+\S+\s+\d+\s+\d+\s+\S+\s+(\d+)\s+\S+\s+(\d+)\s+users:(.*)$/.exec(line);
    if (!m || !sockets.has(m[2]) || sockets.has(m[1])) continue;
    for (const [, pid] of m[3].matchAll(/pid=(\d+)/g)) add(`socket:[${m[2]}]`, Number(pid));
  }
  const pipes = new Set([...mine].filter((s) => s.startsWith('pipe:')));
  for (const entry of pipes.size > 0 ? readdirSync('/proc') : []) {
    if (!/^\d+$/.test(entry)) continue;
    for (const s of streamsOf(entry)) if (pipes.has(s)) add(s, Number(entry));
  }
  return holders;
}

/**
 * Streams whose test file is gone — none of their holders is the runner's own child (a test file's
 * process, or what the global setup started) — but that something still holds open.
 */
function orphanedStreams() {
  const orphaned = new Map();
  for (const [stream, pids] of streamHolders())
    if (![...pids].some((pid) => parentOf(pid) === process.pid)) orphaned.set(stream, pids);
  return orphaned;
}

const SWEEP_MS = Math.min(10_000, LINGER_MS);

export default async function* lingerReporter(source) {
  const orphanedSince = new Map();
  const sweep = setInterval(() => {
    const now = Date.now();
    const orphaned = orphanedStreams();
    for (const stream of orphanedSince.keys()) if (!orphaned.has(stream)) orphanedSince.delete(stream);
    const lines = [];
    for (const [stream, pids] of orphaned) {
      if (!orphanedSince.has(stream)) orphanedSince.set(stream, now);
      if (now - orphanedSince.get(stream) < LINGER_MS) continue;
      orphanedSince.delete(stream);
      for (const pid of pids) {
        lines.push(`  pid ${pid}: ${commandLine(pid)}`);
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
    }
    if (lines.length > 0)
      process.stderr.write(
        `test runner: processes a test left running held a finished test file's output open for ${LINGER_MS} ms (killed now):\n${lines.join('\n')}\n`,
      );
  }, SWEEP_MS);
  sweep.unref();
  for await (const _event of source);
}
