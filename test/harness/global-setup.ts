import type { TestProject } from 'vitest/node';
import { resolveEndpoints, type TestEndpoints } from './endpoints.js';

declare module 'vitest' {
  export interface ProvidedContext {
    endpoints: TestEndpoints;
  }
}

/** Starts (or finds) the Kafka and ClickHouse that every integration test in this run shares. */
export default async function setup(project: TestProject) {
  const { endpoints, teardown } = await resolveEndpoints();
  project.provide('endpoints', endpoints);
  return teardown;
}
