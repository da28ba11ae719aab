import type { Notifier } from './systemd-notifier.ts';

/** A retried GPIO line named in the status line (the capture button, the LED, the buzzer). */
export type WatchedLine = {
  /** As the line reads it: 'capture button', 'LED', 'buzzer'. */
  name: string;
  state(): { up: boolean };
  /** Runs `listener` when the line goes down or comes back; returns the unsubscribe. */
  onStateChange(listener: () => void): () => void;
};

/**
 * `capturing from serial`, and the lines that are down: `capturing from serial (LED down: retrying)`,
 * `… (capture button, LED and buzzer down: retrying)`.
 */
export function statusText(source: string, down: string[]): string {
  if (down.length === 0) return `capturing from ${source}`;
  const names = down.length === 1 ? down[0] : `${down.slice(0, -1).join(', ')} and ${down.at(-1)}`;
  return `capturing from ${source} (${names} down: retrying)`;
}

/**
 * systemd's status line (`systemctl status cti-agent`: `Status: "…"`). `ready()` sends READY=1 with
 * it; from then on it is sent again (`STATUS=`) whenever one of `lines` goes down or comes back — only
 * when the text changes, and one systemd-notify at a time: changes that come while one is sent are
 * folded into the next message, which says the state of that moment (a line flapping cannot queue up
 * messages, and they cannot arrive out of order). A failed send goes to `onError`; the next change
 * tries again. `stop()` sends nothing more (the agent stopping: STOPPING=1 is the last word).
 *
 * @example const line = createStatusLine({ notifier, source: 'serial', lines: [{ name: 'LED', ...led }] });
 * await line.ready(); // READY=1, STATUS=capturing from serial (LED down: retrying)
 */
export function createStatusLine({
  notifier,
  source,
  lines,
  onError,
}: {
  notifier: Notifier;
  source: string;
  lines: WatchedLine[];
  onError?: (err: unknown) => void;
}) {
  let readyWanted = false;
  let readySent = false;
  let sent: string | null = null;
  let busy = false;
  let stopped = false;
  const text = () =>
    statusText(
      source,
      lines.filter((l) => !l.state().up).map((l) => l.name),
    );

  const pump = async (): Promise<void> => {
    if (busy) return; // the loop in flight sends this change when its message is out
    busy = true;
    try {
      for (let next = text(); !stopped && (!readySent || next !== sent); next = text()) {
        sent = next;
        const assignments = readySent ? [`STATUS=${next}`] : ['READY=1', `STATUS=${next}`];
        readySent = true;
        await notifier.send(...assignments).catch((err: unknown) => onError?.(err));
      }
    } finally {
      busy = false;
    }
  };

  const unsubscribe = lines.map((line) =>
    line.onStateChange(() => {
      if (readyWanted) void pump();
    }),
  );

  return {
    /** READY=1 with the status line of now; resolves once systemd-notify has sent it. */
    ready(): Promise<void> {
      readyWanted = true;
      return pump();
    },
    /** The text last sent (null before `ready`). */
    current: () => sent,
    stop(): void {
      stopped = true;
      for (const off of unsubscribe) off();
    },
  };
}
