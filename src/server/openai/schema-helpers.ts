// Small zod pieces the OpenAI request schemas share. Optional fields also accept null, as the
// OpenAI API does (SDKs send `null` for "not set").
import { z } from 'zod';

export const optional = <T extends z.ZodTypeAny>(schema: T) =>
  schema.nullish().transform((v) => v ?? undefined) as unknown as z.ZodOptional<T>;

export const tokenIds = z.array(z.number().int().min(0));
