import type { Logger } from '@cti/runtime';
import type { AgentConfig } from '../config/agent-config.ts';
import { createFolderSource } from './folder-source.ts';
import type { FrameSource } from './frame-source.ts';
import { createPhantomLoop } from './phantom-loop.ts';
import { createSerialSource } from './serial-source.ts';
import { createSimulatedSource } from './simulated-source.ts';

/** The frame source the config asks for. */
export function createFrameSource(config: AgentConfig, log: Logger): FrameSource {
  const s = config.source;
  if (s.kind === 'serial')
    return createSerialSource({ path: s.path, baudRate: s.baudRate, reconnectCapMs: s.reconnectCapMs, log });
  if (s.kind === 'folder') return createFolderSource({ dir: s.dir, stableMs: s.stableMs, log });
  const phantom =
    s.pattern === 'phantom' ? createPhantomLoop({ width: s.width, height: s.height, fps: s.fps }) : null;
  phantom?.ready.then(() => {
    const err = phantom.error();
    if (err) log.warn({ err: err.message }, 'phantom clip failed; simulated probe keeps synthetic frames');
    else log.info('simulated probe: phantom clip ready');
  });
  return createSimulatedSource({
    fps: s.fps,
    width: s.width,
    height: s.height,
    framePixels: phantom?.pixels,
  });
}
