// Which attachment and header values a record hides.
import assert from 'node:assert/strict';
import {describe, test} from 'node:test';
import {REDACTED, Redaction} from '../../src/inspect/redaction.js';

describe('Redaction', () => {
  test('credential-like names, as case-insensitive substrings', () => {
    const redaction = new Redaction();
    for (const name of ['authorization', 'Proxy-Authorization', 'token', 'x-auth-token', 'accessToken', 'password', 'DB_PASSWORD', 'client-secret', 'cookie', 'Set-Cookie']) {
      assert.equal(redaction.redacts(name), true, name);
    }
    for (const name of ['path', 'interface', 'target-application', 'timeout', 'remote.application', 'x-trace-id']) {
      assert.equal(redaction.redacts(name), false, name);
    }
  });

  test('a user list adds names (trimmed, any case); empty entries add nothing', () => {
    const redaction = new Redaction([' X-User-Phone ', '', 'ssn']);
    assert.deepEqual(redaction.parts, ['authorization', 'token', 'password', 'secret', 'cookie', 'x-user-phone', 'ssn']);
    assert.equal(redaction.redacts('x-user-phone'), true);
    assert.equal(redaction.redacts('customer.SSN'), true);
    assert.equal(redaction.redacts('phone'), false);
  });

  test('apply copies, replacing only matching values', () => {
    const entries = {token: 42, path: 'com.example.UserService', nested: {password: 'p'}};
    const redacted = new Redaction().apply(entries);
    assert.deepEqual(redacted, {token: REDACTED, path: 'com.example.UserService', nested: {password: 'p'}});
    assert.equal(entries.token, 42, 'the input is left as it was');
    assert.equal(REDACTED, '<redacted>');
  });
});
