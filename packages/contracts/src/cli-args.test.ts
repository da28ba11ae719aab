import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCliArgs, UnknownOptionError } from './cli-args.ts';

const options = { secret: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

test('known options and positionals parse as parseArgs would', () => {
  const { values, positionals } = parseCliArgs({
    args: ['--secret', 's', '-h', 'file.json', '--', '--not-an-option'],
    options,
    allowPositionals: true,
  });
  assert.deepEqual({ ...values }, { secret: 's', help: true });
  assert.deepEqual(positionals, ['file.json', '--not-an-option']);
});

test('an unknown option is one short line naming it, with parseArgs’ code', () => {
  for (const [args, option] of [
    [['--x'], '--x'],
    [['file.json', '--jsno=1'], '--jsno'],
    [['-z'], '-z'],
    [['-hz'], '-z'],
  ] as const) {
    assert.throws(
      () => parseCliArgs({ args: [...args], options, allowPositionals: true }),
      (e: unknown) =>
        e instanceof UnknownOptionError &&
        e.message === `unknown option ${JSON.stringify(option)}` &&
        e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION',
      args.join(' '),
    );
  }
});

test("parseArgs' other refusals are left to parseArgs", () => {
  assert.throws(
    () => parseCliArgs({ args: ['--secret'], options }),
    (e: unknown) =>
      !(e instanceof UnknownOptionError) &&
      (e as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE',
  );
});
