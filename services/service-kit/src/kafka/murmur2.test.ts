import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey } from './murmur2.js';

/**
 * Computed with Apache Kafka's Java client 4.4.0 itself (kafka-clients from the local stack's
 * cache): `Utils.murmur2(key.getBytes("UTF-8"))` and `Utils.toPositive(hash) % n`, which is what
 * its BuiltInPartitioner does for a keyed record. The first six are also UtilsTest's vectors.
 */
const JAVA_CLIENT: [key: string, hash: number, p3: number, p6: number, p12: number][] = [
  ['21', -973932308, 0, 0, 0],
  ['foobar', -790332482, 0, 0, 6],
  ['a-little-bit-long-string', -985981536, 2, 2, 8],
  ['a-little-bit-longer-string', -1486304829, 2, 5, 11],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971, 2, 5, 5],
  ['abc', 479470107, 0, 3, 3],
  ['INC-0001', 2103598903, 1, 1, 7],
  ['STAFFS-INC-2023-000123', 1867919771, 2, 5, 11],
  ['CALL-7f3a9c', -639764546, 0, 0, 6],
  ['K-00ff12', -342271337, 0, 3, 3],
  ['RES-FIRE-P1', 2068095555, 0, 3, 3],
  ['é-ünïcode-key', 1943691988, 1, 4, 4],
];

describe('murmur2 partitioning', () => {
  it.each(JAVA_CLIENT)('hashes %s as the Java client does', (key, hash, p3, p6, p12) => {
    expect(murmur2(Buffer.from(key, 'utf8'))).toBe(hash);
    expect([3, 6, 12].map((partitions) => partitionForKey(key, partitions))).toEqual([p3, p6, p12]);
  });

  it('hashes the empty key and every tail length as the Java client does', () => {
    expect(murmur2(new Uint8Array(0))).toBe(275646681);
    expect(['a', 'ab', 'abc', 'abcd', 'abcde'].map((key) => murmur2(Buffer.from(key)))).toEqual([
      -1563381124, 316155434, 479470107, -1323649548, 461995741,
    ]);
  });
});
