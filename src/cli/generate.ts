// `omni generate`: stream a completion of a prompt to stdout, then a one-line summary.
import { createContext } from '../engine/native.js';
import { generate, type GenerationStats } from '../engine/generate.js';
import { LoadedModel } from '../engine/loaded-model.js';
import { numberFlag, parseFlags, requiredFlag } from './args.js';

export async function runGenerateCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    model: { type: 'string', short: 'm' },
    prompt: { type: 'string', short: 'p' },
    'max-tokens': { type: 'string', short: 'n' },
    temperature: { type: 'string' },
    'top-p': { type: 'string' },
    'top-k': { type: 'string' },
    'min-p': { type: 'string' },
    seed: { type: 'string' },
    threads: { type: 'string', short: 't' },
  });
  const modelPath = requiredFlag(values.model, 'model');
  const prompt = requiredFlag(values.prompt, 'prompt');
  const maxTokens = numberFlag(values['max-tokens'], 'max-tokens', { integer: true, min: 1 }) ?? 128;
  const threads = numberFlag(values.threads, 'threads', { integer: true, min: 1, max: 512 });

  const model = await LoadedModel.load(modelPath);
  const promptTokens = model.tokenizer.tokenize(prompt, { addSpecial: true, parseSpecial: false });
  const contextSize = promptTokens.length + maxTokens;
  const ctx = createContext(model.native, { threads, kvTokens: contextSize });
  const stats = {} as GenerationStats;
  try {
    const tokens = generate(model, ctx, promptTokens, {
      maxTokens,
      sampling: {
        temperature: numberFlag(values.temperature, 'temperature', { min: 0 }) ?? 0.8,
        topP: numberFlag(values['top-p'], 'top-p', { min: 0, max: 1 }) ?? 0.95,
        topK: numberFlag(values['top-k'], 'top-k', { integer: true, min: 0 }) ?? 40,
        minP: numberFlag(values['min-p'], 'min-p', { min: 0, max: 1 }) ?? 0.05,
        seed: numberFlag(values.seed, 'seed', { integer: true, min: 0 }),
      },
    }, stats);
    process.stdout.write(prompt);
    for await (const { text } of tokens) process.stdout.write(text);
  } finally {
    ctx.dispose();
    model.dispose();
  }
  const promptTps = stats.promptTokens / (stats.promptMs / 1000);
  const genTps = stats.generatedTokens > 1 ? (stats.generatedTokens - 1) / (stats.generateMs / 1000) : 0;
  process.stdout.write(
    `\n\n[${stats.promptTokens} prompt tokens, ${stats.generatedTokens} generated (${stats.finishReason}); ` +
      `prompt ${promptTps.toFixed(1)} tok/s, generation ${genTps.toFixed(1)} tok/s]\n`,
  );
  return 0;
}
