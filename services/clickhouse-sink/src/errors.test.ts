import { ClickHouseError } from '@bluelight/service-kit';
import { describe, expect, it } from 'vitest';
import { DeadLetterLimitExceeded, isRetriable } from './errors.js';

const clickhouseError = (code: string, type: string) =>
  new ClickHouseError({ message: `${type} happened`, code, type });

describe('isRetriable', () => {
  it('retries ClickHouse infrastructure errors', () => {
    expect(isRetriable(clickhouseError('252', 'TOO_MANY_PARTS'))).toBe(true);
    expect(isRetriable(clickhouseError('159', 'TIMEOUT_EXCEEDED'))).toBe(true);
    expect(isRetriable(clickhouseError('319', 'UNKNOWN_STATUS_OF_INSERT'))).toBe(true);
  });

  it('does not retry ClickHouse errors about the query or the data', () => {
    expect(isRetriable(clickhouseError('60', 'UNKNOWN_TABLE'))).toBe(false);
    expect(isRetriable(clickhouseError('16', 'NO_SUCH_COLUMN_IN_TABLE'))).toBe(false);
    expect(isRetriable(clickhouseError('62', 'SYNTAX_ERROR'))).toBe(false);
  });

  it('retries network failures, including wrapped ones', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), {
      code: 'ECONNREFUSED',
    });
    expect(isRetriable(refused)).toBe(true);
    expect(isRetriable(new Error('request failed', { cause: refused }))).toBe(true);
    expect(isRetriable(new Error('socket hang up'))).toBe(true);
  });

  it('retries KafkaJS errors marked retriable, and never the dead-letter limit', () => {
    expect(isRetriable(Object.assign(new Error('leader not available'), { retriable: true }))).toBe(
      true,
    );
    expect(isRetriable(new DeadLetterLimitExceeded('too many'))).toBe(false);
    expect(isRetriable(new TypeError('x is undefined'))).toBe(false);
  });
});
