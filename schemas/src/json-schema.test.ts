import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { invalidExamples, validExamples } from './examples.js';
import { eventsDocFile, generatedFiles, jsonDir } from './generate.js';
import type { JsonSchema } from './json-schema.js';
import { eventDefinitions } from './registry.js';

// ajv-formats is CommonJS: under NodeNext its default import is `module.exports`, the plugin is `.default`.
const addFormats = ajvFormats.default;

/** An independent validator reading only the committed JSON Schema files, as a Java or Python producer would. */
function committedSchemaValidator() {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  // Keyed by string: the event_type read from an unknown event is any string.
  const validators = new Map<string, ValidateFunction>(
    eventDefinitions.map((definition) => {
      const file = `${jsonDir}/${definition.type}.schema.json`;
      return [definition.type, ajv.compile(JSON.parse(readFileSync(file, 'utf8')))];
    }),
  );
  return (event: unknown) => {
    const type = (event as { event_type?: unknown })?.event_type;
    const validate = typeof type === 'string' ? validators.get(type) : undefined;
    if (!validate) return { ok: false, paths: ['event_type'] };
    const ok = validate(event) as boolean;
    return {
      ok,
      paths: (validate.errors ?? []).map((error) =>
        [error.instancePath.replace(/^\//, '').replaceAll('/', '.'), error.params.missingProperty]
          .filter(Boolean)
          .join('.'),
      ),
    };
  };
}

/** Dotted paths of properties without a description, through nested objects and union variants. */
function undescribedProperties(schema: JsonSchema, prefix = ''): string[] {
  const variants = [
    ...((schema.oneOf as JsonSchema[] | undefined) ?? []),
    ...((schema.anyOf as JsonSchema[] | undefined) ?? []),
  ];
  const properties = Object.entries((schema.properties ?? {}) as Record<string, JsonSchema>);
  return [
    ...variants.flatMap((variant) => undescribedProperties(variant, prefix)),
    ...properties.flatMap(([name, property]) => {
      const here = `${prefix}${name}`;
      const described =
        typeof property.description === 'string' && property.description.trim() !== '';
      return [...(described ? [] : [here]), ...undescribedProperties(property, `${here}.`)];
    }),
  ];
}

/** Cells of a markdown table row, split on unescaped pipes. */
const cells = (row: string) =>
  row
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());

describe('generated JSON Schema and docs', () => {
  it('are up to date with the zod source (run `npm run generate -w @bluelight/schemas`)', () => {
    const files = generatedFiles();
    for (const [file, content] of files) {
      expect(readFileSync(file, 'utf8'), file).toBe(content);
    }
    // A schema whose event type was renamed or removed must not linger for producers to use.
    const expected = new Set(
      [...files.keys()]
        .filter((file) => path.dirname(file) === jsonDir)
        .map((f) => path.basename(f)),
    );
    expect(
      readdirSync(jsonDir).filter((name) => !expected.has(name)),
      'files in schemas/json that no event type generates',
    ).toEqual([]);
  });

  it('describes every field of every event type', () => {
    for (const definition of eventDefinitions) {
      const schema = JSON.parse(
        readFileSync(`${jsonDir}/${definition.type}.schema.json`, 'utf8'),
      ) as JsonSchema;
      expect(undescribedProperties(schema), definition.type).toEqual([]);
    }
  });

  it('gives every field row in docs/events.md a meaning', () => {
    const lines = readFileSync(eventsDocFile, 'utf8').split('\n');
    const header = '| field | type | required | meaning |';
    let rows = 0;
    const empty: string[] = [];
    lines.forEach((line, index) => {
      if (line !== header) return;
      // Rows follow the header and its |---| line, up to the blank line ending the table.
      for (let at = index + 2; lines[at]?.startsWith('|'); at += 1) {
        const row = cells(lines[at] ?? '');
        rows += 1;
        expect(row, lines[at]).toHaveLength(4);
        if (!row[3]) empty.push(`line ${at + 1}: ${row[0]}`);
      }
    });
    expect(rows).toBeGreaterThan(eventDefinitions.length);
    expect(empty).toEqual([]);
  });

  const validate = committedSchemaValidator();

  it.each(
    validExamples().map((example) => [`${example.eventType}/${example.name}`, example] as const),
  )('ajv accepts %s', (_label, example) => {
    expect(validate(example.event)).toEqual({ ok: true, paths: [] });
  });

  const [expressible, contextual] = [
    invalidExamples().filter((example) => example.jsonSchemaCanExpress),
    invalidExamples().filter((example) => !example.jsonSchemaCanExpress),
  ];

  it.each(expressible.map((example) => [example.name, example] as const))(
    'ajv rejects %s',
    (_label, example) => {
      const result = validate(example.event);
      expect(result.ok).toBe(false);
      // ajv reports the failing location at or above the field zod names (e.g. the union).
      const expected = example.expectPath;
      expect(
        result.paths.some(
          (found) =>
            expected === found || expected.startsWith(`${found}.`) || found.startsWith(expected),
        ),
        `${result.paths.join(', ')} vs ${expected}`,
      ).toBe(true);
    },
  );

  it('lists every rule JSON Schema cannot state in the schema of the type it applies to', () => {
    expect(contextual.length).toBeGreaterThan(0);
    for (const example of contextual) {
      const type = (example.event as { event_type: string }).event_type;
      const schema = JSON.parse(readFileSync(`${jsonDir}/${type}.schema.json`, 'utf8'));
      const rules = schema['x-bluelight-contextual-rules'] as string[];
      // Listed rules start with the field they constrain, so the broken one must be among them.
      expect(
        rules.filter((rule) => rule.startsWith(`${example.expectPath} `)),
        example.name,
      ).not.toEqual([]);
      // The shape is fine, so a JSON-Schema-only producer would pass it: the gateway must check.
      expect(validate(example.event).ok, example.name).toBe(true);
    }
  });
});
