// The models this server serves: each is resolved (downloaded when it is an `hf:` reference),
// loaded, and given its chat template and scheduler. /health is ready once all are.
import path from 'node:path';
import type { Config, ModelSpec } from '../config.js';
import { ChatTemplate } from '../engine/chat-template.js';
import { downloadModel, terminalProgress } from '../engine/download.js';
import type { Pooling } from '../engine/embeddings.js';
import { LoadedModel } from '../engine/loaded-model.js';
import { parseModelRef } from '../engine/model-ref.js';
import type { Metrics } from '../observability/metrics.js';
import { Scheduler } from '../scheduler/scheduler.js';
import type { SchedulingPolicy } from './openai/scheduling.js';

export interface ServedModel {
  id: string;
  model: LoadedModel;
  template: ChatTemplate;
  scheduler: Scheduler;
  pooling: Pooling;
  contextSize: number;
  /** Unix seconds when it became ready. */
  created: number;
}

/** The KV cache's capacity in tokens: from --kv-memory when given, else --kv-tokens, else two contexts. */
export function kvTokens(config: Config, model: LoadedModel, contextSize: number): number {
  if (config.kvMemoryBytes !== undefined) {
    const h = model.hparams;
    const bytesPerToken = h.nLayer * 2 * h.nHeadKv * h.headDim * 2; // keys and values, float16
    return Math.floor(config.kvMemoryBytes / bytesPerToken);
  }
  return config.kvTokens ?? 2 * contextSize;
}

export function modelId(spec: ModelSpec): string {
  if (spec.name) return spec.name;
  const base = path.basename(spec.path.startsWith('hf:') ? spec.path.slice(3) : spec.path);
  return base.replace(/\.gguf$/i, '');
}

export class ServedModels {
  private readonly ready = new Map<string, ServedModel>();
  /** Models this object loaded itself, and so frees on close. */
  private readonly owned = new Set<LoadedModel>();
  private loading = 0;

  /** How requests are given an owner, a priority and a timeout. */
  readonly policy: SchedulingPolicy;

  constructor(
    private readonly config: Config,
    private readonly metrics?: Metrics,
  ) {
    this.policy = { keyPriorities: config.keyPriorities, requestTimeoutSeconds: config.requestTimeoutSeconds };
    if (metrics) metrics.engineStats = () => [...this.ready.values()].map((m) => m.scheduler.stats());
  }

  get isReady(): boolean {
    return this.loading === 0 && this.ready.size > 0;
  }

  get(id: string): ServedModel | undefined {
    return this.ready.get(id);
  }

  list(): ServedModel[] {
    return [...this.ready.values()];
  }

  /** Resolves and loads every configured model; rejects with the first failure. */
  async loadAll(options: { showProgress?: boolean } = {}): Promise<void> {
    this.loading = this.config.models.length;
    for (const spec of this.config.models) {
      await this.load(spec, options.showProgress ?? false);
      this.loading--;
    }
  }

  /** Adds an already loaded model (tests and benchmarks share one across servers). */
  add(spec: ModelSpec, model: LoadedModel): ServedModel {
    const id = modelId(spec);
    if (this.ready.has(id)) throw new Error(`two models are named '${id}': give one a name with --model NAME=PATH`);
    const contextSize = Math.min(this.config.contextSize, model.hparams.nCtxTrain || this.config.contextSize);
    const vocab = model.tokenizer;
    const template = ChatTemplate.create({
      modelTemplate: model.chatTemplate,
      overrideFile: spec.chatTemplateFile ?? this.config.chatTemplateFile,
      bosToken: vocab.bosId === undefined ? '' : vocab.tokenText(vocab.bosId),
      eosToken: vocab.eosId === undefined ? '' : vocab.tokenText(vocab.eosId),
    });
    const scheduler = new Scheduler({
      modelId: id,
      model,
      contextSize,
      threads: this.config.threads,
      maxQueue: this.config.maxQueue,
      kvTokens: kvTokens(this.config, model, contextSize),
      stepTokens: this.config.stepTokens,
      maxSequences: this.config.maxSequences,
      prefixCache: this.config.prefixCache,
      metrics: this.metrics,
    });
    const served: ServedModel = {
      id, model, template, scheduler, contextSize,
      pooling: spec.pooling ?? this.config.pooling,
      created: Math.floor(Date.now() / 1000),
    };
    this.ready.set(id, served);
    return served;
  }

  private async load(spec: ModelSpec, showProgress: boolean): Promise<void> {
    const ref = parseModelRef(spec.path);
    const file = ref.kind === 'file'
      ? ref.path
      : await downloadModel(ref, {
          cacheDir: path.join(this.config.dataDir, 'models'),
          endpoint: this.config.hfEndpoint,
          token: this.config.hfToken,
          progress: showProgress ? terminalProgress(`${ref.owner}/${ref.repo}/${ref.file}`) : undefined,
        });
    const model = await LoadedModel.load(file);
    this.owned.add(model);
    this.add(spec, model);
  }

  /** Lets running work finish (up to the timeout), then frees every model. */
  async close(drainMs: number): Promise<void> {
    await Promise.all(this.list().map((m) => m.scheduler.close(drainMs)));
    for (const m of this.list()) {
      m.scheduler.dispose();
      if (this.owned.delete(m.model)) m.model.dispose();
    }
    this.ready.clear();
  }
}
