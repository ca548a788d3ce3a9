import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openRowErrorFile } from './row-errors.js';

const directories: string[] = [];
afterEach(async () => {
  for (const directory of directories.splice(0)) await rm(directory, { recursive: true });
});

describe('the rejected-rows CSV', () => {
  it('writes a CAD value that starts a formula as text a spreadsheet will not run', async () => {
    const directory = await mkdtemp(path.join(tmpdir(), 'row-errors-'));
    directories.push(directory);
    const file = path.join(directory, 'rejected.csv');
    const report = await openRowErrorFile(file);
    await report.add({
      file: 'export.csv',
      line: 7,
      record: 'INC-1',
      field: 'payload.location.area',
      column: 'Area',
      value: '=HYPERLINK("http://evil.test","Stoke")',
      reason: 'too long',
    });
    await report.add({ file: 'export.csv', line: 8, record: 'INC-2', value: '-12', reason: 'x' });
    await report.close();
    expect(await readFile(file, 'utf8')).toBe(
      'file,line,record,event_type,field,column,value,reason\n' +
        `export.csv,7,INC-1,,payload.location.area,Area,"'=HYPERLINK(""http://evil.test"",""Stoke"")",too long\n` +
        `export.csv,8,INC-2,,,,"'-12",x\n`,
    );
  });
});
