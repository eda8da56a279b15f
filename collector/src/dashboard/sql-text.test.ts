import { describe, expect, test } from 'vitest';
import { inlineParameters, renderSql } from './sql-text.js';

describe('renderSql', () => {
  test('writes each kind of value as a SQL literal', () => {
    expect(
      renderSql('select {{n}}, {{s}}, {{d}}, {{a}}, {{none}}', { n: 2.5, s: 'Product Viewed', d: new Date('2026-06-01T00:00:00Z'), a: ['A', 'B'], none: null }),
    ).toBe("select 2.5, 'Product Viewed', '2026-06-01T00:00:00.000Z'::timestamptz, array['A', 'B']::text[], null");
  });

  test('a quote in a value stays inside its literal', () => {
    expect(renderSql('select {{s}}', { s: "x'); drop table events; --" })).toBe("select 'x''); drop table events; --'");
    expect(renderSql('select {{a}}', { a: ["it's"] })).toBe("select array['it''s']::text[]");
  });

  test('refuses an unknown placeholder, a number that is not finite and a NUL character', () => {
    expect(() => renderSql('select {{missing}}', {})).toThrow('no value for {{missing}}');
    expect(() => renderSql('select {{n}}', { n: Number.NaN })).toThrow('not a finite number');
    expect(() => renderSql('select {{s}}', { s: 'a\u0000b' })).toThrow('NUL');
  });
});

describe('inlineParameters', () => {
  test("writes a Kysely query's parameters in as literals, leaving quoted text alone", () => {
    const compiled = { sql: `select "$1" from t where a = $1 and b = '$2' and c = $2 and d = $10`, parameters: ["O'Brien", 3, 4, 5, 6, 7, 8, 9, 10, 'ten'] };
    expect(inlineParameters(compiled)).toBe(`select "$1" from t where a = 'O''Brien' and b = '$2' and c = 3 and d = 'ten'`);
  });

  test('refuses a parameter it cannot write as a literal', () => {
    expect(() => inlineParameters({ sql: 'select $1', parameters: [{ a: 1 }] })).toThrow('parameter $1');
    expect(() => inlineParameters({ sql: 'select $1', parameters: ['a\u0000b'] })).toThrow('NUL');
  });
});
