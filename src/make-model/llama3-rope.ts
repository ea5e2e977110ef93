// Llama 3 rope scaling as llama.cpp's convert_hf_to_gguf.py stores it: a `rope_freqs.weight` tensor of
// per-dimension-pair divisors (1 for high frequencies, `factor` for low ones, smoothly in between).
// Every step is rounded to float32, as the converter computes it in float32 torch tensors.
import type { Llama3RopeScaling } from './shapes.js';

const f = Math.fround;

export function llama3RopeFactors(headDim: number, ropeTheta: number, s: Llama3RopeScaling): Float32Array {
  const lowFreqWavelen = s.originalContextLength / s.lowFreqFactor;
  const highFreqWavelen = s.originalContextLength / s.highFreqFactor;
  const out = new Float32Array(headDim / 2);
  for (let i = 0; i < out.length; i++) {
    const freq = f(1 / f(Math.pow(ropeTheta, f((2 * i) / headDim))));
    const wavelen = f((2 * Math.PI) / freq);
    if (wavelen < highFreqWavelen) {
      out[i] = 1;
    } else if (wavelen > lowFreqWavelen) {
      out[i] = s.factor;
    } else {
      const smooth = f(f(f(s.originalContextLength / wavelen) - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor));
      out[i] = f(1 / f(f(f(1 - smooth) / s.factor) + smooth));
    }
  }
  return out;
}
