// Every server setting, in one zod schema. Sources, strongest first: command-line flags,
// OMNI_* environment variables, a config file (JSON or YAML, --config / OMNI_CONFIG), defaults.
// This is the only file that reads process.env.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

export class ConfigError extends Error {}

const modelSpec = z.object({
  /** The id clients use in `model`; defaults to the file name without `.gguf`. */
  name: z.string().min(1).optional(),
  /** A GGUF path or `hf:owner/repo/file.gguf`. */
  path: z.string().min(1),
  pooling: z.enum(['mean', 'cls', 'last']).optional(),
  chatTemplateFile: z.string().min(1).optional(),
}).strict();
export type ModelSpec = z.infer<typeof modelSpec>;

export const DEFAULT_MODEL = 'hf:bartowski/SmolLM2-135M-Instruct-GGUF/SmolLM2-135M-Instruct-Q8_0.gguf';

const configSchema = z.object({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  models: z.array(modelSpec).default([]),
  threads: z.number().int().min(1).max(1024).default(() => os.availableParallelism()),
  contextSize: z.number().int().min(16).max(1 << 20).default(4096),
  apiKeys: z.array(z.string().min(1)).default([]),
  corsOrigins: z.array(z.string().min(1)).default([]),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  dataDir: z.string().min(1).default(() => path.join(os.homedir(), '.omni')),
  chatTemplateFile: z.string().min(1).optional(),
  pooling: z.enum(['mean', 'cls', 'last']).default('mean'),
  maxQueue: z.number().int().min(1).default(256),
  kvTokens: z.number().int().min(16).optional(),
  kvMemoryBytes: z.number().int().min(1 << 16).optional(),
  stepTokens: z.number().int().min(1).max(65536).default(256),
  maxSequences: z.number().int().min(1).max(4096).default(64),
  prefixCache: z.boolean().default(true),
  requestTimeoutSeconds: z.number().min(0).default(0),
  keyPriorities: z.record(z.string().min(1), z.number().int()).default({}),
  bodyLimitBytes: z.number().int().min(1024).default(8 * 1024 * 1024),
  drainTimeoutSeconds: z.number().min(0).default(30),
  hfEndpoint: z.string().url().default('https://huggingface.co'),
  hfToken: z.string().min(1).optional(),
}).strict();
export type Config = z.infer<typeof configSchema>;
type Key = keyof Config;

type Kind = 'string' | 'number' | 'boolean' | 'bytes' | 'list' | 'models' | 'priorities';
interface Setting {
  key: Key;
  flag: string;
  env: string;
  kind: Kind;
  help: string;
  default: string;
}

/** The settings table: flags, environment variables and the README's documentation come from it. */
export const SETTINGS: readonly Setting[] = [
  { key: 'host', flag: 'host', env: 'OMNI_HOST', kind: 'string', help: 'address to listen on', default: '127.0.0.1' },
  { key: 'port', flag: 'port', env: 'OMNI_PORT', kind: 'number', help: 'port to listen on (0: any free port)', default: '8080' },
  {
    key: 'models', flag: 'model', env: 'OMNI_MODELS', kind: 'models',
    help: '`[name=]PATH_OR_HF_REF`, repeatable (env: comma-separated); `hf:owner/repo/file.gguf` is downloaded once',
    default: 'SmolLM2-135M-Instruct Q8_0 from Hugging Face',
  },
  { key: 'threads', flag: 'threads', env: 'OMNI_THREADS', kind: 'number', help: 'compute threads; with one per CPU the process may use (the default), each is pinned to its own CPU and the event loop keeps to the last one while it generates', default: 'one per core' },
  { key: 'contextSize', flag: 'ctx-size', env: 'OMNI_CTX_SIZE', kind: 'number', help: 'tokens per sequence (prompt + completion), at most the model\'s training context', default: '4096' },
  { key: 'apiKeys', flag: 'api-key', env: 'OMNI_API_KEYS', kind: 'list', help: 'require `Authorization: Bearer KEY` or `X-Api-Key: KEY`; repeatable', default: 'none (no auth)' },
  { key: 'corsOrigins', flag: 'cors-origin', env: 'OMNI_CORS_ORIGINS', kind: 'list', help: 'allowed browser origins (`*` for any); repeatable', default: 'none' },
  { key: 'logLevel', flag: 'log-level', env: 'OMNI_LOG_LEVEL', kind: 'string', help: 'fatal, error, warn, info, debug, trace or silent', default: 'info' },
  { key: 'dataDir', flag: 'data-dir', env: 'OMNI_DATA_DIR', kind: 'string', help: 'where downloaded models (and later, agent data) live', default: '~/.omni' },
  { key: 'chatTemplateFile', flag: 'chat-template-file', env: 'OMNI_CHAT_TEMPLATE_FILE', kind: 'string', help: 'a Jinja chat template used instead of the model\'s', default: 'the model\'s own, else ChatML' },
  { key: 'pooling', flag: 'pooling', env: 'OMNI_POOLING', kind: 'string', help: 'embedding pooling: mean, cls or last', default: 'mean' },
  { key: 'maxQueue', flag: 'max-queue', env: 'OMNI_MAX_QUEUE', kind: 'number', help: 'requests waiting beyond this get 429', default: '256' },
  { key: 'kvTokens', flag: 'kv-tokens', env: 'OMNI_KV_TOKENS', kind: 'number', help: 'KV cache capacity in tokens, shared by all sequences of a model', default: 'twice --ctx-size' },
  { key: 'kvMemoryBytes', flag: 'kv-memory', env: 'OMNI_KV_MEMORY', kind: 'bytes', help: 'KV cache capacity as memory per model (`512MiB`, `2GB`); wins over --kv-tokens', default: 'from --kv-tokens' },
  { key: 'stepTokens', flag: 'step-tokens', env: 'OMNI_STEP_TOKENS', kind: 'number', help: 'most tokens per engine step: prompts are fed in chunks so running streams keep flowing', default: '256' },
  { key: 'maxSequences', flag: 'max-seqs', env: 'OMNI_MAX_SEQS', kind: 'number', help: 'most sequences generating at once per model (continuous batching)', default: '64' },
  { key: 'prefixCache', flag: 'prefix-cache', env: 'OMNI_PREFIX_CACHE', kind: 'boolean', help: 'reuse the KV cache of shared prompt prefixes (`true` or `false`)', default: 'true' },
  { key: 'requestTimeoutSeconds', flag: 'request-timeout', env: 'OMNI_REQUEST_TIMEOUT', kind: 'number', help: 'fail a generation not finished after this many seconds (0: never); a request\'s `timeout` field may ask for less', default: '0' },
  { key: 'keyPriorities', flag: 'key-priority', env: 'OMNI_KEY_PRIORITIES', kind: 'priorities', help: '`KEY=N`: default priority of an API key\'s requests (lower runs sooner); repeatable', default: 'all 0' },
  { key: 'bodyLimitBytes', flag: 'body-limit', env: 'OMNI_BODY_LIMIT', kind: 'number', help: 'largest request body in bytes (413 beyond)', default: '8388608' },
  { key: 'drainTimeoutSeconds', flag: 'drain-timeout', env: 'OMNI_DRAIN_TIMEOUT', kind: 'number', help: 'on SIGTERM, seconds to let running generations finish', default: '30' },
  { key: 'hfEndpoint', flag: 'hf-endpoint', env: 'OMNI_HF_ENDPOINT', kind: 'string', help: 'Hugging Face hub address for `hf:` models', default: 'https://huggingface.co' },
  { key: 'hfToken', flag: 'hf-token', env: 'HF_TOKEN', kind: 'string', help: 'token for gated Hugging Face repos', default: 'none' },
];

/** `[name=]ref` → a model spec. A Windows-style or relative path with '=' is rare; `name=` must be a simple id. */
export function parseModelFlag(value: string): ModelSpec {
  const m = /^([A-Za-z0-9][\w.:-]*)=(.+)$/.exec(value);
  return m ? { name: m[1], path: m[2] } : { path: value };
}

function convert(setting: Setting, raw: string | string[]): unknown {
  const values = Array.isArray(raw) ? raw : [raw];
  switch (setting.kind) {
    case 'string':
      return values[values.length - 1];
    case 'number': {
      const text = values[values.length - 1];
      const n = Number(text);
      if (text.trim() === '' || !/^[-+]?(\d+\.?\d*|\.\d+)$/.test(text.trim()) || !Number.isFinite(n)) {
        throw new ConfigError(`--${setting.flag} (${setting.env}) must be a number, got '${text}'`);
      }
      return n;
    }
    case 'boolean': {
      const text = values[values.length - 1].trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(text)) return true;
      if (['false', '0', 'no', 'off'].includes(text)) return false;
      throw new ConfigError(`--${setting.flag} (${setting.env}) must be true or false, got '${values[values.length - 1]}'`);
    }
    case 'bytes':
      return parseBytes(setting, values[values.length - 1]);
    case 'list':
      return splitList(values);
    case 'priorities':
      return Object.fromEntries(splitList(values).map((v) => parsePriority(setting, v)));
    case 'models':
      return values
        .flatMap((v) => (Array.isArray(raw) ? [v] : v.split(',')))
        .map((v) => v.trim())
        .filter(Boolean)
        .map(parseModelFlag);
  }
}

function splitList(values: string[]): string[] {
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
}

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3 };

/** `512MiB`, `2GB`, `1048576` → bytes. */
function parseBytes(setting: Setting, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? BYTE_UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new ConfigError(`--${setting.flag} (${setting.env}) must be a size like 512MiB or 2GB, got '${text}'`);
  return Math.floor(Number(m[1]) * unit);
}

function parsePriority(setting: Setting, text: string): [string, number] {
  const at = text.lastIndexOf('=');
  const priority = Number(text.slice(at + 1));
  if (at <= 0 || !Number.isInteger(priority)) throw new ConfigError(`--${setting.flag} (${setting.env}) takes KEY=N with a whole number N, got '${text}'`);
  return [text.slice(0, at), priority];
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`config file ${file} must hold an object of settings`);
  const out = { ...(parsed as Record<string, unknown>) };
  // Models may be written as plain strings in a file, like the flag.
  if (Array.isArray(out.models)) out.models = out.models.map((m) => (typeof m === 'string' ? parseModelFlag(m) : m));
  return out;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const key = issue.path[0] as Key | undefined;
      const setting = SETTINGS.find((s) => s.key === key);
      const where = setting ? `--${setting.flag} (${setting.env})` : issue.path.join('.') || 'config';
      return `${where}${issue.path.length > 1 ? ` [${issue.path.slice(1).join('.')}]` : ''}: ${issue.message}`;
    })
    .join('\n');
}

/**
 * Builds the server's settings. Throws ConfigError with a message for people when a flag,
 * variable or file entry is wrong.
 */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): Config {
  const options: Record<string, { type: 'string'; multiple?: boolean }> = { config: { type: 'string' } };
  for (const s of SETTINGS) options[s.flag] = { type: 'string', multiple: s.kind === 'list' || s.kind === 'models' || s.kind === 'priorities' };
  options['context-size'] = { type: 'string' }; // an alias llama.cpp users type
  let flags: Record<string, string | string[] | undefined>;
  try {
    const parsed = parseArgs({ args: argv, options, allowPositionals: false, strict: true });
    flags = parsed.values as Record<string, string | string[] | undefined>;
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (flags['context-size'] !== undefined && flags['ctx-size'] === undefined) flags['ctx-size'] = flags['context-size'];

  const configFile = (flags.config as string | undefined) ?? env.OMNI_CONFIG;
  const merged: Record<string, unknown> = configFile ? readConfigFile(configFile) : {};
  for (const s of SETTINGS) {
    const fromEnv = env[s.env];
    if (fromEnv !== undefined && fromEnv !== '') merged[s.key] = convert(s, fromEnv);
    const fromFlag = flags[s.flag];
    if (fromFlag !== undefined) merged[s.key] = convert(s, fromFlag);
  }
  const result = configSchema.safeParse(merged);
  if (!result.success) throw new ConfigError(`invalid settings:\n${describeIssues(result.error)}`);
  const config = result.data;
  if (config.models.length === 0) config.models = [{ path: DEFAULT_MODEL }];
  if (config.dataDir.startsWith('~/')) config.dataDir = path.join(os.homedir(), config.dataDir.slice(2));
  return config;
}

/** The settings as a markdown table, for `omni serve --help` and the README. */
export function settingsTable(): string {
  const rows = SETTINGS.map((s) => `| \`--${s.flag}\` | \`${s.env}\` | ${s.default} | ${s.help} |`);
  return ['| flag | environment | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
