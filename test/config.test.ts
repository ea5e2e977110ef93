import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, DEFAULT_MODEL, loadConfig, parseModelFlag, SETTINGS, settingsTable } from '../src/config.js';
import { tempDir } from './helpers/paths.js';

const dir = tempDir('omni-config-test-');
let fileCount = 0;
/** Writes `text` to a fresh temporary file with extension `ext` and returns its path. */
function configFile(ext: 'yaml' | 'yml' | 'json', text: string): string {
  const file = path.join(dir, `config-${fileCount++}.${ext}`);
  writeFileSync(file, text);
  return file;
}

/** Runs loadConfig and returns the ConfigError it must throw. */
function configError(argv: string[], env: NodeJS.ProcessEnv = {}): ConfigError {
  let caught: unknown;
  try {
    loadConfig(argv, env);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  return caught;
}

describe('loadConfig defaults', () => {
  it('listens on 127.0.0.1:8080 and serves the default model when nothing is given', () => {
    const c = loadConfig([], {});
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 8080);
    assert.deepEqual(c.models, [{ path: DEFAULT_MODEL }]);
    assert.equal(c.contextSize, 4096);
    assert.deepEqual(c.apiKeys, []);
    assert.deepEqual(c.corsOrigins, []);
    assert.equal(c.logLevel, 'info');
    assert.equal(c.pooling, 'mean');
    assert.equal(c.maxQueue, 256);
    assert.equal(c.bodyLimitBytes, 8 * 1024 * 1024);
    assert.equal(c.drainTimeoutSeconds, 30);
    assert.equal(c.hfEndpoint, 'https://huggingface.co');
    assert.equal(c.hfToken, undefined);
    assert.equal(c.chatTemplateFile, undefined);
    assert.equal(c.threads, os.availableParallelism());
  });

  it('the default model is a Hugging Face reference', () => {
    assert.match(DEFAULT_MODEL, /^hf:[^/]+\/[^/]+\/.+\.gguf$/);
  });

  it('keeps data under the home folder by default', () => {
    const c = loadConfig([], {});
    assert.equal(c.dataDir, path.join(os.homedir(), '.omni'));
  });

  it('expands a leading ~/ in the data folder, from a flag or the environment', () => {
    assert.equal(loadConfig(['--data-dir', '~/models/omni'], {}).dataDir, path.join(os.homedir(), 'models', 'omni'));
    assert.equal(loadConfig([], { OMNI_DATA_DIR: '~/elsewhere' }).dataDir, path.join(os.homedir(), 'elsewhere'));
  });

  it('leaves an absolute data folder and a ~ not followed by / alone', () => {
    assert.equal(loadConfig(['--data-dir', '/srv/omni'], {}).dataDir, '/srv/omni');
    assert.equal(loadConfig(['--data-dir', '~user/omni'], {}).dataDir, '~user/omni');
  });

  it('does not read process.env when an env object is passed', () => {
    const saved = process.env.OMNI_PORT;
    process.env.OMNI_PORT = '1234';
    try {
      assert.equal(loadConfig([], {}).port, 8080);
    } finally {
      if (saved === undefined) delete process.env.OMNI_PORT;
      else process.env.OMNI_PORT = saved;
    }
  });
});

describe('loadConfig precedence: flags > environment > config file > defaults', () => {
  const yamlFile = () => configFile('yaml', 'port: 7001\napiKeys:\n  - file-key\nmodels:\n  - /file.gguf\n');

  it('a scalar (port) from each source', () => {
    const file = yamlFile();
    assert.equal(loadConfig(['--config', file], {}).port, 7001);
    assert.equal(loadConfig(['--config', file], { OMNI_PORT: '7002' }).port, 7002);
    assert.equal(loadConfig(['--config', file, '--port', '7003'], { OMNI_PORT: '7002' }).port, 7003);
    assert.equal(loadConfig(['--port', '7003'], { OMNI_PORT: '7002' }).port, 7003);
    assert.equal(loadConfig([], { OMNI_PORT: '7002' }).port, 7002);
  });

  it('port 0 (any free port) is allowed', () => {
    assert.equal(loadConfig(['--port', '0'], {}).port, 0);
  });

  it('an empty environment variable counts as unset', () => {
    const file = yamlFile();
    assert.equal(loadConfig(['--config', file], { OMNI_PORT: '' }).port, 7001);
    assert.equal(loadConfig([], { OMNI_HOST: '' }).host, '127.0.0.1');
  });

  it('a list (api keys): a stronger source replaces the weaker one, it does not merge', () => {
    const file = yamlFile();
    assert.deepEqual(loadConfig(['--config', file], {}).apiKeys, ['file-key']);
    assert.deepEqual(loadConfig(['--config', file], { OMNI_API_KEYS: 'e1, e2,,' }).apiKeys, ['e1', 'e2']);
    assert.deepEqual(
      loadConfig(['--config', file, '--api-key', 'f1', '--api-key', 'f2'], { OMNI_API_KEYS: 'e1,e2' }).apiKeys,
      ['f1', 'f2'],
    );
  });

  it('a repeated list flag may also hold comma-separated values', () => {
    assert.deepEqual(loadConfig(['--cors-origin', 'http://a,http://b', '--cors-origin', 'http://c'], {}).corsOrigins, [
      'http://a',
      'http://b',
      'http://c',
    ]);
  });

  it('models from flags: repeatable, with an optional name=', () => {
    const c = loadConfig(['--model', 'a=/x.gguf', '--model', '/y.gguf'], {});
    assert.deepEqual(c.models, [{ name: 'a', path: '/x.gguf' }, { path: '/y.gguf' }]);
  });

  it('models from OMNI_MODELS: comma-separated, trimmed', () => {
    const c = loadConfig([], { OMNI_MODELS: 'a=/x.gguf, /y.gguf' });
    assert.deepEqual(c.models, [{ name: 'a', path: '/x.gguf' }, { path: '/y.gguf' }]);
  });

  it('a model flag is not split at commas (only the environment variable is)', () => {
    const c = loadConfig(['--model', '/dir,with,commas/m.gguf'], {});
    assert.deepEqual(c.models, [{ path: '/dir,with,commas/m.gguf' }]);
  });

  it('models from a YAML file, as strings and as objects with pooling', () => {
    const file = configFile(
      'yaml',
      ['models:', '  - a=/x.gguf', '  - /y.gguf', '  - name: emb', '    path: /z.gguf', '    pooling: cls'].join('\n'),
    );
    const c = loadConfig(['--config', file], {});
    assert.deepEqual(c.models, [
      { name: 'a', path: '/x.gguf' },
      { path: '/y.gguf' },
      { name: 'emb', path: '/z.gguf', pooling: 'cls' },
    ]);
  });

  it('models: flags beat the environment, which beats the file', () => {
    const file = yamlFile();
    assert.deepEqual(loadConfig(['--config', file], {}).models, [{ path: '/file.gguf' }]);
    assert.deepEqual(loadConfig(['--config', file], { OMNI_MODELS: '/env.gguf' }).models, [{ path: '/env.gguf' }]);
    assert.deepEqual(loadConfig(['--config', file, '--model', 'f=/flag.gguf'], { OMNI_MODELS: '/env.gguf' }).models, [
      { name: 'f', path: '/flag.gguf' },
    ]);
  });

  it('an empty models list in the file falls back to the default model', () => {
    const file = configFile('yaml', 'models: []\n');
    assert.deepEqual(loadConfig(['--config', file], {}).models, [{ path: DEFAULT_MODEL }]);
  });

  it('reads a JSON config file, including model objects', () => {
    const file = configFile(
      'json',
      JSON.stringify({
        host: '0.0.0.0',
        port: 9100,
        apiKeys: ['j1'],
        logLevel: 'debug',
        models: ['b=/b.gguf', { path: '/e.gguf', pooling: 'last' }],
      }),
    );
    const c = loadConfig(['--config', file], {});
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.port, 9100);
    assert.deepEqual(c.apiKeys, ['j1']);
    assert.equal(c.logLevel, 'debug');
    assert.deepEqual(c.models, [{ name: 'b', path: '/b.gguf' }, { path: '/e.gguf', pooling: 'last' }]);
    // A setting the file does not name keeps its default.
    assert.equal(c.contextSize, 4096);
  });

  it('finds the config file through OMNI_CONFIG, and --config beats it', () => {
    const a = configFile('yaml', 'port: 7101\n');
    const b = configFile('yaml', 'port: 7102\n');
    assert.equal(loadConfig([], { OMNI_CONFIG: a }).port, 7101);
    assert.equal(loadConfig(['--config', b], { OMNI_CONFIG: a }).port, 7102);
  });

  it('an empty YAML file means no settings', () => {
    const file = configFile('yaml', '');
    const c = loadConfig(['--config', file], {});
    assert.equal(c.port, 8080);
    assert.deepEqual(c.models, [{ path: DEFAULT_MODEL }]);
  });

  it('--context-size is an alias of --ctx-size, and --ctx-size wins when both are given', () => {
    assert.equal(loadConfig(['--context-size', '2048'], {}).contextSize, 2048);
    assert.equal(loadConfig(['--ctx-size', '1024'], {}).contextSize, 1024);
    assert.equal(loadConfig(['--context-size', '2048', '--ctx-size', '1024'], {}).contextSize, 1024);
    assert.equal(loadConfig(['--ctx-size', '1024', '--context-size', '2048'], {}).contextSize, 1024);
    assert.equal(loadConfig(['--context-size', '2048'], { OMNI_CTX_SIZE: '512' }).contextSize, 2048);
  });

  it('reads HF_TOKEN into hfToken, and --hf-token beats it', () => {
    assert.equal(loadConfig([], { HF_TOKEN: 'hf_abc' }).hfToken, 'hf_abc');
    assert.equal(loadConfig(['--hf-token', 'hf_flag'], { HF_TOKEN: 'hf_abc' }).hfToken, 'hf_flag');
  });

  it('a repeated scalar flag keeps its last value', () => {
    assert.equal(loadConfig(['--port', '1', '--port', '2'], {}).port, 2);
  });

  it('converts numeric environment variables and enums', () => {
    const c = loadConfig([], {
      OMNI_THREADS: '3',
      OMNI_MAX_QUEUE: '7',
      OMNI_DRAIN_TIMEOUT: '2.5',
      OMNI_LOG_LEVEL: 'warn',
      OMNI_POOLING: 'last',
    });
    assert.equal(c.threads, 3);
    assert.equal(c.maxQueue, 7);
    assert.equal(c.drainTimeoutSeconds, 2.5);
    assert.equal(c.logLevel, 'warn');
    assert.equal(c.pooling, 'last');
  });
});

describe('loadConfig errors', () => {
  it('a non-numeric port names the flag and the value', () => {
    const err = configError(['--port', 'eighty']);
    assert.match(err.message, /--port/);
    assert.match(err.message, /eighty/);
    const fromEnv = configError([], { OMNI_PORT: 'eighty' });
    assert.match(fromEnv.message, /--port/);
  });

  it('a blank number is an error, not 0', () => {
    const err = configError(['--port', '  ']);
    assert.match(err.message, /--port/);
  });

  it('a non-numeric port from OMNI_PORT names the environment variable', () => {
    const err = configError([], { OMNI_PORT: 'eighty' });
    assert.match(err.message, /OMNI_PORT/);
  });

  it('port 70000 is out of range, and the message names --port and OMNI_PORT', () => {
    const err = configError(['--port', '70000']);
    assert.match(err.message, /--port/);
    assert.match(err.message, /OMNI_PORT/);
  });

  it('a fractional port is rejected', () => {
    assert.match(configError(['--port', '80.5']).message, /--port \(OMNI_PORT\)/);
  });

  it('an unknown flag is rejected and named', () => {
    const err = configError(['--no-such-flag', 'x']);
    assert.match(err.message, /--no-such-flag/);
  });

  it('a positional argument is rejected', () => {
    configError(['serve-this']);
  });

  it('an unknown key in the config file is rejected (the schema is strict)', () => {
    const file = configFile('yaml', 'port: 8081\nprot: 8082\n');
    const err = configError(['--config', file]);
    assert.match(err.message, /prot/);
  });

  it('an unknown key inside a model object is rejected', () => {
    const file = configFile('yaml', 'models:\n  - path: /m.gguf\n    colour: red\n');
    const err = configError(['--config', file]);
    assert.match(err.message, /colour/);
    assert.match(err.message, /--model \(OMNI_MODELS\)/);
  });

  it('a bad pooling inside a model object names the model entry', () => {
    const file = configFile('yaml', 'models:\n  - /ok.gguf\n  - path: /m.gguf\n    pooling: max\n');
    const err = configError(['--config', file]);
    assert.match(err.message, /--model \(OMNI_MODELS\)/);
    assert.match(err.message, /\[1\.pooling\]/);
  });

  it('invalid YAML names the file', () => {
    const file = configFile('yaml', 'port: [8080\n');
    const err = configError(['--config', file]);
    assert.match(err.message, /YAML/);
    assert.ok(err.message.includes(file));
  });

  it('invalid JSON names the file', () => {
    const file = configFile('json', '{"port": 8080,');
    const err = configError(['--config', file]);
    assert.match(err.message, /JSON/);
    assert.ok(err.message.includes(file));
  });

  it('a config file that is not an object is rejected', () => {
    const file = configFile('yaml', '- port\n- 8080\n');
    assert.match(configError(['--config', file]).message, /object/);
    const scalar = configFile('json', '42');
    assert.match(configError(['--config', scalar]).message, /object/);
  });

  it('a wrongly typed value in the file names the setting', () => {
    const file = configFile('yaml', 'port: "8080"\n');
    assert.match(configError(['--config', file]).message, /--port \(OMNI_PORT\)/);
  });

  it('an unreadable config file names the file', () => {
    const missing = path.join(dir, 'does-not-exist.yaml');
    const err = configError(['--config', missing]);
    assert.match(err.message, /cannot read config file/);
    assert.ok(err.message.includes(missing));
    // A folder cannot be read as a file either.
    assert.match(configError(['--config', dir]).message, /cannot read config file/);
  });

  it('a bad --log-level names the flag and OMNI_LOG_LEVEL', () => {
    const err = configError(['--log-level', 'loud']);
    assert.match(err.message, /--log-level \(OMNI_LOG_LEVEL\)/);
  });

  it('a bad --pooling names the flag and OMNI_POOLING', () => {
    const err = configError(['--pooling', 'max']);
    assert.match(err.message, /--pooling \(OMNI_POOLING\)/);
    assert.match(configError([], { OMNI_POOLING: 'max' }).message, /--pooling \(OMNI_POOLING\)/);
  });

  it('a context size below the minimum is rejected under its flag and variable', () => {
    assert.match(configError(['--context-size', '8']).message, /--ctx-size \(OMNI_CTX_SIZE\)/);
  });

  it('an hf endpoint that is not a URL is rejected', () => {
    assert.match(configError(['--hf-endpoint', 'not a url']).message, /--hf-endpoint \(OMNI_HF_ENDPOINT\)/);
  });

  it('reports every bad setting at once', () => {
    const err = configError(['--port', '70000', '--log-level', 'loud']);
    assert.match(err.message, /--port/);
    assert.match(err.message, /--log-level/);
  });
});

describe('parseModelFlag', () => {
  it('splits name=path', () => {
    assert.deepEqual(parseModelFlag('small=/models/s.gguf'), { name: 'small', path: '/models/s.gguf' });
    assert.deepEqual(parseModelFlag('qwen2.5:7b=hf:o/r/f.gguf'), { name: 'qwen2.5:7b', path: 'hf:o/r/f.gguf' });
  });

  it('a plain path or hf reference has no name', () => {
    assert.deepEqual(parseModelFlag('/models/s.gguf'), { path: '/models/s.gguf' });
    assert.deepEqual(parseModelFlag('hf:owner/repo/file.gguf'), { path: 'hf:owner/repo/file.gguf' });
  });

  it('an = inside a path is not taken for a name', () => {
    assert.deepEqual(parseModelFlag('/models/a=b.gguf'), { path: '/models/a=b.gguf' });
    assert.deepEqual(parseModelFlag('models/a=b.gguf'), { path: 'models/a=b.gguf' });
    assert.deepEqual(parseModelFlag('=x.gguf'), { path: '=x.gguf' });
  });

  it('only the first = separates the name', () => {
    assert.deepEqual(parseModelFlag('a=b=c.gguf'), { name: 'a', path: 'b=c.gguf' });
  });
});

describe('settingsTable', () => {
  const lines = settingsTable().split('\n');

  it('has a header, a separator and one row per setting, in order', () => {
    assert.equal(lines.length, SETTINGS.length + 2);
    assert.match(lines[0], /^\| flag \| environment \| default \| meaning \|$/);
    assert.match(lines[1], /^\|(---\|)+$/);
    SETTINGS.forEach((s, i) => {
      const row = lines[i + 2];
      assert.ok(row.startsWith(`| \`--${s.flag}\` | \`${s.env}\` |`), row);
      assert.ok(row.includes(s.help), row);
    });
  });

  it('every setting has a distinct flag and environment variable', () => {
    assert.equal(new Set(SETTINGS.map((s) => s.flag)).size, SETTINGS.length);
    assert.equal(new Set(SETTINGS.map((s) => s.env)).size, SETTINGS.length);
    assert.equal(new Set(SETTINGS.map((s) => s.key)).size, SETTINGS.length);
  });

  it('every setting is accepted as a flag', () => {
    // Each SETTINGS entry must map to a real flag: an unknown flag would throw, so any outcome
    // other than an "Unknown option" error proves the flag exists.
    for (const s of SETTINGS) {
      try {
        loadConfig([`--${s.flag}`, 'x'], {});
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        assert.doesNotMatch(err.message, /Unknown option/, s.flag);
      }
    }
  });
});

describe('scheduler settings', () => {
  it('defaults: 256 tokens a step, 64 sequences, prefix cache on, no timeout, KV from the context size', () => {
    const c = loadConfig([], {});
    assert.equal(c.stepTokens, 256);
    assert.equal(c.maxSequences, 64);
    assert.equal(c.prefixCache, true);
    assert.equal(c.requestTimeoutSeconds, 0);
    assert.equal(c.kvTokens, undefined);
    assert.equal(c.kvMemoryBytes, undefined);
    assert.deepEqual(c.keyPriorities, {});
  });

  it('reads sizes, booleans and key priorities from flags, env and files', () => {
    const c = loadConfig(['--kv-memory', '512MiB', '--prefix-cache', 'off', '--key-priority', 'gold=-5', '--key-priority', 'a=b=3'], {
      OMNI_MAX_SEQS: '8',
    });
    assert.equal(c.kvMemoryBytes, 512 * 1024 * 1024);
    assert.equal(c.prefixCache, false);
    assert.deepEqual(c.keyPriorities, { gold: -5, 'a=b': 3 });
    assert.equal(c.maxSequences, 8);
    assert.equal(loadConfig(['--kv-memory', '2GB'], {}).kvMemoryBytes, 2e9);
    assert.equal(loadConfig([], { OMNI_KEY_PRIORITIES: 'x=1,y=2' }).keyPriorities.y, 2);
    const file = configFile('yaml', 'keyPriorities:\n  gold: -1\nstepTokens: 64\n');
    const fromFile = loadConfig(['--config', file], {});
    assert.deepEqual(fromFile.keyPriorities, { gold: -1 });
    assert.equal(fromFile.stepTokens, 64);
  });

  it('refuses malformed values with the flag named', () => {
    assert.match(configError(['--kv-memory', 'lots']).message, /--kv-memory .*512MiB/);
    assert.match(configError(['--prefix-cache', 'maybe']).message, /--prefix-cache .*true or false/);
    assert.match(configError(['--key-priority', 'gold']).message, /--key-priority .*KEY=N/);
    assert.match(configError(['--key-priority', 'gold=high']).message, /--key-priority/);
    assert.match(configError(['--max-seqs', '0']).message, /--max-seqs/);
  });
});
