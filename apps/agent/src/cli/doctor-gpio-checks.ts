import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentConfig } from '../config/agent-config.ts';
import { GpioUnavailableError, resolveGpioLine } from '../trigger/gpio-lines.ts';
import type { LineState } from '../trigger/line-outage.ts';
import { type Check, writable } from './doctor-checks.ts';
import { fetchRunningStatus, type RunningStatus } from './running-status.ts';

type LineKind = 'button' | 'led' | 'buzzer';
type Wanted = { what: LineKind; bcm: number };

/** The GPIO lines the config uses: the capture button (gpio trigger), the LED, the buzzer. */
function wantedLines(config: AgentConfig): Wanted[] {
  return [
    ...(config.trigger.kind === 'gpio' ? [{ what: 'button' as const, bcm: config.trigger.bcm }] : []),
    ...(config.led ? [{ what: 'led' as const, bcm: config.led.bcm }] : []),
    ...(config.buzzer ? [{ what: 'buzzer' as const, bcm: config.buzzer.bcm }] : []),
  ];
}

type AgentLines = Record<LineKind, LineState | null>;

/**
 * The lines as the running agent sees them (`GET /status`: `capture_button`, `status_signals`), or
 * why it could not say: no agent answers, or it answered something else (starting: HTTP 503).
 */
function agentLines(answer: RunningStatus): { lines: AgentLines } | { why: string } {
  if (!answer.answered) return { why: answer.why };
  const status = answer.json as {
    capture_button?: LineState | null;
    status_signals?: { led: LineState | null; buzzer: LineState | null } | null;
  } | null;
  if (answer.httpStatus !== 200 || !status || !('capture_button' in status))
    return { why: `the running agent's status is not available (HTTP ${answer.httpStatus})` };
  return {
    lines: {
      button: status.capture_button ?? null,
      led: status.status_signals?.led ?? null,
      buzzer: status.status_signals?.buzzer ?? null,
    },
  };
}

/** When the agent's error names no fix (a write that failed: EIO, ENOSPC, the line taken), what to do. */
const GENERIC_FIX: Record<LineKind, string> = {
  button:
    'free the line (another program holds it?) and check the wiring; the agent retries by itself, no restart needed (`journalctl -u cti-agent`)',
  led: 'check the wiring and the HAT, and whether another program took the line; the agent re-opens it by itself, no restart needed (`journalctl -u cti-agent`)',
  buzzer:
    'check the wiring and the HAT, and whether another program took the line; the agent re-opens it by itself, no restart needed (`journalctl -u cti-agent`)',
};

/** A line as the running agent reports it: OK while up, else FAIL since when and why, with the fix its error names. */
function fromAgent({ what, bcm }: Wanted, state: LineState): Check {
  const name = `gpio ${what}`;
  if (state.up) {
    const use =
      what === 'button' ? 'open in the running agent: presses capture' : 'driven by the running agent';
    return { name, ok: true, detail: `BCM ${bcm} ${use}` };
  }
  const [reason, fix] = (state.error ?? 'no reason given').split(/\s*Fix: /);
  const next = state.next_attempt_in_s === null ? '' : `, next in ${state.next_attempt_in_s} s`;
  return {
    name,
    ok: false,
    detail:
      `down since ${state.down_since} — ${reason} (the running agent's view: ` +
      `${state.failed_attempts} failed attempt${state.failed_attempts === 1 ? '' : 's'}${next})`,
    fix: fix ?? GENERIC_FIX[what],
  };
}

/**
 * The GPIO lines (capture button, LED, buzzer). While the agent runs it holds them, so they are reported
 * as it sees them — up, or down since when, why and the fix (`status`: `capture_button`,
 * `status_signals`) — rather than checked again here; with no agent running doctor checks each line
 * itself (resolved on the header controller, export writable). Each check says which it did.
 */
export async function checkGpioLines(
  config: AgentConfig,
  running: RunningStatus | Promise<RunningStatus> = fetchRunningStatus(config),
): Promise<Check[]> {
  const wanted = wantedLines(config);
  if (wanted.length === 0)
    return [{ name: 'gpio', ok: true, detail: 'no GPIO configured (trigger kind none)' }];
  const agent = agentLines(await running);
  return wanted.map((line) => {
    if ('lines' in agent) {
      const state = agent.lines[line.what];
      if (state) return fromAgent(line, state);
      const own = checkLine(config, line);
      return {
        ...own,
        warn: true,
        detail: `${own.detail}; checked by doctor: the running agent does not use this line`,
        fix: `${own.fix ? `${own.fix}; then ` : ''}restart the agent for the config to take effect: sudo systemctl restart cti-agent`,
      };
    }
    const own = checkLine(config, line);
    return { ...own, detail: `${own.detail}; checked by doctor itself: ${agent.why}` };
  });
}

/** One line checked from here: resolved on the header controller, its export writable (or already exported). */
function checkLine(config: AgentConfig, { what, bcm }: Wanted): Check {
  const name = `gpio ${what}`;
  try {
    const { line, chip } = resolveGpioLine(bcm, {
      sysfsRoot: config.sysfsRoot,
      chipLabel: config.gpioChipLabel ?? undefined,
    });
    const exportFile = join(config.sysfsRoot, 'class/gpio/export');
    if (!writable(exportFile) && !existsSync(join(config.sysfsRoot, `class/gpio/gpio${line}`))) {
      return {
        name,
        ok: false,
        detail: `cannot write ${exportFile}`,
        fix: 'add the service user to the gpio group: sudo usermod -aG gpio cti',
      };
    }
    return { name, ok: true, detail: `BCM ${bcm} = sysfs line ${line} on ${chip.label} (base ${chip.base})` };
  } catch (err) {
    const fallback = what === 'button' && isNoSysfs(err) ? gpiomonVersion() : null;
    if (fallback) return { name, ok: true, detail: `no sysfs GPIO: the button uses ${fallback}` };
    return { name, ok: false, detail: (err as Error).message };
  }
}

const isNoSysfs = (err: unknown) => err instanceof GpioUnavailableError && err.code === 'no_sysfs_gpio';

/** libgpiod's gpiomon version line when it is installed (the button's fallback), else null. */
function gpiomonVersion(): string | null {
  try {
    return execFileSync('gpiomon', ['--version'], { encoding: 'utf8', timeout: 5000 }).split('\n')[0]!.trim();
  } catch {
    return null;
  }
}
