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
  const problems: ConfigProblem[] = [];
  for (const [name, field] of Object.entries(schema.shape)) {
    if (secretFields.has(field as z.ZodType)) {
      const secret = readSecret(name, env);
      if ('problem' in secret) problems.push(secret.problem);
      else input[name] = secret.value;
      continue;
    }
    const value = env[name];
    input[name] = value === '' ? undefined : value;
  }
  const result = schema.safeParse(input);
  if (!result.success) {
    problems.push(
      ...result.error.issues.map((issue) => ({
        variable: issue.path.length > 0 ? issue.path.map(String).join('.') : '(environment)',
        message: issue.message,
      })),
    );
  } else {
    // The kit's own variables that only make sense together, wherever a schema includes them.
    for (const check of crossChecks) {
      if (check.needs.every((name) => name in schema.shape)) {
        problems.push(...check.problems(result.data as Record<string, unknown>));
      }
    }
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return result.data;
}

/** Schemas made by envField.secret: loadConfig also reads them from `<NAME>_FILE`. */
const secretFields = new WeakSet<z.ZodType>();

/**
 * A secret comes from its variable or from the file `<NAME>_FILE` names (as container secrets
 * are mounted), not both. One trailing newline is dropped (editors and `echo` add it). Problems
 * name the variable and the file, never the value.
 */
function readSecret(
  name: string,
  env: NodeJS.ProcessEnv,
): { value: string | undefined } | { problem: ConfigProblem } {
  const inline = env[name] === '' ? undefined : env[name];
  const fileVariable = `${name}_FILE`;
  const file = env[fileVariable] === '' ? undefined : env[fileVariable];
  if (file === undefined) return { value: inline };
  if (inline !== undefined) {
    return {
      problem: { variable: fileVariable, message: `set ${name} or ${fileVariable}, not both` },
    };
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    return { problem: { variable: fileVariable, message: `cannot read ${file} (${code})` } };
  }
  const value = text.replace(/\r?\n$/, '');
  if (value === '') return { problem: { variable: fileVariable, message: `${file} is empty` } };
  return { value };
}

interface CrossCheck {
  /** The variables the check reads; it runs when the schema has all of them. */
  needs: string[];
  problems: (config: Record<string, unknown>) => ConfigProblem[];
}

const crossChecks: CrossCheck[] = [];

/** Registers a check of variables that belong together (the kit's Kafka and HTTPS settings). */
export function registerCrossCheck(check: CrossCheck): void {
  crossChecks.push(check);
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

  /**
   * A password, key or token: from the variable itself or from the file `<NAME>_FILE` names.
   * Never part of an error message; its variable name is redacted in logs (./logger.ts).
   */
  secret: (defaultValue?: string) => {
    const field =
      defaultValue === undefined ? z.string().optional() : z.string().default(defaultValue);
    secretFields.add(field);
    return field;
  },

  /** A secret that must be set (as the variable or its `_FILE`); `unsetMessage` says how to get one. */
  requiredSecret: (unsetMessage: string) => {
    const field = z.string({ error: unsetMessage }).min(1, unsetMessage);
    secretFields.add(field);
    return field;
  },

  /**
   * The path of a PEM file (a CA bundle, a certificate or a private key), read once at start-up;
   * the value is the file's text. The error names the file, never what is in it.
   */
  pemFile: (holds: 'CERTIFICATE' | 'PRIVATE KEY') =>
    z
      .string()
      .transform((file, context) => {
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
          context.addIssue({ code: 'custom', message: `cannot read ${file} (${code})` });
          return z.NEVER;
        }
        const marker = new RegExp(`-----BEGIN [A-Z ]*${holds}-----`);
        if (!marker.test(text)) {
          context.addIssue({
            code: 'custom',
            message: `${file} holds no PEM ${holds.toLowerCase()} (-----BEGIN … ${holds}-----)`,
          });
          return z.NEVER;
        }
        return text;
      })
      .optional(),
};

export const KAFKA_SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export const KAFKA_SASL_MECHANISMS = [
  'SCRAM-SHA-512',
  'SCRAM-SHA-256',
  'PLAIN',
  'OAUTHBEARER',
] as const;

/**
 * How every Bluelight client reaches Kafka: the brokers, and (all optional; unset is PLAINTEXT,
 * as before) TLS and SASL, named as Kafka's own client settings are. See docs/security.md.
 */
export const kafkaEnv = {
  KAFKA_BROKERS: envField.brokerList('127.0.0.1:9092'),
  /** PLAINTEXT (unset), SSL, SASL_PLAINTEXT or SASL_SSL, as Kafka's security.protocol. */
  KAFKA_SECURITY_PROTOCOL: z
    .enum(KAFKA_SECURITY_PROTOCOLS, {
      error: `expected one of ${KAFKA_SECURITY_PROTOCOLS.join(', ')}`,
    })
    .optional(),
  KAFKA_SASL_MECHANISM: z
    .enum(KAFKA_SASL_MECHANISMS, { error: `expected one of ${KAFKA_SASL_MECHANISMS.join(', ')}` })
    .optional(),
  KAFKA_SASL_USERNAME: z.string().optional(),
  KAFKA_SASL_PASSWORD: envField.secret(),
  /** OAUTHBEARER: a file holding the token, read again at every authentication (so it can be renewed). */
  KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: z.string().optional(),
  /** CA bundle the brokers' certificates are checked against (unset: the system's CAs). */
  KAFKA_SSL_CA_FILE: envField.pemFile('CERTIFICATE'),
  /** A client certificate (and its key) for brokers that ask for one (ssl.client.auth). */
  KAFKA_SSL_CERT_FILE: envField.pemFile('CERTIFICATE'),
  KAFKA_SSL_KEY_FILE: envField.pemFile('PRIVATE KEY'),
  KAFKA_SSL_KEY_PASSWORD: envField.secret(),
};

/** Where ClickHouse is and who Bluelight is there (each service its own user: docs/security.md). */
export const clickhouseEnv = {
  CLICKHOUSE_URL: envField.httpUrl('http://127.0.0.1:8123'),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: envField.secret(''),
  CLICKHOUSE_DATABASE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a plain database name')
    .default('default'),
  /** With an https:// URL: the CA bundle the server's certificate is checked against. */
  CLICKHOUSE_CA_FILE: envField.pemFile('CERTIFICATE'),
};

/** The variables every service shares: where Kafka and ClickHouse are, and how loudly to log. */
export const platformEnv = {
  ...kafkaEnv,
  ...clickhouseEnv,
  LOG_LEVEL: envField.logLevel(),
};

/**
 * The variables holding secrets (each also as `<NAME>_FILE`): the logger redacts them wherever
 * they appear in a logged object.
 */
export const SECRET_VARIABLES = [
  'KAFKA_SASL_PASSWORD',
  'KAFKA_SSL_KEY_PASSWORD',
  'KAFKA_SSL_KEY_FILE',
  'CLICKHOUSE_PASSWORD',
  'HTTPS_KEY_FILE',
  'GATEWAY_API_KEY',
];

/** HTTPS in the service itself: both files, or neither (then plain HTTP, e.g. behind a proxy). */
export const httpsEnv = {
  HTTPS_CERT_FILE: envField.pemFile('CERTIFICATE'),
  HTTPS_KEY_FILE: envField.pemFile('PRIVATE KEY'),
  /**
   * Refuse plain-HTTP requests from any address but this machine's own (a reverse proxy on the
   * same host, health checks): off by default. Meaningless with HTTPS_CERT_FILE (no plain HTTP).
   */
  HTTP_REQUIRE_TLS: envField.boolean(false),
};

const httpsEnvSchema = z.object(httpsEnv);
export type HttpsEnvConfig = z.infer<typeof httpsEnvSchema>;

registerCrossCheck({
  needs: ['HTTPS_CERT_FILE', 'HTTPS_KEY_FILE'],
  problems: (config) => {
    if (Boolean(config.HTTPS_CERT_FILE) === Boolean(config.HTTPS_KEY_FILE)) return [];
    const missing = config.HTTPS_CERT_FILE ? 'HTTPS_KEY_FILE' : 'HTTPS_CERT_FILE';
    return [{ variable: missing, message: 'HTTPS needs both HTTPS_CERT_FILE and HTTPS_KEY_FILE' }];
  },
});

registerCrossCheck({
  needs: Object.keys(kafkaEnv),
  problems: (config) => kafkaSecurityProblems(config as KafkaSecurityVariables),
});

const kafkaEnvSchema = z.object(kafkaEnv);
const clickhouseEnvSchema = z.object(clickhouseEnv);
/** The parsed Kafka variables (kafkaEnv; platformEnv includes them). */
export type KafkaEnvConfig = z.infer<typeof kafkaEnvSchema>;
/** The parsed ClickHouse variables (clickhouseEnv; platformEnv includes them). */
export type ClickHouseEnvConfig = z.infer<typeof clickhouseEnvSchema>;
type KafkaSecurityVariables = KafkaEnvConfig;

/** Settings that contradict the protocol chosen (silently ignoring them would be worse). */
function kafkaSecurityProblems(config: KafkaSecurityVariables): ConfigProblem[] {
  const protocol = config.KAFKA_SECURITY_PROTOCOL ?? 'PLAINTEXT';
  const usesSasl = protocol.startsWith('SASL_');
  const usesTls = protocol === 'SSL' || protocol === 'SASL_SSL';
  const problems: ConfigProblem[] = [];
  const onlyWith = (variable: string, what: string) =>
    problems.push({
      variable,
      message: `only used with KAFKA_SECURITY_PROTOCOL ${what} (it is ${protocol})`,
    });
  const sasl = [
    'KAFKA_SASL_MECHANISM',
    'KAFKA_SASL_USERNAME',
    'KAFKA_SASL_PASSWORD',
    'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE',
  ] as const;
  const tls = [
    'KAFKA_SSL_CA_FILE',
    'KAFKA_SSL_CERT_FILE',
    'KAFKA_SSL_KEY_FILE',
    'KAFKA_SSL_KEY_PASSWORD',
  ] as const;
  if (!usesSasl) {
    for (const name of sasl)
      if (config[name] !== undefined) onlyWith(name, 'SASL_SSL or SASL_PLAINTEXT');
  } else if (config.KAFKA_SASL_MECHANISM === undefined) {
    problems.push({
      variable: 'KAFKA_SASL_MECHANISM',
      message: `required with KAFKA_SECURITY_PROTOCOL ${protocol}: ${KAFKA_SASL_MECHANISMS.join(', ')}`,
    });
  } else if (config.KAFKA_SASL_MECHANISM === 'OAUTHBEARER') {
    if (config.KAFKA_SASL_OAUTHBEARER_TOKEN_FILE === undefined) {
      problems.push({
        variable: 'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE',
        message: 'required with KAFKA_SASL_MECHANISM OAUTHBEARER',
      });
    } else {
      try {
        readFileSync(config.KAFKA_SASL_OAUTHBEARER_TOKEN_FILE, 'utf8');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
        problems.push({
          variable: 'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE',
          message: `cannot read ${config.KAFKA_SASL_OAUTHBEARER_TOKEN_FILE} (${code})`,
        });
      }
    }
  } else {
    for (const name of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const) {
      if (config[name] === undefined) {
        problems.push({
          variable: name,
          message: `required with KAFKA_SASL_MECHANISM ${config.KAFKA_SASL_MECHANISM}${name === 'KAFKA_SASL_PASSWORD' ? ' (or KAFKA_SASL_PASSWORD_FILE)' : ''}`,
        });
      }
    }
  }
  if (!usesTls) {
    for (const name of tls) if (config[name] !== undefined) onlyWith(name, 'SSL or SASL_SSL');
  } else if (Boolean(config.KAFKA_SSL_CERT_FILE) !== Boolean(config.KAFKA_SSL_KEY_FILE)) {
    problems.push({
      variable: config.KAFKA_SSL_CERT_FILE ? 'KAFKA_SSL_KEY_FILE' : 'KAFKA_SSL_CERT_FILE',
      message: 'a client certificate needs both KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE',
    });
  }
  return problems;
}

export const platformConfigSchema = z.object(platformEnv);
export type PlatformConfig = z.infer<typeof platformConfigSchema>;
