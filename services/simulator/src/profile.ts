/**
 * A county to simulate, with the figures its generated year must reproduce. The reference is
 * Staffordshire's published 2023-24 figures (../shared/DESIGN.md); where the publication gives
 * no number (call volumes, police incidents, risk-band mix) the profile says what it assumes.
 */

type Crewing = 'wholetime' | 'on_call';

export interface Station {
  code: string;
  area: string;
  crewing: Crewing;
  pumps: number;
  /** Relative share of incidents on its ground. */
  demand: number;
}

export interface Profile {
  id: string;
  description: string;
  /** The profile year [start, end) as UTC instants; generation repeats it for other years. */
  yearStart: string;
  yearEnd: string;
  agencies: { fire: string; police: string; control: string };
  sources: { cad: string; policeCad: string; telephony: string; stationEnd: string };
  stations: Station[];
  fire: {
    primaryFires: number;
    primaryLocationShares: Record<
      'dwelling' | 'other_building' | 'road_vehicle' | 'outdoor',
      number
    >;
    secondaryFires: number;
    chimneyFires: number;
    /** Special services other than road traffic collisions (falls responses are part of these). */
    specialServices: number;
    roadTrafficCollisions: number;
    falseAlarms: number;
    falseAlarmShares: Record<'malicious' | 'good_intent' | 'due_to_apparatus', number>;
    riskBandShares: Record<'high' | 'medium' | 'low', number>;
    /** Which incidents are life-risk (the Service Attendance Standard applies to these). */
    lifeRiskShares: { dwellingFire: number; roadTrafficCollision: number; rescue: number };
    /** First / second pump thresholds in seconds by risk band. */
    attendanceStandard: {
      firstPump: Record<'high' | 'medium' | 'low', number>;
      secondPump: Record<'high' | 'medium' | 'low', number>;
      metShare: number;
    };
    /** Mean call-to-first-arrival minutes over primary fires. */
    meanPrimaryFireAttendanceMinutes: number;
    falls: { responses: number; meanAttendanceMinutes: number; noFurtherHelpShare: number };
    availability: { wholetime: number; onCall: number };
    /**
     * What on-call availability does to attendance in an on-call station's ground: when none of
     * its on-call appliances is on the run at the call, the first appliance comes from the next
     * station. Life-risk incidents there meet the attendance standard `shareDifference` less often
     * than those with the pump on the run (the county's share stays exact); every other incident's
     * first attendance is drawn `timeFactor` times longer (means stay exact after rescaling).
     */
    onCallCoverEffect: { shareDifference: number; timeFactor: number };
  };
  police: {
    emergencyIncidents: number;
    meanEmergencyAttendanceMinutes: number;
    ruralShare: number;
  };
  calls999: {
    count: number;
    fireShare: number;
    abandonedShare: number;
    answeredWithin10sShare: number;
    meanWaitSeconds: number;
  };
  calls101: {
    count: number;
    abandonedShare: number;
    meanWaitSeconds: number;
    resolvedAtTriageShare: number;
    meanTriageMinutes: number;
  };
}

const wholetime = (code: string, area: string, pumps: number, demand: number): Station => ({
  code,
  area,
  crewing: 'wholetime',
  pumps,
  demand,
});
const onCall = (code: string, area: string, demand: number): Station => ({
  code,
  area,
  crewing: 'on_call',
  pumps: 1,
  demand,
});

export const STAFFORDSHIRE_2023_24: Profile = {
  id: 'staffordshire-2023-24',
  description:
    'Staffordshire Fire and Rescue Service and Staffordshire Police control room, April 2023 – March 2024',
  // 1 April 2023 and 1 April 2024, 00:00 in London (BST, so 23:00 UTC the day before).
  yearStart: '2023-03-31T23:00:00.000Z',
  yearEnd: '2024-03-31T23:00:00.000Z',
  agencies: {
    fire: 'staffordshire-fire',
    police: 'staffordshire-police',
    control: 'staffordshire-control',
  },
  sources: {
    cad: 'sfrs-cad',
    policeCad: 'staffs-police-cad',
    telephony: 'staffs-telephony',
    stationEnd: 'sfrs-station-end',
  },
  stations: [
    wholetime('HANLEY', 'Stoke-on-Trent', 2, 9),
    wholetime('LONGTON', 'Stoke-on-Trent', 1, 6),
    wholetime('BURSLEM', 'Stoke-on-Trent', 1, 5),
    wholetime('NEWCASTLE', 'Newcastle-under-Lyme', 2, 6),
    wholetime('STAFFORD', 'Stafford', 2, 6),
    wholetime('BURTON', 'East Staffordshire', 2, 7),
    wholetime('TAMWORTH', 'Tamworth', 2, 6),
    wholetime('LICHFIELD', 'Lichfield', 1, 4),
    wholetime('CANNOCK', 'Cannock Chase', 2, 6),
    wholetime('BURNTWOOD', 'Lichfield', 1, 3),
    onCall('LEEK', 'Staffordshire Moorlands', 3),
    onCall('CHEADLE', 'Staffordshire Moorlands', 2),
    onCall('BIDDULPH', 'Staffordshire Moorlands', 2),
    onCall('UTTOXETER', 'East Staffordshire', 2),
    onCall('STONE', 'Stafford', 2),
    onCall('RUGELEY', 'Cannock Chase', 2),
    onCall('KINVER', 'South Staffordshire', 1),
    onCall('PENKRIDGE', 'South Staffordshire', 1),
    onCall('CODSALL', 'South Staffordshire', 2),
    onCall('WOMBOURNE', 'South Staffordshire', 1),
    onCall('ECCLESHALL', 'Stafford', 1),
    onCall('BARTON', 'East Staffordshire', 1),
    onCall('TUTBURY', 'East Staffordshire', 1),
    onCall('ABBOTS-BROMLEY', 'East Staffordshire', 1),
    onCall('LONGNOR', 'Staffordshire Moorlands', 1),
    onCall('IPSTONES', 'Staffordshire Moorlands', 1),
    onCall('KIDSGROVE', 'Newcastle-under-Lyme', 2),
    onCall('LOGGERHEADS', 'Newcastle-under-Lyme', 1),
    onCall('GNOSALL', 'Stafford', 1),
    onCall('BREWOOD', 'South Staffordshire', 1),
  ],
  fire: {
    primaryFires: 1_309,
    primaryLocationShares: {
      dwelling: 0.4,
      other_building: 0.18,
      road_vehicle: 0.22,
      outdoor: 0.2,
    },
    secondaryFires: 1_575,
    chimneyFires: 60,
    specialServices: 1_412,
    roadTrafficCollisions: 809,
    // 8,203 in all: the rest are false alarms (less the assumed chimney fires).
    falseAlarms: 8_203 - 1_309 - 1_575 - 60 - 1_412 - 809,
    falseAlarmShares: { malicious: 0.03, good_intent: 0.37, due_to_apparatus: 0.6 },
    riskBandShares: { high: 0.2, medium: 0.5, low: 0.3 },
    lifeRiskShares: { dwellingFire: 1, roadTrafficCollision: 0.6, rescue: 0.5 },
    attendanceStandard: {
      firstPump: { high: 8 * 60, medium: 10 * 60, low: 18 * 60 },
      secondPump: { high: 13 * 60, medium: 15 * 60, low: 23 * 60 },
      metShare: 0.809,
    },
    meanPrimaryFireAttendanceMinutes: 9.34,
    falls: { responses: 939, meanAttendanceMinutes: 38, noFurtherHelpShare: 0.86 },
    availability: { wholetime: 0.98, onCall: 0.6 },
    // Assumed (not published): the size of the availability effect the report's story implies.
    onCallCoverEffect: { shareDifference: 0.15, timeFactor: 1.3 },
  },
  police: { emergencyIncidents: 24_000, meanEmergencyAttendanceMinutes: 9.63, ruralShare: 0.3 },
  calls999: {
    count: 120_000,
    fireShare: 0.1,
    abandonedShare: 0.015,
    answeredWithin10sShare: 0.87,
    meanWaitSeconds: 9.4,
  },
  calls101: {
    count: 150_000,
    abandonedShare: 0.08,
    meanWaitSeconds: 150,
    resolvedAtTriageShare: 0.56,
    meanTriageMinutes: 4.33,
  },
};

export const PROFILES: Record<string, Profile> = {
  [STAFFORDSHIRE_2023_24.id]: STAFFORDSHIRE_2023_24,
};
