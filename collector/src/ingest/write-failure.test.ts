import { describe, expect, test } from 'vitest';
import { CONFLICT_ATTEMPTS, classifyWriteFailure, DatabaseUnavailableError, retryingConflicts } from './write-failure.js';

const pgError = (code: string, message = 'error') => Object.assign(new Error(message), { code });

describe('classifyWriteFailure', () => {
  test.each([
    ['08006', 'connection failure'],
    ['08001', 'cannot establish a connection'],
    ['57P01', 'admin shutdown'],
    ['57P02', 'crash shutdown'],
    ['57P03', 'starting up'],
    ['53300', 'too many connections'],
    ['53100', 'disk full'],
    ['58030', 'I/O error'],
    ['40001', 'serialization failure'],
    ['40P01', 'deadlock'],
    ['25006', 'read-only standby'],
  ])('SQLSTATE %s (%s) is unavailable: the same write can succeed later', (code) => {
    expect(classifyWriteFailure(pgError(code))).toBe('unavailable');
  });

  test.each([
    ['P0001', 'raised by a trigger'],
    ['22P02', 'invalid text representation'],
    ['23502', 'not-null violation'],
    ['23514', 'check violation'],
    ['42703', 'undefined column: a bug in a statement'],
    ['42601', 'syntax error'],
    ['54000', 'program limit exceeded'],
    ['XX000', 'internal error'],
  ])('SQLSTATE %s (%s) is a statement failure', (code) => {
    expect(classifyWriteFailure(pgError(code))).toBe('statement');
  });

  test('network errors and the client libraries’ connection errors are unavailable', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']) expect(classifyWriteFailure(pgError(code))).toBe('unavailable');
    expect(classifyWriteFailure(new Error('Connection terminated unexpectedly'))).toBe('unavailable');
    expect(classifyWriteFailure(new Error('timeout exceeded when trying to connect'))).toBe('unavailable');
    expect(classifyWriteFailure(new Error('PGlite is closed'))).toBe('unavailable');
    expect(classifyWriteFailure(new AggregateError([pgError('ECONNREFUSED')], ''))).toBe('unavailable');
    expect(classifyWriteFailure(new Error('wrapped', { cause: pgError('57P01') }))).toBe('unavailable');
  });

  test('anything else is a statement failure', () => {
    expect(classifyWriteFailure(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBe('statement');
    expect(classifyWriteFailure('a string')).toBe('statement');
    expect(classifyWriteFailure(undefined)).toBe('statement');
  });
});

describe('retryingConflicts', () => {
  test('runs a transaction rolled back for a deadlock or a serialization failure again, and returns its answer', async () => {
    const failures = [pgError('40P01'), pgError('40001')];
    const told: unknown[] = [];
    let tries = 0;
    const answer = await retryingConflicts(async () => {
      tries++;
      const failure = failures.shift();
      if (failure) throw failure;
      return 'committed';
    }, (error) => told.push(error));
    expect(answer).toBe('committed');
    expect(tries).toBe(3);
    expect(told.map((error) => (error as { code: string }).code)).toEqual(['40P01', '40001']);
  });

  test('throws any other failure at once, and the last conflict after its last attempt', async () => {
    let tries = 0;
    await expect(retryingConflicts(async () => { tries++; throw pgError('23505'); })).rejects.toMatchObject({ code: '23505' });
    expect(tries).toBe(1);
    tries = 0;
    await expect(retryingConflicts(async () => { tries++; throw new DatabaseUnavailableError(pgError('40P01')); })).rejects.toBeInstanceOf(DatabaseUnavailableError);
    expect(tries).toBe(CONFLICT_ATTEMPTS);
  });
});
