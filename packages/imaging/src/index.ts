export { decodeBmp, decodeBmpRaster, encodeBmp8, isBmp } from './bmp-decode.ts';
export { declaredImageSize, MAX_IMAGE_PIXELS } from './declared-image-size.ts';
export { type DecodeDicomOptions, type DicomImage, decodeDicom } from './dicom/decode-dicom.ts';
export type { DicomCalibration } from './dicom/dicom-calibration.ts';
export { SUPPORTED_TRANSFER_SYNTAXES } from './dicom/transfer-syntax.ts';
export { type ExportOptions, exportDataset, type Manifest } from './export/export-dataset.ts';
export type { ExportPlan } from './export/sample-plan.ts';
export { NEGATIVE_MIX } from './export/sample-plan.ts';
export type { ManifestEntry } from './export/write-sample.ts';
export {
  darkFraction,
  type FrameQuality,
  frameDifference,
  frameLevels,
  frameQuality,
  type QualityOptions,
} from './frame-quality.ts';
export type { GrayImage, RasterImage } from './gray-image.ts';
export { toGray } from './gray-image.ts';
export {
  type DecodeOptions,
  decodeGray,
  decodeRaster,
  encodeJpeg,
  encodePng,
  setImageCache,
} from './image-codec.ts';
export { ImageDecodeError, type ImageDecodeErrorCode } from './image-decode-error.ts';
export { type ImageSize, imageHeaderSize } from './image-header-size.ts';
export {
  type FatPosition,
  type FatThickness,
  type FatThicknessOptions,
  findSkinBand,
  type MedialSide,
  measureFatThickness,
  type SkinBand,
  skinBandEnd,
} from './measure/fat-thickness.ts';
export { lateralCoherence } from './measure/lateral-coherence.ts';
export {
  type BinaryMask,
  type ColumnSpans,
  columnSpans,
  convexHullArea,
  maskArea,
  maskSolidity,
  ribeyeDimensions,
} from './measure/mask-geometry.ts';
export { drawText, textWidth } from './phantom/bitmap-font.ts';
export {
  generatePhantom,
  maskBounds,
  type PhantomOptions,
  renderPhantom,
} from './phantom/generate-phantom.ts';
export {
  createPhantomStream,
  type PhantomFrame,
  type PhantomStream,
  type PhantomStreamOptions,
} from './phantom/phantom-stream.ts';
export type {
  Bbox,
  BoneArc,
  Furniture,
  LiftedProbe,
  Phantom,
  PhantomKind,
  PhantomLabels,
  PhantomParams,
  PhantomPreset,
  ProbeKind,
  ScreenLayout,
} from './phantom/phantom-types.ts';
export { PHANTOM_KINDS } from './phantom/phantom-types.ts';
export type { PhantomOverrides } from './phantom/sample-params.ts';
export { createRng, deriveSeed, type Rng } from './prng.ts';
export { isDicom } from './raster-format.ts';
export { createRulerMemo, type RulerMemo } from './ruler/ruler-memo.ts';
export {
  type RulerFound,
  type RulerNotFound,
  type RulerOptions,
  type RulerReading,
  readDepthRuler,
  rulerMargins,
  type TickUnitSource,
} from './ruler/ruler-reading.ts';
export { MAX_SCAN_ASPECT, MIN_SCAN_SIDE, scanShapeProblem } from './scan-shape.ts';
export { createScratchBuffer } from './scratch-buffer.ts';
export { findRoot } from './union-find.ts';
export { deflateReleased, inflateRawReleased, inflateReleased } from './zlib-released.ts';
