import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** One problem with one environment variable, phrased for the operator who set it. */
export interface ConfigProblem {
  variable: string;
  message: string;
}

export class ConfigError extends Error {
  readonly problems: ConfigProblem[];

  constructor(problems: ConfigProblem[]) {
    super(
      `invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** The exit code for a configuration error (sysexits EX_CONFIG), so scripts can tell it apart. */
export const EXIT_CONFIG = 78;

/**
 * Reads and validates configuration from environment variables. The schema's keys are the variable
 * names, so every error names the variable to fix. Empty strings count as unset, which lets a
 * `.env` line like `FOO=` fall back to the default instead of failing as an empty value.
 */
export function loadConfig<Shape extends z.ZodRawShape>(
  schema: z.ZodObject<Shape>,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<z.ZodObject<Shape>> {
  const input: Record<string, string | undefined> = {};
  for (const name of Object.keys(schema.shape)) {
    const value = env[name];
    input[name] = value === '' ? undefined : value;
  }
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => ({
        variable: issue.path.length > 0 ? issue.path.map(String).join('.') : '(environment)',
        message: issue.message,
      })),
    );
  }
  return result.data;
}

/**
 * Like loadConfig, but a bad value stops the process: the message goes to stderr naming each
 * variable and the exit code is EXIT_CONFIG. Services call this first thing at start-up.
 */
export function loadConfigOrExit<Shape extends z.ZodRawShape>(
  schema: z.ZodObject<Shape>,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<z.ZodObject<Shape>> {
  try {
    return loadConfig(schema, env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw error;
  }
}

const HOST_PORT = /^[^\s:/]+:\d{1,5}$/;

function parseJson(text: string, what: string, context: z.RefinementCtx): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    context.addIssue({
      code: 'custom',
      message: `${what} is not JSON: ${(error as Error).message}`,
    });
    return z.NEVER;
  }
}

/** Reusable field types for environment variables. */
export const envField = {
  port: (defaultPort: number) => z.coerce.number().int().min(1).max(65535).default(defaultPort),

  positiveInt: (defaultValue: number) => z.coerce.number().int().positive().default(defaultValue),

  /** `true/false/1/0/yes/no`; anything else is an error rather than a silent false. */
  boolean: (defaultValue: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], {
        error: 'expected one of true, false, 1, 0, yes, no',
      })
      .transform((value) => value === 'true' || value === '1' || value === 'yes')
      .default(defaultValue),

  /** A comma-separated list of host:port pairs, as KAFKA_BROKERS is everywhere. */
  brokerList: (defaultValue: string) =>
    z
      .string()
      .default(defaultValue)
      .transform((value) =>
        value
          .split(',')
          .map((part) => part.trim())
          .filter((part) => part.length > 0),
      )
      .pipe(
        z
          .array(z.string().regex(HOST_PORT, 'each broker must be host:port'))
          .min(1, 'at least one broker is required'),
      ),

  httpUrl: (defaultValue: string) =>
    z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).default(defaultValue),

  /** Optional inline JSON checked against `schema` (e.g. a list of API-key entries). */
  json: <Schema extends z.ZodType>(schema: Schema) =>
    z
      .string()
      .transform((text, context) => parseJson(text, 'the value', context))
      .pipe(schema)
      .optional(),

  /** Optional path of a JSON file, read once at start-up and checked against `schema`. */
  jsonFile: <Schema extends z.ZodType>(schema: Schema) =>
    z
      .string()
      .transform((file, context) => {
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch (error) {
          context.addIssue({
            code: 'custom',
            message: `cannot read ${file}: ${(error as Error).message}`,
          });
          return z.NEVER;
        }
        return parseJson(text, file, context);
      })
      .pipe(schema)
      .optional(),

  /**
   * The address an HTTP service listens on: 127.0.0.1 (this machine only) unless told otherwise,
   * e.g. 0.0.0.0 in a container, where the port is reached from outside it. An IPv4 or IPv6
   * address or a host name.
   */
  bindHost: () =>
    z
      .union([z.ipv4(), z.ipv6(), z.hostname()], {
        error: 'expected an IP address (127.0.0.1, 0.0.0.0, ::) or a host name',
      })
      .default('127.0.0.1'),

  logLevel: () =>
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
};

/** The variables every service shares: where Kafka and ClickHouse are, and how loudly to log. */
export const platformEnv = {
  KAFKA_BROKERS: envField.brokerList('127.0.0.1:9092'),
  CLICKHOUSE_URL: envField.httpUrl('http://127.0.0.1:8123'),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a plain database name')
    .default('default'),
  LOG_LEVEL: envField.logLevel(),
};

export const platformConfigSchema = z.object(platformEnv);
export type PlatformConfig = z.infer<typeof platformConfigSchema>;
