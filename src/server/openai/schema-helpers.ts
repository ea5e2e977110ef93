// What the OpenAI request schemas share: optional fields that also accept null, as the OpenAI API
// does (SDKs send `null` for "not set"), and inputs given as text or token ids.
import { z } from 'zod';
import { invalidRequest } from '../errors.js';

export const optional = <T extends z.ZodTypeAny>(schema: T) =>
  schema.nullish().transform((v) => v ?? undefined) as unknown as z.ZodOptional<T>;

export const tokenIds = z.array(z.number().int().min(0));

export type TextOrTokens = string | string[] | number[] | number[][];

/** A prompt or input as a list of items, each with the `param` an error about it names. */
export function inputItems(input: TextOrTokens, name: string): { item: string | number[]; param: string }[] {
  const list: (string | number[])[] = typeof input === 'string' ? [input] : typeof input[0] === 'number' ? [input as number[]] : (input as (string | number[])[]);
  return list.map((item, i) => ({ item, param: list.length > 1 ? `${name}[${i}]` : name }));
}

/** Refuses token ids outside the vocabulary, naming `param`. */
export function checkTokenIds(ids: number[], vocabSize: number, param: string): number[] {
  const bad = ids.find((id) => id >= vocabSize);
  if (bad !== undefined) throw invalidRequest(`Token id ${bad} is outside this model's vocabulary (0 to ${vocabSize - 1}).`, param, 'invalid_value');
  return ids;
}
