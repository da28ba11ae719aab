import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createLogger } from '@cti/runtime';
import { waitFor } from '@cti/testkit';
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

test('a reader whose device goes says why in its disconnect line, and reconnects when it is back', {
  timeout: 60_000,
}, async () => {
  // The port's errors were swallowed (`on('error', () => {})`) and the close's reason dropped: the
  // journal said "GPS disconnected" and never why.
  const pty = await createPtyPair(dir, 'why');
  const lines: string[] = [];
  const log = createLogger({
    name: 'test',
    level: 'debug',
    destination: { write: (l: string) => void lines.push(l) },
  });
  const reader = createSerialLines({
    path: pty.hostPath,
    baudRate: 9600,
    what: 'GPS',
    onLine: () => {},
    log,
  });
  try {
    await reader.start();
    await waitFor(() => reader.connected(), { what: 'connected' });
    await pty.unplug();
    await waitFor(() => lines.some((l) => l.includes('GPS disconnected')), { what: 'disconnect logged' });
    const line = JSON.parse(lines.find((l) => l.includes('GPS disconnected'))!) as { err?: string };
    assert.ok(line.err, `the disconnect line names its cause: ${JSON.stringify(line)}`);
    await pty.plug();
    await waitFor(() => reader.connected(), { what: 'reconnected', timeoutMs: 30_000 });
  } finally {
    await reader.stop();
    await pty.close();
  }
});
