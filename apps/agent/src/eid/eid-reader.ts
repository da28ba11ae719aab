import { parseEidLine } from '@cti/contracts';
import { type Logger, silentLogger } from '@cti/runtime';
import { createSerialLines } from '../serial/serial-lines.ts';
import { createEarTagHolder, type EarTag, type ReadOutcome } from './ear-tag-holder.ts';

export type EarTagReaderOptions = {
  path: string;
  baudRate: number;
  pattern: RegExp;
  windowMs: number;
  /** Called for every tag read (the agent acknowledges new ones on the LED/buzzer). */
  onRead?: (eid: string, outcome: ReadOutcome) => void;
  log?: Logger;
  now?: () => number;
  wallClock?: () => Date;
};

/**
 * An electronic ear-tag reader (FDX-B/HDX stick or panel reader) on a serial line — USB-serial,
 * /dev/cti-eid from the udev rule, or a Bluetooth SPP /dev/rfcomm0: each line it sends is searched
 * for a tag with `pattern`; lines without one (garbage, status lines, partial reads) are counted and
 * ignored. The last tag waits in the holder for the next capture.
 */
export function createEarTagReader({
  path,
  baudRate,
  pattern,
  windowMs,
  onRead = () => {},
  log = silentLogger(),
  now,
  wallClock,
}: EarTagReaderOptions) {
  const holder = createEarTagHolder({ windowMs, now, wallClock, log });
  let ignoredLines = 0;
  const lines = createSerialLines({
    path,
    baudRate,
    what: 'ear-tag reader',
    log,
    onLine: (line) => {
      const eid = parseEidLine(line, pattern);
      if (eid === null) {
        ignoredLines += 1;
        log.debug({ line: line.slice(0, 80) }, 'ear-tag reader line without a tag ignored');
        return;
      }
      onRead(eid, holder.offer(eid));
    },
  });
  return {
    start: lines.start,
    stop: lines.stop,
    forPress: (pressAt: number) => holder.forPress(pressAt),
    consume: (tag: EarTag) => holder.consume(tag),
    connected: lines.connected,
    status: () => ({ path, connected: lines.connected(), ignored_lines: ignoredLines, ...holder.status() }),
  };
}

export type EarTagReader = ReturnType<typeof createEarTagReader>;
