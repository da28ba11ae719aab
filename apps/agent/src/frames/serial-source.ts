import { performance } from 'node:perf_hooks';
import { backoffDelay, type Logger, silentLogger, sleep } from '@cti/runtime';
import { SerialPort } from 'serialport';
import { createMessageDecoder } from '../probe-protocol/message-decoder.ts';
import { defaultHeader, encodeMessage, type Message, MessageType } from '../probe-protocol/probe-protocol.ts';
import {
  createFrameListeners,
  type Frame,
  type FrameSource,
  metaFrequencyMhz,
  metaProbeModel,
  type ProbeIdentity,
} from './frame-source.ts';

export type SerialSourceOptions = {
  path: string;
  baudRate?: number;
  /** Reconnect backoff (capped full jitter), ms. */
  reconnectBaseMs?: number;
  reconnectCapMs?: number;
  log?: Logger;
  now?: () => number;
};

export type SerialFrameSource = FrameSource & {
  /** Send freeze/unfreeze/identify and wait for the probe's acknowledgement. */
  command(type: 'identify' | 'freeze' | 'unfreeze', timeoutMs?: number): Promise<void>;
};

/** Counts frames lost between two received ones; a lower seq means the probe restarted. */
function createSeqTracker() {
  let last: number | null = null;
  let dropped = 0;
  return {
    see(seq: number) {
      if (last !== null && seq > last + 1) dropped += seq - last - 1;
      last = seq;
    },
    reset: () => {
      last = null;
    },
    dropped: () => dropped,
  };
}

/**
 * Frames from a USB-serial probe speaking docs/probe-protocol.md. Survives garbage on the line (the
 * decoder resynchronises) and the device disappearing (USB re-enumeration): it reopens the path with
 * capped full-jitter backoff until `stop()`.
 */
export function createSerialSource(options: SerialSourceOptions): SerialFrameSource {
  const { path, baudRate = 115200, reconnectBaseMs = 200, reconnectCapMs = 5000 } = options;
  const log = options.log ?? silentLogger();
  const now = options.now ?? (() => performance.now());
  const listeners = createFrameListeners();
  const seqs = createSeqTracker();
  const pendingAcks = new Map<number, () => void>();
  let port: SerialPort | null = null;
  let identity: ProbeIdentity | null = null;
  let frames = 0;
  let connections = 0;
  let lastFrameAt: number | null = null;
  let lastError: string | null = null;
  let commandSeq = 0;
  const abort = new AbortController();
  let loop: Promise<void> | null = null;

  const onMessage = ({ header, payload }: Message) => {
    if (header.type === MessageType.frame) {
      seqs.see(header.seq);
      frames += 1;
      lastFrameAt = now();
      const frame: Frame = {
        seq: header.seq,
        receivedAt: lastFrameAt,
        width: header.width,
        height: header.height,
        gray: payload,
        frozen: (header.flags & 1) === 1,
        origin: 'serial',
        acquisition: {
          probeModel: header.probeModel || undefined,
          frequencyMhz: header.frequencyMhz || undefined,
          depthCm: header.depthCm || undefined,
          gainDb: header.gainDb,
        },
      };
      listeners.emit(frame);
    } else if (header.type === MessageType.identifyReply) {
      identity = parseIdentity(payload, log);
      pendingAcks.get(header.seq)?.();
    } else if (header.type === MessageType.ack) {
      pendingAcks.get(header.seq)?.();
    }
  };
  const decoder = createMessageDecoder(onMessage, { now });

  const openOnce = () =>
    new Promise<SerialPort>((resolve, reject) => {
      const p = new SerialPort({ path, baudRate, autoOpen: false });
      p.open((err) => (err ? reject(err) : resolve(p)));
    });

  // Resolves when the open port closes (device vanished, read error or stop()).
  const runConnection = (p: SerialPort) =>
    new Promise<void>((resolve) => {
      decoder.reset();
      seqs.reset();
      p.on('data', (chunk: Buffer) => decoder.push(chunk));
      p.on('error', (err) => {
        lastError = err.message;
      });
      p.once('close', () => resolve());
      sendCommand('identify', 2000).catch((err: Error) =>
        log.warn({ err: err.message }, 'probe identify failed'),
      );
    });

  const connectLoop = async () => {
    let attempt = 0;
    while (!abort.signal.aborted) {
      try {
        port = await openOnce();
        if (abort.signal.aborted) {
          // stop() ran while the open was in flight: close what it opened.
          const late = port;
          await new Promise<void>((resolve) => late.close(() => resolve()));
          break;
        }
        connections += 1;
        attempt = 0;
        lastError = null;
        log.info({ path }, 'probe connected');
        await runConnection(port);
        port = null;
        if (!abort.signal.aborted) log.warn({ path }, 'probe disconnected; reconnecting');
      } catch (err) {
        lastError = (err as Error).message;
        if (attempt === 0) log.warn({ path, err: lastError }, 'probe not available; retrying');
      }
      const delay = backoffDelay(attempt++, { baseMs: reconnectBaseMs, capMs: reconnectCapMs });
      await sleep(delay, abort.signal).catch(() => {});
    }
  };

  const sendCommand = (kind: 'identify' | 'freeze' | 'unfreeze', timeoutMs = 1000) =>
    new Promise<void>((resolve, reject) => {
      const p = port;
      if (!p?.isOpen) return reject(new Error(`probe at ${path} is not connected`));
      commandSeq = (commandSeq + 1) >>> 0;
      const seq = commandSeq;
      const timer = setTimeout(() => {
        pendingAcks.delete(seq);
        reject(new Error(`probe did not answer ${kind} within ${timeoutMs} ms`));
      }, timeoutMs);
      pendingAcks.set(seq, () => {
        clearTimeout(timer);
        pendingAcks.delete(seq);
        resolve();
      });
      p.write(encodeMessage(defaultHeader(MessageType[kind], seq)));
    });

  return {
    async start() {
      loop ??= connectLoop();
    },
    async stop() {
      abort.abort();
      const p = port;
      if (p?.isOpen) await new Promise<void>((resolve) => p.close(() => resolve()));
      await loop;
    },
    onFrame: listeners.add,
    identity: () => identity,
    command: sendCommand,
    status() {
      const d = decoder.stats();
      return {
        kind: 'serial',
        connected: port?.isOpen === true,
        frames,
        droppedFrames: seqs.dropped(),
        lastFrameAt,
        detail: {
          path,
          reconnects: Math.max(0, connections - 1),
          corruptMessages: d.corruptMessages,
          skippedBytes: d.skippedBytes,
          resyncs: d.resyncs,
          lastError,
        },
      };
    },
  };
}

function parseIdentity(payload: Buffer, log: Logger): ProbeIdentity | null {
  try {
    const data = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    const model = metaProbeModel(data.model);
    if (model === undefined)
      throw new Error(
        `model ${JSON.stringify(data.model)?.slice(0, 60)} is not 1-128 characters without NUL`,
      );
    if (data.frequency_mhz !== undefined && metaFrequencyMhz(data.frequency_mhz) === undefined)
      log.warn({ frequency_mhz: data.frequency_mhz }, 'ignoring an identify frequency meta.json cannot hold');
    return {
      model,
      frequencyMhz: metaFrequencyMhz(data.frequency_mhz),
      serial: typeof data.serial === 'string' ? data.serial : undefined,
      firmware: typeof data.firmware === 'string' ? data.firmware : undefined,
    };
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'unreadable identify reply');
    return null;
  }
}
