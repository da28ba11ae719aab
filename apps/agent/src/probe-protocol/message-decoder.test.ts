import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMessageDecoder } from './message-decoder.ts';
import { defaultHeader, encodeMessage, type Message, MessageType, PixelFormat } from './probe-protocol.ts';

const frame = (seq: number, width = 160, height = 120) =>
  encodeMessage(
    { ...defaultHeader(MessageType.frame, seq), width, height, pixelFormat: PixelFormat.gray8 },
    Buffer.alloc(width * height, seq),
  );

test('a message cut off by a silence is dropped: the next message after it is read at once', () => {
  // A probe that stalls mid-frame (firmware restart behind a USB-serial bridge that stays plugged in)
  // left the half frame waiting for the rest of its 19 268 bytes: the next small message (the ack of
  // a freeze) was held until that many more bytes came, so the command timed out.
  let t = 0;
  const got: Message[] = [];
  const decoder = createMessageDecoder((m) => got.push(m), { now: () => t, staleAfterMs: 1000 });
  const half = frame(7);
  decoder.push(half.subarray(0, half.length >> 1));
  t += 1500;
  decoder.push(encodeMessage(defaultHeader(MessageType.ack, 42)));
  assert.deepEqual(
    got.map((m) => [m.header.type, m.header.seq]),
    [[MessageType.ack, 42]],
  );
  assert.equal(decoder.stats().corruptMessages, 1, 'the cut-off frame counts as corrupt');
  assert.equal(decoder.stats().skippedBytes, half.length >> 1);
});

test('a message that keeps coming, however slowly between chunks under the limit, is whole', () => {
  let t = 0;
  const got: Message[] = [];
  const decoder = createMessageDecoder((m) => got.push(m), { now: () => t, staleAfterMs: 1000 });
  const bytes = frame(3);
  for (let at = 0; at < bytes.length; at += 1000) {
    decoder.push(bytes.subarray(at, at + 1000));
    t += 900; // 20 chunks, 17 s in all: a slow link, never a second of silence
  }
  assert.deepEqual(
    got.map((m) => m.header.seq),
    [3],
  );
  assert.equal(decoder.stats().corruptMessages, 0);
});
