import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { checkEarliestEventTime, type RuleContext } from './common.js';
import { eventJsonSchema, type JsonSchema } from './json-schema.js';
import { type BluelightEvent, eventDefinition, eventDefinitions } from './registry.js';

/**
 * The contract's verdict without zod, for the hot paths (gateway, sink): the shape is checked by
 * Ajv against the JSON Schema generated from the zod schemas, the rules JSON Schema cannot state
 * by the very functions the zod refinements call. It only ever says "valid, and here is the
 * event as zod would return it"; anything else is left to zod (validateEvent), whose refusal
 * carries the field paths and messages producers see.
 */

type Path = (string | number)[];
/** Copies a valid value the way zod's parse returns it. */
type Project = (value: unknown) => unknown;

interface CompiledType {
  validateShape: ValidateFunction;
  /** Every `format: date-time` field, i.e. every `instant` of the zod schema. */
  instantPaths: Path[];
  project: Project;
  checkContextualRules: (event: never, context: RuleContext) => void;
}

function ajvForTheContract(): Ajv2020 {
  const ajv = new Ajv2020({
    // Any schema construct Ajv is unsure of throws at compile time instead of being ignored.
    strict: true,
    // zod's regexes carry no `u` flag; compiled with one, a pattern could match differently.
    // (Lengths need no option: Ajv and zod both count code points, a lone surrogate as one.)
    unicodeRegExp: false,
    // The generated `pattern` of an instant is zod's own date-time regex, the whole rule.
    // ajv-formats' date-time is looser (lower-case t and z, a space, a leap second, +0100), so
    // running it as well would only cost time.
    validateFormats: false,
    // Unions are zod's discriminated unions: see withDiscriminators.
    discriminator: true,
  });
  // Bluelight's annotations on the generated schemas: documentation, not constraints.
  ajv.addVocabulary([
    'x-bluelight-family',
    'x-bluelight-partition-key',
    'x-bluelight-contextual-rules',
  ]);
  return ajv;
}

/** Paths of every `format: date-time` string, through objects and union branches. */
function instantPathsOf(schema: JsonSchema, prefix: Path = []): Path[] {
  const here = schema.format === 'date-time' ? [prefix] : [];
  const properties = Object.entries((schema.properties ?? {}) as Record<string, JsonSchema>);
  const branches = (schema.oneOf ?? []) as JsonSchema[];
  return [
    ...here,
    ...properties.flatMap(([name, property]) => instantPathsOf(property, [...prefix, name])),
    ...branches.flatMap((branch) => instantPathsOf(branch, prefix)),
  ];
}

/** Keywords a projector would have to understand to copy a value as zod does; none is generated today. */
const UNPROJECTABLE = [
  'default',
  'anyOf',
  'allOf',
  'not',
  'if',
  '$ref',
  '$defs',
  'items',
  'prefixItems',
  'patternProperties',
  'propertyNames',
  'dependentSchemas',
  'unevaluatedProperties',
];
const PRIMITIVE_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null']);
const identity: Project = (value) => value;

/**
 * How zod returns a valid value of this schema: primitives as they are; an object as a new object
 * with the schema's keys in the schema's order, each one the input has (an optional key given as
 * undefined included); a discriminated union as its chosen branch. The contract has no defaults
 * or transforms, so that is all zod's output differs by; anything else in a schema throws here,
 * when the type is compiled, rather than producing a different event.
 */
function projector(schema: JsonSchema, where: string): Project {
  const unknown = UNPROJECTABLE.filter((keyword) => keyword in schema);
  if (unknown.length > 0) {
    throw new Error(
      `${where}: ${unknown.join(', ')} in the JSON Schema: the fast path cannot copy it`,
    );
  }
  if (schema.oneOf !== undefined) return unionProjector(schema.oneOf as JsonSchema[], where);
  if (schema.type === 'object') {
    if (schema.additionalProperties !== false) {
      throw new Error(`${where}: an object that allows unknown keys: the fast path cannot copy it`);
    }
    const properties = Object.entries((schema.properties ?? {}) as Record<string, JsonSchema>);
    return objectProjector(
      properties.map(([name, property]) => [name, projector(property, `${where}.${name}`)]),
    );
  }
  if (typeof schema.type === 'string' && PRIMITIVE_TYPES.has(schema.type)) return identity;
  throw new Error(`${where}: a schema of no known type: the fast path cannot copy it`);
}

/**
 * Copies an object's fields in order. Generated code (as Ajv and zod's own object parser do):
 * one function per object schema, naming each key, runs several times faster than one loop over
 * every schema's keys. The keys come from the contract, written as JSON string literals.
 */
function objectProjector(fields: (readonly [string, Project])[]): Project {
  const copies = fields.map(([name, project], index) => {
    const key = JSON.stringify(name);
    const value = project === identity ? `input[${key}]` : `fields[${index}](input[${key}])`;
    return `if (${key} in input) output[${key}] = ${value};`;
  });
  const create = new Function(
    'fields',
    `return function project(input) {
      if (input === undefined) return input;
      const output = {};
      ${copies.join('\n')}
      return output;
    };`,
  ) as (projects: Project[]) => Project;
  return create(fields.map(([, project]) => project));
}

/** The values a union branch's discriminator property takes (its const or enum), if it has one. */
function discriminatorValues(branch: JsonSchema, name: string): unknown[] | undefined {
  const property = (branch.properties as Record<string, JsonSchema> | undefined)?.[name];
  if (property === undefined || !(branch.required as string[] | undefined)?.includes(name)) {
    return undefined;
  }
  if ('const' in property) return [property.const];
  return Array.isArray(property.enum) ? property.enum : undefined;
}

/** The property that tells a union's branches apart (zod's discriminatedUnion key), if any. */
function discriminatorOf(branches: JsonSchema[]): string | undefined {
  if (branches.length === 0) return undefined;
  const candidates = Object.keys((branches[0]?.properties ?? {}) as Record<string, unknown>);
  return candidates.find((name) =>
    branches.every((branch) => discriminatorValues(branch, name) !== undefined),
  );
}

/**
 * The schema with Ajv's `discriminator` keyword beside every union whose branches one property
 * tells apart: Ajv then checks only the branch the value names instead of trying each in turn.
 * The same verdict (the values are distinct, so at most one branch can match); the fuzz test
 * holds the fast path to zod's verdict either way.
 */
function withDiscriminators(schema: JsonSchema): JsonSchema {
  const copy: JsonSchema = {};
  for (const [keyword, value] of Object.entries(schema)) {
    if (keyword === 'properties') {
      copy.properties = Object.fromEntries(
        Object.entries(value as Record<string, JsonSchema>).map(([name, property]) => [
          name,
          withDiscriminators(property),
        ]),
      );
    } else if (keyword === 'oneOf') {
      copy.oneOf = (value as JsonSchema[]).map(withDiscriminators);
    } else {
      copy[keyword] = value;
    }
  }
  const branches = Array.isArray(schema.oneOf) ? (schema.oneOf as JsonSchema[]) : [];
  const propertyName = discriminatorOf(branches);
  // Ajv's keyword needs the union itself typed: every branch is an object, so the union is.
  if (propertyName !== undefined && branches.every((branch) => branch.type === 'object')) {
    copy.type = 'object';
    copy.discriminator = { propertyName };
  }
  return copy;
}

/** A union of objects told apart by one property's const or enum values (zod's discriminatedUnion). */
function unionProjector(branches: JsonSchema[], where: string): Project {
  const discriminator = discriminatorOf(branches);
  if (discriminator === undefined) {
    throw new Error(`${where}: a union without a discriminator: the fast path cannot copy it`);
  }
  const byValue = new Map<unknown, Project>();
  branches.forEach((branch, index) => {
    const project = projector(branch, `${where}[${index}]`);
    for (const value of discriminatorValues(branch, discriminator) ?? []) {
      if (byValue.has(value)) throw new Error(`${where}: ${String(value)} in two branches`);
      byValue.set(value, project);
    }
  });
  return (value) => {
    if (value === undefined) return value;
    const project = byValue.get((value as Record<string, unknown>)[discriminator]);
    // Ajv matched exactly one branch, so its discriminator value is known.
    if (project === undefined) throw new Error(`${where}: no branch for a valid value`);
    return project(value);
  };
}

let ajv: Ajv2020 | undefined;

function compile(type: string): CompiledType {
  const schema = eventJsonSchema(type);
  const definition = eventDefinition(type);
  if (!definition) throw new Error(`unknown event type ${type}`);
  ajv ??= ajvForTheContract();
  return {
    validateShape: ajv.compile(withDiscriminators(schema)),
    instantPaths: instantPathsOf(schema),
    project: projector(schema, type),
    checkContextualRules: definition.checkContextualRules as CompiledType['checkContextualRules'],
  };
}

/** Per event type: its validator, or why it could not be compiled (zod then does it all). */
const compiledTypes = new Map<string, CompiledType | Error>();

/**
 * Compiled on first use (each type takes some milliseconds; a service sees only some). A type
 * whose JSON Schema holds something the fast path cannot reproduce zod's output for is left to
 * zod; prepareFastValidation tells, and a test asks it of every type.
 */
function compiledType(type: string): CompiledType | Error | undefined {
  const known = compiledTypes.get(type);
  if (known !== undefined) return known;
  if (!eventDefinition(type)) return undefined;
  let compiled: CompiledType | Error;
  try {
    compiled = compile(type);
  } catch (error) {
    compiled = error instanceof Error ? error : new Error(String(error));
  }
  compiledTypes.set(type, compiled);
  return compiled;
}

/** Why the fast path cannot check this (known) event type, or undefined when it can. */
function fastPathCompileError(type: string): Error | undefined {
  const compiled = compiledType(type);
  return compiled instanceof Error ? compiled : undefined;
}

function valueAt(root: unknown, path: Path): unknown {
  let value = root;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

/**
 * Compiles the fast path for these event types now rather than on their first event (a service
 * calls it at start-up, so no request waits the milliseconds each type takes). Returns each type
 * the fast path cannot check, with why: those are left to zod, correct but slow.
 */
export function prepareFastValidation(
  types: readonly string[] = eventDefinitions.map((definition) => definition.type),
): { type: string; reason: string }[] {
  return types.flatMap((type) => {
    const error = fastPathCompileError(type);
    return error ? [{ type, reason: error.message }] : [];
  });
}

/**
 * Collects whether a rule found an issue. One instance for every call (validation is
 * synchronous): the fast path must not allocate per event what it can reuse.
 */
class IssueFlag implements RuleContext {
  found = false;
  addIssue(): void {
    this.found = true;
  }
}
const issueFlag = new IssueFlag();

/**
 * The event as validateEvent returns it when the fast path can vouch for it, else undefined
 * (then zod decides, and gives its reasons). Never throws.
 */
export function acceptWithoutZod(input: unknown, earliest: Date): BluelightEvent | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const type = (input as { event_type?: unknown }).event_type;
  if (typeof type !== 'string') return undefined;
  const compiled = compiledType(type);
  if (compiled === undefined || compiled instanceof Error) return undefined;
  try {
    if (!compiled.validateShape(input)) return undefined;
    // The rules read what zod's refinements would: the parsed copy.
    const event = compiled.project(input);
    issueFlag.found = false;
    for (const path of compiled.instantPaths) {
      const value = valueAt(event, path);
      if (typeof value === 'string') checkEarliestEventTime(value, earliest, path, issueFlag);
    }
    compiled.checkContextualRules(event as never, issueFlag);
    return issueFlag.found ? undefined : (event as BluelightEvent);
  } catch {
    // A rule or the copy failing on something Ajv let through: zod gives the verdict.
    return undefined;
  }
}
