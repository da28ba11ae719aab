#!/usr/bin/env node
import { rm, writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { parseCli, type SampleCommand, USAGE, UsageError } from './cli-args.ts';
import { exportDataset } from './export/export-dataset.ts';
import { generatePhantom } from './phantom/generate-phantom.ts';

async function main(argv: string[]): Promise<number> {
  let cmd: ReturnType<typeof parseCli>;
  try {
    cmd = parseCli(argv);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`cti-phantom: ${message}\n${USAGE}\n`);
    return 2;
  }
  if (cmd.command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (cmd.command === 'sample') return sample(cmd);
  const started = performance.now();
  let last = 0;
  const manifest = await exportDataset({
    ...cmd,
    onProgress(done, total) {
      if (done === total || performance.now() - last > 2000) {
        last = performance.now();
        process.stderr.write(`cti-phantom: ${done}/${total}\n`);
      }
    },
  });
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `${JSON.stringify({ out: cmd.out, count: manifest.count, kinds: manifest.kinds, seconds: Math.round(seconds * 10) / 10 })}\n`,
  );
  return 0;
}

async function sample(cmd: SampleCommand): Promise<number> {
  const { image, labels } = generatePhantom({
    seed: cmd.seed,
    preset: cmd.preset,
    kind: cmd.kind,
    realism: cmd.realism,
    ...(cmd.size ?? {}),
    ...(cmd.maxSide ? { maxSide: cmd.maxSide } : {}),
  });
  const png = await sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: image.channels },
  })
    .png()
    .toBuffer();
  const { ribeyeMask: _mask, ...rest } = labels;
  // The image and its labels, or neither: an image whose --labels could not be written is removed.
  const files: [string, Buffer | string][] = [[cmd.out, png]];
  if (cmd.labels) files.push([cmd.labels, `${JSON.stringify(rest, null, 1)}\n`]);
  const written: string[] = [];
  for (const [file, data] of files) {
    try {
      await writeFile(file, data);
      written.push(file);
    } catch (err) {
      await Promise.all(written.map((f) => rm(f, { force: true })));
      throw new OutputError(`cannot write ${file}: ${(err as Error).message}`);
    }
  }
  process.stdout.write(
    `${JSON.stringify({ out: cmd.out, kind: labels.kind, width: image.width, height: image.height, ribeye_bbox: labels.ribeyeBbox })}\n`,
  );
  return 0;
}

/** A file the command was told to write could not be: its message names it (no stack trace). */
class OutputError extends Error {}

/** Errors that say all there is to say in their message: usage, an output file, a system call (EEXIST…). */
function isDescribed(err: unknown): boolean {
  return (
    err instanceof UsageError ||
    err instanceof OutputError ||
    typeof (err as { code?: unknown } | null)?.code === 'string'
  );
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `cti-phantom: ${isDescribed(err) ? (err as Error).message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  },
);
