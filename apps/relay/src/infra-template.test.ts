// Nothing here can deploy infra/aws/template.yaml, so this checks its structure: the pieces the relay
// relies on are present, wired to each other, and the function's permissions are least-privilege.
// biome-ignore-all lint/suspicious/noExplicitAny: the template is untyped JSON walked by path in assertions
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadRelayConfig } from './config.ts';
import { parseCloudFormation } from './test-cfn-yaml.ts';

const templateUrl = new URL('../../../infra/aws/template.yaml', import.meta.url);
const template = parseCloudFormation(readFileSync(templateUrl, 'utf8')) as {
  Parameters: Record<string, { Default?: unknown }>;
  Resources: Record<string, { Type: string; Properties: Record<string, any> }>;
};
const resources = template.Resources;

function resource(name: string, type: string) {
  const r = resources[name];
  assert.ok(r, `resource ${name} exists`);
  assert.equal(r.Type, type, `${name} is a ${type}`);
  return r.Properties;
}

const ref = (name: string) => ({ Ref: name });
const arnOf = (name: string) => ({ 'Fn::GetAtt': [name, 'Arn'] });

/** EventBridge `wildcard` matching: `*` stands for any run of characters, '/' included. */
function wildcardMatches(pattern: string, value: string): boolean {
  const source = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${source.join('.*')}$`).test(value);
}

/** Every Ref, GetAtt and ${Name} inside Sub, anywhere in the template. */
function references(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) references(item, found);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'Ref') found.push(String(v));
      else if (k === 'Fn::GetAtt') found.push(String((v as string[])[0]));
      else if (k === 'Fn::Sub')
        for (const m of String(v).matchAll(/\$\{([^}.!]+)[^}]*\}/g)) found.push(m[1] as string);
      else references(v, found);
    }
  }
  return found;
}

test('every reference names a parameter, a resource or a pseudo parameter', () => {
  const known = new Set([...Object.keys(template.Parameters), ...Object.keys(resources)]);
  const unknown = references(template).filter((name) => !known.has(name) && !name.startsWith('AWS::'));
  assert.deepEqual(unknown, []);
});

test('the raw bucket is versioned, private, encrypted, aborts stale multipart uploads and feeds EventBridge', () => {
  const bucket = resource('RawBucket', 'AWS::S3::Bucket');
  assert.equal(bucket.VersioningConfiguration.Status, 'Enabled');
  assert.deepEqual(bucket.PublicAccessBlockConfiguration, {
    BlockPublicAcls: true,
    BlockPublicPolicy: true,
    IgnorePublicAcls: true,
    RestrictPublicBuckets: true,
  });
  const sse = bucket.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault;
  assert.ok(['AES256', 'aws:kms'].includes(sse.SSEAlgorithm));
  const abort = bucket.LifecycleConfiguration.Rules.find((r: any) => r.AbortIncompleteMultipartUpload);
  assert.equal(abort?.Status, 'Enabled');
  assert.ok(abort.AbortIncompleteMultipartUpload.DaysAfterInitiation >= 1);
  assert.equal(bucket.NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled, true);
});

test('the rule matches Object Created for raw/**/meta.json in this bucket only, and targets the relay', () => {
  const rule = resource('MetaJsonCreatedRule', 'AWS::Events::Rule');
  const pattern = rule.EventPattern;
  assert.deepEqual(pattern.source, ['aws.s3']);
  assert.deepEqual(pattern['detail-type'], ['Object Created']);
  assert.deepEqual(pattern.detail.bucket.name, [ref('RawBucket')]);
  const [matcher] = pattern.detail.object.key;
  const matches = (key: string) => wildcardMatches(matcher.wildcard, key);
  assert.ok(matches('raw/dev-0001/2025/09/09/cap_1757423584/meta.json'));
  for (const key of [
    'raw/dev-0001/2025/09/09/cap_1757423584/image.jpg',
    'raw/dev-0001/2025/09/09/cap_1757423584/meta.json.part',
    'processed/cap_1757423584/meta.json',
    'meta.json',
  ]) {
    assert.equal(matches(key), false, key);
  }
  const [target] = rule.Targets;
  assert.deepEqual(target.Arn, arnOf('RelayFunction'));
  assert.deepEqual(target.DeadLetterConfig.Arn, arnOf('RelayDeadLetterQueue'));
  const permission = resource('RelayInvokePermission', 'AWS::Lambda::Permission');
  assert.equal(permission.Principal, 'events.amazonaws.com');
  assert.deepEqual(permission.SourceArn, arnOf('MetaJsonCreatedRule'));
});

test('the function runs the bundle on nodejs24.x arm64 with settings the relay accepts', () => {
  const fn = resource('RelayFunction', 'AWS::Lambda::Function');
  assert.equal(fn.Runtime, 'nodejs24.x');
  assert.deepEqual(fn.Architectures, ['arm64']);
  assert.equal(fn.Handler, 'index.handler');
  assert.equal(fn.Code, '../../apps/relay/dist/lambda');
  assert.deepEqual(fn.Role, arnOf('RelayRole'));
  const env = fn.Environment.Variables;
  assert.equal(env.CTI_WEBHOOK_SECRETS, undefined, 'no secret in plain environment variables');
  assert.deepEqual(env.CTI_WEBHOOK_SECRETS_ID, ref('WebhookSecret'));
  const sample = Object.fromEntries(
    Object.keys(env).map((k) => [k, String(template.Parameters[env[k].Ref]?.Default ?? 'x')]),
  );
  const config = loadRelayConfig({
    ...sample,
    CTI_WEBHOOK_URL: 'https://cti.example/ingest/webhook',
    AWS_REGION: 'ca-central-1',
  });
  assert.equal(config.budgetMs, 60_000);
  const timeoutMs = Number(template.Parameters.RelayTimeoutSeconds?.Default) * 1000;
  assert.ok(timeoutMs >= config.budgetMs + 10_000, 'the timeout leaves room after the relay budget');
});

test('the role grants only: read raw/*, list raw/, read the secret, write the DLQ and its own logs', () => {
  const role = resource('RelayRole', 'AWS::IAM::Role');
  assert.equal(role.ManagedPolicyArns, undefined, 'no broad managed policies');
  assert.deepEqual(role.AssumeRolePolicyDocument.Statement[0].Principal, { Service: 'lambda.amazonaws.com' });
  const statements = role.Policies.flatMap((p: any) => p.PolicyDocument.Statement);
  const grants = statements.map((s: any) => {
    assert.equal(s.Effect, 'Allow');
    const actions = [s.Action].flat();
    assert.ok(
      actions.every((a: string) => !a.includes('*')),
      `no wildcard actions in ${s.Sid}`,
    );
    assert.notEqual(s.Resource, '*', `${s.Sid} names its resource`);
    return [actions.join(','), s.Resource, s.Condition ?? null];
  });
  assert.deepEqual(grants, [
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string
    ['s3:GetObject', { 'Fn::Sub': '${RawBucket.Arn}/raw/*' }, null],
    ['s3:ListBucket', arnOf('RawBucket'), { StringLike: { 's3:prefix': 'raw/*' } }],
    ['secretsmanager:GetSecretValue', ref('WebhookSecret'), null],
    ['sqs:SendMessage', arnOf('RelayDeadLetterQueue'), null],
    ['logs:CreateLogStream,logs:PutLogEvents', arnOf('RelayLogGroup'), null],
  ]);
});

test('failed invocations and undeliverable events both land in the dead-letter queue, which alarms', () => {
  const invoke = resource('RelayEventInvokeConfig', 'AWS::Lambda::EventInvokeConfig');
  assert.deepEqual(invoke.FunctionName, ref('RelayFunction'));
  assert.deepEqual(invoke.DestinationConfig.OnFailure.Destination, arnOf('RelayDeadLetterQueue'));
  assert.ok(invoke.MaximumRetryAttempts >= 1);
  const queue = resource('RelayDeadLetterQueue', 'AWS::SQS::Queue');
  assert.equal(queue.MessageRetentionPeriod, 1_209_600, '14 days to look at dead letters');
  const policy = resource('RelayDeadLetterQueuePolicy', 'AWS::SQS::QueuePolicy');
  const [statement] = policy.PolicyDocument.Statement;
  assert.deepEqual(statement.Principal, { Service: 'events.amazonaws.com' });
  assert.deepEqual(statement.Condition.ArnEquals['aws:SourceArn'], arnOf('MetaJsonCreatedRule'));
  const alarm = resource('RelayDeadLetterAlarm', 'AWS::CloudWatch::Alarm');
  assert.deepEqual(alarm.Dimensions[0].Value, { 'Fn::GetAtt': ['RelayDeadLetterQueue', 'QueueName'] });
});
