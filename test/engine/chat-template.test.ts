// Chat templates: the model's Jinja template, the override file, the ChatML fallback, and the
// prompt tokens they turn into (special tokens parsed, never two BOS).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ChatTemplate, ChatTemplateError, chatPromptTokens } from '../../src/engine/chat-template.js';
import { LoadedModel } from '../../src/engine/loaded-model.js';
import { createTokenizer } from '../../src/engine/tokenizer/index.js';
import { sharedModelsDir, stories260K, tempDir } from '../helpers/paths.js';
import { smollm2TokenizerDir, smollm2Vocab } from '../helpers/smollm2-vocab.js';

const vocabFile = (name: string) => path.join(sharedModelsDir(), 'vocab', `ggml-vocab-${name}.gguf`);
const count = (ids: number[], id: number | undefined) => ids.filter((x) => x === id).length;

// Modelled on Meta Llama 3's template: BOS text first, then header/eot framed turns.
const LLAMA3 =
  "{% set loop_messages = messages %}{% for message in loop_messages %}" +
  "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' %}" +
  '{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}' +
  "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

// Modelled on Mistral Instruct's template, which rejects conversations that don't alternate.
const MISTRAL =
  '{{ bos_token }}{% for message in messages %}' +
  "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}" +
  "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}" +
  "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}" +
  "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";

const CHATML_HI = '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n';

describe('chat template: SmolLM2 (real template)', () => {
  const modelTemplate = readFileSync(path.join(smollm2TokenizerDir(), 'chat_template.jinja'), 'utf8');
  const template = ChatTemplate.create({ modelTemplate, bosToken: '<|im_start|>', eosToken: '<|im_end|>' });

  it('renders a system + user conversation as ChatML', () => {
    assert.equal(template.source, 'model');
    const text = template.render([
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Hi' },
    ]);
    assert.equal(text, '<|im_start|>system\nYou are terse.<|im_end|>\n' + CHATML_HI);
  });

  it("adds the template's default system prompt when there is none", () => {
    assert.equal(
      template.render([{ role: 'user', content: 'Hi' }]),
      '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' + CHATML_HI,
    );
  });

  it('leaves out the assistant header without addGenerationPrompt', () => {
    const text = template.render([{ role: 'system', content: 'S' }, { role: 'user', content: 'Hi' }], { addGenerationPrompt: false });
    assert.equal(text, '<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n');
  });

  it('tokenizes control tokens as single ids and adds no BOS the vocabulary does not ask for', () => {
    const tokenizer = createTokenizer(smollm2Vocab());
    assert.equal(tokenizer.addBos, false);
    const ids = chatPromptTokens(tokenizer, template.render([{ role: 'user', content: 'Hi' }]));
    assert.equal(ids[0], 1); // <|im_start|>
    assert.equal(count(ids, 1), 3);
    assert.equal(count(ids, 2), 2); // <|im_end|>
  });
});

describe('chat template: BOS in the template and in the vocabulary', () => {
  let deepseek: LoadedModel;
  let phi3: LoadedModel;
  before(async () => {
    deepseek = await LoadedModel.load(vocabFile('deepseek-llm'), { vocabOnly: true });
    phi3 = await LoadedModel.load(vocabFile('phi-3'), { vocabOnly: true });
  });
  after(() => {
    deepseek.dispose();
    phi3.dispose();
  });

  it('renders a llama-3-style template with bos_token first', () => {
    const template = ChatTemplate.create({ modelTemplate: LLAMA3, bosToken: '<|begin_of_text|>' });
    const text = template.render([
      { role: 'system', content: 'Be brief. ' },
      { role: 'user', content: ' Hi' },
    ]);
    assert.equal(
      text,
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>' +
        '<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\n',
    );
  });

  it('does not add a second BOS when the rendered text starts with it (BPE vocab with add_bos)', () => {
    const tokenizer = deepseek.tokenizer;
    assert.equal(tokenizer.addBos, true);
    const bos = tokenizer.bosId!;
    const template = ChatTemplate.create({ modelTemplate: LLAMA3, bosToken: tokenizer.tokenText(bos) });
    const rendered = template.render([{ role: 'user', content: 'Hi' }]);
    // Plain tokenization with addSpecial would double it; chatPromptTokens must not.
    assert.equal(count(tokenizer.tokenize(rendered, { addSpecial: true, parseSpecial: true }), bos), 2);
    const ids = chatPromptTokens(tokenizer, rendered);
    assert.equal(ids[0], bos);
    assert.equal(count(ids, bos), 1);
    assert.deepEqual(ids, tokenizer.tokenize(rendered, { parseSpecial: true }));
  });

  it('adds BOS when the vocabulary asks for it and the template has none', () => {
    const tokenizer = deepseek.tokenizer;
    const rendered = ChatTemplate.create({}).render([{ role: 'user', content: 'Hi' }]);
    const ids = chatPromptTokens(tokenizer, rendered);
    assert.equal(ids[0], tokenizer.bosId);
    assert.equal(count(ids, tokenizer.bosId), 1);
    assert.deepEqual(ids.slice(1), tokenizer.tokenize(rendered, { parseSpecial: true }));
  });

  it("uses Phi-3's own template from its GGUF, with one BOS (SPM vocab)", () => {
    const tokenizer = phi3.tokenizer;
    const template = ChatTemplate.create({
      modelTemplate: phi3.chatTemplate,
      bosToken: tokenizer.tokenText(tokenizer.bosId!),
      eosToken: tokenizer.tokenText(tokenizer.eosId!),
    });
    assert.equal(template.source, 'model');
    const rendered = template.render([{ role: 'user', content: 'Hi' }]);
    assert.equal(rendered, '<s><|user|>\nHi<|end|>\n<|assistant|>\n');
    const ids = chatPromptTokens(tokenizer, rendered);
    assert.equal(ids[0], tokenizer.bosId);
    assert.equal(count(ids, tokenizer.bosId), 1);
  });
});

describe('chat template: raise_exception and broken templates', () => {
  const template = ChatTemplate.create({ modelTemplate: MISTRAL, bosToken: '<s>', eosToken: '</s>' });

  it('renders a conversation that alternates', () => {
    const text = template.render([
      { role: 'user', content: 'a' },
      { role: 'assistant', content: 'b' },
      { role: 'user', content: 'c' },
    ]);
    assert.equal(text, '<s>[INST] a [/INST]b</s>[INST] c [/INST]');
  });

  it("throws ChatTemplateError with the template's message for one that does not", () => {
    assert.throws(
      () => template.render([{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }]),
      (err: unknown) => err instanceof ChatTemplateError && err.message === 'Conversation roles must alternate user/assistant/user/assistant/...',
    );
    assert.throws(() => template.render([{ role: 'system', content: 'a' }]), ChatTemplateError);
  });

  it('throws ChatTemplateError at create() for a template that does not parse', () => {
    assert.throws(
      () => ChatTemplate.create({ modelTemplate: '{% for message in messages %}{{ message.content }}' }),
      (err: unknown) => err instanceof ChatTemplateError && err.message.includes("model's chat template"),
    );
  });

  it('wraps an error while rendering in ChatTemplateError', () => {
    const broken = ChatTemplate.create({ modelTemplate: '{{ messages[0].content | no_such_filter }}' });
    assert.throws(
      () => broken.render([{ role: 'user', content: 'Hi' }]),
      (err: unknown) => err instanceof ChatTemplateError && /model's chat template failed to render/.test(err.message),
    );
  });
});

describe('chat template: sources and context', () => {
  it('falls back to ChatML exactly', () => {
    const template = ChatTemplate.create({});
    assert.equal(template.source, 'chatml');
    const messages = [{ role: 'system', content: 'S' }, { role: 'user', content: 'Hi' }];
    assert.equal(template.render(messages), '<|im_start|>system\nS<|im_end|>\n' + CHATML_HI);
    assert.equal(template.render(messages, { addGenerationPrompt: false }), '<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n');
  });

  it('lets the override file win over the model template', () => {
    const file = path.join(tempDir(), 'template.jinja');
    writeFileSync(file, "{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}{% if add_generation_prompt %}>{% endif %}");
    const template = ChatTemplate.create({ modelTemplate: LLAMA3, overrideFile: file });
    assert.equal(template.source, 'file');
    assert.equal(template.render([{ role: 'user', content: 'Hi' }]), '[user:Hi]>');
  });

  it('names the file when the override cannot be read or parsed', () => {
    const dir = tempDir();
    const missing = path.join(dir, 'missing.jinja');
    assert.throws(() => ChatTemplate.create({ overrideFile: missing }), (err: unknown) => err instanceof ChatTemplateError && err.message.includes(missing));
    const broken = path.join(dir, 'broken.jinja');
    writeFileSync(broken, '{% if add_generation_prompt %}');
    assert.throws(() => ChatTemplate.create({ overrideFile: broken }), (err: unknown) => err instanceof ChatTemplateError && err.message.includes(broken));
  });

  it('passes name only when a message has one, and leaves tools undefined', () => {
    const template = ChatTemplate.create({
      modelTemplate: "{% for m in messages %}{{ m.name if m.name is defined else '-' }}{% endfor %}|{{ tools is defined }}",
    });
    assert.equal(template.render([{ role: 'user', content: 'a', name: 'ann' }, { role: 'user', content: 'b' }]), 'ann-|false');
  });

  it("declares Jinja's globals (range, true, none) alongside the context", () => {
    const template = ChatTemplate.create({
      modelTemplate: '{% for i in range(messages|length) %}{{ i }}{% endfor %}{% for i in range(5, 1, -2) %}{{ i }}{% endfor %}|{{ true }}|{{ none is none }}',
    });
    assert.equal(template.render([{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }]), '0153|true|true');
  });

  it('provides strftime_now like Python (local time, English month names)', (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: new Date(2024, 2, 5, 12).getTime() });
    const template = ChatTemplate.create({ modelTemplate: "{{ strftime_now('%d %b %Y|%m|%B|100%%') }}" });
    assert.equal(template.render([]), '05 Mar 2024|03|March|100%');
  });

  it('uses ChatML for stories260K, which has no chat template', async () => {
    const model = await LoadedModel.load(stories260K(), { vocabOnly: true });
    try {
      assert.equal(model.chatTemplate, undefined);
      assert.equal(ChatTemplate.create({ modelTemplate: model.chatTemplate }).source, 'chatml');
    } finally {
      model.dispose();
    }
  });
});
