import type { BluelightEvent } from '@bluelight/schemas';
import { describe, expect, it } from 'vitest';
import { ImportedEntities, measurabilityWarnings } from './imported.js';

const event = (type: string, at: string, payload: Record<string, string>, agency = 'x-fire') =>
  ({ event_type: type, occurred_at: at, agency, payload }) as unknown as BluelightEvent;

describe('what an import can measure', () => {
  it('counts each entity once, with its latest event and clock events', () => {
    const entities = new ImportedEntities();
    for (const each of [
      event('incident.created', '2024-01-01T10:00:00Z', { incident_id: 'A' }),
      event('incident.resource_mobilised', '2024-01-01T10:01:00Z', { incident_id: 'A' }),
      event('incident.resource_arrived', '2024-01-01T10:06:00Z', { incident_id: 'A' }),
      event('incident.resource_arrived', '2024-01-01T10:05:00Z', { incident_id: 'A' }),
      event('incident.created', '2024-01-01T11:00:00Z', { incident_id: 'B' }),
      event('incident.resource_mobilised', '2024-01-01T11:01:00Z', { incident_id: 'B' }),
      event('incident.created', '2024-01-01T12:00:00Z', { incident_id: 'C' }),
      event('incident.cancelled', '2024-01-01T12:02:00Z', { incident_id: 'C' }),
      // The same id in another agency is another incident.
      event('incident.created', '2024-01-01T10:00:00Z', { incident_id: 'A' }, 'y-fire'),
      event('call.presented', '2024-01-01T09:59:00Z', { call_id: 'K' }),
      event('call.answered', '2024-01-01T09:59:05Z', { call_id: 'K' }),
      event('resource.status_changed', '2024-01-01T10:01:00Z', { resource_id: 'P1' }),
    ]) {
      entities.add(each);
    }
    expect(entities.measurability()).toEqual({
      incidents: 4,
      cancelled: 1,
      withMobilisation: 2,
      withArrival: 1,
      calls: 1,
      answered: 1,
      resources: 1,
    });
    expect(entities.incidents.get('x-fire/A')?.latestMs).toBe(Date.parse('2024-01-01T10:06:00Z'));
  });

  it('warns when no incident or call can be measured, and says how many lack an arrival', () => {
    const none = {
      incidents: 10_000,
      cancelled: 0,
      withMobilisation: 0,
      withArrival: 0,
      calls: 0,
      answered: 0,
      resources: 0,
    };
    expect(measurabilityWarnings(none)).toEqual([
      "10000 incidents imported, 0 with a measurable attendance (no mobilised or arrived times) — check the mapping's clock columns (docs/importing.md); no attendance figure can be computed from them",
    ]);
    expect(
      measurabilityWarnings({
        ...none,
        incidents: 4,
        cancelled: 1,
        withMobilisation: 2,
        withArrival: 1,
        calls: 3,
      }),
    ).toEqual([
      '4 incidents imported, 1 with a measurable attendance; 2 (66.7% of those not cancelled) have no arrival time and count as not measured (bluelight data-quality lists them)',
      "3 calls imported, 0 answered — check the mapping's answer time column; no answer-time figure can be computed from them",
    ]);
    expect(
      measurabilityWarnings({
        ...none,
        incidents: 2,
        cancelled: 1,
        withMobilisation: 1,
        withArrival: 1,
        calls: 1,
        answered: 1,
      }),
    ).toEqual([]);
  });
});
