import { type HintLoadOptions, type HintModel, type HintResult, loadHintModel } from '../hint-model.ts';
import type { ImageInput } from '../image-input.ts';
import { ModelCardError } from '../model-card.ts';
import type { ViewCard } from './view-card.ts';
import type { ViewVerdict } from './view-verdict.ts';

export type ViewModel = {
  card: ViewCard;
  /** 'ribeye-view@version'. */
  model: string;
  /** The hint model the verdict reads (its box comes for free with every verdict). */
  hint: HintModel;
  run(image: ImageInput): Promise<ViewVerdict & { hint: HintResult; ms: number }>;
  close(): Promise<void>;
};

/**
 * The view verdict on its own (grading): loads the hint model and its view card, and refuses to load
 * without the card (ModelCardError) rather than answer without a verdict.
 *
 * @example
 * const view = await loadViewModel();
 * const v = await view.run('scan.png'); // { ribeyeView: 0.97, accepted: true, threshold: 0.5, reasons: [], … }
 * if (!v.accepted) grade = { grade: 'R', reasons: v.reasons };
 */
export async function loadViewModel(opts: HintLoadOptions = {}): Promise<ViewModel> {
  const hint = await loadHintModel({ ...opts, requireView: true });
  const card = hint.viewCard;
  if (!card) {
    await hint.close();
    throw new ModelCardError('loadViewModel needs a view card (viewCardPath must not be null)');
  }
  return {
    card,
    model: `${card.name}@${card.version}`,
    hint,
    async run(image) {
      const h = await hint.run(image);
      return { ...h.view!, hint: h, ms: h.ms };
    },
    close: () => hint.close(),
  };
}
