import {
  effectiveEvents,
  type FixtureEvent,
  referenceAppliances,
} from '@bluelight/clickhouse-sink/testing/events';

/**
 * Plain TypeScript recomputations of the operational figures from the events themselves, for
 * tests: no SQL, no facts tables — the definitions of docs/operations.md applied to the list.
 */

const londonDate = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Europe/London',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});
const londonParts = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  weekday: 'short',
  hour: '2-digit',
  hourCycle: 'h23',
});

export const londonDay = (ms: number) => londonDate.format(new Date(ms));

/** ISO day of week and London hour, "1-08" for Monday 08:00–09:00. */
export function londonHourOfWeek(ms: number): string {
  const parts = londonParts.formatToParts(new Date(ms));
  const weekday = parts.find((part) => part.type === 'weekday')?.value ?? '';
  const hour = parts.find((part) => part.type === 'hour')?.value ?? '';
  const iso = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(weekday) + 1;
  return `${iso}-${hour}`;
}

/** The instant a London day begins (search by the hour: offsets are whole hours). */
export function londonMidnight(day: string): number {
  const noonUtc = Date.parse(`${day}T12:00:00Z`);
  for (let ms = noonUtc - 14 * 3_600_000; ms <= noonUtc; ms += 3_600_000) {
    if (londonDay(ms) === day) return ms;
  }
  throw new Error(`no London midnight found for ${day}`);
}

const nextDay = (day: string) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

export interface RefIncident {
  agency: string;
  id: string;
  call: number;
  ground: string;
  riskBand: string;
  lifeRisk: boolean;
  closed: number | null;
  cancelled: boolean;
  day: string;
}

export function refIncidents(events: FixtureEvent[]): RefIncident[] {
  const incidents = new Map<string, RefIncident>();
  for (const event of effectiveEvents(events)) {
    if (!event.event_type.startsWith('incident.')) continue;
    const key = `${event.agency}/${event.payload.incident_id}`;
    const incident = incidents.get(key) ?? {
      agency: event.agency,
      id: event.payload.incident_id as string,
      call: Number.NaN,
      ground: '',
      riskBand: '',
      lifeRisk: false,
      closed: null,
      cancelled: false,
      day: '',
    };
    if (event.event_type === 'incident.created') {
      incident.call = Date.parse(event.payload.call_received_at as string);
      incident.day = londonDay(incident.call);
      incident.ground = (event.payload.location as { station_ground: string }).station_ground;
      const details = event.payload.details as { risk_band: string; life_risk: boolean };
      incident.riskBand = details.risk_band;
      incident.lifeRisk = details.life_risk;
    }
    if (event.event_type === 'incident.closed') {
      const at = Date.parse(event.occurred_at);
      incident.closed = Math.max(incident.closed ?? at, at);
    }
    if (event.event_type === 'incident.cancelled') incident.cancelled = true;
    incidents.set(key, incident);
  }
  return [...incidents.values()];
}

export interface RefChange {
  agency: string;
  resource: string;
  at: number;
  station: string;
  crewing: string;
  status: string;
  incident: string;
}

export function refChanges(events: FixtureEvent[]): RefChange[] {
  return effectiveEvents(events)
    .filter((event) => event.event_type === 'resource.status_changed')
    .map((event) => {
      const state = event.payload.state as { status: string; incident_id?: string };
      return {
        agency: event.agency,
        resource: event.payload.resource_id as string,
        at: Date.parse(event.occurred_at),
        station: event.payload.home_station as string,
        crewing: event.payload.crewing_model as string,
        status: state.status,
        incident: state.incident_id ?? '',
      };
    })
    .sort((a, b) => a.at - b.at);
}

/** The status of an appliance at an instant: its latest change at or before it. */
function statusAt(changes: RefChange[], agency: string, resource: string, at: number) {
  let found: RefChange | undefined;
  for (const change of changes) {
    if (change.agency === agency && change.resource === resource && change.at <= at) found = change;
  }
  return found;
}

/** ClickHouse's quantileExact: the element at floor(level × n) of the sorted values. */
export function quantileExact(values: number[], level: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(Math.floor(level * sorted.length), sorted.length - 1)] as number;
}

const mean = (values: number[]) =>
  values.length === 0 ? null : values.reduce((sum, value) => sum + value, 0) / values.length;

function summary(values: number[]) {
  return {
    n: values.length,
    meanSeconds: mean(values),
    p90Seconds: quantileExact(values, 0.9),
  };
}

export interface Period {
  from: string;
  to: string;
}

/** Per-appliance segments grouped by a key of the appliance's row. */
export function refApplianceSegments(
  events: FixtureEvent[],
  agencies: string[],
  period: Period,
  groupOf: (row: { resource: string; station: string; crewing: string; ground: string }) => string,
) {
  const changes = refChanges(events);
  const profile = (agency: string, resource: string) =>
    [...changes].reverse().find((c) => c.agency === agency && c.resource === resource);
  const incidents = new Map(refIncidents(events).map((i) => [`${i.agency}/${i.id}`, i]));
  const groups = new Map<string, ReturnType<typeof referenceAppliances>>();
  const rows = referenceAppliances(events).filter((row) => {
    const incident = incidents.get(`${row.agency}/${row.incident_id}`);
    return (
      agencies.includes(row.agency) &&
      incident !== undefined &&
      incident.day >= period.from &&
      incident.day <= period.to
    );
  });
  for (const row of rows) {
    const own = profile(row.agency, row.resource_id);
    const key = groupOf({
      resource: row.resource_id,
      station: own?.station ?? '',
      crewing: own?.crewing ?? '',
      ground: row.station_ground,
    });
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  const seconds = (from: number | null, to: number | null) =>
    from === null || to === null || to < from ? null : (to - from) / 1000;
  const defined = (values: (number | null)[]) => values.filter((v): v is number => v !== null);
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([group, list]) => ({
      group,
      mobilisations: list.length,
      arrivals: list.filter((row) => row.arrived_at !== null).length,
      notArrived: list.filter((row) => row.arrived_at === null).length,
      stoodDown: list.filter((row) => row.arrived_at === null && !row.cancelled).length,
      firstArrivals: list.filter((row) => row.arrival_order === 1).length,
      crossedBorder: list.filter(
        (row) => (profile(row.agency, row.resource_id)?.station ?? '') !== row.station_ground,
      ).length,
      segments: {
        turnout: summary(defined(list.map((row) => seconds(row.mobilised_at, row.mobile_at)))),
        travel: summary(defined(list.map((row) => seconds(row.mobile_at, row.arrived_at)))),
        attendance: summary(
          defined(list.map((row) => seconds(row.call_received_at, row.arrived_at))),
        ),
      },
    }));
}

/** The instants [from, to) of a period of London days. */
export function periodInstants(period: Period): { from: number; to: number } {
  return { from: londonMidnight(period.from), to: londonMidnight(nextDay(period.to)) };
}

/** Level segments of incidents in progress (call to closure), clipped to the period. */
function levelSegments(incidents: RefIncident[], period: Period) {
  const { from, to } = periodInstants(period);
  const points: [number, number][] = [];
  for (const incident of incidents) {
    if (incident.cancelled || incident.closed === null || incident.closed <= incident.call)
      continue;
    if (incident.call >= to || incident.closed <= from) continue;
    points.push([Math.max(incident.call, from), 1], [Math.min(incident.closed, to), -1]);
  }
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const segments: { from: number; to: number; level: number }[] = [];
  let level = 0;
  points.forEach(([at, delta], index) => {
    level += delta;
    const next = points[index + 1];
    if (next && next[0] > at) segments.push({ from: at, to: next[0], level });
  });
  return segments;
}

/** Incidents in progress at once, per group: hours at each level (0 included) and the peak. */
export function refConcurrency(
  events: FixtureEvent[],
  agencies: string[],
  period: Period,
  groupOf: (incident: RefIncident) => string,
  carryInDays: number,
) {
  const earliest = new Date(Date.parse(`${period.from}T00:00:00Z`) - carryInDays * 86_400_000)
    .toISOString()
    .slice(0, 10);
  const incidents = refIncidents(events).filter(
    (i) => agencies.includes(i.agency) && i.day >= earliest && i.day <= period.to,
  );
  const { from, to } = periodInstants(period);
  const groups = new Map<string, RefIncident[]>();
  for (const incident of incidents) {
    const key = groupOf(incident);
    groups.set(key, [...(groups.get(key) ?? []), incident]);
  }
  const distribution = [];
  const series: { group: string; bucket: string; peak: number }[] = [];
  for (const [group, list] of [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const segments = levelSegments(list, period).filter((segment) => segment.level > 0);
    if (segments.length === 0) continue;
    const hoursByLevel: Record<string, number> = {};
    for (const segment of segments) {
      hoursByLevel[segment.level] =
        (hoursByLevel[segment.level] ?? 0) + (segment.to - segment.from) / 3_600_000;
    }
    const busy = Object.values(hoursByLevel).reduce((sum, hours) => sum + hours, 0);
    hoursByLevel['0'] = (to - from) / 3_600_000 - busy;
    distribution.push({
      group,
      peak: Math.max(...segments.map((segment) => segment.level)),
      hoursByLevel,
    });
    const peaks = new Map<string, number>();
    for (const segment of segments) {
      for (
        let hour = Math.floor(segment.from / 3_600_000);
        hour * 3_600_000 < segment.to;
        hour += 1
      ) {
        const bucket = `${new Date(hour * 3_600_000).toISOString().slice(0, 13)}:00:00Z`;
        peaks.set(bucket, Math.max(peaks.get(bucket) ?? 0, segment.level));
      }
    }
    for (const [bucket, peak] of [...peaks.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      series.push({ group, bucket, peak });
    }
  }
  return { distribution, series };
}

/** Per incident of the period: what its station's own appliances were doing at the call. */
export function refCoverAtCall(events: FixtureEvent[], agencies: string[], period: Period) {
  const changes = refChanges(events);
  const appliances = new Map<string, RefChange>();
  for (const change of changes) appliances.set(`${change.agency}/${change.resource}`, change);
  return refIncidents(events)
    .filter(
      (i) =>
        agencies.includes(i.agency) && !i.cancelled && i.day >= period.from && i.day <= period.to,
    )
    .map((incident) => {
      const own = [...appliances.values()].filter(
        (a) => a.agency === incident.agency && a.station === incident.ground,
      );
      const states = own.map((a) => ({
        crewing: a.crewing,
        status: statusAt(changes, a.agency, a.resource, incident.call),
      }));
      return {
        incident,
        ownAppliances: own.length,
        committedElsewhere: states.filter(
          (s) => s.status?.status === 'committed' && s.status.incident !== incident.id,
        ).length,
        free: states.filter((s) =>
          ['available_at_station', 'available_mobile'].includes(s.status?.status ?? ''),
        ).length,
        onCall: states.filter((s) => s.crewing === 'on_call').length,
        onCallOnRun: states.filter(
          (s) =>
            s.crewing === 'on_call' && s.status !== undefined && s.status.status !== 'unavailable',
        ).length,
      };
    });
}

/**
 * Unit-hour utilisation per group (and London hour of week when asked): committed time over
 * time on the run, from each appliance's status changes clipped to the period.
 */
export function refUtilisation(
  events: FixtureEvent[],
  agencies: string[],
  period: Period,
  groupOf: (change: RefChange) => string,
  byHourOfWeek: boolean,
) {
  const { from, to } = periodInstants(period);
  const changes = refChanges(events).filter((change) => agencies.includes(change.agency));
  const totals = new Map<string, { available: number; committed: number }>();
  const byResource = new Map<string, RefChange[]>();
  for (const change of changes) {
    const key = `${change.agency}/${change.resource}`;
    byResource.set(key, [...(byResource.get(key) ?? []), change]);
  }
  for (const list of byResource.values()) {
    list.forEach((change, index) => {
      const end = list[index + 1]?.at ?? to;
      const start = Math.max(change.at, from);
      const stop = Math.min(end, to);
      if (stop <= start) return;
      const pieces: [number, number][] = [];
      if (byHourOfWeek) {
        for (let hour = Math.floor(start / 3_600_000); hour * 3_600_000 < stop; hour += 1) {
          pieces.push([Math.max(start, hour * 3_600_000), Math.min(stop, (hour + 1) * 3_600_000)]);
        }
      } else {
        pieces.push([start, stop]);
      }
      for (const [a, b] of pieces) {
        const key = `${groupOf(change)}\u0000${byHourOfWeek ? londonHourOfWeek(a) : 'all'}`;
        const total = totals.get(key) ?? { available: 0, committed: 0 };
        if (change.status !== 'unavailable') total.available += b - a;
        if (change.status === 'committed') total.committed += b - a;
        totals.set(key, total);
      }
    });
  }
  return [...totals.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([key, total]) => {
      const [group, hourOfWeek] = key.split('\u0000') as [string, string];
      return {
        group,
        hourOfWeek,
        availableHours: total.available / 3_600_000,
        committedHours: total.committed / 3_600_000,
        utilisation: total.available > 0 ? total.committed / total.available : null,
      };
    });
}
