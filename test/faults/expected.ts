import { type BluelightEvent, topicFor } from '@bluelight/schemas';

/**
 * What ClickHouse must hold after a run, recomputed from the produced events in plain
 * TypeScript — independently of the sink and of the SQL that derives the facts — following the
 * definitions in docs/clickhouse-schema.md: each event once (by event id); the effective events
 * are those that are neither retractions nor named by another event's `corrects`.
 */

export type FamilyName = 'calls' | 'incidents' | 'resources';
export const FAMILY_NAMES: FamilyName[] = ['calls', 'incidents', 'resources'];

interface ExpectedIncident {
  service: string;
  category: string;
  call_received_at: number | null;
  created_at: number | null;
  first_arrival_at: number | null;
  /** Only when one resource alone arrived first (a tie has no single answer). */
  first_arrival_resource_id: string | null;
  second_arrival_at: number | null;
  closed_at: number | null;
  cancelled: number;
  event_count: number;
}

interface ExpectedCall {
  line: string;
  presented_at: number | null;
  answered_at: number | null;
  abandoned_at: number | null;
  closed_at: number | null;
  outcome: string;
  event_count: number;
}

interface ExpectedInterval {
  resource_id: string;
  start_at: number;
  end_at: number | null;
  /** null when two changes at the same instant disagree (the later-received one stands). */
  available: number | null;
}

export interface Expected {
  /** Distinct event ids produced, per family. */
  distinct: Record<FamilyName, Set<string>>;
  incidents: Map<string, ExpectedIncident>;
  calls: Map<string, ExpectedCall>;
  intervals: Map<string, ExpectedInterval>;
}

export const intervalKey = (resourceId: string, startAt: number) => `${resourceId}@${startAt}`;

type Payload = Record<string, unknown> & {
  details?: { service?: string; category?: { type?: string } };
};

/** (occurred_at, event_id) order, as the SQL's argMax uses it. */
function later(a: BluelightEvent, b: BluelightEvent | undefined): boolean {
  if (!b) return true;
  const at = Date.parse(a.occurred_at);
  const bt = Date.parse(b.occurred_at);
  return at > bt || (at === bt && a.event_id > b.event_id);
}

const minOf = (values: number[]) => (values.length === 0 ? null : Math.min(...values));
const maxOf = (values: number[]) => (values.length === 0 ? null : Math.max(...values));

export function recompute(produced: BluelightEvent[]): Expected {
  const unique = new Map<string, BluelightEvent>();
  for (const event of produced) if (!unique.has(event.event_id)) unique.set(event.event_id, event);
  const distinct: Record<FamilyName, Set<string>> = {
    calls: new Set(),
    incidents: new Set(),
    resources: new Set(),
  };
  for (const event of unique.values())
    distinct[topicFor(event.event_type).family].add(event.event_id);
  const corrected = new Set<string>();
  for (const event of unique.values()) if (event.corrects) corrected.add(event.corrects.event_id);
  const effective = [...unique.values()].filter(
    (event) => !event.event_type.endsWith('.event_retracted') && !corrected.has(event.event_id),
  );

  const byEntity = (family: FamilyName, idField: string) => {
    const groups = new Map<string, BluelightEvent[]>();
    for (const event of effective) {
      if (topicFor(event.event_type).family !== family) continue;
      const id = (event.payload as Payload)[idField] as string;
      groups.set(id, [...(groups.get(id) ?? []), event]);
    }
    return groups;
  };
  const at = (event: BluelightEvent) => Date.parse(event.occurred_at);
  const ofType = (events: BluelightEvent[], type: string) =>
    events.filter((event) => event.event_type === type);

  const incidents = new Map<string, ExpectedIncident>();
  for (const [id, events] of byEntity('incidents', 'incident_id')) {
    let classification: BluelightEvent | undefined;
    for (const event of events) {
      if (
        (event.event_type === 'incident.created' || event.event_type === 'incident.reclassified') &&
        later(event, classification)
      )
        classification = event;
    }
    const details = (classification?.payload as Payload | undefined)?.details;
    const firstByResource = new Map<string, number>();
    for (const event of ofType(events, 'incident.resource_arrived')) {
      const resource = (event.payload as Payload).resource_id as string;
      firstByResource.set(
        resource,
        Math.min(firstByResource.get(resource) ?? at(event), at(event)),
      );
    }
    const arrivals = [...firstByResource.entries()].sort((a, b) => a[1] - b[1]);
    const first = arrivals[0];
    const tiedFirst = first !== undefined && arrivals[1]?.[1] === first[1];
    incidents.set(id, {
      service: details?.service ?? '',
      category: details?.service === 'fire' ? (details.category?.type ?? '') : '',
      call_received_at: minOf(
        ofType(events, 'incident.created').map((event) =>
          Date.parse((event.payload as Payload).call_received_at as string),
        ),
      ),
      created_at: minOf(ofType(events, 'incident.created').map(at)),
      first_arrival_at: first?.[1] ?? null,
      first_arrival_resource_id: first && !tiedFirst ? first[0] : null,
      second_arrival_at: arrivals[1]?.[1] ?? null,
      closed_at: maxOf(ofType(events, 'incident.closed').map(at)),
      cancelled: ofType(events, 'incident.cancelled').length > 0 ? 1 : 0,
      event_count: events.length,
    });
  }

  const calls = new Map<string, ExpectedCall>();
  for (const [id, events] of byEntity('calls', 'call_id')) {
    let presented: BluelightEvent | undefined;
    let closed: BluelightEvent | undefined;
    for (const event of events) {
      if (event.event_type === 'call.presented' && later(event, presented)) presented = event;
      if (event.event_type === 'call.closed' && later(event, closed)) closed = event;
    }
    const answeredAt = minOf(ofType(events, 'call.answered').map(at));
    calls.set(id, {
      line: ((presented?.payload as Payload | undefined)?.line as string | undefined) ?? '',
      presented_at: minOf(ofType(events, 'call.presented').map(at)),
      answered_at: answeredAt,
      // A caller who hung up after being answered did not abandon the call.
      abandoned_at: answeredAt === null ? minOf(ofType(events, 'call.abandoned').map(at)) : null,
      closed_at: maxOf(ofType(events, 'call.closed').map(at)),
      outcome:
        ((closed?.payload as Payload | undefined)?.resolution as { outcome?: string } | undefined)
          ?.outcome ?? '',
      event_count: events.length,
    });
  }

  const intervals = new Map<string, ExpectedInterval>();
  for (const [id, events] of byEntity('resources', 'resource_id')) {
    const byInstant = new Map<number, Set<string>>();
    for (const event of ofType(events, 'resource.status_changed')) {
      const status = ((event.payload as Payload).state as { status: string }).status;
      byInstant.set(at(event), (byInstant.get(at(event)) ?? new Set()).add(status));
    }
    const instants = [...byInstant.keys()].sort((a, b) => a - b);
    instants.forEach((start, index) => {
      const statuses = [...(byInstant.get(start) ?? [])];
      const availability = new Set(statuses.map((status) => (status === 'unavailable' ? 0 : 1)));
      intervals.set(intervalKey(id, start), {
        resource_id: id,
        start_at: start,
        end_at: instants[index + 1] ?? null,
        available: availability.size === 1 ? ([...availability][0] as number) : null,
      });
    });
  }
  return { distinct, incidents, calls, intervals };
}
