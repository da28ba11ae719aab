export {
  DICOM_SYNTAX,
  type DicomElementSpec,
  type DicomFileSpec,
  dcm,
  dicomBytes,
  dicomTag,
} from './dicom-bytes.ts';
export {
  type DicomImageSpec,
  dicomImageElements,
  type UltrasoundRegionSpec,
  ultrasoundRegion,
} from './dicom-image-elements.ts';
export { packBits, rleEncodeFrame } from './dicom-rle-encode.ts';
export { createNotificationSink, type NotificationSink } from './notification-sink.ts';
export { type HandWrittenPngOptions, handWrittenPng } from './png-bytes.ts';
export { type Rgw, RgwStartError, type StartRgwOptions, startRgw } from './rgw.ts';
export { acquireRgw, type SharedRgw } from './rgw-shared.ts';
export { createRgwTopic, notifyObjectCreated, type RgwTopicOptions } from './rgw-topics.ts';
export { createLocalS3Client, type LocalS3ClientOptions } from './s3-client.ts';
export { ALL_S3_PEERS, type S3Peer, type S3PeerKind, startS3Peer, withS3Peers } from './s3-peers.ts';
export { type LocalS3, type S3CreatedEvent, type StartS3rverOptions, startS3rver } from './s3rver.ts';
export { type WaitForOptions, waitFor } from './wait-for.ts';
