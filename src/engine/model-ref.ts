// What a user names as "the model": a local .gguf path, or a file in a Hugging Face repository
// (`hf:owner/repo/path/to/file.gguf#revision`) that the downloader fetches into a cache.

export interface FileRef {
  kind: 'file';
  path: string;
}

export interface HfRef {
  kind: 'hf';
  owner: string;
  repo: string;
  /** Path inside the repository; may contain slashes. */
  file: string;
  /** Branch, tag or commit; `main` unless the reference ends in `#revision`. */
  revision: string;
}

export type ModelRef = FileRef | HfRef;

export const HF_REF_SYNTAX = 'hf:OWNER/REPO/PATH/TO/FILE.gguf[#REVISION]';

export class ModelRefError extends Error {
  constructor(ref: string, problem: string) {
    super(`Invalid model reference "${ref}": ${problem}. Expected ${HF_REF_SYNTAX} (for example hf:unsloth/Qwen3-0.6B-GGUF/Qwen3-0.6B-Q4_K_M.gguf) or a path to a local .gguf file.`);
    this.name = 'ModelRefError';
  }
}

// Owner and repo names on the hub are letters, digits, '-', '_' and '.'.
const NAME = /^[A-Za-z0-9_.-]+$/;

/** These parts become folders in the download cache, so none may climb out of it. */
function badSegment(segment: string): boolean {
  return segment === '' || segment === '.' || segment === '..' || segment.includes('\\');
}

export function parseModelRef(ref: string): ModelRef {
  if (!ref.startsWith('hf:')) return { kind: 'file', path: ref };
  let body = ref.slice('hf:'.length);
  let revision = 'main';
  const hash = body.indexOf('#');
  if (hash >= 0) {
    revision = body.slice(hash + 1);
    body = body.slice(0, hash);
    if (revision.split('/').some(badSegment)) throw new ModelRefError(ref, 'the revision after "#" is empty or malformed');
  }
  const [owner = '', repo = '', ...fileParts] = body.split('/');
  if (!NAME.test(owner) || owner === '.' || owner === '..') throw new ModelRefError(ref, 'the owner is missing or malformed');
  if (!NAME.test(repo) || repo === '.' || repo === '..') throw new ModelRefError(ref, 'the repository name is missing or malformed');
  if (fileParts.length === 0 || fileParts.some(badSegment)) throw new ModelRefError(ref, 'the file path inside the repository is missing or malformed');
  const file = fileParts.join('/');
  if (!file.toLowerCase().endsWith('.gguf')) throw new ModelRefError(ref, `"${file}" is not a .gguf file`);
  return { kind: 'hf', owner, repo, file, revision };
}

export function describeModelRef(ref: ModelRef): string {
  if (ref.kind === 'file') return ref.path;
  return `${ref.owner}/${ref.repo}/${ref.file} (Hugging Face, revision ${ref.revision})`;
}
