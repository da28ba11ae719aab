import { crc32 } from 'node:zlib';

// Wire format of the CTI probe link, documented in docs/probe-protocol.md. Every message, in both
// directions, is: 64-byte header (magic, version, type, seq, lengths, acquisition fields, header CRC),
// payload, then a CRC32 over header + payload. The header CRC lets a reader reject a corrupt length
// before waiting for megabytes that will never come; the trailer CRC catches damaged pixels.

/** Sync marker: ASCII "CTIP". */
export const MAGIC = Buffer.from([0x43, 0x54, 0x49, 0x50]);
export const PROTOCOL_VERSION = 1;
export const HEADER_BYTES = 64;
export const TRAILER_BYTES = 4;
/** Larger payloads are treated as corruption (a 4096×4096 8-bit frame is 16 MiB). */
export const MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;
export const MODEL_FIELD_BYTES = 16;

export const MessageType = {
  frame: 0x01,
  identifyReply: 0x02,
  ack: 0x03,
  identify: 0x81,
  freeze: 0x82,
  unfreeze: 0x83,
} as const;
export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

export const PixelFormat = { gray8: 1 } as const;
export const FLAG_FROZEN = 0x01;

export type MessageHeader = {
  version: number;
  type: number;
  seq: number;
  payloadLength: number;
  /** Device clock in microseconds since the probe booted (monotonic on the device). */
  deviceTimeUs: bigint;
  width: number;
  height: number;
  pixelFormat: number;
  flags: number;
  gainDb: number;
  frequencyMhz: number;
  depthCm: number;
  probeModel: string;
};

export type Message = { header: MessageHeader; payload: Buffer };

const known = new Set<number>(Object.values(MessageType));

export function defaultHeader(type: number, seq: number): MessageHeader {
  return {
    version: PROTOCOL_VERSION,
    type,
    seq,
    payloadLength: 0,
    deviceTimeUs: 0n,
    width: 0,
    height: 0,
    pixelFormat: 0,
    flags: 0,
    gainDb: 0,
    frequencyMhz: 0,
    depthCm: 0,
    probeModel: '',
  };
}

/** Serialise one message: header (with its CRC), payload, trailer CRC over both. */
export function encodeMessage(header: MessageHeader, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const out = Buffer.alloc(HEADER_BYTES + payload.length + TRAILER_BYTES);
  MAGIC.copy(out, 0);
  out.writeUInt8(header.version, 4);
  out.writeUInt8(header.type, 5);
  out.writeUInt16LE(HEADER_BYTES, 6);
  out.writeUInt32LE(header.seq >>> 0, 8);
  out.writeUInt32LE(payload.length, 12);
  out.writeBigUInt64LE(header.deviceTimeUs, 16);
  out.writeUInt16LE(header.width, 24);
  out.writeUInt16LE(header.height, 26);
  out.writeUInt8(header.pixelFormat, 28);
  out.writeUInt8(header.flags, 29);
  out.writeInt16LE(Math.round(header.gainDb * 10), 30);
  out.writeUInt32LE(Math.round(header.frequencyMhz * 1000), 32);
  out.writeUInt16LE(Math.round(header.depthCm * 10), 36);
  out.write(header.probeModel.slice(0, MODEL_FIELD_BYTES), 40, MODEL_FIELD_BYTES, 'ascii');
  out.writeUInt32LE(crc32(out.subarray(0, 60)), 60);
  out.set(payload, HEADER_BYTES);
  const end = HEADER_BYTES + payload.length;
  out.writeUInt32LE(crc32(out.subarray(0, end)), end);
  return out;
}

export type HeaderCheck = { ok: true; header: MessageHeader } | { ok: false; reason: string };

/** Parse and check a 64-byte header that starts with MAGIC. */
export function decodeHeader(bytes: Buffer): HeaderCheck {
  if (bytes.readUInt32LE(60) !== crc32(bytes.subarray(0, 60))) return { ok: false, reason: 'header crc' };
  const header: MessageHeader = {
    version: bytes.readUInt8(4),
    type: bytes.readUInt8(5),
    seq: bytes.readUInt32LE(8),
    payloadLength: bytes.readUInt32LE(12),
    deviceTimeUs: bytes.readBigUInt64LE(16),
    width: bytes.readUInt16LE(24),
    height: bytes.readUInt16LE(26),
    pixelFormat: bytes.readUInt8(28),
    flags: bytes.readUInt8(29),
    gainDb: bytes.readInt16LE(30) / 10,
    frequencyMhz: bytes.readUInt32LE(32) / 1000,
    depthCm: bytes.readUInt16LE(36) / 10,
    // A C string: up to the first NUL (bytes after it are padding, or garbage the server would refuse).
    probeModel: bytes.toString('ascii', 40, 40 + MODEL_FIELD_BYTES).split('\0')[0] ?? '',
  };
  if (header.version !== PROTOCOL_VERSION) return { ok: false, reason: `version ${header.version}` };
  if (bytes.readUInt16LE(6) !== HEADER_BYTES) return { ok: false, reason: 'header length' };
  if (!known.has(header.type)) return { ok: false, reason: `type 0x${header.type.toString(16)}` };
  if (header.payloadLength > MAX_PAYLOAD_BYTES) return { ok: false, reason: 'payload too large' };
  if (header.type === MessageType.frame) {
    if (header.pixelFormat !== PixelFormat.gray8) return { ok: false, reason: 'pixel format' };
    // A frame of no pixels (0×0, or 0 by anything: payload 0 matches) is no image: every consumer
    // (quality scoring in setImmediate, the encoder) threw on it, the first one uncaught.
    if (header.width === 0 || header.height === 0) return { ok: false, reason: 'frame size' };
    if (header.payloadLength !== header.width * header.height) return { ok: false, reason: 'frame size' };
  }
  return { ok: true, header };
}
