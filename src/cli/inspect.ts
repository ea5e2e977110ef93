// `omni models inspect FILE`: what a GGUF holds, without running it.
import { LoadedModel } from '../engine/loaded-model.js';
import { CliError, parseFlags } from './args.js';

export async function runInspectCommand(argv: string[]): Promise<number> {
  const { positionals } = parseFlags(argv, {});
  if (positionals.length !== 1) throw new CliError('usage: omni models inspect FILE');
  const model = await LoadedModel.load(positionals[0]);
  try {
    process.stdout.write(describeModel(model));
  } finally {
    model.dispose();
  }
  return 0;
}

export function describeModel(model: LoadedModel): string {
  const { info, hparams: hp, tokenizer } = model;
  const meta = info.metadata;
  const lines: string[] = [];
  const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;
  lines.push(`file          ${info.path} (GGUF v${info.ggufVersion}, ${mib(info.fileSize)})`);
  lines.push(`name          ${model.name}`);
  lines.push(`architecture  ${hp.architecture}`);
  lines.push(`parameters    ${formatCount(countParams(info.tensors))}`);
  lines.push(
    `shape         ${hp.nLayer} layers, width ${hp.nEmbd}, ffn ${hp.nFf}, ${hp.nHead} heads / ${hp.nHeadKv} KV heads` +
      ` of ${hp.headDim}, vocab ${hp.nVocab}, trained context ${hp.nCtxTrain}`,
  );
  lines.push(
    `rope          base ${hp.ropeBase}, ${hp.nRot} dims, ${hp.ropeNeox ? 'neox' : 'normal'} pairs` +
      `${hp.ropeFreqFactors ? ', llama3 frequency factors' : ''}`,
  );
  lines.push(`output        ${hp.tiedOutput ? 'tied to the token embeddings' : 'separate output.weight'}`);
  const byType = new Map<string, { count: number; bytes: number }>();
  for (const t of info.tensors) {
    const e = byType.get(t.typeName) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += t.bytes;
    byType.set(t.typeName, e);
  }
  lines.push(
    `tensor types  ${[...byType].map(([name, e]) => `${name} x${e.count} (${mib(e.bytes)})`).join(', ')}`,
  );
  lines.push(
    `tokenizer     ${String(meta['tokenizer.ggml.model'])}` +
      `${meta['tokenizer.ggml.pre'] ? ` (pre: ${String(meta['tokenizer.ggml.pre'])})` : ''}, ${tokenizer.vocabSize} tokens` +
      `; bos ${tokenName(model, tokenizer.bosId)}, eos ${tokenName(model, tokenizer.eosId)}`,
  );
  const template = model.chatTemplate;
  lines.push(`chat template ${template ? `${template.length} characters:\n${indent(template)}` : 'none'}`);
  return lines.join('\n') + '\n';
}

function countParams(tensors: { dims: number[] }[]): number {
  return tensors.reduce((sum, t) => sum + t.dims.reduce((a, b) => a * b, 1), 0);
}

function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  return `${(n / 1e3).toFixed(1)} K`;
}

function tokenName(model: LoadedModel, id: number | undefined): string {
  if (id === undefined || id < 0) return 'none';
  return `${JSON.stringify(model.tokenizer.tokenText(id))} (${id})`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
