import type { PendingQuery, Row, Sql, TransactionSql } from 'postgres';
import type { Db } from '../access/farm-access.ts';
import { isConnectionLost } from '../db/database-errors.ts';
import { utf8Chunk } from './utf8-chunk.ts';

export type CursorStreamOptions<T> = {
  /** Rows per FETCH; the only rows in memory at a time. */
  batchSize?: number;
  /** Written before the first row (a CSV header, `{"type":"FeatureCollection","features":[`). */
  head?: string;
  /** One row as text; `index` counts from 0 across batches (for separators). */
  line: (row: T, index: number) => string;
  /** Written after the last row. */
  tail?: string;
  /** Told about a failure after the first byte (the transfer is then aborted, see below). */
  onError?: (err: unknown) => void;
  /**
   * Called once when the body is done — its last byte handed over, the consumer gone, or a failure —
   * which is before the transaction's COMMIT/ROLLBACK has come back (a client that read the whole file
   * may already be asking for the next one).
   */
  onDone?: () => void;
  /** Called once when the transaction is over and its connection is back in the pool (however it ended). */
  onClose?: () => void;
  /**
   * The consumer has not asked for the next chunk for this long (a client that stopped reading: the
   * socket's buffers are full): the stream errors with StreamDeadlineError `stalled` and the
   * transaction rolls back. Reset on every pull; the time a FETCH takes does not count. Default: none.
   */
  stallTimeoutMs?: number;
  /**
   * The stream has been open this long, read or not: it errors with StreamDeadlineError `too_long`, so
   * a slow reader cannot keep one snapshot (and the database's xmin horizon) for hours. Default: none.
   */
  maxDurationMs?: number;
};

/** A stream the server cut (stallTimeoutMs, maxDurationMs); the client sees a broken transfer. */
export class StreamDeadlineError extends Error {
  readonly reason: 'stalled' | 'too_long';
  constructor(reason: 'stalled' | 'too_long', message: string) {
    super(message);
    this.name = 'StreamDeadlineError';
    this.reason = reason;
  }
}

const CURSOR = 'cti_stream';
/** Thrown inside the transaction to end it with ROLLBACK (the stream stopped early). */
const STOP = Symbol('stop streaming');

type Transaction<T> = {
  /** Runs one FETCH, handing each row to `each` as it is parsed; resolves with the number of rows. */
  fetch: (each: (row: T) => void) => Promise<number>;
  /**
   * Ends the transaction once: COMMIT, or ROLLBACK after `failure`. Nothing is sent when the connection
   * is gone (a query written to a closed socket would throw outside any request).
   */
  end: (commit: boolean, failure?: unknown) => void;
  /** The error that ended the transaction from outside (the connection was lost), if any. */
  lost: () => unknown;
};

/**
 * A response body streamed from a database cursor, so memory stays flat whatever the number of rows.
 *
 * The query runs as a real `DECLARE … NO SCROLL CURSOR` in a read-only transaction: Postgres then plans
 * for the first rows (`cursor_tuple_fraction`) — walking the list's index in order instead of sorting
 * the whole selection first — and the file is one consistent snapshot. JIT is off for it: compiling a
 * plan costs more than it saves on rows that go out as soon as they are read. The next `FETCH` is sent
 * only when the client has taken the previous batch (`pull`, high-water mark 0); when the client goes
 * away (`cancel`) the transaction ends and its connection goes back to the pool.
 *
 * Each row is turned into its line and UTF-8 bytes as soon as postgres.js has parsed it (`forEach`),
 * into one buffer reused for every batch; a pull hands out a copy, one chunk per batch. A batch's rows
 * are never held together, and a chunk lives only from its pull until the socket took it: holding the
 * rows (the array a FETCH resolves with) made V8 promote most of each young-generation collection, and a
 * chunk filled in advance was promoted too (utf8-chunk.ts) — a fresh server grew by ~190 MB on its
 * first 100,000-row export.
 *
 * The first batch is read before this resolves: a failure there (database unavailable, a bad query, a
 * row `line` throws on) rejects, so the route can still answer with a JSON error. A failure later —
 * including the connection being lost — errors the stream; the Node adapter then destroys the socket,
 * so the client sees a broken transfer, never a truncated file that looks complete. The same happens
 * when a deadline passes (`stallTimeoutMs`: a consumer that stopped asking; `maxDurationMs`): a client
 * that stops reading must not keep the transaction, its snapshot and its connection for ever.
 *
 * @example return c.body(await cursorStream(sql, (db) => db`SELECT …`, { head: 'a,b\r\n', line: (r) => … }));
 */
export async function cursorStream<T extends Row>(
  sql: Sql,
  query: (db: Db) => PendingQuery<T[]>,
  {
    batchSize = 1000,
    head = '',
    line,
    tail = '',
    onError,
    onDone,
    onClose,
    stallTimeoutMs,
    maxDurationMs,
  }: CursorStreamOptions<T>,
): Promise<ReadableStream<Uint8Array>> {
  const size = Math.trunc(batchSize);
  let done = false;
  const finished = () => {
    if (!done) onDone?.();
    done = true;
  };
  const tx = await openCursor(sql, query, size, () => {
    finished(); // a cursor that never opened, or a transaction lost without a pull to notice it
    onClose?.();
  });
  let index = 0;
  let stopped = false;
  const text = utf8Chunk(64 * 1024);
  /** FETCHes the next batch and writes its lines into `text`; resolves with the number of rows. */
  const read = async (): Promise<number> => {
    let failure: { err: unknown } | undefined;
    const rows = await tx.fetch((row) => {
      if (failure || stopped) return;
      try {
        text.write(line(row, index++));
      } catch (err) {
        failure = { err };
      }
    });
    if (failure) throw failure.err;
    return rows;
  };
  let first: number | undefined;
  try {
    text.write(head);
    first = await read();
  } catch (err) {
    tx.end(false, err);
    finished();
    throw err;
  }
  // The next batch, asked for as soon as the previous one arrived: Postgres reads it (and this process
  // formats it) while the client takes the previous one (at most two batches' text in memory). The
  // transaction can only end once that answer is in (one connection, one query at a time), and no
  // FETCH is sent after it ended.
  let pending: Promise<number> | undefined;
  const prefetch = () => {
    if (stopped) return;
    const lost = tx.lost();
    pending = lost ? Promise.reject(lost) : read();
    pending.catch(() => {}); // awaited (and reported) by the next pull
  };
  const timers = deadlines({ stallTimeoutMs, maxDurationMs, expire: (err) => void cut(err) });
  const stop = (commit: boolean, failure?: unknown) => {
    stopped = true;
    timers.clear();
    tx.end(commit, failure);
    finished();
  };
  let stream!: ReadableStreamDefaultController<Uint8Array>;
  // A deadline passed while the stream waits for its consumer (or for a FETCH): error it now — the Node
  // adapter then destroys the socket even while it waits for a drain that will never come — and end
  // the transaction once the FETCH in flight, if any, has answered (one query at a time).
  const cut = async (err: StreamDeadlineError) => {
    if (stopped) return;
    const last = pending;
    stopped = true;
    timers.clear();
    finished();
    onError?.(err);
    stream.error(err);
    await last?.catch(() => {});
    tx.end(false, err);
  };
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        stream = controller;
        timers.waiting();
      },
      async pull(controller) {
        timers.pulled();
        try {
          const rows: number = first ?? (await (pending ?? Promise.reject(new Error('no batch pending'))));
          first = undefined;
          pending = undefined;
          if (stopped) return;
          if (rows < size) {
            // A short batch is the last one: no FETCH is needed to learn it.
            stop(true);
            text.write(tail);
            controller.enqueue(text.take());
            controller.close();
            return;
          }
          // Taken before the next batch is written into the same buffer.
          const chunk = text.take();
          prefetch();
          controller.enqueue(chunk);
          timers.waiting();
        } catch (err) {
          if (stopped) return;
          stop(false, err);
          onError?.(err);
          controller.error(err);
        }
      },
      async cancel() {
        const last = pending;
        stopped = true;
        timers.clear();
        finished(); // the client is gone: its download no longer counts
        await last?.catch(() => {});
        tx.end(false);
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * The stream's two deadlines: `waiting` (re)arms the stall timer when a chunk was handed over,
 * `pulled` disarms it when the consumer asks for the next; the duration timer runs from the start.
 * Both are unref'd: a stalled download never keeps the process alive.
 */
function deadlines({
  stallTimeoutMs,
  maxDurationMs,
  expire,
}: {
  stallTimeoutMs: number | undefined;
  maxDurationMs: number | undefined;
  expire: (err: StreamDeadlineError) => void;
}) {
  let stall: NodeJS.Timeout | undefined;
  const total =
    maxDurationMs === undefined
      ? undefined
      : setTimeout(
          () =>
            expire(
              new StreamDeadlineError('too_long', `download still running after ${maxDurationMs / 1000} s`),
            ),
          maxDurationMs,
        ).unref();
  return {
    waiting() {
      if (stallTimeoutMs === undefined) return;
      clearTimeout(stall);
      stall = setTimeout(
        () =>
          expire(new StreamDeadlineError('stalled', `client read nothing for ${stallTimeoutMs / 1000} s`)),
        stallTimeoutMs,
      ).unref();
    },
    pulled() {
      clearTimeout(stall);
    },
    clear() {
      clearTimeout(stall);
      clearTimeout(total);
    },
  };
}

/**
 * BEGIN READ ONLY, jit off, no idle-in-transaction timeout, DECLARE: resolves once the cursor exists, with the transaction kept open
 * (postgres.js's `begin` callback waits) until `end` is called. Using `begin` — not a reserved
 * connection — means a connection lost meanwhile is reported (`lost`) instead of a later query being
 * written to a closed socket.
 */
function openCursor<T extends Row>(
  sql: Sql,
  query: (db: Db) => PendingQuery<T[]>,
  batchSize: number,
  onClose: () => void = () => {},
): Promise<Transaction<T>> {
  let finish: (commit: boolean) => void = () => {};
  const finished = new Promise<boolean>((resolve) => {
    finish = resolve;
  });
  let lost: unknown;
  let ended = false;
  return new Promise<Transaction<T>>((resolve, reject) => {
    sql
      .begin('read only', async (t: TransactionSql) => {
        await t`SET LOCAL jit = off`;
        // The transaction waits, idle, while the client reads the previous batch (a phone on a slow
        // link): a pool's idle-in-transaction bound (CTI_DB_REPLY_TIMEOUT_S, meant for transactions a
        // silent connection left behind) would cut the download. cursorStream's own deadlines
        // (stallTimeoutMs, maxDurationMs) bound the wait instead.
        await t`SET LOCAL idle_in_transaction_session_timeout = 0`;
        await t`DECLARE ${t.unsafe(CURSOR)} NO SCROLL CURSOR FOR ${query(t)}`;
        resolve({
          fetch: async (each) => {
            let rows = 0;
            await t.unsafe<T[]>(`FETCH ${batchSize} FROM ${CURSOR}`).forEach((row) => {
              rows++;
              each(row);
            });
            return rows;
          },
          end: (commit, failure) => {
            if (ended) return;
            ended = true;
            if (isConnectionLost(failure)) lost ??= failure;
            if (!lost) finish(commit);
          },
          lost: () => lost,
        });
        if (!(await finished)) throw STOP;
      })
      .catch((err: unknown) => {
        if (err === STOP) return;
        // Before the cursor exists this rejects openCursor (a bad query, the database down); after, the
        // connection is gone or COMMIT failed: the stream reports it at its next pull, if any.
        lost ??= err;
        reject(err);
      })
      .finally(onClose);
  });
}
