/** What `sql\`…\`.cursor(n)` returns when called without a callback: batches of rows. */
export type Cursorable<T> = { cursor(rows: number): AsyncIterable<T[]> };

export type CursorStreamOptions<T> = {
  /** Rows per round trip; the only rows in memory at a time. */
  batchSize?: number;
  /** Written before the first row (a CSV header, `{"type":"FeatureCollection","features":[`). */
  head?: string;
  /** One row as text; `index` counts from 0 across batches (for separators). */
  line: (row: T, index: number) => string;
  /** Written after the last row. */
  tail?: string;
  /** Told about a failure after the first byte (the transfer is then aborted, see below). */
  onError?: (err: unknown) => void;
};

/**
 * A response body streamed from a database cursor, so memory stays flat whatever the number of rows:
 * one batch is read only when the client has taken the previous one (`pull`, high-water mark 0), and
 * the cursor is closed when the client goes away (`cancel`), which frees the pool connection.
 *
 * The first batch is read before this resolves: a failure there (database unavailable, a bad query)
 * rejects, so the route can still answer with a JSON error. A failure later errors the stream; the
 * Node adapter then destroys the socket, so the client sees a broken transfer — never a truncated
 * file that looks complete.
 *
 * @example return c.body(await cursorStream(query, { head: 'a,b\r\n', line: (r) => `${r.a},${r.b}\r\n` }));
 */
export async function cursorStream<T>(
  query: Cursorable<T>,
  { batchSize = 1000, head = '', line, tail = '', onError }: CursorStreamOptions<T>,
): Promise<ReadableStream<Uint8Array>> {
  const rows = query.cursor(batchSize)[Symbol.asyncIterator]();
  let first: IteratorResult<T[]> | undefined = await rows.next();
  let index = 0;
  let started = false;
  let finished = false;
  // The batch being fetched: a client usually goes away while the adapter is already pulling the next
  // batch, and the cursor can only be closed once that batch has arrived (closing earlier is lost and
  // leaves the portal open, holding the connection, forever).
  let inflight: Promise<unknown> | undefined;
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = first ? Promise.resolve(first) : rows.next();
          first = undefined;
          inflight = next;
          const batch = await next;
          inflight = undefined;
          let text = started ? '' : head;
          started = true;
          if (batch.done) {
            finished = true;
            controller.enqueue(encoder.encode(text + tail));
            controller.close();
            return;
          }
          for (const row of batch.value) text += line(row, index++);
          controller.enqueue(encoder.encode(text));
        } catch (err) {
          finished = true;
          onError?.(err);
          controller.error(err);
        }
      },
      async cancel() {
        if (finished) return;
        finished = true;
        await inflight?.catch(() => {});
        await rows.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}
