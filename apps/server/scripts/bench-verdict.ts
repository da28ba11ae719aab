// The closing table of `pnpm bench:api`: each issue-12 target beside its closed-loop figure (50 clients,
// as the issue asks), its paced figure, and the service time of one request (CPU per request of the
// server, Postgres and the bench client), so a reader can tell a miss caused by the code from one caused
// by queueing on a shared 2-core machine. Prints figures, asserts nothing.
import { availableParallelism, loadavg } from 'node:os';

export type RunResult = {
  label: string;
  /** 0 = closed loop. */
  rate: number;
  p50: number;
  p95: number;
  perSecond: number;
  cpu: { server: number; postgres: number; client: number };
  load: number;
};

type Target = { match: string; p95: number };

/** Issue 12's bench targets (p95, ms), by scenario label. */
export const TARGETS: Target[] = [
  { match: 'list, first page', p95: 20 },
  { match: 'rows deep', p95: 20 },
  { match: 'scan detail', p95: 20 },
  { match: 'farm report, 30 days', p95: 200 },
  { match: 'farm report, whole year', p95: 200 },
];

/**
 * Little's law for a closed loop: N clients that each wait for their answer see a mean latency of
 * N ÷ throughput; throughput cannot exceed cores ÷ CPU per request. So the smallest mean latency the
 * machine allows is N × CPU per request ÷ cores — before any other engineer's work on the same cores.
 */
export function closedLoopFloorMs(cpuMsPerRequest: number, clients: number, cores: number): number {
  return (clients * cpuMsPerRequest) / cores;
}

/** Issue 12's export target: 100,000 rows in ≤ 3 s with the server's RSS growing ≤ 50 MB. */
export const EXPORT_TARGET = { rows: 100_000, seconds: 3, growthMB: 50 };

/**
 * The exports beside their target. The cold figure — a freshly started server's first export — is the
 * one the target applies to: a warm server has already grown its heap, and grows no more.
 */
export function printExportVerdict(
  exports: readonly { label: string; status: number; rows: number; seconds: number; growthMiB: number }[],
) {
  if (exports.length === 0) return;
  const { seconds, growthMB } = EXPORT_TARGET;
  console.log(
    `\nExports (target: ${EXPORT_TARGET.rows} rows in ≤ ${seconds} s, server RSS growth ≤ ${growthMB} MB)`,
  );
  for (const e of exports) {
    const mb = (e.growthMiB * 2 ** 20) / 1e6;
    const met = e.status === 200 && e.seconds <= (seconds * e.rows) / EXPORT_TARGET.rows && mb <= growthMB;
    console.log(
      `${e.label.padEnd(42)} ${e.seconds.toFixed(2).padStart(6)} s  RSS +${mb.toFixed(1).padStart(5)} MB  ${met ? 'MET' : 'NOT MET'}`,
    );
  }
}

export function printVerdict(results: readonly RunResult[], { clients }: { clients: number }) {
  const cores = availableParallelism();
  console.log(
    `\nTargets (issue 12), ${clients} concurrent clients on ${cores} cores shared with other work; ` +
      `load now ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
  );
  console.log(
    `${'scenario'.padEnd(42)} ${'target'.padStart(7)} ${'closed p95'.padStart(10)} ${'load'.padStart(5)} ` +
      `${'paced p95'.padStart(16)} ${'CPU/req'.padStart(8)} ${'floor'.padStart(7)}  verdict`,
  );
  for (const closed of results.filter((r) => r.rate === 0)) {
    const target = TARGETS.find((t) => closed.label.includes(t.match));
    if (!target) continue;
    const paced = results
      .filter((r) => r.label === closed.label && r.rate > 0)
      .sort((a, b) => a.rate - b.rate)
      .at(-1);
    // Service time: server + Postgres (the bench client's own CPU also takes the same cores).
    const service = closed.cpu.server + closed.cpu.postgres;
    const floor = closedLoopFloorMs(service + closed.cpu.client, clients, cores);
    const verdict =
      closed.p95 <= target.p95
        ? 'MET'
        : service > target.p95
          ? `NOT MET — the code: one request costs ${service.toFixed(1)} ms of CPU`
          : floor > target.p95
            ? `NOT MET — queueing: ${clients} clients × ${(service + closed.cpu.client).toFixed(1)} ms ÷ ${cores} cores ≥ ${floor.toFixed(0)} ms`
            : 'NOT MET — queueing behind other work on the shared cores (floor below target)';
    console.log(
      `${closed.label.padEnd(42)} ${`${target.p95} ms`.padStart(7)} ${closed.p95.toFixed(1).padStart(10)} ${closed.load.toFixed(1).padStart(5)} ` +
        `${paced ? `${paced.p95.toFixed(1)} @${paced.rate}/s` : '—'}`.padStart(16) +
        ` ${service.toFixed(2).padStart(8)} ${floor.toFixed(0).padStart(7)}  ${verdict}`,
    );
  }
  console.log(
    'CPU/req = server + Postgres CPU per request (ms); floor = the smallest mean closed-loop latency 2 idle cores ' +
      'allow (Little: clients × CPU/req incl. the bench client ÷ cores).',
  );
}
