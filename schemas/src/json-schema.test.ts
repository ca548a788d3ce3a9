import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { invalidExamples, validExamples } from './examples.js';
import { generatedFiles, jsonDir } from './generate.js';
import { eventDefinitions } from './registry.js';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats =
  (addFormatsModule as unknown as { default: typeof addFormatsModule }).default ?? addFormatsModule;

/** An independent validator reading only the committed JSON Schema files, as a Java or Python producer would. */
function committedSchemaValidator() {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  const validators = new Map(
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

describe('generated JSON Schema and docs', () => {
  it('are up to date with the zod source (run `npm run generate -w @bluelight/schemas`)', () => {
    for (const [file, content] of generatedFiles()) {
      expect(readFileSync(file, 'utf8'), file).toBe(content);
    }
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
      expect(schema['x-bluelight-contextual-rules'].length, example.name).toBeGreaterThan(0);
      // The shape is fine, so a JSON-Schema-only producer would pass it: the gateway must check.
      expect(validate(example.event).ok, example.name).toBe(true);
    }
  });
});
