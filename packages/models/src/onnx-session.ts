import ort from 'onnxruntime-node';

export type SessionOptions = {
  /** onnxruntime intra-op threads; 1 by default so a grading worker or the Pi agent stays predictable. */
  intraOpThreads?: number;
};

export type OnnxSession = {
  inputName: string;
  outputName: string;
  run(input: Float32Array, dims: number[]): Promise<Float32Array>;
  close(): Promise<void>;
};

export async function createOnnxSession(bytes: Uint8Array, opts: SessionOptions = {}): Promise<OnnxSession> {
  const threads = opts.intraOpThreads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) {
    throw new RangeError(`intraOpThreads must be a positive integer, got ${threads}`);
  }
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;
  return {
    inputName,
    outputName,
    async run(input, dims) {
      const result = await session.run({ [inputName]: new ort.Tensor('float32', input, dims) });
      const out = result[outputName];
      if (!out) throw new Error(`model produced no "${outputName}" output`);
      return out.data as Float32Array;
    },
    close: () => session.release(),
  };
}
