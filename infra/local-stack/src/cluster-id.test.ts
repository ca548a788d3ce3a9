import { describe, expect, it } from 'vitest';
import { newClusterId } from './stack.js';

describe('newClusterId', () => {
  it('never starts with "-", which the storage tool would parse as an option', () => {
    // 0xf8 as the first byte encodes to '-' as the first base64url character.
    const draws = [Buffer.alloc(16, 0xf8), Buffer.alloc(16, 0x01)];
    const id = newClusterId(() => draws.shift() ?? Buffer.alloc(16, 0x02));
    expect(id).toBe(Buffer.alloc(16, 0x01).toString('base64url'));
    expect(Buffer.alloc(16, 0xf8).toString('base64url').startsWith('-')).toBe(true);
  });

  it('is 22 base64url characters that decode to 16 bytes', () => {
    for (let i = 0; i < 200; i++) {
      const id = newClusterId();
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
      expect(Buffer.from(id, 'base64url')).toHaveLength(16);
    }
  });
});
