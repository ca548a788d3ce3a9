import type { Profile } from './profile.js';
import { Random } from './random.js';
import { HOUR, iso, MINUTE, SECOND } from './time.js';
import type { Appliance, Emission, SimEvent, SimulatedYear } from './year.js';

/** How often the feed misbehaves, per event (or per incident for arrivals). */
export const IMPERFECTIONS = {
  duplicate: 0.005,
  outOfOrder: 0.01,
  late: 0.002,
  correctedArrival: 0.005,
  missingArrival: 0.003,
} as const;

/**
 * Builds one entity's events. Every event's id and every imperfection comes from the entity's
 * own random stream, so an entity expands identically whatever else is generated.
 */
class EntityEvents {
  readonly emissions: Emission[] = [];
  readonly #random: Random;
  readonly #agency: string;
  readonly #source: string;

  constructor(random: Random, agency: string, source: string) {
    this.#random = random;
    this.#agency = agency;
    this.#source = source;
  }

  get random(): Random {
    return this.#random;
  }

  add(
    type: string,
    atMs: number,
    payload: Record<string, unknown>,
    extra: Pick<SimEvent, 'correlation' | 'corrects'> = {},
  ): SimEvent {
    const event: SimEvent = {
      event_id: this.#random.uuidV7(atMs),
      event_type: type,
      schema_version: 1,
      occurred_at: iso(atMs),
      source: this.#source,
      agency: this.#agency,
      ...extra,
      payload,
    };
    const random = this.#random;
    let emitAt = atMs;
    if (random.chance(IMPERFECTIONS.late)) emitAt += random.uniform(1, 6) * HOUR;
    else if (random.chance(IMPERFECTIONS.outOfOrder)) emitAt += random.uniform(30, 300) * SECOND;
    this.emissions.push({ emitAt, occurredAt: atMs, seq: 0, event });
    if (random.chance(IMPERFECTIONS.duplicate)) {
      this.emissions.push({
        emitAt: emitAt + random.uniform(1, 60) * SECOND,
        occurredAt: atMs,
        seq: 0,
        event,
      });
    }
    return event;
  }
}

export function expandCall(
  year: SimulatedYear,
  profile: Profile,
  seed: number,
  index: number,
): Emission[] {
  const call = year.calls[index];
  if (!call) return [];
  const out = new EntityEvents(
    new Random(seed, profile.id, year.startMs, 'call', index),
    profile.agencies.control,
    profile.sources.telephony,
  );
  const queue = call.line === '101' ? '101-general' : `999-${call.service}`;
  out.add('call.presented', call.presented, {
    call_id: call.id,
    line: call.line,
    service: call.service,
    queue,
  });
  if (call.waitSeconds === undefined) {
    out.add('call.abandoned', call.presented + call.abandonAfterSeconds * SECOND, {
      call_id: call.id,
      stage: 'queue',
    });
    return out.emissions;
  }
  const position = `${call.line === '101' ? '101' : call.service === 'fire' ? 'FIRE' : 'POL'}-${String(out.random.integer(1, 12)).padStart(2, '0')}`;
  out.add('call.answered', call.presented + call.waitSeconds * SECOND, {
    call_id: call.id,
    position,
  });
  if (call.closeAt !== undefined) {
    const resolution =
      call.outcome === 'incident_created'
        ? { outcome: 'incident_created', incident_id: call.incidentId }
        : { outcome: call.outcome };
    out.add(
      'call.closed',
      call.closeAt,
      { call_id: call.id, position, resolution },
      call.incidentId ? { correlation: { call_id: call.id, incident_id: call.incidentId } } : {},
    );
  }
  return out.emissions;
}

export function expandFireIncident(
  year: SimulatedYear,
  profile: Profile,
  seed: number,
  index: number,
): Emission[] {
  const incident = year.fireIncidents[index];
  if (!incident) return [];
  const random = new Random(seed, profile.id, year.startMs, 'fire-incident', index);
  const out = new EntityEvents(random, profile.agencies.fire, profile.sources.cad);
  const call = incident.callIndex === undefined ? undefined : year.calls[incident.callIndex];
  const incidentId = incident.id;
  out.add(
    'incident.created',
    incident.created,
    {
      incident_id: incidentId,
      call_received_at: iso(incident.callReceived),
      details: {
        service: 'fire',
        category: incident.category,
        risk_band: incident.riskBand,
        life_risk: incident.lifeRisk,
      },
      location: { station_ground: incident.station.code, area: incident.station.area },
    },
    call ? { correlation: { call_id: call.id } } : {},
  );
  const mobilised = incident.created + 15 * SECOND;
  const resources: { id: string; wholetime: boolean; appliance?: Appliance }[] = incident.falls
    ? [{ id: `FALLS-${String((index % 3) + 1)}`, wholetime: true }]
    : incident.assigned.map((appliance) => ({
        id: appliance.id,
        wholetime: appliance.station.crewing === 'wholetime',
        appliance,
      }));
  const arrivals = [incident.firstAttendance, incident.secondAttendance];
  let lastLeft = incident.created;
  const missingArrival = random.chance(IMPERFECTIONS.missingArrival);
  resources.forEach((resource, order) => {
    const arrivalMs =
      incident.callReceived + (arrivals[order] ?? incident.firstAttendance + 120) * SECOND;
    const mobilisedAt = mobilised + order * 5 * SECOND;
    const turnout =
      (resource.wholetime ? random.uniform(60, 100) : random.uniform(240, 330)) * SECOND;
    const mobileAt = Math.min(mobilisedAt + turnout, arrivalMs - 60 * SECOND);
    const leftAt = arrivalMs + random.uniform(20, 90) * MINUTE;
    lastLeft = Math.max(lastLeft, leftAt);
    const onIncident = { incident_id: incidentId, resource_id: resource.id };
    out.add('incident.resource_mobilised', mobilisedAt, onIncident);
    out.add('incident.resource_mobile', Math.max(mobileAt, mobilisedAt + SECOND), onIncident);
    if (!(order === 0 && missingArrival)) {
      if (order === 0 && random.chance(IMPERFECTIONS.correctedArrival)) {
        // The crew pressed "arrived" early; CAD corrects it from the vehicle's location later.
        const wrong = out.add(
          'incident.resource_arrived',
          arrivalMs - random.uniform(60, 180) * SECOND,
          onIncident,
        );
        const correction = out.add('incident.resource_arrived', arrivalMs, onIncident, {
          corrects: { event_id: wrong.event_id, reason: 'arrival time corrected from AVL' },
        });
        const last = out.emissions.findLast((emission) => emission.event === correction);
        if (last) last.emitAt = arrivalMs + 30 * MINUTE;
      } else {
        out.add('incident.resource_arrived', arrivalMs, onIncident);
      }
    }
    out.add('incident.resource_left_scene', leftAt, onIncident);
    const { appliance } = resource;
    if (appliance) {
      const station = out.random.uniform(10, 25) * MINUTE;
      const statusPayload = (state: Record<string, unknown>) => ({
        resource_id: resource.id,
        home_station: appliance.station.code,
        appliance_type: appliance.applianceType,
        crewing_model: appliance.station.crewing,
        state,
      });
      const stationEnd = new EntityEvents(
        new Random(seed, profile.id, year.startMs, 'status', index, order),
        profile.agencies.fire,
        profile.sources.stationEnd,
      );
      stationEnd.add(
        'resource.status_changed',
        mobilisedAt,
        statusPayload({ status: 'committed', incident_id: incidentId }),
      );
      stationEnd.add(
        'resource.status_changed',
        leftAt,
        statusPayload({ status: 'available_mobile' }),
      );
      stationEnd.add(
        'resource.status_changed',
        leftAt + station,
        statusPayload({ status: 'available_at_station' }),
      );
      out.emissions.push(...stationEnd.emissions);
    }
  });
  const fallsOutcome = incident.fallsNoFurtherHelp ? 'FR1' : 'FR2';
  out.add('incident.closed', lastLeft + random.uniform(2, 10) * MINUTE, {
    incident_id: incidentId,
    stop_code: incident.falls ? fallsOutcome : stopCode(incident.category),
    exclusions: {
      late_call: random.chance(0.004),
      derelict_property:
        incident.category.type === 'primary_fire' &&
        incident.category.location_type === 'other_building' &&
        random.chance(0.03),
      abandoned_road_vehicle:
        incident.category.type === 'primary_fire' &&
        incident.category.location_type === 'road_vehicle' &&
        random.chance(0.1),
    },
  });
  return out.emissions;
}

function stopCode(category: { type: string }): string {
  return (
    {
      primary_fire: 'FP1',
      secondary_fire: 'FS1',
      chimney_fire: 'FC1',
      special_service: 'SS1',
      false_alarm: 'FA1',
    }[category.type] ?? 'XX1'
  );
}

export function expandPoliceIncident(
  year: SimulatedYear,
  profile: Profile,
  seed: number,
  index: number,
): Emission[] {
  const incident = year.policeIncidents[index];
  if (!incident) return [];
  const random = new Random(seed, profile.id, year.startMs, 'police-incident', index);
  const out = new EntityEvents(random, profile.agencies.police, profile.sources.policeCad);
  const call = year.calls[incident.callIndex];
  const unit = `PC-${String(random.integer(1, 80)).padStart(3, '0')}`;
  const onIncident = { incident_id: incident.id, resource_id: unit };
  out.add(
    'incident.created',
    incident.created,
    {
      incident_id: incident.id,
      call_received_at: iso(incident.callReceived),
      details: {
        service: 'police',
        grading: 'emergency',
        area_type: incident.rural ? 'rural' : 'urban',
      },
      location: { station_ground: incident.rural ? 'RURAL' : 'URBAN', area: 'Staffordshire' },
    },
    call ? { correlation: { call_id: call.id } } : {},
  );
  const arrival = incident.callReceived + incident.attendance * SECOND;
  const mobilised = incident.created + random.uniform(10, 40) * SECOND;
  out.add('incident.resource_mobilised', mobilised, onIncident);
  out.add(
    'incident.resource_mobile',
    Math.min(mobilised + random.uniform(10, 60) * SECOND, arrival - SECOND),
    onIncident,
  );
  out.add('incident.resource_arrived', arrival, onIncident);
  const left = arrival + random.uniform(20, 90) * MINUTE;
  out.add('incident.resource_left_scene', left, onIncident);
  out.add('incident.closed', left + random.uniform(1, 5) * MINUTE, {
    incident_id: incident.id,
    stop_code: 'PE1',
    exclusions: { late_call: false, derelict_property: false, abandoned_road_vehicle: false },
  });
  return out.emissions;
}

/** Off-the-run periods (and the initial state) of one appliance over the year. */
export function expandAvailability(
  year: SimulatedYear,
  profile: Profile,
  seed: number,
  index: number,
): Emission[] {
  const appliance = year.appliances[index];
  if (!appliance) return [];
  const out = new EntityEvents(
    new Random(seed, profile.id, year.startMs, 'availability', index),
    profile.agencies.fire,
    profile.sources.stationEnd,
  );
  const payload = (state: Record<string, unknown>) => ({
    resource_id: appliance.id,
    home_station: appliance.station.code,
    appliance_type: appliance.applianceType,
    crewing_model: appliance.station.crewing,
    state,
  });
  out.add('resource.status_changed', year.startMs, payload({ status: 'available_at_station' }));
  for (const block of appliance.offRun) {
    out.add(
      'resource.status_changed',
      block.start,
      payload({ status: 'unavailable', reason: block.reason }),
    );
    out.add('resource.status_changed', block.end, payload({ status: 'available_at_station' }));
  }
  return out.emissions;
}
