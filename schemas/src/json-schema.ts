import { z } from 'zod';
import { eventDefinitions } from './registry.js';

export type JsonSchema = Record<string, unknown>;

/**
 * The JSON Schema (draft 2020-12) of one event type, for producers in other languages. It states
 * the shape — types, formats, enums, required fields, sub-types chosen by a discriminator, no
 * unknown fields. Rules that compare with the clock or between fields cannot be stated in JSON
 * Schema; they are listed in `x-bluelight-contextual-rules` and enforced by the gateway.
 */
export function eventJsonSchema(type: string): JsonSchema {
  const definition = eventDefinitions.find((candidate) => candidate.type === type);
  if (!definition) throw new Error(`unknown event type ${type}`);
  const generated = z.toJSONSchema(definition.schema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'throw',
  }) as JsonSchema;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: `urn:bluelight:event:${type}:v1`,
    title: type,
    ...rest,
    'x-bluelight-family': definition.family,
    'x-bluelight-partition-key': `payload.${definition.keyField}`,
    'x-bluelight-contextual-rules': definition.contextualRules,
  };
}

/** Every event type's schema, keyed by file name (schemas/json/<type>.schema.json). */
export function allEventJsonSchemas(): Map<string, JsonSchema> {
  return new Map(
    eventDefinitions.map((definition) => [
      `${definition.type}.schema.json`,
      eventJsonSchema(definition.type),
    ]),
  );
}
