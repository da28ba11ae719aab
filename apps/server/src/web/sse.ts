import type { Context } from 'hono';
import { type SSEStreamingApi, streamSSE } from 'hono/streaming';

export type SseEvent = {
  /** The event name the page listens for (`scan`, `notification`); "message" when absent. */
  event?: string;
  /** A string is sent as is; anything else as JSON. Newlines become several `data:` lines. */
  data: unknown;
  /** Sent back by the browser as `Last-Event-ID` when it reconnects. */
  id?: string;
};

export type SseSend = (event: SseEvent) => Promise<void>;

export type SseSubscribe = (
  send: SseSend,
  context: { lastEventId: string | undefined; signal: AbortSignal },
) => (() => void | Promise<void>) | undefined | Promise<(() => void | Promise<void>) | undefined>;

export type SseOptions = {
  /** Starts delivering events to `send`; returns the unsubscribe function called on disconnect. */
  subscribe: SseSubscribe;
  /** A comment line every N ms keeps proxies and load balancers from closing an idle stream. */
  heartbeatMs?: number;
  /** The reconnection delay the browser should use (the `retry:` field). */
  retryMs?: number;
  /** Aborted at server shutdown: ends every open stream so a graceful close does not wait for them. */
  shutdown?: AbortSignal;
};

/**
 * Answers a request with a Server-Sent Events stream: `retry:` first, then whatever `subscribe` sends,
 * a `: heartbeat` comment every `heartbeatMs`, and on disconnect (or shutdown) the heartbeat stops and
 * the unsubscribe function runs exactly once. Events sent concurrently are written one after another.
 *
 * @example app.get('/scans/events', (c) => sseStream(c, { subscribe: (send) => bus.on('scan', send) }));
 */
export function sseStream(
  c: Context,
  { subscribe, heartbeatMs = 15_000, retryMs = 3_000, shutdown }: SseOptions,
): Response {
  c.header('X-Accel-Buffering', 'no'); // nginx: do not buffer the stream
  return streamSSE(c, async (stream) => {
    const done = new AbortController();
    const ended = new Promise<void>((resolve) => done.signal.addEventListener('abort', () => resolve()));
    stream.onAbort(() => done.abort());
    if (shutdown?.aborted) return;
    shutdown?.addEventListener('abort', () => done.abort(), { signal: done.signal });

    let queue = Promise.resolve();
    const write = (fn: (s: SSEStreamingApi) => Promise<unknown>) => {
      queue = queue.then(() => (done.signal.aborted ? undefined : fn(stream).then(() => undefined)));
      return queue;
    };
    const send: SseSend = (e) =>
      write((s) =>
        s.writeSSE({
          data: typeof e.data === 'string' ? e.data : JSON.stringify(e.data),
          ...(e.event ? { event: singleLine(e.event) } : {}),
          ...(e.id ? { id: singleLine(e.id) } : {}),
        }),
      );

    await write((s) => s.write(`retry: ${retryMs}\n\n`));
    const heartbeat = setInterval(() => void write((s) => s.write(': heartbeat\n\n')), heartbeatMs);
    let unsubscribe: (() => void | Promise<void>) | undefined;
    try {
      unsubscribe =
        (await subscribe(send, { lastEventId: c.req.header('Last-Event-ID'), signal: done.signal })) ??
        undefined;
      await ended;
    } finally {
      clearInterval(heartbeat);
      await unsubscribe?.();
    }
  });
}

// A newline inside an event name or id would start a new field: refuse it rather than send it.
function singleLine(value: string): string {
  if (/[\r\n]/.test(value)) throw new RangeError('SSE event names and ids are single lines');
  return value;
}
