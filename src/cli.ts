#!/usr/bin/env node
// `omni <command>`: the one entry point for people and scripts.
import { runGenerateCommand } from './cli/generate.js';
import { runInspectCommand } from './cli/inspect.js';
import { runServeCommand } from './cli/serve.js';
import { runMakeModelCommand } from './make-model/command.js';
import { CliError } from './cli/args.js';

const USAGE = `Usage: omni <command> [options]

Commands:
  generate --model FILE --prompt TEXT [--max-tokens N] [--temperature T] [--top-p P]
           [--top-k K] [--min-p P] [--seed S] [--threads N]
                               stream a completion to stdout, then a one-line summary
  models inspect FILE          architecture, shapes, tensor types, tokenizer, chat template
  make-model --shape S --type T --out FILE [--seed N]
                               write a GGUF with random weights in a real model's shape
  serve [options]              the OpenAI-compatible server on 127.0.0.1:8080 (omni serve --help)
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'generate':
      return runGenerateCommand(rest);
    case 'models':
      if (rest[0] === 'inspect') return runInspectCommand(rest.slice(1));
      throw new CliError(`unknown models subcommand '${rest[0] ?? ''}' (try: omni models inspect FILE)`);
    case 'make-model':
      return runMakeModelCommand(rest);
    case 'serve':
      return runServeCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new CliError(`unknown command '${command}'\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`omni: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = err instanceof CliError ? 2 : 1;
  },
);
