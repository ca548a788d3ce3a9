import { earliestEventTimeConfigSchema } from '@bluelight/schemas';
import type { z } from 'zod';

/**
 * What `bluelight import` reads from the environment besides its output's variables:
 * EARLIEST_EVENT_TIME (rows whose event times are before it are rejected, naming the field).
 */
export const importerConfigSchema = earliestEventTimeConfigSchema;

export type ImporterConfig = z.infer<typeof importerConfigSchema>;
