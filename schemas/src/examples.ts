import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** schemas/examples: valid events per type, and invalid ones each breaking one rule. */
export const examplesDir = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../examples',
);

export interface ValidExample {
  eventType: string;
  name: string;
  file: string;
  event: unknown;
}

export interface InvalidExample {
  name: string;
  file: string;
  /** The rule it breaks, in words. */
  rule: string;
  /** The field path the refusal must name. */
  expectPath: string;
  /**
   * Part of the message at that path, when another rule refuses the same path (a far-future
   * call_received_at is also after occurred_at): it shows that this example's rule fired.
   */
  expectMessage?: string;
  /** False for rules JSON Schema cannot state (comparisons with now or between fields). */
  jsonSchemaCanExpress: boolean;
  event: unknown;
}

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** Every valid example; consumers' contract tests feed these through their own code. */
export function validExamples(): ValidExample[] {
  const root = path.join(examplesDir, 'valid');
  return readdirSync(root)
    .sort()
    .flatMap((eventType) =>
      readdirSync(path.join(root, eventType))
        .filter((name) => name.endsWith('.json'))
        .sort()
        .map((name) => {
          const file = path.join(root, eventType, name);
          return { eventType, name: name.replace(/\.json$/, ''), file, event: readJson(file) };
        }),
    );
}

export function invalidExamples(): InvalidExample[] {
  const root = path.join(examplesDir, 'invalid');
  return readdirSync(root)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => {
      const file = path.join(root, name);
      const spec = readJson(file) as {
        rule: string;
        expect_path: string;
        expect_message?: string;
        json_schema_can_express: boolean;
        event: unknown;
      };
      return {
        name: name.replace(/\.json$/, ''),
        file,
        rule: spec.rule,
        expectPath: spec.expect_path,
        ...(spec.expect_message === undefined ? {} : { expectMessage: spec.expect_message }),
        jsonSchemaCanExpress: spec.json_schema_can_express,
        event: spec.event,
      };
    });
}
