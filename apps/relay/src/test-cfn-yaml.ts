// Test support (not built): parse a CloudFormation YAML template, turning the short-form intrinsic
// tags (!Ref, !Sub, !GetAtt …) into their long JSON forms ({ Ref }, { 'Fn::Sub' } …) as CloudFormation does.
import { parse, type Tags, type YAMLMap, type YAMLSeq } from 'yaml';

const FUNCTIONS = [
  'And',
  'Base64',
  'Cidr',
  'Equals',
  'FindInMap',
  'GetAZs',
  'If',
  'ImportValue',
  'Join',
  'Not',
  'Or',
  'Select',
  'Split',
  'Sub',
  'Transform',
];

function intrinsic(name: string, value: unknown): unknown {
  if (name === 'Ref') return { Ref: value };
  if (name === 'Condition') return { Condition: value };
  if (name === 'GetAtt' && typeof value === 'string') {
    const dot = value.indexOf('.');
    return { 'Fn::GetAtt': [value.slice(0, dot), value.slice(dot + 1)] };
  }
  return { [`Fn::${name}`]: value };
}

const tags: Tags = [...FUNCTIONS, 'Ref', 'Condition', 'GetAtt'].flatMap((name) => [
  { tag: `!${name}`, resolve: (value: string) => intrinsic(name, value) },
  {
    tag: `!${name}`,
    collection: 'seq' as const,
    resolve: (seq: YAMLMap.Parsed | YAMLSeq.Parsed) => intrinsic(name, seq.toJSON()),
  },
  {
    tag: `!${name}`,
    collection: 'map' as const,
    resolve: (map: YAMLMap.Parsed | YAMLSeq.Parsed) => intrinsic(name, map.toJSON()),
  },
]);

export function parseCloudFormation(text: string): Record<string, unknown> {
  return parse(text, { customTags: tags }) as Record<string, unknown>;
}
