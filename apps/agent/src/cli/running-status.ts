import type { AgentConfig } from '../config/agent-config.ts';
import { callService, ServiceNotAnsweringError, ServiceUnavailableError } from './local-client.ts';

/**
 * The running agent's `GET /status` as doctor's checks read it: its answer, or why there is none (no
 * agent running, or one that did not answer within 3 s). Doctor asks once and hands the same answer to
 * every check that reports what the service sees (probe, GPIO lines, heartbeat), so a hung agent costs
 * one timeout, not one per check.
 */
export type RunningStatus =
  | { answered: true; httpStatus: number; json: unknown }
  | { answered: false; running: boolean; why: string };

export async function fetchRunningStatus(config: AgentConfig): Promise<RunningStatus> {
  try {
    const { status, json } = await callService(config, 'GET', '/status', { timeoutMs: 3000 });
    return { answered: true, httpStatus: status, json };
  } catch (err) {
    if (err instanceof ServiceNotAnsweringError)
      return { answered: false, running: true, why: 'the running agent did not answer within 3 s (hung?)' };
    if (err instanceof ServiceUnavailableError)
      return { answered: false, running: false, why: 'no agent is running' };
    return { answered: false, running: true, why: `the agent did not answer (${(err as Error).message})` };
  }
}

/** The status body when the agent answered 200 with one, else null. */
export function runningStatusBody(running: RunningStatus): Record<string, unknown> | null {
  return running.answered &&
    running.httpStatus === 200 &&
    running.json !== null &&
    typeof running.json === 'object'
    ? (running.json as Record<string, unknown>)
    : null;
}
