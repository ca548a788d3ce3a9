import { describe, expect, it } from 'vitest';
import { csvField, csvRecord } from './csv.js';

describe('csvField', () => {
  it('leaves plain text and numbers bare, negative numbers included, and null empty', () => {
    expect(csvField('HANLEY')).toBe('HANLEY');
    expect(csvField(0.8)).toBe('0.8');
    expect(csvField(-12.5)).toBe('-12.5');
    expect(csvField(-0.25)).toBe('-0.25');
    expect(csvField(12n)).toBe('12');
    expect(csvField(true)).toBe('true');
    expect(csvField(Number.NaN)).toBe('');
    expect(csvField(null)).toBe('');
    expect(csvField(undefined)).toBe('');
    expect(csvField('  primary fires')).toBe('  primary fires');
  });

  it('quotes text with a comma, a semicolon, a quote, CR or LF, doubling inner quotes', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('fire;police')).toBe('"fire;police"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line 1\nline 2')).toBe('"line 1\nline 2"');
    expect(csvField(`x' OR 1=1 --`)).toBe(`x' OR 1=1 --`);
  });

  it('defuses text a spreadsheet would run as a formula: a leading quote, and quoted', () => {
    // OWASP's list: = + - @ tab carriage-return.
    expect(csvField('=1+2')).toBe(`"'=1+2"`);
    expect(csvField('+44 1782 000000')).toBe(`"'+44 1782 000000"`);
    expect(csvField("-2+3+cmd|' /C calc'!A0")).toBe(`"'-2+3+cmd|' /C calc'!A0"`);
    expect(csvField('@SUM(A1:A9)')).toBe(`"'@SUM(A1:A9)"`);
    expect(csvField('\t=1')).toBe(`"'\t=1"`);
    expect(csvField('\r=1')).toBe(`"'\r=1"`);
    expect(csvField('=HYPERLINK("http://x.test","y")')).toBe(
      `"'=HYPERLINK(""http://x.test"",""y"")"`,
    );
    // Text that only looks like a negative number is still text: defused too.
    expect(csvField('-5')).toBe(`"'-5"`);
    // Not at the start: nothing to run.
    expect(csvField('a=1')).toBe('a=1');
  });

  it('writes a record with commas between fields', () => {
    expect(csvRecord(['=cmd', -3, null, 'LEEK, north'])).toBe(`"'=cmd",-3,,"LEEK, north"`);
  });
});
