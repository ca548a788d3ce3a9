export {
  type AgencyDecision,
  decideAgencies,
  EVERY_AGENCY,
  type Reader,
  type ReaderEntry,
  ReadKeys,
  readableAgencies,
  readerEntry,
  readerList,
} from './api-keys.js';
export { buildApp, type QueryApiDeps, SERVICE_NAME } from './app.js';
export { configuredReaders, type QueryApiConfig, queryApiConfigSchema } from './config.js';
export { flatten, toCsv, wantsCsv } from './csv.js';
export { type IncidentSearch, incidentSearchQuery, searchIncidents } from './incidents.js';
export {
  createReadOnlyClickHouse,
  type QueryApiService,
  startQueryApiService,
} from './service.js';
