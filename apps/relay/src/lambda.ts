import { createLogger, type Logger } from '@cti/runtime';
import { loadRelayConfig } from './config.ts';
import type { Relay, RelayOutcome, RelayTarget } from './relay-core.ts';
import { createRelayFactory } from './relay-from-env.ts';
import { targetsFromEvent } from './s3-events.ts';

/** The part of the Lambda context the handler uses. */
export interface LambdaContext {
  awsRequestId?: string;
  getRemainingTimeInMillis?: () => number;
}

export interface RecordResult {
  bucket: string;
  key: string;
  outcome: RelayOutcome;
}

/**
 * Thrown when any record of an invocation was not delivered (rejected, incomplete, failed), after
 * every record was attempted. Throwing makes Lambda's asynchronous invocation retry the whole event
 * (twice by default) and then send it to the dead-letter queue; records that did succeed are sent
 * again on retry, which the server answers idempotently (same scan, a `replayed` event).
 */
export class RelayBatchError extends Error {
  readonly failures: RecordResult[];
  constructor(failures: RecordResult[], total: number) {
    const lines = failures.map(({ bucket, key, outcome }) => `s3://${bucket}/${key}: ${describe(outcome)}`);
    super(`${failures.length} of ${total} record(s) not relayed:\n${lines.join('\n')}`);
    this.name = 'RelayBatchError';
    this.failures = failures;
  }
}

function describe(outcome: RelayOutcome): string {
  switch (outcome.kind) {
    case 'incomplete':
      return `incomplete, missing ${outcome.missing.join(', ')}`;
    case 'rejected':
    case 'failed':
      return `${outcome.kind}${outcome.status ? ` (HTTP ${outcome.status})` : ''}: ${outcome.reason}`;
    default:
      return outcome.kind;
  }
}

export interface HandlerOptions {
  getRelay: () => Promise<Relay>;
  log: Logger;
  /** Per-object budget when the context does not bound it tighter. */
  budgetMs: number;
  /** Time kept back from the Lambda timeout to report results. */
  marginMs?: number;
}

/**
 * The Lambda handler logic, with its relay passed in. Records of a batch are relayed concurrently,
 * each within min(budgetMs, remaining invocation time − margin).
 */
export function createHandler({ getRelay, log, budgetMs, marginMs = 5000 }: HandlerOptions) {
  return async function handle(event: unknown, context: LambdaContext = {}) {
    const { targets, skipped } = targetsFromEvent(event);
    const invocationLog = log.child({ requestId: context.awsRequestId });
    if (skipped.length > 0)
      invocationLog.info(
        { skipped },
        'skipped records (not object-created, or a key that is not valid URL encoding)',
      );
    const remaining = context.getRemainingTimeInMillis?.() ?? Number.POSITIVE_INFINITY;
    const budget = Math.max(0, Math.min(budgetMs, remaining - marginMs));
    const relay = await getRelay();
    const results = await Promise.all(
      targets.map(async (target: RelayTarget) => ({
        bucket: target.bucket,
        key: target.key,
        outcome: await relay.relayObject(target, { budgetMs: budget }),
      })),
    );
    const failures = results.filter((r) => !['delivered', 'ignored'].includes(r.outcome.kind));
    if (failures.length > 0) throw new RelayBatchError(failures, results.length);
    return { results };
  };
}

let production: ReturnType<typeof createHandler> | undefined;

function productionHandler(): ReturnType<typeof createHandler> {
  const config = loadRelayConfig(process.env);
  const log = createLogger({ name: 'cti-relay', level: config.logLevel });
  const relays = createRelayFactory({ config, log, source: 'lambda' });
  return createHandler({ getRelay: relays.get, log, budgetMs: config.budgetMs });
}

/**
 * AWS Lambda entry (`index.handler` in the bundle): EventBridge "Object Created" events and classic
 * S3 notifications. Config and clients are made on the first invocation and reused while warm.
 */
export async function handler(event: unknown, context?: LambdaContext) {
  production ??= productionHandler();
  return production(event, context);
}
