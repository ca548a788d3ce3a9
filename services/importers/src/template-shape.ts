import { z } from 'zod';
import { operatorOf } from './expressions.js';
import type { PathPart } from './mapping-schema.js';

/**
 * Checks a template's nested objects against the contract when the mapping is loaded, so a
 * misspelt field (`staton_ground`) or an expression without its operator (`{ colum: X }`) is a
 * mapping error naming its YAML path, not a rejected row on every line of the file.
 */

type Shape = Record<string, z.ZodType>;

/** The object shapes a value may take here (through optional and union wrappers). */
function objectShapes(schema: z.ZodType): Shape[] {
  if (schema instanceof z.ZodOptional) return objectShapes(schema.unwrap() as z.ZodType);
  if (schema instanceof z.ZodObject) return [schema.shape as Shape];
  if (schema instanceof z.ZodUnion) {
    return (schema.options as z.ZodType[]).flatMap((option) => objectShapes(option));
  }
  return [];
}

export function checkTemplateShape(
  node: unknown,
  schema: z.ZodType,
  path: readonly PathPart[],
  problem: (path: readonly PathPart[], message: string) => void,
): void {
  const shapes = objectShapes(schema);
  if (typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean') {
    if (shapes.length > 0) {
      problem(path, 'is an object in the contract: give its fields, or an expression');
    }
    return;
  }
  // Empty values and lists are reported when the template is compiled.
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return;
  const record = node as Record<string, unknown>;
  const operator = operatorOf(record);
  if (operator === 'cases') {
    const cases = Array.isArray(record.cases) ? record.cases : [];
    cases.forEach((entry, index) => {
      const then = (entry as { then?: unknown } | null)?.then;
      checkTemplateShape(then, schema, [...path, 'cases', index, 'then'], problem);
    });
    if (record.default !== undefined) {
      checkTemplateShape(record.default, schema, [...path, 'default'], problem);
    }
    return;
  }
  if (operator === 'first_of') {
    const choices = Array.isArray(record.first_of) ? record.first_of : [];
    choices.forEach((choice, index) => {
      checkTemplateShape(choice, schema, [...path, 'first_of', index], problem);
    });
    return;
  }
  // Other expressions produce their value at run time; validateEvent checks it then.
  if (operator !== undefined) return;
  if (shapes.length === 0) {
    problem(
      path,
      'is a single value in the contract, not an object: use a constant or an expression ({ column }, { lookup }, { timestamp }, { time }, { cases }, { ref }, { first_of })',
    );
    return;
  }
  const known = [...new Set(shapes.flatMap((shape) => Object.keys(shape)))];
  for (const [key, child] of Object.entries(record)) {
    const candidates = shapes.flatMap((shape) => (shape[key] ? [shape[key]] : []));
    const [only, ...more] = candidates;
    if (!only) {
      problem([...path, key], `is not a field here (the contract has: ${known.join(', ')})`);
      continue;
    }
    checkTemplateShape(
      child,
      more.length === 0 ? only : z.union([only, ...more]),
      [...path, key],
      problem,
    );
  }
}
