// Model shapes: real architectures' hyperparameters (from their Hugging Face config.json), plus `tiny` for tests.

export interface Llama3RopeScaling {
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalContextLength: number;
}

export interface ModelShape {
  name: string;
  arch: 'llama' | 'qwen2';
  vocabSize: number; // the tokenizer is padded with unused filler tokens up to this
  contextLength: number;
  embeddingLength: number;
  feedForwardLength: number;
  blockCount: number;
  headCount: number;
  headCountKv: number;
  rmsNormEps: number;
  ropeTheta: number;
  tiedEmbeddings: boolean; // no output.weight: the output projection reuses token_embd.weight
  qkvBias: boolean;
  llama3RopeScaling?: Llama3RopeScaling; // written as the rope_freqs.weight tensor, as llama.cpp's converter does
  headDimInConfig: boolean; // the converter writes attention.key_length/value_length only when config.json has head_dim
}

export const SHAPES: Readonly<Record<string, ModelShape>> = {
  tiny: {
    name: 'tiny', arch: 'llama', vocabSize: 49152, contextLength: 2048,
    embeddingLength: 256, feedForwardLength: 512, blockCount: 2, headCount: 4, headCountKv: 2,
    rmsNormEps: 1e-5, ropeTheta: 100000, tiedEmbeddings: true, qkvBias: false, headDimInConfig: false,
  },
  'smollm2-135m': {
    name: 'smollm2-135m', arch: 'llama', vocabSize: 49152, contextLength: 8192,
    embeddingLength: 576, feedForwardLength: 1536, blockCount: 30, headCount: 9, headCountKv: 3,
    rmsNormEps: 1e-5, ropeTheta: 100000, tiedEmbeddings: true, qkvBias: false, headDimInConfig: false,
  },
  'smollm2-360m': {
    name: 'smollm2-360m', arch: 'llama', vocabSize: 49152, contextLength: 8192,
    embeddingLength: 960, feedForwardLength: 2560, blockCount: 32, headCount: 15, headCountKv: 5,
    rmsNormEps: 1e-5, ropeTheta: 100000, tiedEmbeddings: true, qkvBias: false, headDimInConfig: true,
  },
  'qwen2.5-0.5b': {
    name: 'qwen2.5-0.5b', arch: 'qwen2', vocabSize: 151936, contextLength: 32768,
    embeddingLength: 896, feedForwardLength: 4864, blockCount: 24, headCount: 14, headCountKv: 2,
    rmsNormEps: 1e-6, ropeTheta: 1000000, tiedEmbeddings: true, qkvBias: true, headDimInConfig: false,
  },
  'llama-3.2-1b': {
    name: 'llama-3.2-1b', arch: 'llama', vocabSize: 128256, contextLength: 131072,
    embeddingLength: 2048, feedForwardLength: 8192, blockCount: 16, headCount: 32, headCountKv: 8,
    rmsNormEps: 1e-5, ropeTheta: 500000, tiedEmbeddings: true, qkvBias: false, headDimInConfig: true,
    llama3RopeScaling: { factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalContextLength: 8192 },
  },
};

export function headDim(shape: ModelShape): number {
  return shape.embeddingLength / shape.headCount;
}
