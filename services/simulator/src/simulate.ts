import {
  expandAvailability,
  expandCall,
  expandFireIncident,
  expandPoliceIncident,
} from './expand.js';
import type { Profile } from './profile.js';
import { Random } from './random.js';
import { DAY, iso, londonMidnights } from './time.js';
import { type Emission, SimulatedYear } from './year.js';

export interface SimulationOptions {
  profile: Profile;
  seed: number;
  /** Events that occur in [fromMs, toMs); no toMs: forever (the live feed). */
  fromMs: number;
  toMs?: number;
}

/** A min-heap of emissions by (emitAt, seq): the order events reach the pipeline. */
class EmissionQueue {
  readonly #items: Emission[] = [];
  #seq = 0;

  get size(): number {
    return this.#items.length;
  }

  push(emission: Emission): void {
    emission.seq = this.#seq++;
    const items = this.#items;
    items.push(emission);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(items[index] as Emission, items[parent] as Emission)) break;
      [items[index], items[parent]] = [items[parent] as Emission, items[index] as Emission];
      index = parent;
    }
  }

  peek(): Emission | undefined {
    return this.#items[0];
  }

  pop(): Emission | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      items[0] = last;
      let index = 0;
      for (;;) {
        const left = index * 2 + 1;
        const right = left + 1;
        let smallest = index;
        if (left < items.length && before(items[left] as Emission, items[smallest] as Emission))
          smallest = left;
        if (right < items.length && before(items[right] as Emission, items[smallest] as Emission))
          smallest = right;
        if (smallest === index) break;
        [items[index], items[smallest]] = [items[smallest] as Emission, items[index] as Emission];
        index = smallest;
      }
    }
    return top;
  }
}

function before(a: Emission, b: Emission): boolean {
  return a.emitAt < b.emitAt || (a.emitAt === b.emitAt && a.seq < b.seq);
}

type Entity = { start: number; expand: () => Emission[] };

function yearEntities(year: SimulatedYear, profile: Profile, seed: number): Entity[] {
  const entities: Entity[] = [
    ...year.calls.map((call, index) => ({
      start: call.presented,
      expand: () => expandCall(year, profile, seed, index),
    })),
    ...year.fireIncidents.map((incident, index) => ({
      start: Math.min(incident.callReceived, incident.created),
      expand: () => expandFireIncident(year, profile, seed, index),
    })),
    ...year.policeIncidents.map((incident, index) => ({
      start: incident.callReceived,
      expand: () => expandPoliceIncident(year, profile, seed, index),
    })),
  ];
  return entities.sort((a, b) => a.start - b.start);
}

/** Each appliance's status at `atMs` when a simulation starts mid-year, so intervals begin there. */
function statusAt(year: SimulatedYear, profile: Profile, seed: number, atMs: number): Emission[] {
  const random = new Random(seed, profile.id, year.startMs, 'status-at', atMs);
  return year.appliances.map((appliance) => {
    const block = appliance.offRun.find(
      (candidate) => candidate.start <= atMs && candidate.end > atMs,
    );
    return {
      emitAt: atMs,
      occurredAt: atMs,
      seq: 0,
      event: {
        event_id: random.uuidV7(atMs),
        event_type: 'resource.status_changed',
        schema_version: 1 as const,
        occurred_at: iso(atMs),
        source: profile.sources.stationEnd,
        agency: profile.agencies.fire,
        payload: {
          resource_id: appliance.id,
          home_station: appliance.station.code,
          appliance_type: appliance.applianceType,
          crewing_model: appliance.station.crewing,
          state: block
            ? { status: 'unavailable', reason: block.reason }
            : { status: 'available_at_station' },
        },
      },
    };
  });
}

/**
 * Generates the events of [fromMs, toMs) a London day at a time, each day's batch in the order
 * the events reach the pipeline (some late, reordered or repeated). Deterministic for a seed.
 */
export function* simulate(
  options: SimulationOptions,
): Generator<{ until: number; emissions: Emission[] }> {
  const { profile, seed, fromMs } = options;
  const toMs = options.toMs ?? Number.POSITIVE_INFINITY;
  const queue = new EmissionQueue();
  const profileStart = Date.parse(profile.yearStart);
  const profileLength = Date.parse(profile.yearEnd) - profileStart;
  let yearOffset = Math.floor((fromMs - profileStart) / profileLength) - 1;
  let year: SimulatedYear | undefined;
  let entities: Entity[] = [];
  let next = 0;
  let cursor = fromMs;
  const inRange = (emission: Emission) =>
    emission.occurredAt >= fromMs && emission.occurredAt < toMs;

  while (cursor < toMs || queue.size > 0) {
    if (cursor < toMs && (!year || cursor >= year.endMs)) {
      do {
        yearOffset += 1;
        year = new SimulatedYear(profile, yearOffset, seed);
      } while (year.endMs <= cursor);
      entities = yearEntities(year, profile, seed);
      next = 0;
      // Entities that began shortly before the cursor still have events inside the range.
      while (next < entities.length && (entities[next] as Entity).start < cursor - DAY) next += 1;
      const appliances = year.appliances.flatMap((_, index) =>
        expandAvailability(year as SimulatedYear, profile, seed, index),
      );
      const started =
        year.startMs >= fromMs
          ? appliances
          : [
              ...statusAt(year, profile, seed, Math.max(cursor, fromMs)),
              ...appliances.filter((emission) => emission.occurredAt > Math.max(cursor, fromMs)),
            ];
      for (const emission of started) if (inRange(emission)) queue.push(emission);
    }
    const midnights = londonMidnights(cursor, cursor + 2 * DAY);
    const until =
      cursor >= toMs
        ? Number.POSITIVE_INFINITY
        : Math.min(midnights.find((m) => m > cursor) ?? cursor + DAY, toMs, year?.endMs ?? toMs);
    while (next < entities.length && (entities[next] as Entity).start < until) {
      for (const emission of (entities[next] as Entity).expand())
        if (inRange(emission)) queue.push(emission);
      next += 1;
    }
    const emissions: Emission[] = [];
    while (
      queue.size > 0 &&
      ((queue.peek() as Emission).emitAt < until || until === Number.POSITIVE_INFINITY)
    ) {
      emissions.push(queue.pop() as Emission);
    }
    yield { until, emissions };
    cursor = until;
    if (until === Number.POSITIVE_INFINITY) break;
  }
}
