import type { BluelightEvent } from '@bluelight/schemas';

/** Where a message came from in Kafka, kept on every raw row. */
export interface Lineage {
  topic: string;
  partition: number;
  offset: string;
  ingestedAt: Date;
}

export type RawRow = Record<string, string | number | null>;

/** ClickHouse DateTime64(3, 'UTC') text: UTC, milliseconds, no zone letter. */
export function clickhouseTime(value: string | Date): string {
  const date = typeof value === 'string' ? new Date(value) : value;
  return date.toISOString().replace('T', ' ').replace('Z', '');
}

function envelopeColumns(event: BluelightEvent): RawRow {
  return {
    event_id: event.event_id,
    event_type: event.event_type,
    schema_version: event.schema_version,
    occurred_at: clickhouseTime(event.occurred_at),
    source: event.source,
    agency: event.agency,
    correlation_call_id: event.correlation?.call_id ?? '',
    correlation_incident_id: event.correlation?.incident_id ?? '',
    corrects_event_id: event.corrects?.event_id ?? '',
    corrects_reason: event.corrects?.reason ?? '',
    payload: JSON.stringify(event.payload),
  };
}

function lineageColumns(lineage: Lineage): RawRow {
  return {
    _topic: lineage.topic,
    _partition: lineage.partition,
    _offset: lineage.offset,
    _ingested_at: clickhouseTime(lineage.ingestedAt),
  };
}

/** A calls_raw row. Every column is present, empty where the event type has no such field. */
export function callRow(event: BluelightEvent, lineage: Lineage): RawRow {
  const row: RawRow = {
    ...envelopeColumns(event),
    call_id: '',
    line: '',
    service: '',
    queue: '',
    position: '',
    abandon_stage: '',
    to_service: '',
    to_queue: '',
    outcome: '',
    outcome_incident_id: '',
    ...lineageColumns(lineage),
  };
  switch (event.event_type) {
    case 'call.presented':
      Object.assign(row, event.payload);
      break;
    case 'call.answered':
      Object.assign(row, { call_id: event.payload.call_id, position: event.payload.position });
      break;
    case 'call.abandoned':
      Object.assign(row, { call_id: event.payload.call_id, abandon_stage: event.payload.stage });
      break;
    case 'call.transferred':
      Object.assign(row, {
        call_id: event.payload.call_id,
        to_service: event.payload.to_service,
        to_queue: event.payload.to_queue ?? '',
      });
      break;
    case 'call.closed': {
      const { resolution } = event.payload;
      Object.assign(row, {
        call_id: event.payload.call_id,
        position: event.payload.position ?? '',
        outcome: resolution.outcome,
        outcome_incident_id:
          resolution.outcome === 'incident_created' ? resolution.incident_id : '',
      });
      break;
    }
    case 'call.event_retracted':
      row.call_id = event.payload.call_id;
      break;
    default:
      throw new Error(`${event.event_type} is not a call event`);
  }
  return row;
}

type IncidentDetails = Extract<
  BluelightEvent,
  { event_type: 'incident.created' }
>['payload']['details'];

function detailColumns(details: IncidentDetails): RawRow {
  if (details.service === 'police') {
    return {
      service: 'police',
      police_grading: details.grading,
      area_type: details.area_type,
    };
  }
  const { category } = details;
  const subtype =
    category.type === 'primary_fire'
      ? category.location_type
      : category.type === 'special_service'
        ? category.special_service_type
        : category.type === 'false_alarm'
          ? category.false_alarm_type
          : '';
  return {
    service: 'fire',
    category: category.type,
    category_subtype: subtype,
    risk_band: details.risk_band,
    life_risk: details.life_risk ? 1 : 0,
  };
}

/** An incidents_raw row. */
export function incidentRow(event: BluelightEvent, lineage: Lineage): RawRow {
  const row: RawRow = {
    ...envelopeColumns(event),
    incident_id: '',
    resource_id: '',
    call_received_at: null,
    service: '',
    category: '',
    category_subtype: '',
    risk_band: '',
    life_risk: null,
    police_grading: '',
    area_type: '',
    station_ground: '',
    area: '',
    lat: null,
    lon: null,
    stop_code: '',
    excluded_late_call: 0,
    excluded_derelict_property: 0,
    excluded_abandoned_road_vehicle: 0,
    delay_reason: '',
    cancel_reason: '',
    ...lineageColumns(lineage),
  };
  switch (event.event_type) {
    case 'incident.created': {
      const { payload } = event;
      Object.assign(row, detailColumns(payload.details), {
        incident_id: payload.incident_id,
        call_received_at: clickhouseTime(payload.call_received_at),
        station_ground: payload.location.station_ground,
        area: payload.location.area,
        lat: payload.location.coordinates?.lat ?? null,
        lon: payload.location.coordinates?.lon ?? null,
      });
      break;
    }
    case 'incident.reclassified':
      Object.assign(row, detailColumns(event.payload.details), {
        incident_id: event.payload.incident_id,
      });
      break;
    case 'incident.resource_mobilised':
    case 'incident.resource_mobile':
    case 'incident.resource_arrived':
    case 'incident.resource_left_scene':
      Object.assign(row, {
        incident_id: event.payload.incident_id,
        resource_id: event.payload.resource_id,
      });
      break;
    case 'incident.closed': {
      const { payload } = event;
      Object.assign(row, {
        incident_id: payload.incident_id,
        stop_code: payload.stop_code,
        excluded_late_call: payload.exclusions.late_call ? 1 : 0,
        excluded_derelict_property: payload.exclusions.derelict_property ? 1 : 0,
        excluded_abandoned_road_vehicle: payload.exclusions.abandoned_road_vehicle ? 1 : 0,
        delay_reason: payload.delay_reason ?? '',
      });
      break;
    }
    case 'incident.cancelled':
      Object.assign(row, {
        incident_id: event.payload.incident_id,
        cancel_reason: event.payload.reason,
      });
      break;
    case 'incident.event_retracted':
      row.incident_id = event.payload.incident_id;
      break;
    default:
      throw new Error(`${event.event_type} is not an incident event`);
  }
  return row;
}

/** A resources_raw row. */
export function resourceRow(event: BluelightEvent, lineage: Lineage): RawRow {
  const row: RawRow = {
    ...envelopeColumns(event),
    resource_id: '',
    home_station: '',
    appliance_type: '',
    crewing_model: '',
    status: '',
    unavailable_reason: '',
    committed_incident_id: '',
    ...lineageColumns(lineage),
  };
  switch (event.event_type) {
    case 'resource.status_changed': {
      const { payload } = event;
      const { state } = payload;
      Object.assign(row, {
        resource_id: payload.resource_id,
        home_station: payload.home_station,
        appliance_type: payload.appliance_type,
        crewing_model: payload.crewing_model,
        status: state.status,
        unavailable_reason: state.status === 'unavailable' ? state.reason : '',
        committed_incident_id: state.status === 'committed' ? (state.incident_id ?? '') : '',
      });
      break;
    }
    case 'resource.event_retracted':
      row.resource_id = event.payload.resource_id;
      break;
    default:
      throw new Error(`${event.event_type} is not a resource event`);
  }
  return row;
}
