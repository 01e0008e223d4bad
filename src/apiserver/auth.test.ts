import assert from 'node:assert/strict';
import { connect, createSecureServer, type Http2ServerRequest } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { tempDir } from '../../test/util/tmp.js';
import { authenticate, parseTokenFile, X509Authenticator, type UserInfo } from './auth.js';
import { ensurePKI } from './pki.js';

test('token file: quoted group lists, comments and blank lines', () => {
  const tokens = parseTokenFile('# comment\nt1,alice,1001,"devs,ops"\n\nt2,bob,1002\n');
  assert.deepEqual(tokens.get('t1'), { token: 't1', user: 'alice', uid: '1001', groups: ['devs', 'ops'] });
  assert.deepEqual(tokens.get('t2'), { token: 't2', user: 'bob', uid: '1002', groups: [] });
});

test('token file: a short line names its line number', () => {
  assert.throws(() => parseTokenFile('t1,alice,1\nbroken\n', 'tokens.csv'), /tokens\.csv: line 2/);
});

test('bearer tokens authenticate; unknown ones do not', () => {
  const tokens = parseTokenFile('t1,alice,1001,"devs"\n');
  assert.deepEqual(authenticate(undefined, 'Bearer t1', tokens), { name: 'alice', uid: '1001', groups: ['devs', 'system:authenticated'] });
  assert.equal(authenticate(undefined, 'Bearer nope', tokens), undefined);
  assert.equal(authenticate(undefined, undefined, tokens), undefined);
});

/** An X509Authenticator whose certificate reads are counted. */
function countingX509(read: (socket: TLSSocket) => PeerCertificate | undefined): { x509: X509Authenticator; reads: () => number } {
  let n = 0;
  const x509 = new X509Authenticator({
    readPeerCertificate: (socket) => {
      n++;
      return read(socket);
    },
  });
  return { x509, reads: () => n };
}

test('x509: a connection\'s certificate is read once; tokens are still checked per request', () => {
  const tokens = parseTokenFile('t1,alice,1001\n');
  const cert = { subject: { CN: 'bob', O: ['devs', 'ops'] } } as unknown as PeerCertificate;
  const { x509, reads } = countingX509(() => cert);
  const conn = { authorized: true } as TLSSocket;
  const first = authenticate(conn, undefined, tokens, x509);
  assert.deepEqual(first, { name: 'bob', groups: ['devs', 'ops', 'system:authenticated'] });
  assert.equal(authenticate(conn, 'Bearer t1', tokens, x509), first, 'x509 before tokens, the same cached user');
  assert.equal(reads(), 1);
  assert.throws(() => first!.groups.push('system:masters'), TypeError, 'the shared user is frozen');

  // A connection without a verified certificate is not read at all, and each request's token decides.
  const anonymous = { authorized: false } as TLSSocket;
  assert.equal(authenticate(anonymous, undefined, tokens, x509), undefined);
  assert.equal(authenticate(anonymous, 'Bearer t1', tokens, x509)?.name, 'alice');
  assert.equal(authenticate(anonymous, 'Bearer nope', tokens, x509), undefined);
  assert.equal(reads(), 1);

  // Another connection is read on its own.
  authenticate({ authorized: true } as TLSSocket, undefined, tokens, x509);
  assert.equal(reads(), 2);
});

test('x509: two requests on one HTTP/2 connection parse the client certificate once', async (t) => {
  const pki = await ensurePKI({ dataDir: tempDir(t, 'flotilla-auth-') });
  const { x509, reads } = countingX509((socket) => socket.getPeerCertificate());
  const users: (UserInfo | undefined)[] = [];
  const server = createSecureServer({ cert: pki.certPem, key: pki.keyPem, ca: pki.caCertPem, requestCert: true, rejectUnauthorized: false });
  server.on('request', (req: Http2ServerRequest, res) => {
    users.push(authenticate(req.stream.session?.socket as TLSSocket, undefined, new Map(), x509));
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const session = connect(`https://127.0.0.1:${(server.address() as AddressInfo).port}`, {
    cert: pki.adminCertPem,
    key: pki.adminKeyPem,
    ca: pki.caCertPem,
    servername: 'localhost',
  });
  // The session first: server.close() waits for open sessions to end.
  t.after(async () => {
    await new Promise<void>((resolve) => session.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const get = () =>
    new Promise<void>((resolve, reject) => {
      const req = session.request({ ':path': '/' });
      req.on('error', reject);
      req.on('close', resolve);
      req.resume();
      req.end();
    });
  await get();
  await get();
  assert.equal(users.length, 2);
  assert.equal(users[0]?.name, 'kubernetes-admin');
  assert.ok(users[0]?.groups.includes('system:masters'));
  assert.equal(users[1], users[0]);
  assert.equal(reads(), 1);
});
