// Validates values against the component schemas of openapi.yaml, the HTTP contract.
// Tests call assertMatchesSchema('ChatCompletion', body) on what the server really sent.
import { AssertionError } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { repoRoot } from './paths.js';

export const openapiPath = path.join(repoRoot, 'openapi.yaml');

/** The `$id` the whole document is registered under, so `#/components/schemas/X` refs resolve inside it. */
const DOCUMENT_ID = 'https://omni.invalid/openapi.yaml';

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, unknown>; [section: string]: unknown };
  [key: string]: unknown;
}

let cached: { doc: OpenApiDocument; ajv: Ajv2020; validators: Map<string, ValidateFunction> } | undefined;

/** openapi.yaml, parsed (read once per process). */
export function openapiDocument(): OpenApiDocument {
  return state().doc;
}

/** The names under `components/schemas`. */
export function schemaNames(): string[] {
  return Object.keys(state().doc.components.schemas);
}

/** Throws an AssertionError listing every Ajv error when `value` does not match `components/schemas/<schemaName>`. */
export function assertMatchesSchema(schemaName: string, value: unknown): void {
  const validate = validator(schemaName);
  if (validate(value)) return;
  const errors = (validate.errors ?? []).map(formatError).join('\n  ');
  throw new AssertionError({
    message: `value does not match #/components/schemas/${schemaName}:\n  ${errors}\nvalue: ${preview(value)}`,
    actual: value,
    expected: schemaName,
    operator: 'matchesSchema',
  });
}

function state() {
  if (!cached) {
    const doc = parse(readFileSync(openapiPath, 'utf8')) as OpenApiDocument;
    // OpenAPI 3.1 schemas are JSON Schema 2020-12. OpenAPI's own keywords (discriminator, example, ...)
    // are unknown to Ajv; strict: false lets them through. Formats are documentation here.
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    // Only the schemas go in (not paths etc.), kept at the same JSON pointer so the document's
    // own refs (#/components/schemas/X) resolve unchanged.
    ajv.addSchema({ $id: DOCUMENT_ID, components: { schemas: doc.components.schemas } });
    cached = { doc, ajv, validators: new Map() };
  }
  return cached;
}

function validator(schemaName: string): ValidateFunction {
  const { doc, ajv, validators } = state();
  let validate = validators.get(schemaName);
  if (!validate) {
    if (!Object.hasOwn(doc.components.schemas, schemaName)) {
      throw new Error(`openapi.yaml has no schema named ${JSON.stringify(schemaName)}; it has: ${schemaNames().join(', ')}`);
    }
    validate = ajv.compile({ $ref: `${DOCUMENT_ID}#/components/schemas/${encodeURIComponent(schemaName)}` });
    validators.set(schemaName, validate);
  }
  return validate;
}

function formatError(e: ErrorObject): string {
  const where = e.instancePath === '' ? '(root)' : e.instancePath;
  const params = Object.keys(e.params).length > 0 ? ` ${JSON.stringify(e.params)}` : '';
  return `${where} ${e.message ?? e.keyword}${params} [${e.schemaPath}]`;
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 2000 ? `${text.slice(0, 2000)}… (${text.length} chars)` : text;
}
