/**
 * The events that count for an entity: raw rows (deduplicated by FINAL) minus retractions and
 * minus every event that a later event names in `corrects` (the correction replaces it).
 * Takes the entity ids as the `ids` query parameter.
 */
export function effectiveEvents(options: {
  table: string;
  idColumn: string;
  retractionType: string;
  /** Restrict to these event types (e.g. only status changes for resources). */
  onlyType?: string;
}): string {
  const typeFilter = options.onlyType
    ? `event_type = '${options.onlyType}'`
    : `event_type != '${options.retractionType}'`;
  return `
  SELECT *
  FROM ${options.table} FINAL
  WHERE ${options.idColumn} IN {ids:Array(String)}
    AND ${typeFilter}
    AND event_id NOT IN (
      SELECT corrects_event_id FROM ${options.table} FINAL
      WHERE ${options.idColumn} IN {ids:Array(String)} AND corrects_event_id != ''
    )`;
}
