import { type FixtureEvent, fixtureEvent } from '@bluelight/clickhouse-sink/testing/events';

/**
 * A hand-built operational scenario for tests (docs/operations.md): four appliances at three
 * stations, incidents across midnight and the night the clocks change, two appliances racing
 * (the second mobilised arrives first, from another station's ground), one stood down en route,
 * an incident that begins while its station's only appliance is committed elsewhere, a cancelled
 * incident, and calls in an on-call station's ground with its appliance off the run and on it.
 * Times are UTC.
 */

export interface ScenarioAppliance {
  id: string;
  station: string;
  crewing: 'wholetime' | 'on_call' | 'day_crewed';
}

export const SCENARIO_APPLIANCES: ScenarioAppliance[] = [
  { id: 'HANLEY-P1', station: 'HANLEY', crewing: 'wholetime' },
  { id: 'HANLEY-P2', station: 'HANLEY', crewing: 'wholetime' },
  { id: 'LEEK-P1', station: 'LEEK', crewing: 'on_call' },
  { id: 'BURSLEM-P1', station: 'BURSLEM', crewing: 'day_crewed' },
];

interface Attendance {
  resource: string;
  mobilised: number;
  mobile?: number;
  arrived?: number;
  left?: number;
  /** Stood down (back to available) at this many seconds, without arriving. */
  stoodDown?: number;
}

interface ScenarioIncident {
  id: string;
  /** Call time, UTC, as seconds from the scenario's start. */
  call: number;
  ground: string;
  riskBand: 'high' | 'medium' | 'low';
  appliances: Attendance[];
  closed?: number;
  cancelled?: number;
}

const HOUR = 3600;

/** The scenario's incidents, times in seconds from the start (call-relative for appliances). */
function incidents(): ScenarioIncident[] {
  // Start: London midnight of the Sunday; the clocks change at 01:00 UTC.
  return [
    {
      // Called on the Saturday (before the period), still in progress when it begins.
      id: 'I0-CARRY-IN',
      call: -30 * 60,
      ground: 'HANLEY',
      riskBand: 'high',
      appliances: [
        { resource: 'HANLEY-P2', mobilised: 60, mobile: 100, arrived: 400, left: 4_500 },
      ],
      closed: 4_800,
    },
    {
      id: 'I1-RACE',
      call: 40 * 60,
      ground: 'HANLEY',
      riskBand: 'high',
      appliances: [
        { resource: 'HANLEY-P1', mobilised: 60, mobile: 120, arrived: 540, left: 3_900 },
        { resource: 'LEEK-P1', mobilised: 60, mobile: 240, arrived: 480, left: 6_000 },
      ],
      closed: 4_200,
    },
    {
      id: 'I2-STOOD-DOWN',
      call: 90 * 60,
      ground: 'HANLEY',
      riskBand: 'medium',
      appliances: [
        { resource: 'HANLEY-P2', mobilised: 60, mobile: 180, arrived: 700, left: 2_000 },
        { resource: 'BURSLEM-P1', mobilised: 90, mobile: 150, stoodDown: 400 },
      ],
      closed: 2_500,
    },
    {
      // LEEK-P1 is still at I1 when this call comes in (the clocks have gone back).
      id: 'I3-COVER',
      call: 2 * HOUR + 10 * 60,
      ground: 'LEEK',
      riskBand: 'low',
      appliances: [
        { resource: 'HANLEY-P1', mobilised: 60, mobile: 120, arrived: 900, left: 3_600 },
      ],
      closed: 3_700,
    },
    {
      id: 'I4-CANCELLED',
      call: 11 * HOUR,
      ground: 'LEEK',
      riskBand: 'low',
      appliances: [{ resource: 'LEEK-P1', mobilised: 60, mobile: 120, stoodDown: 300 }],
      cancelled: 300,
    },
    {
      // Across London midnight: Sunday is 25 hours long, so Monday begins 25 h after the start.
      id: 'I7-MIDNIGHT',
      call: 24 * HOUR + 30 * 60,
      ground: 'BURSLEM',
      riskBand: 'medium',
      appliances: [
        { resource: 'BURSLEM-P1', mobilised: 60, mobile: 200, arrived: 500, left: 5_400 },
      ],
      closed: 5_500,
    },
    {
      // LEEK-P1 off the run (crewing) from 26 h to 37 h.
      id: 'I5-OFF-RUN',
      call: 28 * HOUR,
      ground: 'LEEK',
      riskBand: 'high',
      appliances: [
        { resource: 'HANLEY-P2', mobilised: 60, mobile: 120, arrived: 1_000, left: 2_400 },
      ],
      closed: 2_600,
    },
    {
      id: 'I6-ON-RUN',
      call: 40 * HOUR,
      ground: 'LEEK',
      riskBand: 'high',
      appliances: [{ resource: 'LEEK-P1', mobilised: 60, mobile: 200, arrived: 400, left: 1_800 }],
      closed: 2_000,
    },
  ];
}

/** LEEK-P1's off-run window, seconds from the start. */
export const OFF_RUN = { from: 26 * HOUR, to: 37 * HOUR };

export interface Scenario {
  agency: string;
  /** The London days the figures are asked for. */
  period: { from: string; to: string };
  events: FixtureEvent[];
  /** When status intervals begin (every appliance available at its station). */
  statusStart: number;
  start: number;
  incidents: ScenarioIncident[];
}

/**
 * The scenario's events for `agency`, from `startUtc` (a London midnight at the start of the
 * Sunday the clocks change) for two London days; incident ids start with `prefix`.
 */
export function operationsScenario(agency: string, startUtc: string, prefix = ''): Scenario {
  const start = Date.parse(startUtc);
  const at = (seconds: number) => start + seconds * 1000;
  const statusStart = start - 24 * HOUR * 1000;
  const events: FixtureEvent[] = [];
  const status = (appliance: ScenarioAppliance, atMs: number, state: Record<string, unknown>) =>
    events.push(
      fixtureEvent('resource.status_changed', atMs, agency, {
        resource_id: appliance.id,
        home_station: appliance.station,
        appliance_type: 'pump',
        crewing_model: appliance.crewing,
        state,
      }),
    );
  const byId = new Map(SCENARIO_APPLIANCES.map((appliance) => [appliance.id, appliance]));
  for (const appliance of SCENARIO_APPLIANCES) {
    status(appliance, statusStart, { status: 'available_at_station' });
  }
  const leek = byId.get('LEEK-P1') as ScenarioAppliance;
  status(leek, at(OFF_RUN.from), { status: 'unavailable', reason: 'crewing' });
  status(leek, at(OFF_RUN.to), { status: 'available_at_station' });
  const list = incidents().map((incident) => ({ ...incident, id: `${prefix}${incident.id}` }));
  for (const incident of list) {
    const call = at(incident.call);
    const relative = (seconds: number) => call + seconds * 1000;
    events.push(
      fixtureEvent('incident.created', relative(20), agency, {
        incident_id: incident.id,
        call_received_at: new Date(call).toISOString(),
        details: {
          service: 'fire',
          category: { type: 'primary_fire', location_type: 'dwelling' },
          risk_band: incident.riskBand,
          life_risk: true,
        },
        location: { station_ground: incident.ground, area: 'Staffordshire Moorlands' },
      }),
    );
    for (const attendance of incident.appliances) {
      const appliance = byId.get(attendance.resource) as ScenarioAppliance;
      const move = (type: string, seconds: number | undefined) => {
        if (seconds === undefined) return;
        events.push(
          fixtureEvent(`incident.resource_${type}`, relative(seconds), agency, {
            incident_id: incident.id,
            resource_id: attendance.resource,
          }),
        );
      };
      move('mobilised', attendance.mobilised);
      move('mobile', attendance.mobile);
      move('arrived', attendance.arrived);
      move('left_scene', attendance.left);
      status(appliance, relative(attendance.mobilised), {
        status: 'committed',
        incident_id: incident.id,
      });
      const free = attendance.left ?? attendance.stoodDown;
      if (free !== undefined) {
        status(appliance, relative(free), { status: 'available_at_station' });
      }
    }
    if (incident.closed !== undefined) {
      events.push(
        fixtureEvent('incident.closed', relative(incident.closed), agency, {
          incident_id: incident.id,
          stop_code: 'FD01',
          exclusions: { late_call: false, derelict_property: false, abandoned_road_vehicle: false },
        }),
      );
    }
    if (incident.cancelled !== undefined) {
      events.push(
        fixtureEvent('incident.cancelled', relative(incident.cancelled), agency, {
          incident_id: incident.id,
          reason: 'caller_cancelled',
        }),
      );
    }
  }
  // The London date of the start (a midnight, so the UTC date of noon that day).
  const sunday = new Date(start + 12 * 3_600_000).toISOString().slice(0, 10);
  const monday = new Date(Date.parse(`${sunday}T00:00:00Z`) + 86_400_000)
    .toISOString()
    .slice(0, 10);
  return {
    agency,
    period: { from: sunday, to: monday },
    events,
    statusStart,
    start,
    incidents: list,
  };
}
