import { expect, test } from 'vitest';
import { MAX_EVENT_BYTES } from '@tally/schemas';
test('limit', () => { expect(MAX_EVENT_BYTES).toBe(32768); });
