// Writes a GGUF model of a real architecture's shape with seeded random weights and the SmolLM2 tokenizer.
import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FILE_TYPES, tensorType } from './file-types.js';
import { GgufFileWriter, gguf, type GgufTensorInfo, type GgufValue, DEFAULT_ALIGNMENT } from './gguf-writer.js';
import { loadHfVocabulary, tokenizerMetadata } from './hf-tokenizer.js';
import { RandomStream } from './random-weights.js';
import { headDim, SHAPES, type ModelShape } from './shapes.js';
import { encodeRows, quantizerProblem } from './tensor-encoding.js';
import { tensorLayout, type TensorSpec } from './tensor-layout.js';
import { isFloatType, tensorBytes, typeName } from './tensor-types.js';

export interface MakeModelOptions {
  shape: string | ModelShape; // a name from SHAPES, or a shape of one's own
  type: string;
  out: string;
  seed?: number;
  tokenizerDir?: string; // holds tokenizer.json and chat_template.jinja
  onProgress?: (p: MakeModelProgress) => void; // at each tensor and each chunk of a large one
}

export interface MakeModelProgress {
  tensorIndex: number; // 0-based, of tensorCount
  tensorCount: number;
  name: string;
  type: string;
  bytesWritten: number; // tensor data so far, all tensors
  bytesTotal: number;
}

export interface MakeModelResult {
  path: string;
  bytes: number;
  tensorCount: number;
  seconds: number;
}

const CHUNK_VALUES = 1 << 22; // values generated, encoded and written at a time

export const DEFAULT_SEED = 1;

/** <repo>/../shared/models/smollm2-135m-instruct-tokenizer, where this project's shared data lives. */
export function defaultTokenizerDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return resolve(dir, '..', 'shared', 'models', 'smollm2-135m-instruct-tokenizer');
}

function modelMetadata(shape: ModelShape, ftype: number, seed: number): [string, GgufValue][] {
  const a = shape.arch;
  const meta: [string, GgufValue][] = [
    ['general.architecture', gguf.str(a)],
    ['general.name', gguf.str(`${shape.name} random weights seed ${seed}`)],
    ['general.file_type', gguf.u32(ftype)],
    ['general.quantization_version', gguf.u32(2)],
    ['general.alignment', gguf.u32(DEFAULT_ALIGNMENT)],
    [`${a}.vocab_size`, gguf.u32(shape.vocabSize)],
    [`${a}.context_length`, gguf.u32(shape.contextLength)],
    [`${a}.embedding_length`, gguf.u32(shape.embeddingLength)],
    [`${a}.block_count`, gguf.u32(shape.blockCount)],
    [`${a}.feed_forward_length`, gguf.u32(shape.feedForwardLength)],
    [`${a}.attention.head_count`, gguf.u32(shape.headCount)],
    [`${a}.attention.head_count_kv`, gguf.u32(shape.headCountKv)],
    [`${a}.attention.layer_norm_rms_epsilon`, gguf.f32(shape.rmsNormEps)],
    [`${a}.rope.freq_base`, gguf.f32(shape.ropeTheta)],
    [`${a}.rope.dimension_count`, gguf.u32(headDim(shape))],
  ];
  if (shape.headDimInConfig) {
    meta.push([`${a}.attention.key_length`, gguf.u32(headDim(shape))], [`${a}.attention.value_length`, gguf.u32(headDim(shape))]);
  }
  return meta;
}

function fillChunk(spec: TensorSpec, rng: RandomStream, out: Float32Array, offset: number): void {
  const init = spec.init;
  if (init.kind === 'values') return out.set(init.values.subarray(offset, offset + out.length));
  rng.fillUniform(out, init.mean, init.std);
  if (init.zeroRowsFrom !== undefined) {
    const rowLength = spec.dims[0]!;
    const firstZero = Math.max(0, init.zeroRowsFrom * rowLength - offset);
    if (firstZero < out.length) out.fill(0, firstZero);
  }
}

/** Generates, encodes and writes each tensor's values, a chunk of whole rows at a time. */
async function writeTensorData(
  writer: GgufFileWriter, specs: TensorSpec[], tensors: GgufTensorInfo[], seed: number,
  onProgress: MakeModelOptions['onProgress'],
): Promise<void> {
  const bytesTotal = tensors.reduce((sum, t) => sum + tensorBytes(t.type, t.dims), 0);
  const buffer = new Float32Array(CHUNK_VALUES);
  let bytesWritten = 0;
  for (const [index, spec] of specs.entries()) {
    const type = tensors[index]!.type;
    const rowLength = spec.dims[0]!;
    const total = spec.dims.reduce((a, b) => a * b, 1);
    const chunk = Math.max(rowLength, Math.floor(CHUNK_VALUES / rowLength) * rowLength);
    const values = chunk <= buffer.length ? buffer : new Float32Array(chunk);
    const rng = new RandomStream(seed, spec.name);
    for (let done = 0; done < total; done += chunk) {
      onProgress?.({ tensorIndex: index, tensorCount: specs.length, name: spec.name, type: typeName(type), bytesWritten, bytesTotal });
      const part = values.subarray(0, Math.min(chunk, total - done));
      fillChunk(spec, rng, part, done);
      const bytes = encodeRows(type, part, rowLength);
      writer.write(bytes);
      bytesWritten += bytes.length;
    }
    writer.finishTensor();
    await new Promise(setImmediate); // let timers and signals in between tensors
  }
}

export async function makeModel(options: MakeModelOptions): Promise<MakeModelResult> {
  const started = performance.now();
  const shape = typeof options.shape === 'string' ? SHAPES[options.shape] : options.shape;
  if (!shape) throw new Error(`unknown shape ${String(options.shape)}; known: ${Object.keys(SHAPES).join(', ')}`);
  const fileType = FILE_TYPES[options.type];
  if (!fileType) throw new Error(`unknown type ${options.type}; known: ${Object.keys(FILE_TYPES).join(', ')}`);
  const seed = options.seed ?? DEFAULT_SEED;
  const outDir = dirname(resolve(options.out));
  if (!existsSync(outDir)) throw new Error(`cannot write ${options.out}: the folder ${outDir} does not exist`);

  const vocab = loadHfVocabulary(options.tokenizerDir ?? defaultTokenizerDir(), shape.vocabSize);
  const specs = tensorLayout(shape, vocab.realTokens);
  const tensors: GgufTensorInfo[] = specs.map((s) => ({
    name: s.name,
    dims: s.dims,
    type: tensorType(fileType, { name: s.name, dims: s.dims, layer: s.layer, blockCount: shape.blockCount, tiedEmbeddings: shape.tiedEmbeddings }),
  }));
  const problem = tensors.some((t) => !isFloatType(t.type)) ? quantizerProblem() : undefined;
  if (problem) throw new Error(`type ${fileType.name} needs the engine's quantizers (f32, f16 and bf16 do not): ${problem}`);
  const metadata = [...modelMetadata(shape, fileType.ftype, seed), ...tokenizerMetadata(vocab)];

  const partial = `${options.out}.${process.pid}.partial`;
  const writer = new GgufFileWriter(partial, metadata, tensors);
  try {
    await writeTensorData(writer, specs, tensors, seed, options.onProgress);
    writer.close();
    renameSync(partial, options.out);
  } catch (err) {
    try { writer.abort(); } catch { /* already closed */ }
    rmSync(partial, { force: true });
    throw err;
  }
  return { path: options.out, bytes: statSync(options.out).size, tensorCount: specs.length, seconds: (performance.now() - started) / 1000 };
}
