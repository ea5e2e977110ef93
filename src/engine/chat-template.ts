// Chat messages → prompt text, through the model's own Jinja chat template (as transformers'
// apply_chat_template renders it), a user's override file, or a ChatML fallback.
import { readFileSync } from 'node:fs';
import { Environment, Interpreter, Template } from '@huggingface/jinja';
import type { Tokenizer } from './tokenizer/index.js';

export interface ChatMessage {
  role: string;
  content: string;
  name?: string;
}

/** The messages don't fit the template (it called raise_exception), or the template itself is broken. */
export class ChatTemplateError extends Error {
  override name = 'ChatTemplateError';
}

export type ChatTemplateSource = 'model' | 'file' | 'chatml';

export interface ChatTemplateOptions {
  /** The GGUF's tokenizer.chat_template. */
  modelTemplate?: string;
  /** A Jinja file that replaces the model's template (--chat-template-file). */
  overrideFile?: string;
  /** Token texts from the vocabulary, exposed to the template as bos_token / eos_token. */
  bosToken?: string;
  eosToken?: string;
}

export interface RenderOptions {
  /** End with the header that opens the assistant's turn. Default true. */
  addGenerationPrompt?: boolean;
}

const CHATML =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export class ChatTemplate {
  private constructor(
    readonly source: ChatTemplateSource,
    private readonly template: Template,
    private readonly origin: string,
    private readonly bosToken: string,
    private readonly eosToken: string,
  ) {}

  /** The override file wins over the model's template; with neither, ChatML. */
  static create(options: ChatTemplateOptions): ChatTemplate {
    let source: ChatTemplateSource;
    let text: string;
    let origin: string;
    if (options.overrideFile !== undefined) {
      source = 'file';
      origin = `chat template file ${options.overrideFile}`;
      try {
        text = readFileSync(options.overrideFile, 'utf8');
      } catch (err) {
        throw new ChatTemplateError(`cannot read ${origin}: ${errorMessage(err)}`);
      }
      if (text.trim() === '') throw new ChatTemplateError(`${origin} is empty`);
    } else if (options.modelTemplate !== undefined && options.modelTemplate.trim() !== '') {
      source = 'model';
      origin = "the model's chat template";
      text = options.modelTemplate;
    } else {
      source = 'chatml';
      origin = 'the ChatML fallback template';
      text = CHATML;
    }

    let template: Template;
    try {
      template = new Template(text);
    } catch (err) {
      throw new ChatTemplateError(`${origin} is not a valid Jinja template: ${errorMessage(err)}`);
    }
    return new ChatTemplate(source, template, origin, options.bosToken ?? '', options.eosToken ?? '');
  }

  render(messages: ChatMessage[], options: RenderOptions = {}): string {
    const context = {
      // Only the fields a message has: a template testing `message.name is defined` must see false.
      messages: messages.map(({ role, content, name }) => (name === undefined ? { role, content } : { role, content, name })),
      add_generation_prompt: options.addGenerationPrompt ?? true,
      bos_token: this.bosToken,
      eos_token: this.eosToken,
      tools: undefined,
      documents: undefined,
      raise_exception: (message: unknown): never => {
        throw new ChatTemplateError(String(message));
      },
      strftime_now: (format: unknown) => strftime(new Date(), String(format)),
    };
    try {
      // Template.render() would declare the library's own raise_exception first (throwing a plain
      // Error) and refuse ours, so the environment is built here: Jinja's globals, then the context.
      const env = new Environment();
      for (const [name, value] of Object.entries({ ...JINJA_GLOBALS, ...context })) env.set(name, value);
      return String(new Interpreter(env).run(this.template.parsed).value);
    } catch (err) {
      if (err instanceof ChatTemplateError) throw err;
      throw new ChatTemplateError(`${this.origin} failed to render: ${errorMessage(err)}`);
    }
  }
}

/**
 * Tokens for a rendered chat prompt: special tokens in the text are parsed; BOS is added only when
 * the vocabulary asks for it AND the rendered text does not already start with it (no double BOS,
 * as llama.cpp checks). EOS is never appended: the prompt ends where the assistant's turn begins.
 */
export function chatPromptTokens(tokenizer: Tokenizer, rendered: string): number[] {
  const ids = tokenizer.tokenize(rendered, { addSpecial: false, parseSpecial: true });
  // Comparing ids rather than text: a template's bos_token parses to exactly the BOS id.
  if (tokenizer.addBos && tokenizer.bosId !== undefined && ids[0] !== tokenizer.bosId) ids.unshift(tokenizer.bosId);
  return ids;
}

// What @huggingface/jinja's Template.render() declares before the caller's variables.
const JINJA_GLOBALS = { true: true, false: false, none: null, True: true, False: false, None: null, range };

function range(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new Error('range() step must not be zero');
  const out: number[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
  return out;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

// The subset of Python's strftime that chat templates use (llama-3: "%d %b %Y"). Local time, English names.
function strftime(date: Date, format: string): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const month = MONTHS[date.getMonth()]!;
  return format.replace(/%[dbYmB%]/g, (spec) => {
    switch (spec) {
      case '%d': return pad(date.getDate());
      case '%b': return month.slice(0, 3);
      case '%B': return month;
      case '%Y': return String(date.getFullYear());
      case '%m': return pad(date.getMonth() + 1);
      default: return '%';
    }
  });
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
