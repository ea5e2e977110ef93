// A model ready to use from TypeScript: the native model, its metadata, and its tokenizer.
import { loadModel as loadNativeModel, type HParams, type NativeModel, type NativeModelInfo } from './native.js';
import { createTokenizer, type Tokenizer } from './tokenizer/index.js';
import { vocabFromGgufMetadata } from './tokenizer/vocab.js';

export class LoadedModel {
  private constructor(
    readonly path: string,
    readonly native: NativeModel,
    readonly info: NativeModelInfo,
    readonly tokenizer: Tokenizer,
  ) {}

  /** Loads a GGUF file (memory-mapped). Rejects with a message naming the file and the problem. */
  static async load(file: string, options: { vocabOnly?: boolean } = {}): Promise<LoadedModel> {
    const native = await loadNativeModel(file, options);
    const info = native.info();
    const tokenizer = createTokenizer(vocabFromGgufMetadata(info.metadata));
    return new LoadedModel(file, native, info, tokenizer);
  }

  get hparams(): HParams {
    if (!this.info.hparams) throw new Error(`${this.path} was loaded vocab-only`);
    return this.info.hparams;
  }

  get chatTemplate(): string | undefined {
    const t = this.info.metadata['tokenizer.chat_template'];
    return typeof t === 'string' ? t : undefined;
  }

  get name(): string {
    const n = this.info.metadata['general.name'];
    return typeof n === 'string' ? n : this.path;
  }

  dispose(): void {
    this.native.dispose();
  }
}
