import type { Logger } from '@cti/runtime';
import type { AgentConfig } from '../config/agent-config.ts';
import type { FramePool } from './frame-pool.ts';
import type { FrameSource } from './frame-source.ts';

/**
 * The frame source the config asks for. Each kind is imported only when chosen: the service should
 * not pay (in RSS on a Pi) for chokidar, the serial stack or the phantom generator it does not use.
 */
export async function createFrameSource(
  config: AgentConfig,
  log: Logger,
  { pool }: { pool?: FramePool } = {},
): Promise<FrameSource> {
  const s = config.source;
  if (s.kind === 'serial') {
    const { createSerialSource } = await import('./serial-source.ts');
    return createSerialSource({ path: s.path, baudRate: s.baudRate, reconnectCapMs: s.reconnectCapMs, log });
  }
  if (s.kind === 'folder') {
    const { createFolderSource } = await import('./folder-source.ts');
    return createFolderSource({ dir: s.dir, stableMs: s.stableMs, log });
  }
  const { createSimulatedSource } = await import('./simulated-source.ts');
  const phantom =
    s.pattern === 'phantom'
      ? (await import('./phantom-loop.ts')).createPhantomLoop({
          width: s.width,
          height: s.height,
          fps: s.fps,
        })
      : null;
  phantom?.ready.then(() => {
    const err = phantom.error();
    if (err) log.warn({ err: err.message }, 'phantom clip failed; simulated probe keeps synthetic frames');
    else log.info('simulated probe: phantom clip ready');
  });
  const source = createSimulatedSource({
    fps: s.fps,
    width: s.width,
    height: s.height,
    framePixels: phantom?.pixels,
    ...(phantom && { acquisition: () => phantom.geometry() ?? {} }),
    pool,
  });
  return {
    ...source,
    async stop() {
      await source.stop();
      phantom?.close();
    },
  };
}
