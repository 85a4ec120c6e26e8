import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DroverError } from '../errors/index.ts';
import { namingFlags, withFlagNames } from './flag-errors.ts';

describe('errors name the flag, not the API field', () => {
  const fields = { ttlSeconds: '--ttl', clusterId: '--cluster' };

  it('rewrites schema paths and bare field names, keeping the code', () => {
    const schema = withFlagNames(new DroverError('DRV_ERR_BAD_REQUEST', 'invalid request: querystring/ttlSeconds must match pattern "^[0-9]{1,10}$"'), fields) as DroverError;
    assert.equal(schema.message, 'invalid request: --ttl must match pattern "^[0-9]{1,10}$"');
    assert.equal(schema.code, 'DRV_ERR_BAD_REQUEST');
    const bound = withFlagNames(new DroverError('DRV_ERR_UNPROCESSABLE', 'ttlSeconds: at most 1200 seconds (20m)'), fields) as DroverError;
    assert.equal(bound.message, '--ttl: at most 1200 seconds (20m)');
    assert.equal((withFlagNames(new DroverError('DRV_ERR_BAD_REQUEST', 'body/clusterId must be string'), fields) as Error).message, '--cluster must be string');
  });

  it('leaves words that only contain a field name, and other errors, alone', () => {
    const untouched = new DroverError('DRV_ERR_BAD_REQUEST', 'maxTtlSeconds: expected more');
    assert.equal(withFlagNames(untouched, fields), untouched);
    const plain = new Error('ttlSeconds');
    assert.equal(withFlagNames(plain, fields), plain);
  });

  it('applies to a failed request', async () => {
    await assert.rejects(namingFlags(fields, Promise.reject(new DroverError('DRV_ERR_UNPROCESSABLE', 'ttlSeconds: at least 60'))), /^DroverError: --ttl: at least 60$/);
    assert.equal(await namingFlags(fields, Promise.resolve(7)), 7);
  });
});
