import type { GrayImage } from '@cti/imaging';
import type { Logger } from '@cti/runtime';

/** @cti/models' view verdict: is the frame a usable transverse ribeye view? */
export type ViewOutput = {
  ribeyeView: number;
  accepted: boolean;
  threshold: number;
  /** Machine-readable codes, `not_a_ribeye_view` first on a rejection. */
  reasons: string[];
  model: string;
};

export type HintOutput = {
  ribeyeBbox: [number, number, number, number];
  score: number;
  /** 'name@version'. */
  model: string;
  /** The view verdict; null/absent when no view card is installed with the hint model. */
  view?: ViewOutput | null;
  ms: number;
};

/** The on-device ribeye hint, injected; absent → meta.json has no inference_summary. */
export type Hint = {
  run(gray: GrayImage): Promise<HintOutput>;
  /** sha256 of the model file, for meta.json's inference_summary.model.sha256. */
  sha256?: string;
  /** 'name@version' of the loaded model (the heartbeat reports it). */
  model?: string;
  close?(): Promise<void>;
};

/**
 * Load the hint model from @cti/models when that package provides it and its model file is present.
 * Any failure leaves the agent running without a hint (logged once), because a capture without a
 * hint is still a complete capture.
 */
export async function loadHint({
  log,
  modelPath,
}: {
  log: Logger;
  modelPath?: string | null;
}): Promise<Hint | null> {
  try {
    const models = (await import('@cti/models')) as Record<string, unknown>;
    const load = models.loadHintModel as
      | ((opts: { modelPath?: string; cardPath?: string }) => Promise<Hint & { sha256: string }>)
      | undefined;
    if (typeof load !== 'function') throw new Error('@cti/models has no loadHintModel');
    const model = await load(modelPath ? { cardPath: modelPath } : {});
    const view = (model as { viewCard?: { name: string; version: string } | null }).viewCard;
    log.info(
      { model: (model as { model?: string }).model, view: view ? `${view.name}@${view.version}` : null },
      view
        ? 'hint model loaded with its view verdict'
        : 'hint model loaded without a view card: no view gate',
    );
    return model;
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'hint model unavailable; captures carry no inference_summary');
    return null;
  }
}
