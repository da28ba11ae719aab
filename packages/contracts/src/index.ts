export { agentConfigSchema } from './agent-config-schema.ts';
export { compileAllValidators, compileValidator } from './compile-validator.ts';
export {
  createDeviceKey,
  DEVICE_SECRET_PREFIX,
  type DeviceSecret,
  DeviceSecretError,
  type NewDeviceKey,
  parseDeviceSecret,
  publicKeyFingerprint,
} from './device-key.ts';
export {
  checkDeviceSignatureHeaders,
  DEVICE_HEADER,
  type DeviceRequestHeaders,
  type DeviceSignatureFailure,
  type DeviceSignatureVerification,
  signDeviceRequest,
  verifyDeviceSignature,
} from './device-signature.ts';
export { parseEidLine } from './eid-line.ts';
export { DISK_INODES_SHORT, HEARTBEAT_VERSION, type HeartbeatBody, validateHeartbeat } from './heartbeat.ts';
export { heartbeatSchema } from './heartbeat-schema.ts';
export { LayoutError, type LayoutErrorCode } from './layout-error.ts';
export { META_VERSION, type MetaJson, SUPPORTED_META_MAJOR, validateMeta } from './meta.ts';
export { MAX_CAPTURE_OBJECTS, MAX_EXTRA_FILES, metaSchema, PIXEL_ASPECT_RANGE } from './meta-schema.ts';
export { mimeTypeForFile } from './mime-types.ts';
export {
  EID_LINE_PATTERN,
  EID_PATTERN,
  OPERATOR_ID_EXPECTED,
  OPERATOR_ID_PATTERN,
  REGION_EXPECTED,
  REGION_PATTERN,
} from './patterns.ts';
export { formatProblem, type Problem, type ValidationResult } from './problems.ts';
export {
  fromIngestKeyUri,
  isValidBucketName,
  isValidCaptureId,
  isValidDeviceCode,
  isValidFileName,
  META_FILE,
  parseProcessedKey,
  parseRawKey,
  processedObjectKey,
  type RawCaptureDirParts,
  type RawKeyParts,
  rawCaptureDir,
  rawObjectKey,
  toIngestKeyUri,
} from './s3-layout.ts';
export { unknownFields, withoutUnknownFields } from './unknown-fields.ts';
export { unstorableTextProblems } from './unstorable-text.ts';
export {
  validateWebhookBody,
  WEBHOOK_MAX_JSON_DEPTH,
  type WebhookBody,
  type WebhookObjectDetail,
} from './webhook-body.ts';
export { webhookBodySchema } from './webhook-body-schema.ts';
export {
  DEFAULT_TOLERANCE_SECONDS,
  SIGNATURE_HEADER,
  type SignatureFailure,
  type SignatureVerification,
  signWebhook,
  TIMESTAMP_HEADER,
  verifyWebhookSignature,
  type WebhookSignatureHeaders,
} from './webhook-signature.ts';
