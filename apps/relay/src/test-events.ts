// Test support (not built): real event shapes from the AWS documentation.

/** The Object Created example from the Amazon S3 user guide ("EventBridge event message structure"). */
export function eventBridgeObjectCreated(bucket: string, key: string) {
  return {
    version: '0',
    id: '17793124-05d4-b198-2fde-7ededc63b103',
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: '111122223333',
    time: '2021-11-12T00:00:00Z',
    region: 'ca-central-1',
    resources: [`arn:aws:s3:::${bucket}`],
    detail: {
      version: '0',
      bucket: { name: bucket },
      object: {
        key,
        size: 5,
        etag: 'b1946ac92492d2347c6235b4d2611184',
        'version-id': 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
        sequencer: '617f08299329d189',
      },
      'request-id': 'N4N7GDK58NMKJ12R',
      requester: '123456789012',
      'source-ip-address': '1.2.3.4',
      reason: 'PutObject',
    },
  };
}

/** One record of the Lambda "S3 Put" test event (classic S3 event notification, eventVersion 2.1). */
export function s3NotificationRecord(bucket: string, key: string, eventName = 'ObjectCreated:Put') {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'ca-central-1',
    eventTime: '2025-09-09T14:18:40.000Z',
    eventName,
    userIdentity: { principalId: 'EXAMPLE' },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: {
      'x-amz-request-id': 'EXAMPLE123456789',
      'x-amz-id-2': 'EXAMPLE123/5678abcdefghijklambdaisawesome/mnopqrstuvwxyzABCDEFGH',
    },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'testConfigRule',
      bucket: { name: bucket, ownerIdentity: { principalId: 'EXAMPLE' }, arn: `arn:aws:s3:::${bucket}` },
      object: { key, size: 1024, eTag: '0123456789abcdef0123456789abcdef', sequencer: '0A1B2C3D4E5F678901' },
    },
  };
}

/** A Ceph RGW (16.2) notification record, as pushed to an HTTP endpoint: the key as stored. */
export function cephNotificationRecord(bucket: string, key: string, opaqueData = '') {
  return {
    eventVersion: '2.2',
    eventSource: 'ceph:s3',
    awsRegion: 'default',
    eventTime: '2026-12-05T03:30:00.000000Z',
    eventName: 'ObjectCreated:Put',
    userIdentity: { principalId: 'cti-test' },
    requestParameters: { sourceIPAddress: '' },
    responseElements: { 'x-amz-request-id': 'a1b2.4121.3', 'x-amz-id-2': '4121-default-default' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'cti-relay',
      bucket: {
        name: bucket,
        ownerIdentity: { principalId: 'cti-test' },
        arn: `arn:aws:s3:::${bucket}`,
        id: 'x',
      },
      object: {
        key,
        size: 1024,
        eTag: '0123456789abcdef0123456789abcdef',
        versionId: '',
        sequencer: '41F08D67',
        metadata: [],
        tags: [],
      },
    },
    eventId: '1733369400.123456.0123456789abcdef0123456789abcdef',
    opaqueData,
  };
}

/** A MinIO notification body (webhook target): top-level EventName/Key, URL-encoded record keys. */
export function minioNotification(bucket: string, key: string) {
  const encoded = encodeURIComponent(key).replace(/%2F/g, '/');
  return {
    EventName: 's3:ObjectCreated:Put',
    Key: `${bucket}/${key}`,
    Records: [
      {
        eventVersion: '2.0',
        eventSource: 'minio:s3',
        awsRegion: '',
        eventTime: '2026-12-05T03:30:00.000Z',
        eventName: 's3:ObjectCreated:Put',
        userIdentity: { principalId: 'cti-local' },
        requestParameters: { principalId: 'cti-local', region: '', sourceIPAddress: '172.18.0.1' },
        responseElements: { 'x-amz-id-2': 'dd9025bab4ad464b', 'x-amz-request-id': '17E0D5A5C3B1E3C1' },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'Config',
          bucket: {
            name: bucket,
            ownerIdentity: { principalId: 'cti-local' },
            arn: `arn:aws:s3:::${bucket}`,
          },
          object: {
            key: encoded,
            size: 1024,
            eTag: '0123456789abcdef0123456789abcdef',
            sequencer: '17E0D5A5C4E3A2B1',
          },
        },
        source: { host: '172.18.0.1', port: '', userAgent: 'aws-sdk-js' },
      },
    ],
  };
}
