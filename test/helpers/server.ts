// A real Omni server listening on loopback for tests, with models loaded once per test process.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import OpenAI from 'openai';
import { loadConfig, type ModelSpec } from '../../src/config.js';
import { LoadedModel } from '../../src/engine/loaded-model.js';
import { Metrics } from '../../src/observability/metrics.js';
import { buildApp } from '../../src/server/app.js';
import { ServedModels } from '../../src/server/served-models.js';
import { generatedModel } from './test-models.js';
import { stories260K } from './paths.js';

const loaded = new Map<string, Promise<LoadedModel>>();
function loadOnce(file: string): Promise<LoadedModel> {
  if (!loaded.has(file)) loaded.set(file, LoadedModel.load(file));
  return loaded.get(file)!;
}

/** The two models the server tests use: stories260K (real weights) and a SmolLM2-shaped q8_0 with the real tokenizer and chat template. */
export async function testModelSpecs(): Promise<ModelSpec[]> {
  return [
    { name: 'stories', path: stories260K() },
    { name: 'smollm2', path: await generatedModel('smollm2-135m', 'q8_0') },
  ];
}

export interface TestServer {
  url: string;
  app: FastifyInstance;
  models: ServedModels;
  metrics: Metrics;
  client(apiKey?: string): OpenAI;
  close(): Promise<void>;
}

/** Starts a server; `flags` are `omni serve` flags (the models are given separately). */
export async function startServer(specs: ModelSpec[], flags: string[] = []): Promise<TestServer> {
  const config = loadConfig(['--port', '0', '--log-level', 'silent', '--threads', '2', ...flags], {});
  config.models = specs;
  const metrics = new Metrics();
  const models = new ServedModels(config, metrics);
  for (const spec of specs) models.add(spec, await loadOnce(spec.path));
  const app = await buildApp(config, models, metrics);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    url,
    app,
    models,
    metrics,
    client: (apiKey = 'none') => new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 }),
    close: async () => {
      await app.close();
      await models.close(0);
    },
  };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; json: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, json };
}

/** The engine's step counter for a model, as the scheduler reports it. */
export const engineSteps = (server: TestServer, model: string) => server.models.get(model)!.scheduler.stats().steps;
