import type { SimEvent } from '../year.js';

/**
 * The reference figures computed from a stream of events in plain TypeScript — independently of
 * the simulator's planning and of the ClickHouse SQL — for the calibration tests.
 */
export class FigureCounter {
  readonly #seen = new Set<string>();
  readonly #incidents = new Map<
    string,
    {
      service: string;
      category: string;
      subtype: string;
      risk: string;
      lifeRisk: boolean;
      received: number;
      ground: string;
      stop?: string;
    }
  >();
  /** Per incident, per resource: arrival events (by id) and the ids that corrections replaced. */
  readonly #arrivals = new Map<string, { id: string; at: number }[]>();
  readonly #corrected = new Set<string>();
  readonly #calls = new Map<
    string,
    {
      line: string;
      presented?: number;
      answered?: number;
      closed?: number;
      outcome?: string;
      abandoned: boolean;
    }
  >();
  readonly #status = new Map<
    string,
    { crewing: string; station: string; changes: { at: number; unavailable: boolean }[] }
  >();

  add(event: SimEvent): void {
    if (this.#seen.has(event.event_id)) return; // a duplicate delivery
    this.#seen.add(event.event_id);
    const at = Date.parse(event.occurred_at);
    const payload = event.payload as Record<string, unknown> & {
      details?: Record<string, unknown>;
    };
    if (event.corrects) this.#corrected.add(event.corrects.event_id);
    switch (event.event_type) {
      case 'incident.created': {
        const details = payload.details as Record<string, unknown> & {
          category?: Record<string, string>;
        };
        const category = details.category ?? {};
        this.#incidents.set(payload.incident_id as string, {
          service: details.service as string,
          category: category.type ?? 'police',
          subtype:
            category.special_service_type ??
            category.location_type ??
            category.false_alarm_type ??
            '',
          risk: (details.risk_band as string) ?? '',
          lifeRisk: details.life_risk === true,
          received: Date.parse(payload.call_received_at as string),
          ground:
            (payload.location as { station_ground?: string } | undefined)?.station_ground ?? '',
        });
        break;
      }
      case 'incident.resource_arrived': {
        const key = payload.incident_id as string;
        this.#arrivals.set(key, [...(this.#arrivals.get(key) ?? []), { id: event.event_id, at }]);
        break;
      }
      case 'incident.closed': {
        const incident = this.#incidents.get(payload.incident_id as string);
        if (incident) incident.stop = payload.stop_code as string;
        break;
      }
      case 'call.presented':
      case 'call.answered':
      case 'call.abandoned':
      case 'call.closed': {
        const id = payload.call_id as string;
        const call = this.#calls.get(id) ?? { line: '', abandoned: false };
        if (event.event_type === 'call.presented') {
          call.line = payload.line as string;
          call.presented = at;
        } else if (event.event_type === 'call.answered') call.answered = at;
        else if (event.event_type === 'call.abandoned') call.abandoned = true;
        else {
          call.closed = at;
          call.outcome = (payload.resolution as { outcome: string }).outcome;
        }
        this.#calls.set(id, call);
        break;
      }
      case 'resource.status_changed': {
        const id = payload.resource_id as string;
        const entry = this.#status.get(id) ?? {
          crewing: payload.crewing_model as string,
          station: payload.home_station as string,
          changes: [],
        };
        entry.changes.push({
          at,
          unavailable: (payload.state as { status: string }).status === 'unavailable',
        });
        this.#status.set(id, entry);
        break;
      }
      default:
    }
  }

  #firstArrival(incidentId: string): number | undefined {
    const arrivals = (this.#arrivals.get(incidentId) ?? []).filter(
      (arrival) => !this.#corrected.has(arrival.id),
    );
    return arrivals.length === 0 ? undefined : Math.min(...arrivals.map((arrival) => arrival.at));
  }

  /**
   * The attendance standard over life-risk incidents in on-call stations' grounds, split by
   * whether one of the ground's on-call appliances was on the run (its latest status at or before
   * the call not `unavailable`) when the call was received: n, met and mean seconds per side.
   */
  coverSplit() {
    const thresholds: Record<string, number> = { high: 480, medium: 600, low: 1080 };
    const onCallByStation = new Map<string, { at: number; unavailable: boolean }[][]>();
    for (const entry of this.#status.values()) {
      if (entry.crewing !== 'on_call') continue;
      const changes = [...entry.changes].sort((a, b) => a.at - b.at);
      onCallByStation.set(entry.station, [...(onCallByStation.get(entry.station) ?? []), changes]);
    }
    const sides = {
      available: { n: 0, met: 0, seconds: 0 },
      unavailable: { n: 0, met: 0, seconds: 0 },
    };
    for (const [id, incident] of this.#incidents) {
      const appliances = onCallByStation.get(incident.ground);
      if (incident.service !== 'fire' || !incident.lifeRisk || !appliances) continue;
      if (incident.subtype === 'falls_assisting_other_agencies') continue;
      const arrival = this.#firstArrival(id);
      if (arrival === undefined) continue;
      const onRun = appliances.some((changes) => {
        const latest = changes.filter((change) => change.at <= incident.received).at(-1);
        return latest !== undefined && !latest.unavailable;
      });
      const side = sides[onRun ? 'available' : 'unavailable'];
      const seconds = (arrival - incident.received) / 1000;
      side.n += 1;
      side.seconds += seconds;
      if (seconds <= (thresholds[incident.risk] as number)) side.met += 1;
    }
    const summary = ({ n, met, seconds }: { n: number; met: number; seconds: number }) => ({
      n,
      met,
      meanSeconds: seconds / n,
    });
    return { available: summary(sides.available), unavailable: summary(sides.unavailable) };
  }

  figures(periodEnd: number) {
    const fire = [...this.#incidents.entries()].filter(
      ([, incident]) => incident.service === 'fire',
    );
    const count = (predicate: (incident: (typeof fire)[number][1]) => boolean) =>
      fire.filter(([, incident]) => predicate(incident)).length;
    const minutes = (id: string, incident: { received: number }) => {
      const arrival = this.#firstArrival(id);
      return arrival === undefined ? undefined : (arrival - incident.received) / 60_000;
    };
    const thresholds: Record<string, number> = { high: 8, medium: 10, low: 18 };
    const lifeRisk = fire.filter(
      ([, incident]) => incident.lifeRisk && incident.subtype !== 'falls_assisting_other_agencies',
    );
    const measured = lifeRisk
      .map(
        ([id, incident]) => [minutes(id, incident), thresholds[incident.risk] as number] as const,
      )
      .filter(([value]) => value !== undefined);
    const primary = fire
      .filter(([, incident]) => incident.category === 'primary_fire')
      .map(([id, incident]) => minutes(id, incident))
      .filter((value) => value !== undefined) as number[];
    const falls = fire.filter(
      ([, incident]) => incident.subtype === 'falls_assisting_other_agencies',
    );
    const fallsMinutes = falls
      .map(([id, incident]) => minutes(id, incident))
      .filter((value) => value !== undefined) as number[];
    const police = [...this.#incidents.entries()]
      .filter(([, incident]) => incident.service === 'police')
      .map(([id, incident]) => minutes(id, incident))
      .filter((value) => value !== undefined) as number[];
    const calls = [...this.#calls.values()];
    const answered999 = calls.filter(
      (call) => call.line === '999' && call.answered !== undefined && call.presented !== undefined,
    );
    const waits = answered999.map(
      (call) => ((call.answered as number) - (call.presented as number)) / 1000,
    );
    const answered101 = calls.filter(
      (call) => call.line === '101' && call.answered !== undefined && call.closed !== undefined,
    );
    const triage = answered101.map(
      (call) => ((call.closed as number) - (call.answered as number)) / 60_000,
    );
    const availability = (crewing: string) => {
      let total = 0;
      let unavailable = 0;
      for (const entry of this.#status.values()) {
        if (entry.crewing !== crewing) continue;
        const changes = [...entry.changes].sort((a, b) => a.at - b.at);
        changes.forEach((change, index) => {
          const end = changes[index + 1]?.at ?? periodEnd;
          total += end - change.at;
          if (change.unavailable) unavailable += end - change.at;
        });
      }
      return 1 - unavailable / total;
    };
    const mean = (values: number[]) =>
      values.reduce((sum, value) => sum + value, 0) / values.length;
    return {
      fireIncidents: fire.length,
      primaryFires: count((incident) => incident.category === 'primary_fire'),
      secondaryFires: count((incident) => incident.category === 'secondary_fire'),
      roadTrafficCollisions: count((incident) => incident.subtype === 'road_traffic_collision'),
      specialServicesOtherThanRtc: count(
        (incident) =>
          incident.category === 'special_service' && incident.subtype !== 'road_traffic_collision',
      ),
      attendanceStandardMet:
        measured.filter(([value, threshold]) => (value as number) <= threshold).length /
        measured.length,
      meanPrimaryFireAttendance: mean(primary),
      fallsResponses: falls.length,
      meanFallsAttendance: mean(fallsMinutes),
      fallsNoFurtherHelp:
        falls.filter(([, incident]) => incident.stop === 'FR1').length / falls.length,
      meanPoliceEmergencyAttendance: mean(police),
      answered999Within10s: waits.filter((wait) => wait <= 10).length / waits.length,
      mean999Wait: mean(waits),
      resolvedAtTriage101:
        answered101.filter((call) => call.outcome === 'resolved_at_triage').length /
        answered101.length,
      mean101Triage: mean(triage),
      wholetimeAvailability: availability('wholetime'),
      onCallAvailability: availability('on_call'),
    };
  }
}
