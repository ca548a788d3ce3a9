import type { FixtureEvent } from './fact-events.js';

/**
 * A plain recomputation, for tests, of what the per-appliance facts should say about a list of
 * events (docs/operations.md): the effective events (no duplicates, no retractions, nothing a
 * later event corrects), each appliance's earliest mobilised / mobile / arrived and latest
 * left-scene time, its order of arrival, and the incident's call time and ground.
 */
export interface ReferenceAppliance {
  agency: string;
  incident_id: string;
  resource_id: string;
  mobilised_at: number | null;
  mobile_at: number | null;
  arrived_at: number | null;
  left_at: number | null;
  arrival_order: number | null;
  call_received_at: number | null;
  station_ground: string;
  cancelled: boolean;
}

/** The events that count: one per (agency, event id), no retractions, nothing corrected away. */
export function effectiveEvents(events: FixtureEvent[]): FixtureEvent[] {
  const unique = new Map<string, FixtureEvent>();
  for (const event of events) unique.set(`${event.agency}/${event.event_id}`, event);
  const corrected = new Set<string>();
  for (const event of unique.values()) {
    if (event.corrects) corrected.add(`${event.agency}/${event.corrects.event_id}`);
  }
  return [...unique.values()].filter(
    (event) =>
      !event.event_type.endsWith('.event_retracted') &&
      !corrected.has(`${event.agency}/${event.event_id}`),
  );
}

const APPLIANCE_TIMES = {
  'incident.resource_mobilised': 'mobilised_at',
  'incident.resource_mobile': 'mobile_at',
  'incident.resource_arrived': 'arrived_at',
  'incident.resource_left_scene': 'left_at',
} as const;

export function referenceAppliances(events: FixtureEvent[]): ReferenceAppliance[] {
  const effective = effectiveEvents(events);
  const incidents = new Map<string, { call: number | null; ground: string; cancelled: boolean }>();
  for (const event of effective) {
    if (!event.event_type.startsWith('incident.')) continue;
    const key = `${event.agency}/${event.payload.incident_id}`;
    const incident = incidents.get(key) ?? { call: null, ground: '', cancelled: false };
    if (event.event_type === 'incident.created') {
      incident.call = Date.parse(event.payload.call_received_at as string);
      incident.ground = (event.payload.location as { station_ground: string }).station_ground;
    }
    if (event.event_type === 'incident.cancelled') incident.cancelled = true;
    incidents.set(key, incident);
  }
  const appliances = new Map<string, ReferenceAppliance>();
  for (const event of effective) {
    const column = APPLIANCE_TIMES[event.event_type as keyof typeof APPLIANCE_TIMES];
    if (!column) continue;
    const incidentId = event.payload.incident_id as string;
    const resourceId = event.payload.resource_id as string;
    const key = `${event.agency}/${incidentId}/${resourceId}`;
    const incident = incidents.get(`${event.agency}/${incidentId}`);
    const row = appliances.get(key) ?? {
      agency: event.agency,
      incident_id: incidentId,
      resource_id: resourceId,
      mobilised_at: null,
      mobile_at: null,
      arrived_at: null,
      left_at: null,
      arrival_order: null,
      call_received_at: incident?.call ?? null,
      station_ground: incident?.ground ?? '',
      cancelled: incident?.cancelled ?? false,
    };
    const at = Date.parse(event.occurred_at);
    const current = row[column];
    row[column] =
      current === null ? at : column === 'left_at' ? Math.max(current, at) : Math.min(current, at);
    appliances.set(key, row);
  }
  const byIncident = new Map<string, ReferenceAppliance[]>();
  for (const row of appliances.values()) {
    const key = `${row.agency}/${row.incident_id}`;
    byIncident.set(key, [...(byIncident.get(key) ?? []), row]);
  }
  for (const rows of byIncident.values()) {
    rows
      .filter((row) => row.arrived_at !== null)
      .sort(
        (a, b) =>
          (a.arrived_at as number) - (b.arrived_at as number) ||
          (a.resource_id < b.resource_id ? -1 : 1),
      )
      .forEach((row, index) => {
        row.arrival_order = index + 1;
      });
  }
  return [...appliances.values()].sort((a, b) =>
    `${a.agency}/${a.incident_id}/${a.resource_id}` <
    `${b.agency}/${b.incident_id}/${b.resource_id}`
      ? -1
      : 1,
  );
}
