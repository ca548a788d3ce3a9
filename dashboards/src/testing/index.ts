// Test support, never a runtime dependency: Grafana's query path emulated over the provisioned
// files. The schema checks are `./testing/schema`, the fixture data `./testing/fixtures`.
export * from './grafana-emulator.js';
export * from './grafana-run.js';
