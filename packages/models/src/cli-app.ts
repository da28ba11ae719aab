import { rm, writeFile } from 'node:fs/promises';
import { parseCliArgs } from '@cti/contracts/cli-args';
import { PIXEL_ASPECT_RANGE } from '@cti/contracts/pixel-aspect';
import { loadHintModel } from './hint-model.ts';
import { ImageInputError, toGrayImage } from './image-input.ts';
import { encodeMaskPng, encodeOverlayPng } from './mask-images.ts';
import { loadSegmentationModel } from './segmentation-model.ts';
import { loadViewModel } from './view/view-model.ts';
import type { ViewVerdict } from './view/view-verdict.ts';

export type CliIo = { stdout: (line: string) => void; stderr: (line: string) => void };

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
/** Usage errors and unreadable / non-image input. */
export const EXIT_BAD_INPUT = 2;

/**
 * onnxruntime's intra-op threads, bounded as the grading worker bounds CTI_ONNX_THREADS: a typo such as
 * 1000 would start that many threads (a minute instead of a second; 9999 got the process killed).
 */
const MAX_THREADS = 64;

const USAGE = `usage:
  cti-models view <image> [--threads N] [--models-dir DIR]
  cti-models hint <image> [--threads N] [--models-dir DIR]
  cti-models segment <image> [--mask out.png] [--overlay out.png] [--pixel-spacing-mm X] [--pixel-aspect A] [--threads N] [--models-dir DIR]
--pixel-spacing-mm: mm per pixel along the depth (vertical) axis; --pixel-aspect: a pixel's width ÷ its height,
${PIXEL_ASPECT_RANGE[0]}–${PIXEL_ASPECT_RANGE[1]} (default 1, square; 0.889 for 720×480 of a 4:3 picture): area_cm2 = area_px × spacing² × aspect.
--threads: onnxruntime threads, an integer from 1 to ${MAX_THREADS} (default 1).
Images: PNG, JPEG, BMP or DICOM (WebP, TIFF, GIF and AVIF are read too, as the grading worker reads them; a
multi-page TIFF or an animated GIF as its first page), grayscale or RGB, up to 40 megapixels, at least 32 px
on a side and at most 8:1 (the grading worker's limits). Prints one JSON object on stdout; hint and segment include the view verdict
("view") and say on stderr when the view is rejected.
Exit codes: 0 ok (also for a rejected view), 1 model/internal failure, 2 usage error, unreadable image, one over
40 MP, or one whose shape is no scan (a side under 32 px, a sliver longer than 8:1).`;

const COMMANDS = ['view', 'hint', 'segment'] as const;

class UsageError extends Error {}

function threadCount(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new UsageError(`--threads must be an integer from 1 to ${MAX_THREADS}, got "${value}"`);
  }
  return n;
}

function positive(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`${flag} must be a positive number, got "${value}"`);
  return n;
}

function pixelAspect(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = value.trim() === '' ? Number.NaN : Number(value);
  if (!(n >= PIXEL_ASPECT_RANGE[0] && n <= PIXEL_ASPECT_RANGE[1]))
    throw new UsageError(
      `--pixel-aspect must be a pixel's width ÷ its height from ${PIXEL_ASPECT_RANGE[0]} to ${PIXEL_ASPECT_RANGE[1]}, got "${value}"`,
    );
  return n;
}

function parse(argv: string[]) {
  const { values, positionals } = parseCliArgs({
    args: argv,
    allowPositionals: true,
    options: {
      mask: { type: 'string' },
      overlay: { type: 'string' },
      'pixel-spacing-mm': { type: 'string' },
      'pixel-aspect': { type: 'string' },
      threads: { type: 'string' },
      'models-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, image, ...rest] = positionals;
  if (values.help) return { help: true as const };
  if (!COMMANDS.includes(command as (typeof COMMANDS)[number]))
    throw new UsageError(`unknown command "${command ?? ''}"`);
  if (!image || rest.length > 0) throw new UsageError(`${command} takes exactly one image path`);
  if (
    command !== 'segment' &&
    (values.mask || values.overlay || values['pixel-spacing-mm'] || values['pixel-aspect'])
  ) {
    throw new UsageError('--mask, --overlay, --pixel-spacing-mm and --pixel-aspect only apply to "segment"');
  }
  const threads = threadCount(values.threads);
  const spacing = positive(values['pixel-spacing-mm'], '--pixel-spacing-mm');
  const aspect = pixelAspect(values['pixel-aspect']);
  const load = {
    ...(threads !== undefined ? { intraOpThreads: threads } : {}),
    ...(values['models-dir'] ? { modelsDir: values['models-dir'] } : {}),
  };
  return {
    help: false as const,
    command: command as (typeof COMMANDS)[number],
    image,
    load,
    spacing,
    aspect,
    mask: values.mask,
    overlay: values.overlay,
  };
}

/** The verdict in the CLI's snake case. */
function viewJson(v: ViewVerdict) {
  return {
    ribeye_view: v.ribeyeView,
    accepted: v.accepted,
    threshold: v.threshold,
    reasons: v.reasons,
    model: v.model,
  };
}

function sayRejected(image: string, v: ViewVerdict | null, io: CliIo): void {
  if (v && !v.accepted)
    io.stderr(
      `cti-models: ${image}: view rejected (ribeye_view ${v.ribeyeView} < ${v.threshold}): ${v.reasons.join(', ')}`,
    );
}

async function runView(image: string, load: object, io: CliIo): Promise<void> {
  const gray = await toGrayImage(image, { scanShape: true });
  const model = await loadViewModel(load);
  try {
    const v = await model.run(gray);
    io.stdout(JSON.stringify({ ...viewJson(v), hint_model: v.hint.model, ms: v.ms }));
  } finally {
    await model.close();
  }
}

async function runHint(image: string, load: object, io: CliIo): Promise<void> {
  const gray = await toGrayImage(image, { scanShape: true });
  const model = await loadHintModel(load);
  try {
    const r = await model.run(gray);
    const view = r.view ? viewJson(r.view) : null;
    io.stdout(JSON.stringify({ ribeye_bbox: r.ribeyeBbox, score: r.score, view, model: r.model, ms: r.ms }));
    sayRejected(image, r.view, io);
  } finally {
    await model.close();
  }
}

async function runSegment(
  args: Extract<ReturnType<typeof parse>, { help: false }>,
  io: CliIo,
): Promise<void> {
  const gray = await toGrayImage(args.image, { scanShape: true });
  const model = await loadSegmentationModel(args.load);
  const hint = await loadHintModel(args.load).catch(async (err) => {
    await model.close();
    throw err;
  });
  try {
    const { view } = await hint.run(gray);
    const r = await model.run(gray, {
      ...(args.spacing !== undefined ? { pixelSpacingMm: args.spacing } : {}),
      ...(args.aspect !== undefined ? { pixelAspect: args.aspect } : {}),
    });
    const outputs: [string, string, Buffer][] = [];
    if (args.mask) outputs.push(['--mask', args.mask, await encodeMaskPng(r.mask)]);
    if (args.overlay) outputs.push(['--overlay', args.overlay, await encodeOverlayPng(gray, r.mask)]);
    await writeOutputs(outputs);
    io.stdout(
      JSON.stringify({
        area_px: r.areaPx,
        area_cm2: r.areaCm2,
        mean_intensity: r.meanIntensity,
        glcm_contrast: r.glcmContrast,
        score: r.score,
        ribeye_bbox: r.ribeyeBbox,
        view: view ? viewJson(view) : null,
        model: r.model,
        sha256: r.sha256,
        ms: r.ms,
      }),
    );
    sayRejected(args.image, view, io);
  } finally {
    await Promise.all([model.close(), hint.close()]);
  }
}

/** An output file that could not be written; its message names the option and the path. */
class OutputError extends Error {}

/** Writes every output or none: a mask is removed again when the overlay cannot be written. */
async function writeOutputs(outputs: [flag: string, path: string, bytes: Buffer][]): Promise<void> {
  const written: string[] = [];
  for (const [flag, path, bytes] of outputs) {
    try {
      await writeFile(path, bytes);
      written.push(path);
    } catch (err) {
      await Promise.all(written.map((f) => rm(f, { force: true })));
      throw new OutputError(`cannot write ${flag} ${path}: ${(err as Error).message}`);
    }
  }
}

/** Runs the CLI and returns the exit code (main.ts-style split: cli.ts only wires process I/O). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    const args = parse(argv);
    if (args.help) {
      io.stdout(USAGE);
      return EXIT_OK;
    }
    if (args.command === 'view') await runView(args.image, args.load, io);
    else if (args.command === 'hint') await runHint(args.image, args.load, io);
    else await runSegment(args, io);
    return EXIT_OK;
  } catch (err) {
    // Every parseArgs refusal is a usage error: an unknown option, a missing or dash-led value
    // (`--pixel-spacing-mm -1`), a stray positional.
    if (err instanceof UsageError || String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS_')) {
      io.stderr(`cti-models: ${(err as Error).message}\n${USAGE}`);
      return EXIT_BAD_INPUT;
    }
    if (err instanceof ImageInputError) {
      io.stderr(`cti-models: ${err.message}`);
      return EXIT_BAD_INPUT;
    }
    io.stderr(`cti-models: ${(err as Error).message}`);
    return EXIT_FAILURE;
  }
}
