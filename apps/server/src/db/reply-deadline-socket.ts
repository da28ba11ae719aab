import { connect, type Socket } from 'node:net';

export type SilentConnection = {
  /** host:port (or the Unix socket path) of the database that went silent. */
  address: string;
  /** How long the connection owed a reply and received nothing. */
  silentMs: number;
};

export type ReplyDeadlineOptions = {
  /** A connection that owes a reply and has received nothing for this long is closed. */
  replyTimeoutMs: number;
  /** Called once per connection closed for its silence (a log line, a counter). */
  onSilent?: (info: SilentConnection) => void;
};

/** postgres.js's connection options as its `socket` function receives them. */
export type SocketTarget = { host: string[]; port: number[]; path?: string | false };

/** The code of the error a silent connection is destroyed with (database-errors.ts: connection lost). */
export const REPLY_TIMEOUT = 'REPLY_TIMEOUT';

/**
 * A postgres.js `socket` option (README "Custom socket") whose connections close themselves when the
 * database stops answering. postgres.js has no client-side deadline: a connection left open but silent
 * (a frozen host, a partition, a proxy that keeps TCP up and forwards nothing) keeps its query waiting
 * until TCP gives up, which can be never. Each socket follows the wire protocol in both directions and
 * knows what the server still owes (wire-expectations.ts); while something is owed, a timer runs from
 * the request or the last byte received. If it fires, the socket is destroyed with an error of code
 * REPLY_TIMEOUT: postgres.js fails the queries on it as a lost connection, and the pool opens a new one.
 * An idle connection owes nothing, so LISTEN connections waiting minutes for a NOTIFY are never closed.
 *
 * Not watched: TLS connections (postgres.js wraps the raw socket's handle itself; only its connect
 * timeout applies) and COPY FROM STDIN while the client is sending.
 *
 * @example postgres(url, { socket: replyDeadlineSocket({ replyTimeoutMs: 30_000, onSilent: log }) })
 */
export function replyDeadlineSocket({ replyTimeoutMs, onSilent }: ReplyDeadlineOptions) {
  const open = rotatingSocket();
  return (target: SocketTarget): Socket => {
    const socket = open(target);
    watchReplies(socket, {
      replyTimeoutMs,
      onSilent,
      address: target.path || `${socket.host}:${socket.port}`,
    });
    return socket;
  };
}

/** A socket postgres.js takes from its `socket` option, named as its own are (host, port: its errors say them). */
export type PostgresSocket = Socket & { host: string; port: number };

/**
 * What postgres.js does without a `socket` option, as a `socket` option: a TCP (or Unix socket)
 * connection to its hosts in turn (postgres.js rotates through the hosts itself only for sockets it
 * makes), named as postgres.js names its own peers. The base of every custom socket here.
 *
 * @example const open = rotatingSocket(); postgres(url, { socket: (t) => open(t) })
 */
export function rotatingSocket(): (target: SocketTarget) => PostgresSocket {
  let next = 0;
  return ({ host, port, path }) => {
    const i = next++ % host.length;
    const p = port[i] ?? port[0] ?? 5432;
    const socket = path ? connect(path) : connect(p, host[i]);
    return Object.assign(socket, { host: path || host[i]!, port: p });
  };
}

function watchReplies(
  socket: Socket,
  { replyTimeoutMs, onSilent, address }: ReplyDeadlineOptions & { address: string },
): void {
  const owed = createWireExpectations();
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  const expire = () => {
    timer = undefined;
    onSilent?.({ address, silentMs: replyTimeoutMs });
    const err = new Error(
      `the database at ${address} answered nothing for ${replyTimeoutMs / 1000} s: connection closed`,
    );
    socket.destroy(Object.assign(err, { code: REPLY_TIMEOUT }));
  };
  const write = socket.write.bind(socket) as (chunk: unknown, ...rest: unknown[]) => boolean;
  socket.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (Buffer.isBuffer(chunk) || chunk instanceof Uint8Array) owed.sent(Buffer.from(chunk));
    // A request starts the clock unless one already runs: an earlier request is still unanswered.
    if (!owed.waiting()) stop();
    else timer ??= setTimeout(expire, replyTimeoutMs);
    return write(chunk, ...rest);
  }) as Socket['write'];
  socket.on('data', (chunk: Buffer) => {
    owed.received(chunk);
    // Any byte is a sign of life: the clock restarts if more is owed.
    stop();
    if (owed.waiting()) timer = setTimeout(expire, replyTimeoutMs);
  });
  socket.on('close', stop);
}

/** What a connection's server still owes, from the messages of the wire protocol (v3) seen so far. */
export function createWireExpectations() {
  /** In order: a ReadyForQuery ('Z', after a Sync, a simple Query or the startup) or the end of a flushed step. */
  const expected: ('Z' | 'flush')[] = [];
  let unwatched = false;
  let copyIn = false;
  const out = createFramer({ untypedFirst: true });
  const inc = createFramer({ untypedFirst: false });
  return {
    sent(chunk: Buffer): void {
      for (const m of out.push(chunk)) {
        if (m.untyped !== undefined) {
          // StartupMessage (protocol 3.x) is answered up to ReadyForQuery; SSLRequest (TLS, the
          // rest is encrypted), GSSENCRequest and CancelRequest are not followed.
          if (m.untyped >>> 16 === 3) expected.push('Z');
          else unwatched = true;
        } else if (m.type === 'S' || m.type === 'Q' || m.type === 'F') expected.push('Z');
        else if (m.type === 'H') expected.push('flush');
        else if (m.type === 'c' || m.type === 'f') copyIn = false;
        else if (m.type === 'X') expected.length = 0;
      }
    },
    received(chunk: Buffer): void {
      for (const { type } of inc.push(chunk)) {
        if (type === 'Z') expected.splice(0, expected.indexOf('Z') + 1 || expected.length);
        else if (expected[0] === 'flush' && FLUSHED_STEP_ENDS.has(type)) expected.shift();
        else if (type === 'G')
          copyIn = true; // the server waits for the client's COPY data
        else if (type === 'W') unwatched = true; // replication: the server streams at its own pace
      }
    },
    waiting: (): boolean => !unwatched && !copyIn && expected.length > 0,
  };
}

/** The messages that end the server's answer to a step the client flushed (Describe, Execute with a row limit, Close). */
const FLUSHED_STEP_ENDS = new Set(['T', 'n', 's', 'C', 'E', 'I', '3']);

type Message = { type: string; untyped?: number };

/** Splits a byte stream into protocol messages (1 type byte + int32 length, or the untyped first message). */
function createFramer({ untypedFirst }: { untypedFirst: boolean }) {
  let untyped = untypedFirst;
  // A header split across chunks is gathered here; a whole one is read from the chunk itself (every
  // message of every reply passes through: no allocation per message).
  const partial = Buffer.alloc(8);
  let have = 0;
  let skip = 0;
  return {
    push(chunk: Buffer): Message[] {
      const found: Message[] = [];
      let at = 0;
      while (at < chunk.length) {
        if (skip > 0) {
          const n = Math.min(skip, chunk.length - at);
          skip -= n;
          at += n;
          continue;
        }
        const need = untyped ? 8 : 5;
        let head: Buffer;
        let base: number;
        if (have === 0 && chunk.length - at >= need) {
          head = chunk;
          base = at;
          at += need;
        } else {
          const take = Math.min(need - have, chunk.length - at);
          chunk.copy(partial, have, at, at + take);
          have += take;
          at += take;
          if (have < need) break;
          head = partial;
          base = 0;
          have = 0;
        }
        if (untyped) {
          found.push({ type: '', untyped: head.readUInt32BE(base + 4) });
          skip = head.readUInt32BE(base) - 8;
          untyped = false;
        } else {
          found.push({ type: String.fromCharCode(head[base]!) });
          skip = head.readUInt32BE(base + 1) - 4;
        }
      }
      return found;
    },
  };
}
