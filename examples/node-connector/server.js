// An erpsync sync connector in Node.js, standard library only, written from docs/protocol.md.
//
//   ERPSYNC_CONNECTOR_SECRET=... node server.js [--port 8766] [--host 127.0.0.1]
//
// Prints "listening on http://HOST:PORT" once it accepts requests (--port 0: any free port).
// POST /erp/delete {"actor_type", "erp_key"}, signed like a protocol request, deletes a record as a user of the
// ERP would: the conformance kit's --delete-command (delete.js) uses it.
'use strict';

const http = require('node:http');

const { Connector } = require('./connector');
const { Erp } = require('./erp');
const { Refused, Verifier } = require('./signing');
const { REQUESTS, Invalid, Failure, envelope, failure } = require('./wire');

const MAX_BODY_BYTES = 1000000;
const MIN_SECRET_LENGTH = 16;

class HttpError extends Error {
  constructor(status, code, message, headers = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

function readBody(request) {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length'] || 0);
    if (declared > MAX_BODY_BYTES) {
      reject(new HttpError(413, 'validation', `The body is larger than ${MAX_BODY_BYTES} bytes.`));
      request.resume();
      return;
    }
    const chunks = [];
    let size = 0;
    request.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, 'validation', `The body is larger than ${MAX_BODY_BYTES} bytes.`));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function send(response, status, document, headers = {}) {
  const body = JSON.stringify(document);
  response.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers });
  response.end(body);
}

function parse(body) {
  let document;
  try {
    document = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'validation', 'The body is not JSON.');
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new HttpError(400, 'validation', 'The body is not a JSON object.');
  }
  return document;
}

function createServer({ secret, erp = new Erp() }) {
  if (!secret || secret.length < MIN_SECRET_LENGTH) {
    throw new Error(`ERPSYNC_CONNECTOR_SECRET must have at least ${MIN_SECRET_LENGTH} characters`);
  }
  const connector = new Connector(erp);
  const verifier = new Verifier(secret);

  // The checks in the order of docs/protocol.md: 405, 404, 413, 401 (429), 400, 422; then the operation.
  async function handle(request, response) {
    const path = new URL(request.url, 'http://connector').pathname;
    if (path === '/health' && request.method === 'GET') return send(response, 200, envelope());
    const match = /^\/v1\/([a-z_]+)$/.exec(path);
    const admin = path === '/erp/delete';
    if ((match || admin) && request.method !== 'POST') throw new HttpError(405, 'validation', `${request.method} is not allowed.`);
    if (!admin && (!match || !(match[1] in REQUESTS))) throw new HttpError(404, 'validation', `${path} is not an operation.`);
    const body = await readBody(request);
    try {
      verifier.verify({ method: request.method, path, headers: request.headers, body });
    } catch (error) {
      if (!(error instanceof Refused)) throw error;
      if (error.retryAfter) throw new HttpError(429, 'rate_limit', error.message, { 'Retry-After': String(error.retryAfter) });
      throw new HttpError(401, 'auth', `Request refused: ${error.message}.`, error.replayed ? { 'X-Erpsync-Refusal': 'replayed' } : {});
    }
    const document = parse(body);
    if (admin) return send(response, 200, envelope({ deleted: erp.delete(document.actor_type, String(document.erp_key)) }));
    const operation = match[1];
    try {
      REQUESTS[operation](document, '');
    } catch (error) {
      if (error instanceof Invalid) throw new HttpError(422, 'validation', `Invalid request: ${error.message}`);
      throw error;
    }
    try {
      return send(response, 200, envelope(connector[operation](document)));
    } catch (error) {
      if (error instanceof Failure) return send(response, 200, failure(error.code, error.message));
      console.error(error); // never to the hub: an unexpected failure is 200 "connector" without details
      return send(response, 200, failure('connector', `The connector failed unexpectedly in ${operation}.`));
    }
  }

  return http.createServer((request, response) => {
    handle(request, response).catch((error) => {
      if (error instanceof HttpError) return send(response, error.status, failure(error.code, error.message), error.headers);
      console.error(error);
      return send(response, 200, failure('connector', 'The connector failed unexpectedly.'));
    });
  });
}

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 && process.argv[index + 1] !== undefined ? process.argv[index + 1] : fallback;
}

if (require.main === module) {
  const server = createServer({ secret: process.env.ERPSYNC_CONNECTOR_SECRET });
  const host = option('host', '127.0.0.1');
  server.listen(Number(option('port', '8766')), host, () => {
    console.log(`listening on http://${host}:${server.address().port}`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

module.exports = { createServer };
