// A plain float64 Llama/Qwen2 forward pass in TypeScript: weights dequantized with the
// reference dequantizers, activations never quantized, KV never rounded. It is the "exact"
// answer both engines approximate: tests measure how far Omni and llama.cpp each land from it.
import { readFileSync } from 'node:fs';
import { dequantize, loadModel, type HParams } from '../../src/engine/native.js';

interface Matrix {
  rows: number;
  cols: number;
  w: Float32Array;
}

export class ReferenceModel {
  private constructor(
    readonly hp: HParams,
    private readonly get: (name: string) => Matrix | undefined,
  ) {}

  static async load(file: string): Promise<ReferenceModel> {
    const model = await loadModel(file);
    const info = model.info();
    const bytes = readFileSync(file);
    const byName = new Map(info.tensors.map((t) => [t.name, t]));
    const cache = new Map<string, Matrix>();
    const get = (name: string): Matrix | undefined => {
      const t = byName.get(name);
      if (!t) return undefined;
      if (!cache.has(name)) {
        const cols = t.dims[0];
        const rows = t.dims.slice(1).reduce((a, b) => a * b, 1);
        const data = new Uint8Array(bytes.buffer, bytes.byteOffset + t.offset, t.bytes);
        cache.set(name, { rows, cols, w: dequantize(t.type, data, rows * cols) });
      }
      return cache.get(name)!;
    };
    const hp = info.hparams!;
    model.dispose();
    return new ReferenceModel(hp, get);
  }

  private m(name: string): Matrix {
    const t = this.get(name);
    if (!t) throw new Error(`missing tensor ${name}`);
    return t;
  }

  /** Logits after each of `tokens`, fed from position 0. */
  logits(tokens: number[]): Float64Array[] {
    const hp = this.hp;
    const d = hp.nEmbd, hd = hp.headDim, nH = hp.nHead, nKv = hp.nHeadKv, group = nH / nKv;
    const embd = this.m('token_embd.weight');
    const output = this.get('output.weight') ?? embd;
    const freqFactors = this.get('rope_freqs.weight')?.w;
    const keys: Float64Array[][] = Array.from({ length: hp.nLayer }, () => []);
    const values: Float64Array[][] = Array.from({ length: hp.nLayer }, () => []);
    const result: Float64Array[] = [];

    tokens.forEach((token, pos) => {
      let x = Float64Array.from(embd.w.subarray(token * d, (token + 1) * d));
      for (let l = 0; l < hp.nLayer; l++) {
        const p = `blk.${l}.`;
        const h = rmsnorm(x, this.m(p + 'attn_norm.weight').w, hp.rmsEps);
        const q = matvec(this.m(p + 'attn_q.weight'), h, this.get(p + 'attn_q.bias')?.w);
        const k = matvec(this.m(p + 'attn_k.weight'), h, this.get(p + 'attn_k.bias')?.w);
        const v = matvec(this.m(p + 'attn_v.weight'), h, this.get(p + 'attn_v.bias')?.w);
        rope(q, nH, hd, hp.nRot, pos, hp.ropeBase, hp.ropeNeox, freqFactors);
        rope(k, nKv, hd, hp.nRot, pos, hp.ropeBase, hp.ropeNeox, freqFactors);
        keys[l].push(k);
        values[l].push(v);
        const att = new Float64Array(nH * hd);
        for (let head = 0; head < nH; head++) {
          const kv = Math.floor(head / group) * hd;
          const scores = keys[l].map((kk) => dot(q, head * hd, kk, kv, hd) / Math.sqrt(hd));
          const max = Math.max(...scores);
          const e = scores.map((s) => Math.exp(s - max));
          const sum = e.reduce((a, b) => a + b, 0);
          for (let t = 0; t <= pos; t++)
            for (let i = 0; i < hd; i++) att[head * hd + i] += (e[t] / sum) * values[l][t][kv + i];
        }
        x = add(x, matvec(this.m(p + 'attn_output.weight'), att));
        const h2 = rmsnorm(x, this.m(p + 'ffn_norm.weight').w, hp.rmsEps);
        const gate = matvec(this.m(p + 'ffn_gate.weight'), h2);
        const up = matvec(this.m(p + 'ffn_up.weight'), h2);
        for (let i = 0; i < gate.length; i++) gate[i] = (gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
        x = add(x, matvec(this.m(p + 'ffn_down.weight'), gate));
      }
      result.push(matvec(output, rmsnorm(x, this.m('output_norm.weight').w, hp.rmsEps)));
    });
    return result;
  }
}

function matvec(m: Matrix, x: Float64Array, bias?: Float32Array): Float64Array {
  const out = new Float64Array(m.rows);
  for (let r = 0; r < m.rows; r++) {
    let s = bias ? bias[r] : 0;
    const base = r * m.cols;
    for (let c = 0; c < m.cols; c++) s += m.w[base + c] * x[c];
    out[r] = s;
  }
  return out;
}

function rmsnorm(x: Float64Array, w: Float32Array, eps: number): Float64Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const scale = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * scale * w[i]);
}

function add(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((v, i) => v + b[i]);
}

function dot(a: Float64Array, ao: number, b: Float64Array, bo: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[ao + i] * b[bo + i];
  return s;
}

function rope(x: Float64Array, heads: number, hd: number, nRot: number, pos: number, base: number, neox: boolean, factors?: Float32Array): void {
  const half = nRot / 2;
  for (let i = 0; i < half; i++) {
    let theta = pos * Math.pow(base, (-2 * i) / nRot);
    if (factors) theta /= factors[i];
    const c = Math.cos(theta), s = Math.sin(theta);
    for (let h = 0; h < heads; h++) {
      const i0 = h * hd + (neox ? i : 2 * i);
      const i1 = h * hd + (neox ? i + half : 2 * i + 1);
      const x0 = x[i0], x1 = x[i1];
      x[i0] = x0 * c - x1 * s;
      x[i1] = x0 * s + x1 * c;
    }
  }
}
