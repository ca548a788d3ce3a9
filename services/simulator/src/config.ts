import { earliestEventTimeConfigSchema } from '@bluelight/schemas';

/**
 * What `bluelight simulate` reads from the environment besides its output's variables:
 * EARLIEST_EVENT_TIME, so it never generates events the gateway and the sink would refuse.
 */
export const simulatorConfigSchema = earliestEventTimeConfigSchema;
