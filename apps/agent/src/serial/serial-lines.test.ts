import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SerialPort } from 'serialport';
import { createPtyPair } from '../test-support/pty-pair.ts';
import { createSerialLines } from './serial-lines.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cti-lines-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** `promise`, or an error naming `what` after `ms` (a hang fails the test instead of the run). */
const within = <T>(promise: Promise<T>, ms: number, what: string) => {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
};

test('stop() while the port is still opening returns and leaves the port closed', {
  timeout: 60_000,
}, async () => {
  // The open finished after stop(): the loop then waited for a 'close' nobody would cause, so stop()
  // never returned (a GPS or ear-tag reader hung the agent's shutdown) and the port stayed open.
  const pty = await createPtyPair(dir, 'stop-opening');
  try {
    for (let i = 0; i < 5; i++) {
      const lines = createSerialLines({ path: pty.hostPath, baudRate: 9600, what: 'GPS', onLine: () => {} });
      await lines.start();
      await within(lines.stop(), 10_000, `stop() ${i + 1}`);
      assert.equal(lines.connected(), false);
      // Nothing holds the port: serialport's exclusive lock would refuse this open otherwise.
      const again = new SerialPort({ path: pty.hostPath, baudRate: 9600, autoOpen: false });
      await new Promise<void>((resolve, reject) => again.open((e) => (e ? reject(e) : resolve())));
      await new Promise<void>((resolve) => again.close(() => resolve()));
    }
  } finally {
    await pty.close();
  }
});
