// CPU accounting for benchmarks, so figures can be read independently of what else loads the
// machine: CPU seconds used by the Postgres backends of the bench database, a server process and this
// client process, from /proc (Linux).
import { readFileSync } from 'node:fs';
import type { Sql } from 'postgres';

const CLOCK_TICKS = 100; // USER_HZ on Linux

export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime + stime
  } catch {
    return 0; // the process ended
  }
}

export type CpuSnapshot = { backends: Map<number, number>; server: number; client: number };

export async function cpuSnapshot(admin: Sql, serverPid: number | undefined): Promise<CpuSnapshot> {
  const rows = await admin<{ pid: number }[]>`
    SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`;
  const usage = process.cpuUsage();
  return {
    backends: new Map(rows.map((r) => [r.pid, processCpuSeconds(r.pid)])),
    server: serverPid === undefined ? 0 : processCpuSeconds(serverPid),
    client: (usage.user + usage.system) / 1e6,
  };
}

/** CPU milliseconds per operation between two snapshots (backends new since `a` count from 0). */
export function cpuPerOp(a: CpuSnapshot, b: CpuSnapshot, ops: number) {
  let postgresSeconds = 0;
  for (const [pid, seconds] of b.backends) postgresSeconds += seconds - (a.backends.get(pid) ?? 0);
  const ms = (seconds: number) => (seconds * 1000) / ops;
  return { postgres: ms(postgresSeconds), server: ms(b.server - a.server), client: ms(b.client - a.client) };
}

/** The server's garbage collections so far, by kind (minor, major, incremental…), from its `/metrics`. */
export type GcSnapshot = Map<string, { seconds: number; count: number }>;

export async function gcSnapshot(port: number): Promise<GcSnapshot> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await res.text();
  const gc: GcSnapshot = new Map();
  for (const m of text.matchAll(
    /^cti_server_nodejs_gc_duration_seconds_(sum|count)\{kind="(\w+)"\} (\S+)$/gm,
  )) {
    const entry = gc.get(m[2]!) ?? { seconds: 0, count: 0 };
    if (m[1] === 'sum') entry.seconds = Number(m[3]);
    else entry.count = Number(m[3]);
    gc.set(m[2]!, entry);
  }
  return gc;
}

/** GC pause milliseconds per operation between two snapshots, and collections per operation by kind. */
export function gcPerOp(a: GcSnapshot, b: GcSnapshot, ops: number) {
  let ms = 0;
  const counts: string[] = [];
  for (const [kind, now] of b) {
    const before = a.get(kind) ?? { seconds: 0, count: 0 };
    ms += ((now.seconds - before.seconds) * 1000) / ops;
    const per = (now.count - before.count) / ops;
    if (per > 0) counts.push(`${kind} ${per.toFixed(per < 0.1 ? 3 : 2)}`);
  }
  return { ms, counts: counts.join(', ') };
}
