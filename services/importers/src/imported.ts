import type { BluelightEvent } from '@bluelight/schemas';

/** One imported entity: its agency and id, and the time of its latest imported event. */
export interface ImportedEntity {
  agency: string;
  id: string;
  latestMs: number;
}

interface IncidentClocks extends ImportedEntity {
  mobilised: boolean;
  arrived: boolean;
  cancelled: boolean;
}

interface CallClocks extends ImportedEntity {
  answered: boolean;
}

/** What the imported events can measure (counts of entities). */
export interface Measurability {
  incidents: number;
  /** Of the incidents: cancelled ones, never attended and measured by nothing. */
  cancelled: number;
  /** Of the others: with a mobilisation time, and with an arrival (a measurable attendance). */
  withMobilisation: number;
  withArrival: number;
  calls: number;
  /** Of the calls: answered (a measurable answer time). */
  answered: number;
  resources: number;
}

/**
 * Every incident, call and appliance an import wrote events for, with the time of its latest
 * event and which clock events it had: for the end-of-import warnings (rows that give no
 * measurable figure) and for `--wait` (whether the figures have them yet). One entry per entity,
 * whatever the number of rows.
 */
export class ImportedEntities {
  readonly incidents = new Map<string, IncidentClocks>();
  readonly calls = new Map<string, CallClocks>();
  readonly resources = new Map<string, ImportedEntity>();

  add(event: BluelightEvent): void {
    const at = Date.parse(event.occurred_at);
    const payload = event.payload as {
      incident_id?: string;
      call_id?: string;
      resource_id?: string;
    };
    const family = event.event_type.split('.')[0];
    if (family === 'incident' && payload.incident_id !== undefined) {
      const entry = this.entry(this.incidents, event.agency, payload.incident_id, at, {
        mobilised: false,
        arrived: false,
        cancelled: false,
      });
      if (event.event_type === 'incident.resource_mobilised') entry.mobilised = true;
      if (event.event_type === 'incident.resource_arrived') entry.arrived = true;
      if (event.event_type === 'incident.cancelled') entry.cancelled = true;
    } else if (family === 'call' && payload.call_id !== undefined) {
      const entry = this.entry(this.calls, event.agency, payload.call_id, at, { answered: false });
      if (event.event_type === 'call.answered') entry.answered = true;
    } else if (family === 'resource' && payload.resource_id !== undefined) {
      this.entry(this.resources, event.agency, payload.resource_id, at, {});
    }
  }

  private entry<Extra extends object>(
    map: Map<string, ImportedEntity & Extra>,
    agency: string,
    id: string,
    at: number,
    extra: Extra,
  ): ImportedEntity & Extra {
    const key = `${agency}/${id}`;
    let entry = map.get(key);
    if (!entry) {
      entry = { agency, id, latestMs: at, ...extra };
      map.set(key, entry);
    } else if (at > entry.latestMs) {
      entry.latestMs = at;
    }
    return entry;
  }

  measurability(): Measurability {
    let cancelled = 0;
    let withMobilisation = 0;
    let withArrival = 0;
    for (const incident of this.incidents.values()) {
      if (incident.cancelled) {
        cancelled += 1;
        continue;
      }
      if (incident.mobilised) withMobilisation += 1;
      if (incident.arrived) withArrival += 1;
    }
    let answered = 0;
    for (const call of this.calls.values()) if (call.answered) answered += 1;
    return {
      incidents: this.incidents.size,
      cancelled,
      withMobilisation,
      withArrival,
      calls: this.calls.size,
      answered,
      resources: this.resources.size,
    };
  }
}

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
const share = (part: number, whole: number) => `${((part / whole) * 100).toFixed(1)}%`;

/**
 * The end-of-import warnings: rows that gave no measurable figure. None when every attended
 * incident has an arrival and every call an answer.
 */
export function measurabilityWarnings(measured: Measurability): string[] {
  const warnings: string[] = [];
  const attended = measured.incidents - measured.cancelled;
  if (attended > 0 && measured.withArrival === 0) {
    warnings.push(
      `${plural(measured.incidents, 'incident')} imported, 0 with a measurable attendance (${measured.withMobilisation === 0 ? 'no mobilised or arrived times' : `${measured.withMobilisation} with a mobilised time, none with an arrival`}) — check the mapping's clock columns (docs/importing.md); no attendance figure can be computed from them`,
    );
  } else if (measured.withArrival < attended) {
    const missing = attended - measured.withArrival;
    warnings.push(
      `${plural(measured.incidents, 'incident')} imported, ${measured.withArrival} with a measurable attendance; ${missing} (${share(missing, attended)} of those not cancelled) have no arrival time and count as not measured (bluelight data-quality lists them)`,
    );
  }
  if (measured.calls > 0 && measured.answered === 0) {
    warnings.push(
      `${plural(measured.calls, 'call')} imported, 0 answered — check the mapping's answer time column; no answer-time figure can be computed from them`,
    );
  }
  return warnings;
}
