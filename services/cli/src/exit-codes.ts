import { ConfigError, EXIT_CONFIG, loadConfig } from '@bluelight/service-kit';
import type { z } from 'zod';

/** Exit codes scripts can rely on; documented in docs/cli.md. */
export const ExitCode = {
  ok: 0,
  /** The command ran and failed (a component did not start, a download failed, …). */
  failure: 1,
  /** The command line was wrong: unknown command or option, bad value. */
  usage: 2,
  /** `stack status`: the stack, or part of it, is not running. */
  notRunning: 3,
  /** `dlq replay --policy stop`: stopped at a dead letter that still fails; it and later ones remain. */
  stopped: 4,
  /** `import`: imported, but some rows were rejected (listed in the summary and the --errors file). */
  rowsRejected: 5,
  /** `report`: ClickHouse holds no data at all for the period (nothing to report). */
  noData: 6,
  /** `import --wait`: imported, but the figures did not take every imported event in time. */
  waitTimedOut: 7,
  /** `report --format pdf`: a program it needs (Chromium) is missing and could not be installed. */
  missingPrerequisite: 8,
} as const;

/** An error whose message is for the user as it stands (no stack trace needed). */
export class UserFacingError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.failure,
  ) {
    super(message);
    this.name = 'UserFacingError';
  }
}

/**
 * The command's settings from the environment, as the services read them; a bad or missing
 * variable is a UserFacingError naming it, with the configuration exit code.
 */
export function loadCommandConfig<Shape extends z.ZodRawShape>(
  schema: z.ZodObject<Shape>,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<z.ZodObject<Shape>> {
  try {
    return loadConfig(schema, env);
  } catch (error) {
    if (error instanceof ConfigError) throw new UserFacingError(error.message, EXIT_CONFIG);
    throw error;
  }
}
