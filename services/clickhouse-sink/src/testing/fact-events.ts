import { uuidV7 } from './incident-scenario.js';

/**
 * Contract events for hand-built test fixtures: an incident, a call or an appliance described by
 * the facts a test expects (times as seconds after the call), turned into the events that give
 * those facts. Tests land them through the sink (land.ts), so fixtures exercise the same path as
 * production data, materialized views included.
 */

export interface FixtureEvent {
  event_id: string;
  event_type: string;
  schema_version: 1;
  occurred_at: string;
  source: string;
  agency: string;
  corrects?: { event_id: string; reason: string };
  payload: Record<string, unknown>;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function fixtureEvent(
  type: string,
  atMs: number,
  agency: string,
  payload: Record<string, unknown>,
  source = 'fixture',
): FixtureEvent {
  return {
    event_id: uuidV7(atMs),
    event_type: type,
    schema_version: 1,
    occurred_at: iso(atMs),
    source,
    agency,
    payload,
  };
}

export interface IncidentFixture {
  id: string;
  /** Default: staffordshire-fire (staffordshire-police for police incidents). */
  agency?: string;
  /** When the call was received (ISO 8601 with offset). */
  receivedAt: string;
  service?: 'fire' | 'police';
  /** Fire: a Home Office category (default primary_fire) and its subtype. */
  category?: 'primary_fire' | 'secondary_fire' | 'chimney_fire' | 'special_service' | 'false_alarm';
  subtype?: string;
  riskBand?: 'high' | 'medium' | 'low';
  lifeRisk?: boolean;
  /** Police: grading (default emergency) and area type (default urban). */
  grading?: 'emergency' | 'priority' | 'scheduled';
  areaType?: 'urban' | 'rural';
  station?: string;
  area?: string;
  /** Seconds after the call; null or absent: no such event. */
  createdAfter?: number;
  mobilisedAfter?: number | null;
  mobileAfter?: number | null;
  /** Each arriving appliance's arrival, seconds after the call (appliance `${id}-R<n>`). */
  arrivalsAfter?: (number | null)[];
  closedAfter?: number | null;
  stopCode?: string;
  exclusions?: { lateCall?: boolean; derelictProperty?: boolean; abandonedRoadVehicle?: boolean };
  delayReason?: string;
  cancelledAfter?: number | null;
}

function fireCategory(fixture: IncidentFixture): Record<string, string> {
  const type = fixture.category ?? 'primary_fire';
  switch (type) {
    case 'primary_fire':
      return { type, location_type: fixture.subtype ?? 'dwelling' };
    case 'special_service':
      return { type, special_service_type: fixture.subtype ?? 'road_traffic_collision' };
    case 'false_alarm':
      return { type, false_alarm_type: fixture.subtype ?? 'good_intent' };
    default:
      return { type };
  }
}

/** The events of one incident: creation, a mobilisation, mobile, arrivals, closure or cancellation. */
export function incidentFixtureEvents(fixture: IncidentFixture): FixtureEvent[] {
  const police = fixture.service === 'police';
  const agency = fixture.agency ?? (police ? 'staffordshire-police' : 'staffordshire-fire');
  const received = Date.parse(fixture.receivedAt);
  const at = (seconds: number) => received + seconds * 1000;
  const incident_id = fixture.id;
  const details = police
    ? {
        service: 'police',
        grading: fixture.grading ?? 'emergency',
        area_type: fixture.areaType ?? 'urban',
      }
    : {
        service: 'fire',
        category: fireCategory(fixture),
        risk_band: fixture.riskBand ?? 'high',
        life_risk: fixture.lifeRisk ?? true,
      };
  const events = [
    fixtureEvent('incident.created', at(fixture.createdAfter ?? 20), agency, {
      incident_id,
      call_received_at: iso(received),
      details,
      location: { station_ground: fixture.station ?? 'HANLEY', area: fixture.area ?? 'Stoke' },
    }),
  ];
  const resource = `${incident_id}-R1`;
  if (fixture.mobilisedAfter !== undefined && fixture.mobilisedAfter !== null) {
    events.push(
      fixtureEvent('incident.resource_mobilised', at(fixture.mobilisedAfter), agency, {
        incident_id,
        resource_id: resource,
      }),
    );
  }
  if (fixture.mobileAfter !== undefined && fixture.mobileAfter !== null) {
    events.push(
      fixtureEvent('incident.resource_mobile', at(fixture.mobileAfter), agency, {
        incident_id,
        resource_id: resource,
      }),
    );
  }
  (fixture.arrivalsAfter ?? []).forEach((seconds, index) => {
    if (seconds === null) return;
    events.push(
      fixtureEvent('incident.resource_arrived', at(seconds), agency, {
        incident_id,
        resource_id: `${incident_id}-R${index + 1}`,
      }),
    );
  });
  if (fixture.closedAfter !== undefined && fixture.closedAfter !== null) {
    const exclusions = fixture.exclusions ?? {};
    events.push(
      fixtureEvent('incident.closed', at(fixture.closedAfter), agency, {
        incident_id,
        stop_code: fixture.stopCode ?? 'FD01',
        exclusions: {
          late_call: exclusions.lateCall ?? false,
          derelict_property: exclusions.derelictProperty ?? false,
          abandoned_road_vehicle: exclusions.abandonedRoadVehicle ?? false,
        },
        ...(fixture.delayReason ? { delay_reason: fixture.delayReason } : {}),
      }),
    );
  }
  if (fixture.cancelledAfter !== undefined && fixture.cancelledAfter !== null) {
    events.push(
      fixtureEvent('incident.cancelled', at(fixture.cancelledAfter), agency, {
        incident_id,
        reason: 'caller_cancelled',
      }),
    );
  }
  return events;
}

export interface CallFixture {
  id: string;
  agency?: string;
  presentedAt: string;
  line?: '999' | '101' | 'online';
  service?: 'fire' | 'police' | 'ambulance';
  queue?: string;
  /** Seconds after presentation; null or absent: no such event. */
  answeredAfter?: number | null;
  abandonedAfter?: number | null;
  closedAfter?: number | null;
  /** The closure's outcome (default incident_created when answered, otherwise no_further_action). */
  outcome?: string;
}

/** The events of one call: presented, answered or abandoned, closed. */
export function callFixtureEvents(fixture: CallFixture): FixtureEvent[] {
  const agency = fixture.agency ?? 'staffordshire-control';
  const presented = Date.parse(fixture.presentedAt);
  const at = (seconds: number) => presented + seconds * 1000;
  const call_id = fixture.id;
  const line = fixture.line ?? '999';
  const service = fixture.service ?? 'fire';
  const events = [
    fixtureEvent('call.presented', presented, agency, {
      call_id,
      line,
      service,
      queue: fixture.queue ?? `${line}-${service}`,
    }),
  ];
  if (fixture.answeredAfter !== undefined && fixture.answeredAfter !== null) {
    events.push(
      fixtureEvent('call.answered', at(fixture.answeredAfter), agency, {
        call_id,
        position: 'P-01',
      }),
    );
  }
  if (fixture.abandonedAfter !== undefined && fixture.abandonedAfter !== null) {
    events.push(
      fixtureEvent('call.abandoned', at(fixture.abandonedAfter), agency, {
        call_id,
        stage: 'queue',
      }),
    );
  }
  if (fixture.closedAfter !== undefined && fixture.closedAfter !== null) {
    const outcome =
      fixture.outcome ?? (fixture.answeredAfter != null ? 'incident_created' : 'no_further_action');
    events.push(
      fixtureEvent('call.closed', at(fixture.closedAfter), agency, {
        call_id,
        resolution:
          outcome === 'incident_created' ? { outcome, incident_id: `INC-${call_id}` } : { outcome },
      }),
    );
  }
  return events;
}

export interface StatusFixture {
  /** When the appliance changed to this status (ISO 8601 with offset). */
  at: string;
  status: 'available_at_station' | 'available_mobile' | 'committed' | 'unavailable';
  reason?: string;
}

/** Status changes of one appliance. */
export function statusFixtureEvents(
  appliance: {
    id: string;
    agency?: string;
    station: string;
    type?: string;
    crewing: 'wholetime' | 'on_call' | 'day_crewed';
  },
  changes: StatusFixture[],
): FixtureEvent[] {
  return changes.map((change) =>
    fixtureEvent(
      'resource.status_changed',
      Date.parse(change.at),
      appliance.agency ?? 'staffordshire-fire',
      {
        resource_id: appliance.id,
        home_station: appliance.station,
        appliance_type: appliance.type ?? 'pump',
        crewing_model: appliance.crewing,
        state:
          change.status === 'unavailable'
            ? { status: 'unavailable', reason: change.reason ?? 'crewing' }
            : { status: change.status },
      },
    ),
  );
}
