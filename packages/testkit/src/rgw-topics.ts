import { PutBucketNotificationConfigurationCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, DeleteTopicCommand, SNSClient } from '@aws-sdk/client-sns';

export interface RgwTopicOptions {
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  name: string;
  /** Where RGW POSTs the `{"Records":[…]}` notifications. */
  pushEndpoint: string;
  /** Persistent: queued in RADOS and re-sent until the endpoint answers 2xx (PUTs do not wait). */
  persistent: boolean;
  /** Copied into every record as `opaqueData` (the relay's shared secret goes here). */
  opaqueData?: string;
}

/**
 * Creates a Ceph RGW notification topic through its SNS-compatible API (a SigV4-signed
 * `Action=CreateTopic`, as `aws sns create-topic --endpoint-url …` sends) and returns its ARN and
 * a function that deletes it.
 */
export async function createRgwTopic({
  endpoint,
  credentials,
  name,
  pushEndpoint,
  persistent,
  opaqueData,
}: RgwTopicOptions): Promise<{ topicArn: string; remove(): Promise<void> }> {
  const sns = new SNSClient({ endpoint, region: 'us-east-1', credentials });
  const { TopicArn } = await sns.send(
    new CreateTopicCommand({
      Name: name,
      Attributes: {
        'push-endpoint': pushEndpoint,
        persistent: String(persistent),
        ...(opaqueData !== undefined && { OpaqueData: opaqueData }),
      },
    }),
  );
  if (!TopicArn) {
    sns.destroy();
    throw new Error(`RGW CreateTopic ${name} returned no TopicArn`);
  }
  return {
    topicArn: TopicArn,
    async remove() {
      await sns.send(new DeleteTopicCommand({ TopicArn })).catch(() => {});
      sns.destroy();
    },
  };
}

/** Sends a bucket's object-created events (`s3:ObjectCreated:*`) to a topic. */
export async function notifyObjectCreated(client: S3Client, bucket: string, topicArn: string): Promise<void> {
  await client.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: {
        TopicConfigurations: [
          { Id: `object-created-${bucket}`, TopicArn: topicArn, Events: ['s3:ObjectCreated:*'] },
        ],
      },
    }),
  );
}
