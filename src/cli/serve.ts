// `omni serve`: load the settings, start listening (health says 503 while models load), load the
// models, and on SIGTERM/SIGINT drain running generations before exiting.
import { ConfigError, loadConfig, settingsTable } from '../config.js';
import { Metrics } from '../observability/metrics.js';
import { buildApp } from '../server/app.js';
import { ServedModels } from '../server/served-models.js';
import { CliError } from './args.js';

export const SERVE_USAGE = `Usage: omni serve [options]

Settings (flags win over environment variables, which win over --config FILE, then defaults):

${settingsTable()}
| \`--config\` | \`OMNI_CONFIG\` | none | a JSON or YAML file with any of these settings (camelCase keys) |
`;

export async function runServeCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(SERVE_USAGE);
    return 0;
  }
  let config;
  try {
    config = loadConfig(argv);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
  const metrics = new Metrics();
  const models = new ServedModels(config, metrics);
  const app = await buildApp(config, models, metrics);
  await app.listen({ host: config.host, port: config.port });

  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    if (stopping) {
      app.log.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    app.log.info(`${signal}: no new requests; letting running generations finish (up to ${config.drainTimeoutSeconds}s)`);
    const closed = app.close();
    stopping = models.close(config.drainTimeoutSeconds * 1000).then(() => closed);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  try {
    await models.loadAll({ showProgress: process.stderr.isTTY === true });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`\nomni: could not load the model.\n${message}\n`);
    await app.close();
    await models.close(0);
    return 1;
  }
  app.log.info({ models: models.list().map((m) => ({ id: m.id, contextSize: m.contextSize, chatTemplate: m.template.source })) }, 'ready');
  await new Promise<void>((resolve) => app.server.once('close', resolve));
  await stopping;
  return 0;
}
