import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DroverError, InvalidArgumentError, errorCodes, publicMessage } from './errors.ts';

describe('error codes', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const documented = new Map([...doc.matchAll(/^\| `(DRV_ERR_[A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1] ?? "", Number(m[2])]));

  it('every code in errors.ts is documented with its status', () => {
    for (const [code, status] of Object.entries(errorCodes)) {
      assert.equal(documented.get(code), status, `${code} missing or with another status in docs/errors.md`);
    }
  });

  it('every documented code exists in errors.ts', () => {
    for (const code of documented.keys()) assert.ok(code in errorCodes, `${code} is documented but not defined`);
  });
});

describe('DroverError', () => {
  it('takes its status from the code and exposes only client errors', () => {
    const notFound = new DroverError('DRV_ERR_NOT_FOUND', 'no user "bob"');
    assert.equal(notFound.status, 404);
    assert.equal(publicMessage(notFound), 'no user "bob"');
    const internal = new DroverError('DRV_ERR_INTERNAL', 'database file /var/lib/x is corrupt');
    assert.equal(internal.expose, false);
    assert.doesNotMatch(publicMessage(internal), /corrupt/);
    assert.doesNotMatch(publicMessage(new Error('secret detail')), /secret/);
  });

  it('names the option and the expectation for invalid arguments', () => {
    const error = new InvalidArgumentError('--listen', 'HOST:PORT', 'nope');
    assert.equal(error.message, '--listen: expected HOST:PORT, got "nope"');
    assert.equal(error.status, 400);
  });
});
