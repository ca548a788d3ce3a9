import { z } from 'zod';
import { incidentId, resourceId, stationCode } from './common.js';
import { defineEvent } from './envelope.js';

export const applianceType = z
  .enum([
    'pump',
    'pump_rescue',
    'aerial',
    'rescue',
    'water_carrier',
    'hazmat',
    'command',
    'police_car',
    'police_van',
    'other',
  ])
  .describe('Kind of appliance or unit.');

export const crewingModel = z
  .enum(['wholetime', 'on_call', 'day_crewed', 'police'])
  .describe(
    'How the resource is crewed; availability targets differ (whole-time 98%, on-call 60%).',
  );

export const resourceState = z
  .discriminatedUnion('status', [
    z.strictObject({
      status: z
        .literal('available_at_station')
        .describe('Available at its station (for on-call: crewed).'),
    }),
    z.strictObject({ status: z.literal('available_mobile').describe('Available, on the road.') }),
    z.strictObject({
      status: z.literal('committed').describe('Assigned to an incident.'),
      incident_id: incidentId.describe('The incident it is committed to, when known.').optional(),
    }),
    z.strictObject({
      status: z.literal('unavailable').describe('Not available (for on-call: off the run).'),
      reason: z
        .enum(['crewing', 'officer_in_charge', 'driver', 'mechanical', 'training', 'other'])
        .describe('Why it is unavailable.'),
    }),
  ])
  .describe('The new status; unavailable needs its reason.');

export const resourceStatusChanged = defineEvent({
  type: 'resource.status_changed',
  family: 'resources',
  description: 'An appliance or unit changed status; availability intervals run between changes.',
  keyField: 'resource_id',
  figures: ['appliances available now', 'whole-time and on-call availability %', 'off-run reasons'],
  payload: z.strictObject({
    resource_id: resourceId,
    home_station: stationCode.describe('The station the resource belongs to.'),
    appliance_type: applianceType,
    crewing_model: crewingModel,
    state: resourceState,
  }),
});

export const resourceEventRetracted = defineEvent({
  type: 'resource.event_retracted',
  family: 'resources',
  description:
    'An earlier resource event (named in `corrects`) was recorded in error and must be ignored.',
  keyField: 'resource_id',
  figures: ['availability figures (the retracted event drops out)'],
  requiresCorrects: true,
  payload: z.strictObject({ resource_id: resourceId }),
});

export const resourceEvents = [resourceStatusChanged, resourceEventRetracted] as const;
