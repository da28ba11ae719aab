import { parseCliArgs } from '@cti/contracts/cli-args';
import { PHANTOM_KINDS, type PhantomKind, type PhantomPreset } from './phantom/phantom-types.ts';

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `Usage:
  cti-phantom export --out DIR --count N --seed S [--preset training|heldout] [--size WxH | --max-side PX]
                     [--negatives FRACTION] [--workers K] [--realism]
  cti-phantom sample --seed S --out FILE.png [--preset training|heldout] [--size WxH] [--max-side PX]
                     [--kind ${PHANTOM_KINDS.join('|')}] [--labels FILE.json] [--realism]
  --realism (training preset): ribeye realism, hard positives and the training negative mix (README).`;

export type ExportCommand = {
  command: 'export';
  out: string;
  count: number;
  seed: number;
  preset: PhantomPreset;
  size: { width: number; height: number } | null;
  maxSide: number | null;
  negatives: number;
  workers: number | undefined;
  realism: boolean;
};
export type SampleCommand = {
  command: 'sample';
  out: string;
  seed: number;
  preset: PhantomPreset;
  size: { width: number; height: number } | null;
  maxSide: number | null;
  kind: PhantomKind;
  labels: string | null;
  realism: boolean;
};

export type HelpCommand = { command: 'help' };

const KINDS = PHANTOM_KINDS;

/** Parse and validate argv (without node and script); throws UsageError naming the bad option. */
export function parseCli(argv: string[]): ExportCommand | SampleCommand | HelpCommand {
  const [command, ...rest] = argv;
  if (command === 'help' || argv.some((a) => a === '--help' || a === '-h')) return { command: 'help' };
  if (command?.startsWith('-')) throw new UsageError(`unknown option ${JSON.stringify(command)}`);
  if (command !== 'export' && command !== 'sample')
    throw new UsageError(`unknown command ${JSON.stringify(command ?? '')}`);
  const { values } = parseCliArgs({
    args: rest,
    strict: true,
    options: {
      out: { type: 'string' },
      count: { type: 'string' },
      seed: { type: 'string' },
      preset: { type: 'string' },
      size: { type: 'string' },
      'max-side': { type: 'string' },
      negatives: { type: 'string' },
      workers: { type: 'string' },
      kind: { type: 'string' },
      labels: { type: 'string' },
      realism: { type: 'boolean' },
    },
  });
  if (!values.out) throw new UsageError('--out is required');
  const common = {
    out: values.out,
    seed: int('--seed', values.seed, 0),
    preset: preset(values.preset),
    size: values.size === undefined ? null : size(values.size),
    maxSide: values['max-side'] === undefined ? null : int('--max-side', values['max-side'], 32),
    realism: values.realism === true,
  };
  if (command === 'sample') {
    const kind = (values.kind ?? 'ribeye') as PhantomKind;
    if (!KINDS.includes(kind))
      throw new UsageError(`--kind must be one of ${KINDS.join(', ')}, got ${values.kind}`);
    return { command, ...common, kind, labels: values.labels ?? null };
  }
  const negatives = values.negatives === undefined ? 0 : Number(values.negatives);
  if (!(negatives >= 0 && negatives <= 1))
    throw new UsageError(`--negatives must be a fraction in [0, 1], got ${values.negatives}`);
  return {
    command,
    ...common,
    count: int('--count', values.count, 1),
    negatives,
    workers: values.workers === undefined ? undefined : int('--workers', values.workers, 0),
  };
}

function int(name: string, text: string | undefined, min: number): number {
  if (text === undefined) throw new UsageError(`${name} is required`);
  const v = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(v) || v < min)
    throw new UsageError(`${name} must be an integer ≥ ${min}, got ${JSON.stringify(text)}`);
  return v;
}

function preset(text: string | undefined): PhantomPreset {
  if (text === undefined || text === 'training' || text === 'heldout') return text ?? 'training';
  throw new UsageError(`--preset must be training or heldout, got ${JSON.stringify(text)}`);
}

function size(text: string): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/i.exec(text);
  const width = Number(m?.[1]);
  const height = Number(m?.[2]);
  if (!m || width < 32 || height < 32 || width > 4096 || height > 4096) {
    throw new UsageError(`--size must be WxH with both sides in 32..4096, got ${JSON.stringify(text)}`);
  }
  return { width, height };
}
