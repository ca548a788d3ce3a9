import { DemandCurve } from './demand.js';
import type { Profile, Station } from './profile.js';
import { exactQuota, Random, rescaleToMean } from './random.js';
import { compactDate, DAY, HOUR, londonMidnights, MINUTE, SECOND } from './time.js';

/**
 * One simulated profile year, planned up front (who, what, when — small records) and expanded
 * into events lazily, a day at a time. Planning is where the published figures are met: counts
 * are exact, shares are exact quotas, and means are rescaled to their target, so a full year
 * reproduces the reference figures and not just approximately on average.
 */

export interface SimEvent {
  event_id: string;
  event_type: string;
  schema_version: 1;
  occurred_at: string;
  source: string;
  agency: string;
  correlation?: { call_id?: string; incident_id?: string };
  corrects?: { event_id: string; reason: string };
  payload: Record<string, unknown>;
}

/** An event and when it reaches the pipeline (after its occurrence: late, reordered, repeated). */
export interface Emission {
  emitAt: number;
  occurredAt: number;
  seq: number;
  event: SimEvent;
}

type RiskBand = 'high' | 'medium' | 'low';
type Category =
  | {
      type: 'primary_fire';
      location_type: 'dwelling' | 'other_building' | 'road_vehicle' | 'outdoor';
    }
  | { type: 'secondary_fire' }
  | { type: 'chimney_fire' }
  | { type: 'special_service'; special_service_type: string }
  | { type: 'false_alarm'; false_alarm_type: 'malicious' | 'good_intent' | 'due_to_apparatus' };

export interface Appliance {
  id: string;
  station: Station;
  applianceType: 'pump' | 'pump_rescue';
  offRun: { start: number; end: number; reason: string }[];
  busyUntil: number;
}

interface FireIncident {
  index: number;
  id: string;
  callIndex: number | undefined;
  callReceived: number;
  created: number;
  category: Category;
  riskBand: RiskBand;
  lifeRisk: boolean;
  station: Station;
  falls: boolean;
  firstAttendance: number;
  secondAttendance: number | undefined;
  pumpsWanted: number;
  assigned: Appliance[];
  fallsNoFurtherHelp: boolean;
  /** Whether an on-call appliance of its ground was on the run at the call ('none': no on-call pump). */
  onCallCover: OnCallCover;
}

type OnCallCover = 'on_run' | 'off_run' | 'none';

interface PoliceIncident {
  index: number;
  id: string;
  callIndex: number;
  callReceived: number;
  created: number;
  rural: boolean;
  attendance: number;
}

interface Call {
  index: number;
  id: string;
  line: '999' | '101';
  service: 'fire' | 'police';
  presented: number;
  /** Seconds to answer, or undefined when the caller hung up first. */
  waitSeconds: number | undefined;
  abandonAfterSeconds: number;
  closeAt: number | undefined;
  outcome: string;
  incidentId?: string;
}

const rescueTypes = [
  'rescue_or_evacuation',
  'effecting_entry',
  'flooding',
  'lift_release',
  'animal_assistance',
  'hazardous_materials',
  'medical_response',
  'other',
];

export class SimulatedYear {
  readonly startMs: number;
  readonly endMs: number;
  readonly #profile: Profile;
  readonly #seed: number;
  readonly #year: number;
  readonly appliances: Appliance[] = [];
  readonly fireIncidents: FireIncident[] = [];
  readonly policeIncidents: PoliceIncident[] = [];
  readonly calls: Call[] = [];

  constructor(profile: Profile, yearOffset: number, seed: number) {
    this.#profile = profile;
    this.#seed = seed;
    this.#year = yearOffset;
    // The profile year shifted by whole years (UTC instants of the same London midnights).
    const shift = (ms: number) => {
      const date = new Date(ms);
      date.setUTCFullYear(date.getUTCFullYear() + yearOffset);
      return londonMidnights(date.getTime() - DAY, date.getTime() + DAY)[1] ?? date.getTime();
    };
    this.startMs =
      yearOffset === 0 ? Date.parse(profile.yearStart) : shift(Date.parse(profile.yearStart));
    this.endMs =
      yearOffset === 0 ? Date.parse(profile.yearEnd) : shift(Date.parse(profile.yearEnd));
    this.#planAppliances();
    this.#planFireIncidents();
    this.#planPoliceAndCalls();
    this.#assignAppliances();
  }

  #random(...labels: (string | number)[]): Random {
    return new Random(this.#seed, this.#profile.id, this.#year, ...labels);
  }

  #planAppliances(): void {
    const random = this.#random('appliances');
    const midnights = londonMidnights(this.startMs, this.endMs);
    for (const station of this.#profile.stations) {
      for (let pump = 1; pump <= station.pumps; pump += 1) {
        const appliance: Appliance = {
          id: `${station.code}-P${pump}`,
          station,
          applianceType: pump === 1 && station.crewing === 'wholetime' ? 'pump_rescue' : 'pump',
          offRun: [],
          busyUntil: 0,
        };
        if (station.crewing === 'on_call') {
          // Off the run for exactly (1 - availability) of each day, in a morning and an evening
          // block: on-call crews have day jobs and family lives.
          const offMinutes = Math.round((1 - this.#profile.fire.availability.onCall) * 1_440);
          for (const midnight of midnights) {
            const morning = Math.round(offMinutes * random.uniform(0.35, 0.75));
            const morningStart = midnight + 7 * HOUR + random.integer(0, 90) * MINUTE;
            const eveningStart = midnight + 18.5 * HOUR + random.integer(0, 120) * MINUTE;
            const reason = () =>
              random.weighted([
                ['crewing', 70],
                ['officer_in_charge', 12],
                ['driver', 13],
                ['training', 5],
              ] as const);
            appliance.offRun.push({
              start: morningStart,
              end: morningStart + morning * MINUTE,
              reason: reason(),
            });
            appliance.offRun.push({
              start: eveningStart,
              end: eveningStart + (offMinutes - morning) * MINUTE,
              reason: reason(),
            });
          }
        } else {
          // Whole-time: off the run (1 - availability) of each week, in one block.
          const offMs = Math.round((1 - this.#profile.fire.availability.wholetime) * 7 * DAY);
          for (let week = 0; week + 7 <= midnights.length; week += 7) {
            const weekStart = midnights[week] as number;
            const start =
              weekStart + random.integer(0, 7 * 24 * 60 - Math.ceil(offMs / MINUTE) - 1) * MINUTE;
            const reason = random.weighted([
              ['mechanical', 40],
              ['training', 35],
              ['crewing', 25],
            ] as const);
            appliance.offRun.push({ start, end: start + offMs, reason });
          }
        }
        appliance.offRun = appliance.offRun.filter((block) => block.end < this.endMs - HOUR);
        this.appliances.push(appliance);
      }
    }
  }

  #planFireIncidents(): void {
    const fire = this.#profile.fire;
    const random = this.#random('fire-incidents');
    const demand = new DemandCurve(this.startMs, this.endMs);
    const plans: { time: number; category: Category; falls: boolean }[] = [];
    const add = (
      count: number,
      shape: 'fire' | 'secondaryFire' | 'chimney',
      make: (i: number) => Category,
      falls = false,
    ) => {
      const times = demand.sample(random, count, shape);
      times.forEach((time, index) => {
        plans.push({ time, category: make(index), falls });
      });
    };
    const locations = exactShares(random, fire.primaryFires, fire.primaryLocationShares);
    add(fire.primaryFires, 'fire', (i) => ({
      type: 'primary_fire',
      location_type: locations[i] as 'dwelling',
    }));
    add(fire.secondaryFires, 'secondaryFire', () => ({ type: 'secondary_fire' }));
    add(fire.chimneyFires, 'chimney', () => ({ type: 'chimney_fire' }));
    add(fire.roadTrafficCollisions, 'fire', () => ({
      type: 'special_service',
      special_service_type: 'road_traffic_collision',
    }));
    add(
      fire.falls.responses,
      'fire',
      () => ({ type: 'special_service', special_service_type: 'falls_assisting_other_agencies' }),
      true,
    );
    add(fire.specialServices - fire.falls.responses, 'fire', () => ({
      type: 'special_service',
      special_service_type: random.pick(rescueTypes),
    }));
    const alarmTypes = exactShares(random, fire.falseAlarms, fire.falseAlarmShares);
    add(fire.falseAlarms, 'fire', (i) => ({
      type: 'false_alarm',
      false_alarm_type: alarmTypes[i] as 'good_intent',
    }));
    plans.sort((a, b) => a.time - b.time);
    // Both clocks-change nights get an incident in the hour that repeats or disappears.
    for (const [index, night] of [1 / 3, 3 / 4].entries()) {
      const target = this.#clocksChangeInstant(index === 0 ? 'autumn' : 'spring');
      const plan = plans[Math.floor(plans.length * night)];
      if (plan && target !== undefined) plan.time = target;
    }
    plans.sort((a, b) => a.time - b.time);

    const stations = this.#profile.stations;
    const bands = exactShares(random, plans.length, fire.riskBandShares);
    plans.forEach((plan, index) => {
      const category = plan.category;
      const lifeRisk =
        (category.type === 'primary_fire' &&
          category.location_type === 'dwelling' &&
          random.chance(fire.lifeRiskShares.dwellingFire)) ||
        (category.type === 'special_service' &&
          category.special_service_type === 'road_traffic_collision' &&
          random.chance(fire.lifeRiskShares.roadTrafficCollision)) ||
        (category.type === 'special_service' &&
          category.special_service_type === 'rescue_or_evacuation' &&
          random.chance(fire.lifeRiskShares.rescue));
      const pumpsWanted = plan.falls
        ? 0
        : (category.type === 'primary_fire' &&
              (category.location_type === 'dwelling' ||
                category.location_type === 'other_building')) ||
            (category.type === 'special_service' &&
              category.special_service_type === 'road_traffic_collision')
          ? 2
          : 1;
      this.fireIncidents.push({
        index,
        id: `SFRS-${compactDate(plan.time).slice(0, 4)}-${String(this.#year).padStart(2, '0')}${String(index).padStart(5, '0')}`,
        callIndex: undefined,
        callReceived: plan.time,
        created: plan.time,
        category,
        riskBand: bands[index] as RiskBand,
        lifeRisk,
        station: random.weighted(stations.map((station) => [station, station.demand] as const)),
        falls: plan.falls,
        firstAttendance: 0,
        secondAttendance: undefined,
        pumpsWanted,
        assigned: [],
        fallsNoFurtherHelp: false,
        onCallCover: 'none',
      });
    });
    this.#planAttendance(random);
  }

  #clocksChangeInstant(which: 'autumn' | 'spring'): number | undefined {
    // The last Sunday of October / March, 01:30 UTC: inside the repeated hour (autumn) or just
    // after the skipped one (spring).
    for (let ms = this.startMs; ms < this.endMs; ms += DAY) {
      const date = new Date(ms);
      const month = date.getUTCMonth();
      if ((which === 'autumn' && month !== 9) || (which === 'spring' && month !== 2)) continue;
      const day = date.getUTCDate();
      const lastSunday = 31 - new Date(Date.UTC(date.getUTCFullYear(), month, 31)).getUTCDay();
      const instant = Date.UTC(date.getUTCFullYear(), month, day, 1, 30);
      // The year's first day can be the last Sunday of March in UTC while its 01:30 is before
      // the year began (London midnight is 23:00 UTC the evening before).
      if (day === lastSunday && instant >= this.startMs && instant < this.endMs) return instant;
    }
    return undefined;
  }

  #planAttendance(random: Random): void {
    const fire = this.#profile.fire;
    const standard = fire.attendanceStandard;
    for (const incident of this.fireIncidents) incident.onCallCover = this.#onCallCover(incident);
    const lifeRisk = this.fireIncidents.filter((incident) => incident.lifeRisk && !incident.falls);
    const met = this.#metQuota(random, lifeRisk);
    lifeRisk.forEach((incident) => {
      const threshold = standard.firstPump[incident.riskBand];
      incident.firstAttendance = met.has(incident)
        ? threshold * random.uniform(0.5, 0.995)
        : threshold * (1.01 + random.exponential(0.3));
    });
    for (const incident of this.fireIncidents) {
      if (incident.lifeRisk && !incident.falls) continue;
      // The next station's pump has further to come (falls responses send no pump).
      const fromFurther =
        !incident.falls && incident.onCallCover === 'off_run'
          ? fire.onCallCoverEffect.timeFactor
          : 1;
      const typical = incident.falls
        ? fire.falls.meanAttendanceMinutes * 60
        : standard.firstPump[incident.riskBand] * 0.85 * fromFurther;
      incident.firstAttendance = random.logNormal(typical, incident.falls ? 0.45 : 0.4);
    }
    // Exact means: falls responses, and primary fires through those the standard does not fix.
    rescaleGroup(
      this.fireIncidents.filter((incident) => incident.falls),
      fire.falls.meanAttendanceMinutes * 60,
    );
    const primary = this.fireIncidents.filter(
      (incident) => incident.category.type === 'primary_fire',
    );
    const fixed = primary.filter((incident) => incident.lifeRisk);
    const free = primary.filter((incident) => !incident.lifeRisk);
    const targetTotal = fire.meanPrimaryFireAttendanceMinutes * 60 * primary.length;
    const fixedTotal = fixed.reduce((sum, incident) => sum + incident.firstAttendance, 0);
    rescaleGroup(free, (targetTotal - fixedTotal) / free.length);
    const noFurtherHelp = exactQuota(random, fire.falls.responses, fire.falls.noFurtherHelpShare);
    this.fireIncidents
      .filter((incident) => incident.falls)
      .forEach((incident, index) => {
        incident.fallsNoFurtherHelp = noFurtherHelp[index] as boolean;
      });
    for (const incident of this.fireIncidents) {
      if (incident.pumpsWanted >= 2) {
        incident.secondAttendance = incident.firstAttendance + random.uniform(60, 300);
      }
    }
  }

  /** An on-call ground's cover at the call: any of its on-call appliances outside an off-run block. */
  #onCallCover(incident: FireIncident): OnCallCover {
    if (incident.station.crewing !== 'on_call') return 'none';
    const onRun = this.appliances.some(
      (appliance) =>
        appliance.station === incident.station &&
        !appliance.offRun.some(
          (block) => block.start <= incident.callReceived && incident.callReceived < block.end,
        ),
    );
    return onRun ? 'on_run' : 'off_run';
  }

  /**
   * The life-risk incidents that meet the attendance standard: exactly the county's share of them,
   * split in on-call grounds so that those with the on-call pump off the run meet it
   * `shareDifference` less often than those with it on the run (p_on − p_off = d with
   * u·p_off + (1 − u)·p_on = p, u the off-run fraction); whole-time grounds take the rest.
   */
  #metQuota(random: Random, lifeRisk: FireIncident[]): Set<FireIncident> {
    const share = this.#profile.fire.attendanceStandard.metShare;
    const difference = this.#profile.fire.onCallCoverEffect.shareDifference;
    const side = (cover: OnCallCover) =>
      lifeRisk.filter((incident) => incident.onCallCover === cover);
    const onRun = side('on_run');
    const offRun = side('off_run');
    const none = side('none');
    const offFraction = offRun.length / Math.max(1, onRun.length + offRun.length);
    const clamp = (value: number) => Math.min(1, Math.max(0, value));
    const metOnRun = Math.round(onRun.length * clamp(share + difference * offFraction));
    const metOffRun = Math.round(offRun.length * clamp(share - difference * (1 - offFraction)));
    const total = Math.round(lifeRisk.length * share);
    const met = new Set<FireIncident>();
    for (const [group, hits] of [
      [onRun, metOnRun],
      [offRun, metOffRun],
      [none, Math.min(none.length, Math.max(0, total - metOnRun - metOffRun))],
    ] as const) {
      for (const incident of random.shuffle([...group]).slice(0, hits)) met.add(incident);
    }
    return met;
  }

  #planPoliceAndCalls(): void {
    const random = this.#random('calls');
    const demand = new DemandCurve(this.startMs, this.endMs);
    const { calls999, calls101, police } = this.#profile;

    // 999 calls: every fire incident except falls responses (referred by the ambulance service)
    // and every police emergency incident starts with one; the rest lead to no new incident.
    const fireWithCalls = this.fireIncidents.filter((incident) => !incident.falls);
    const policeTimes = demand.sample(random, police.emergencyIncidents, 'calls');
    const fireCalls = Math.round(calls999.count * calls999.fireShare);
    const otherFireTimes = demand.sample(
      random,
      Math.max(0, fireCalls - fireWithCalls.length),
      'calls',
    );
    const otherPoliceTimes = demand.sample(
      random,
      calls999.count - fireCalls - police.emergencyIncidents,
      'calls',
    );
    type Draft = Omit<Call, 'index' | 'id' | 'waitSeconds' | 'abandonAfterSeconds' | 'closeAt'> & {
      fire?: FireIncident;
      police?: boolean;
    };
    const drafts: Draft[] = [
      ...fireWithCalls.map((incident) => ({
        line: '999' as const,
        service: 'fire' as const,
        presented: incident.callReceived,
        outcome: 'incident_created',
        incidentId: incident.id,
        fire: incident,
      })),
      ...policeTimes.map((time) => ({
        line: '999' as const,
        service: 'police' as const,
        presented: time,
        outcome: 'incident_created',
        police: true,
      })),
      ...otherFireTimes.map((time) => ({
        line: '999' as const,
        service: 'fire' as const,
        presented: time,
        outcome: 'duplicate_of_existing_incident',
      })),
      ...otherPoliceTimes.map((time) => ({
        line: '999' as const,
        service: 'police' as const,
        presented: time,
        outcome: random.pick([
          'no_further_action',
          'referred_to_other_agency',
          'duplicate_of_existing_incident',
        ]),
      })),
    ];
    // Callers who hang up are among the calls that created no incident.
    const abandonable = drafts.filter((draft) => draft.outcome !== 'incident_created');
    const abandoned = new Set(
      random
        .shuffle([...abandonable])
        .slice(0, Math.round(calls999.count * calls999.abandonedShare)),
    );
    const answered = drafts.filter((draft) => !abandoned.has(draft));
    const within = exactQuota(random, answered.length, calls999.answeredWithin10sShare);
    const waits = answered.map((_, index) =>
      within[index] ? random.uniform(1.5, 10) : 10 + random.exponential(20),
    );
    // Exact mean wait: stretch only the part of the slow answers above 10 s.
    const slowExcess = waits.reduce((sum, wait) => sum + Math.max(0, wait - 10), 0);
    const neededExcess =
      calls999.meanWaitSeconds * waits.length -
      waits.reduce((sum, wait) => sum + Math.min(wait, 10), 0);
    const stretch = slowExcess > 0 ? neededExcess / slowExcess : 1;
    const waitOf = new Map<Draft, number>();
    answered.forEach((draft, index) => {
      const wait = waits[index] as number;
      waitOf.set(draft, wait > 10 ? 10 + (wait - 10) * stretch : wait);
    });

    drafts.sort((a, b) => a.presented - b.presented);
    let policeIndex = 0;
    for (const draft of drafts) {
      const index = this.calls.length;
      const wait = waitOf.get(draft);
      const call: Call = {
        index,
        id: `C-${compactDate(draft.presented)}-${String(this.#year).padStart(2, '0')}${String(index).padStart(6, '0')}`,
        line: draft.line,
        service: draft.service,
        presented: draft.presented,
        waitSeconds: wait,
        abandonAfterSeconds: random.uniform(4, 60),
        closeAt: undefined,
        outcome: draft.outcome,
        ...(draft.incidentId ? { incidentId: draft.incidentId } : {}),
      };
      if (wait !== undefined) {
        const answeredAt = draft.presented + wait * SECOND;
        if (draft.fire) {
          draft.fire.callIndex = index;
          draft.fire.created = answeredAt + random.uniform(50, 110) * SECOND;
          call.closeAt = draft.fire.created + random.uniform(10, 40) * SECOND;
        } else if (draft.police) {
          const incident: PoliceIncident = {
            index: policeIndex,
            id: `SP-${compactDate(draft.presented)}-${String(this.#year).padStart(2, '0')}${String(policeIndex).padStart(5, '0')}`,
            callIndex: index,
            callReceived: draft.presented,
            created: answeredAt + random.uniform(60, 150) * SECOND,
            rural: random.chance(police.ruralShare),
            attendance: 0,
          };
          policeIndex += 1;
          call.incidentId = incident.id;
          call.closeAt = incident.created + random.uniform(10, 40) * SECOND;
          this.policeIncidents.push(incident);
        } else {
          call.closeAt = answeredAt + random.uniform(60, 300) * SECOND;
        }
      }
      this.calls.push(call);
    }
    // Falls responses are created from the ambulance service's request, without a 999 call here.
    for (const incident of this.fireIncidents) {
      if (incident.falls)
        incident.created = incident.callReceived + random.uniform(30, 90) * SECOND;
    }
    // Police emergency attendance: exact mean in every London month.
    for (const incident of this.policeIncidents) {
      incident.attendance = Math.max(
        (incident.created - incident.callReceived) / SECOND + 150,
        random.logNormal(police.meanEmergencyAttendanceMinutes * 60, 0.5),
      );
    }
    const byMonth = new Map<string, PoliceIncident[]>();
    for (const incident of this.policeIncidents) {
      const month = londonMonth(incident.callReceived);
      byMonth.set(month, [...(byMonth.get(month) ?? []), incident]);
    }
    for (const group of byMonth.values()) {
      const values = rescaleToMean(
        group.map((incident) => incident.attendance),
        police.meanEmergencyAttendanceMinutes * 60,
      );
      group.forEach((incident, index) => {
        incident.attendance = values[index] as number;
      });
    }

    // 101: a share abandon; of those answered, an exact share is resolved at triage; the triage
    // time (answer to close) has an exact mean.
    const times101 = demand.sample(random, calls101.count, 'calls');
    const abandoned101 = exactQuota(random, calls101.count, calls101.abandonedShare);
    const answeredCount = abandoned101.filter((isAbandoned) => !isAbandoned).length;
    const resolved = exactQuota(random, answeredCount, calls101.resolvedAtTriageShare);
    const triage = rescaleToMean(
      Array.from({ length: answeredCount }, () =>
        random.logNormal(calls101.meanTriageMinutes, 0.6),
      ),
      calls101.meanTriageMinutes,
    );
    let answeredIndex = 0;
    times101.forEach((presented, index) => {
      const callIndex = this.calls.length;
      const base = {
        index: callIndex,
        id: `C-${compactDate(presented)}-${String(this.#year).padStart(2, '0')}1${String(index).padStart(6, '0')}`,
        line: '101' as const,
        service: 'police' as const,
        presented,
        abandonAfterSeconds: random.uniform(20, 600),
      };
      if (abandoned101[index]) {
        this.calls.push({ ...base, waitSeconds: undefined, closeAt: undefined, outcome: '' });
        return;
      }
      const wait = random.logNormal(calls101.meanWaitSeconds, 1);
      const outcome = resolved[answeredIndex]
        ? 'resolved_at_triage'
        : random.weighted([
            ['appointment_booked', 45],
            ['referred_to_other_agency', 30],
            ['no_further_action', 25],
          ] as const);
      this.calls.push({
        ...base,
        waitSeconds: wait,
        closeAt: presented + wait * SECOND + (triage[answeredIndex] as number) * MINUTE,
        outcome,
      });
      answeredIndex += 1;
    });
    this.calls.sort((a, b) => a.presented - b.presented);
  }

  /** Sends the station's pumps when on the run and free, else the nearest free ones elsewhere. */
  #assignAppliances(): void {
    const random = this.#random('assignment');
    const byStation = new Map<string, Appliance[]>();
    for (const appliance of this.appliances) {
      byStation.set(appliance.station.code, [
        ...(byStation.get(appliance.station.code) ?? []),
        appliance,
      ]);
    }
    const sameArea = (station: Station) =>
      this.#profile.stations.filter((other) => other.area === station.area && other !== station);
    const incidents = [...this.fireIncidents].sort((a, b) => a.created - b.created);
    for (const incident of incidents) {
      if (incident.pumpsWanted === 0) continue;
      const mobilised = incident.created + 15 * SECOND;
      const busyUntil =
        incident.callReceived +
        (incident.secondAttendance ?? incident.firstAttendance) * SECOND +
        2 * HOUR;
      const free = (appliance: Appliance) =>
        appliance.busyUntil < mobilised &&
        !appliance.offRun.some((block) => block.start < busyUntil && block.end > mobilised);
      const candidates = [
        ...(byStation.get(incident.station.code) ?? []),
        ...random
          .shuffle(sameArea(incident.station))
          .flatMap((station) => byStation.get(station.code) ?? []),
        ...random.shuffle([...this.appliances]),
      ];
      for (const appliance of candidates) {
        if (incident.assigned.length >= incident.pumpsWanted) break;
        if (incident.assigned.includes(appliance) || !free(appliance)) continue;
        incident.assigned.push(appliance);
        appliance.busyUntil = busyUntil;
      }
    }
  }
}

function exactShares<K extends string>(
  random: Random,
  count: number,
  shares: Record<K, number>,
): K[] {
  const keys = Object.keys(shares) as K[];
  const result: K[] = [];
  let assigned = 0;
  keys.forEach((key, index) => {
    const n = index === keys.length - 1 ? count - assigned : Math.round(count * shares[key]);
    for (let i = 0; i < n; i += 1) result.push(key);
    assigned += n;
  });
  return random.shuffle(result);
}

function rescaleGroup(incidents: FireIncident[], targetMeanSeconds: number): void {
  const values = rescaleToMean(
    incidents.map((incident) => incident.firstAttendance),
    targetMeanSeconds,
  );
  incidents.forEach((incident, index) => {
    incident.firstAttendance = values[index] as number;
  });
}

const monthFormat = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Europe/London',
  year: 'numeric',
  month: '2-digit',
});
function londonMonth(ms: number): string {
  return monthFormat.format(new Date(ms));
}
