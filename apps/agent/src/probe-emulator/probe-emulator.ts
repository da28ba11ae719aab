import { SerialPort } from 'serialport';
import { createSyntheticFrames } from '../frames/synthetic-frames.ts';
import { createMessageDecoder } from '../probe-protocol/message-decoder.ts';
import {
  defaultHeader,
  encodeMessage,
  FLAG_FROZEN,
  type Message,
  MessageType,
  PixelFormat,
} from '../probe-protocol/probe-protocol.ts';

export type ProbeEmulatorOptions = {
  /** The device end of a PTY pair (socat), or any serial path. */
  path: string;
  width?: number;
  height?: number;
  fps?: number;
  seed?: number;
  model?: string;
  serial?: string;
  frequencyMhz?: number;
  depthCm?: number;
  gainDb?: number;
  /** Pixels for frame n; defaults to the synthetic B-mode generator. */
  framePixels?: (n: number) => Uint8Array;
  /**
   * Start streaming only after the host's first identify (default true). Bytes written into a PTY
   * before the host end is open can wedge socat's relay; a real probe front-end also waits for the
   * host to enumerate it.
   */
  waitForHost?: boolean;
};

export type ProbeEmulator = {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Write raw bytes onto the line (tests inject garbage with this). */
  inject(bytes: Uint8Array): Promise<void>;
  /** Send exactly one frame now (tests drive the stream frame by frame with fps 0). */
  sendFrame(): Promise<number>;
  /** Send only the first `fraction` of the next frame's bytes (a frame cut short on the wire). */
  sendTruncatedFrame(fraction?: number): Promise<number>;
  stats(): { sent: number; skipped: number; frozen: boolean; nextSeq: number };
};

/**
 * A probe front-end that speaks docs/probe-protocol.md on a serial path: streams frames at `fps`,
 * answers identify with a JSON identity and acknowledges freeze/unfreeze. When the line is backed up
 * it skips frames (like a real probe with a full USB buffer) but still advances seq, so the reader's
 * dropped-frame count sees the gap.
 */
export function createProbeEmulator(options: ProbeEmulatorOptions): ProbeEmulator {
  const { path, width = 512, height = 384, fps = 10, seed = 1, waitForHost = true } = options;
  const {
    model = 'EMU-Convex-3.5',
    serial = 'EMU-0001',
    frequencyMhz = 3.5,
    depthCm = 18,
    gainDb = 42,
  } = options;
  const pixels = options.framePixels ?? createSyntheticFrames({ width, height, seed });
  const startedAt = process.hrtime.bigint();
  let port: SerialPort | null = null;
  let timer: NodeJS.Timeout | null = null;
  let seq = 0;
  let sent = 0;
  let skipped = 0;
  let frozen: Uint8Array | null = null;
  let draining = false;

  const write = (bytes: Uint8Array) =>
    new Promise<void>((resolve, reject) => {
      if (!port?.isOpen) return reject(new Error(`emulator port ${path} is not open`));
      draining = true;
      port.write(bytes);
      port.drain((err) => {
        draining = false;
        if (err) reject(err);
        else resolve();
      });
    });

  const frameBytes = (n: number) => {
    const data = frozen ?? pixels(n);
    const header = {
      ...defaultHeader(MessageType.frame, n),
      deviceTimeUs: (process.hrtime.bigint() - startedAt) / 1000n,
      width,
      height,
      pixelFormat: PixelFormat.gray8,
      flags: frozen ? FLAG_FROZEN : 0,
      gainDb,
      frequencyMhz,
      depthCm,
      probeModel: model,
    };
    return encodeMessage(header, data);
  };

  const sendFrame = async () => {
    const n = seq++;
    await write(frameBytes(n));
    sent += 1;
    return n;
  };

  const onCommand = ({ header }: Message) => {
    const reply = (type: number, payload?: Buffer) =>
      write(encodeMessage(defaultHeader(type, header.seq), payload)).catch(() => {});
    if (header.type === MessageType.identify) {
      startStreaming();
      const identity = { model, serial, firmware: 'emu-1.0.0', frequency_mhz: frequencyMhz, width, height };
      void reply(MessageType.identifyReply, Buffer.from(JSON.stringify(identity)));
    } else if (header.type === MessageType.freeze) {
      frozen = pixels(seq);
      void reply(MessageType.ack);
    } else if (header.type === MessageType.unfreeze) {
      frozen = null;
      void reply(MessageType.ack);
    }
  };
  const decoder = createMessageDecoder(onCommand);

  function startStreaming() {
    if (timer || fps <= 0) return;
    timer = setInterval(() => {
      if (draining) {
        seq += 1;
        skipped += 1;
        return;
      }
      sendFrame().catch(() => {});
    }, 1000 / fps);
  }

  return {
    async start() {
      port = await new Promise<SerialPort>((resolve, reject) => {
        const p = new SerialPort({ path, baudRate: 115200, autoOpen: false });
        p.open((err) => (err ? reject(err) : resolve(p)));
      });
      port.on('data', (chunk: Buffer) => decoder.push(chunk));
      port.on('error', () => {});
      if (!waitForHost) startStreaming();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      const p = port;
      port = null;
      if (p?.isOpen) await new Promise<void>((resolve) => p.close(() => resolve()));
    },
    inject: write,
    sendFrame,
    async sendTruncatedFrame(fraction = 0.5) {
      const n = seq++;
      const bytes = frameBytes(n);
      await write(bytes.subarray(0, Math.floor(bytes.length * fraction)));
      return n;
    },
    stats: () => ({ sent, skipped, frozen: frozen !== null, nextSeq: seq }),
  };
}
