// Where tests find things: the shared models folder and scratch files.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');

/** ../shared/models, or $OMNI_SHARED_DIR/models. */
export function sharedModelsDir(): string {
  return path.join(process.env.OMNI_SHARED_DIR ?? path.resolve(repoRoot, '..', 'shared'), 'models');
}

export const stories260K = () => path.join(sharedModelsDir(), 'tiny', 'stories260K.gguf');

/** A temporary folder removed when the process exits. */
export function tempDir(prefix = 'omni-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
