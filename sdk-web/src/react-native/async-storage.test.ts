// @vitest-environment node
import { describe, expect, it, vi } from 'vitest';
import { fakeAsyncStorage } from '../../test/react-native-fakes.js';
import { KEYS, mirrorAsyncStorage } from './async-storage.js';

describe('the synchronous mirror of AsyncStorage', () => {
  it('answers at once, writes through in the order of the writes, and lists its keys for the next start', async () => {
    const store = fakeAsyncStorage();
    store.data.set('other_app_key', 'untouched');
    const m = await mirrorAsyncStorage(store);
    m.setItem('tally_aid', 'a1');
    m.setItem('tally_queue.x', '[0,{"n":1}]');
    m.setItem('tally_queue.x', '[0,{"n":1},{"n":2}]');
    m.removeItem('tally_aid');
    m.setItem('tally_aid', 'a2');
    expect(m.getItem('tally_aid')).toBe('a2');
    expect([m.length, m.key(0), m.key(1), m.key(2)]).toEqual([2, 'tally_queue.x', 'tally_aid', null]);
    await m.written();
    expect(Object.fromEntries(store.data)).toEqual({
      other_app_key: 'untouched',
      tally_aid: 'a2',
      'tally_queue.x': '[0,{"n":1},{"n":2}]',
      [KEYS]: '["tally_queue.x","tally_aid"]',
    });

    const next = await mirrorAsyncStorage(store);
    expect([next.getItem('tally_aid'), next.getItem('tally_queue.x'), next.getItem('other_app_key'), next.length]).toEqual(['a2', '[0,{"n":1},{"n":2}]', null, 2]);
  });

  it('reports a failing store to onError and keeps answering from memory; a failed read counts as nothing stored', async () => {
    const store = fakeAsyncStorage();
    store.data.set(KEYS, '["tally_aid"]');
    store.data.set('tally_aid', 'a1');
    store.fail();
    const onError = vi.fn();
    const m = await mirrorAsyncStorage(store, onError);
    expect(m.getItem('tally_aid')).toBeNull();
    m.setItem('tally_uid', 'u1');
    await m.written();
    expect(m.getItem('tally_uid')).toBe('u1');
    expect(onError.mock.calls.map(([e]) => (e as Error).message)).toEqual([
      'AsyncStorage: database or disk is full',
      'AsyncStorage: database or disk is full',
      'AsyncStorage: database or disk is full',
    ]);
    expect(store.data.get('tally_uid')).toBeUndefined();
  });
});
