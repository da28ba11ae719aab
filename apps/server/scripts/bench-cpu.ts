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
