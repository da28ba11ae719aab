export { type ReferenceScan, readReferenceScans } from './evaluation/real-scan-eval.ts';
export { realScanVariants, type Variant } from './evaluation/real-scan-variants.ts';
export { type FatSpan, measureFatAlongSpan } from './grading/fat-span.ts';
export {
  computeGradingFeatures,
  type FatPositionFeature,
  type GradingFeatureInput,
  type GradingFeatures,
  type PixelAspectSource,
  type PixelSpacingSource,
} from './grading/grading-features.ts';
export { type OverlayInput, renderGradingOverlay } from './grading/grading-overlay.ts';
export { assessRibeyeCutOff, type CutSide, type RibeyeCutOff } from './grading/ribeye-cut-off.ts';
export {
  type Bbox,
  cropBoxToImage,
  type HintLoadOptions,
  type HintModel,
  type HintResult,
  loadHintModel,
} from './hint-model.ts';
export { type ImageInput, ImageInputError, toGrayImage } from './image-input.ts';
export type { LoadModelOptions } from './load-model.ts';
export { encodeMaskPng, writeMaskPng, writeOverlayPng } from './mask-images.ts';
export { fillHoles, largestComponent, type Mask, maskBbox } from './mask-ops.ts';
export {
  DEFAULT_MODELS_DIR,
  loadVerifiedModel,
  type ModelCard,
  ModelCardError,
  ModelIntegrityError,
  readModelCard,
  sha256Hex,
} from './model-card.ts';
export { type CropBox, findScanArea, PREPROCESSING_ID, preprocess } from './preprocess.ts';
export {
  loadSegmentationModel,
  type SegmentationModel,
  type SegmentationResult,
  type SegmentOptions,
} from './segmentation-model.ts';
export {
  GLCM_LEVELS,
  type GlcmTexture,
  glcmContrast,
  glcmTexture,
  meanIntensity,
} from './texture-features.ts';
export { type ReasonRule, VIEW_REASONS, type ViewCard, type ViewReason } from './view/view-card.ts';
export { loadViewModel, type ViewModel } from './view/view-model.ts';
export type { ViewVerdict } from './view/view-verdict.ts';
