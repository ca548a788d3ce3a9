import { DATA_QUALITY_CHECKS } from '@bluelight/standards';
import { describe, expect, it } from 'vitest';
import { CHECKS } from './data-quality.js';

describe('bluelight data-quality', () => {
  it('offers exactly the checks the report computes, in its order', () => {
    expect([...CHECKS]).toEqual([...DATA_QUALITY_CHECKS]);
  });
});
