// Signing v2 (docs/protocol.md "Signing v2"): the checks in their order, and the nonces of the last 300 seconds.
'use strict';

const crypto = require('node:crypto');

const WINDOW_SECONDS = 300;
const MAX_NONCES = 100000;
const NONCE = /^[A-Za-z0-9_-]{16,64}$/;
const SIGNATURE = /^[0-9a-f]{64}$/;
const TIMESTAMP = /^[0-9]{1,20}$/;

class Refused extends Error {
  constructor(message, { replayed = false, retryAfter = null } = {}) {
    super(message);
    this.replayed = replayed;
    this.retryAfter = retryAfter; // set: HTTP 429, the nonce memory is full
  }
}

function sign(secret, { method, path, timestamp, nonce, body }) {
  const head = Buffer.from(`erpsync-v2\n${method}\n${path}\n${timestamp}\n${nonce}\n`, 'utf8');
  return crypto.createHmac('sha256', Buffer.from(secret, 'utf8')).update(Buffer.concat([head, body])).digest('hex');
}

class Verifier {
  constructor(secret) {
    this.secret = secret;
    this.nonces = new Map(); // nonce -> expiry (seconds); insertion order is expiry order, near enough
  }

  verify({ method, path, headers, body, now = Date.now() / 1000 }) {
    const timestamp = headers['x-erpsync-timestamp'];
    const nonce = headers['x-erpsync-nonce'];
    const signature = headers['x-erpsync-signature-v2'];
    if (!timestamp || !nonce || !signature) throw new Refused('not signed with signing v2');
    if (!NONCE.test(nonce) || !SIGNATURE.test(signature) || !TIMESTAMP.test(timestamp)) {
      throw new Refused('malformed signing headers');
    }
    if (Math.abs(now - Number(timestamp)) > WINDOW_SECONDS) throw new Refused('stale request');
    const expected = Buffer.from(sign(this.secret, { method, path, timestamp, nonce, body }), 'utf8');
    if (!crypto.timingSafeEqual(expected, Buffer.from(signature, 'utf8'))) throw new Refused('wrong signature');
    this.forgetExpired(now);
    if (this.nonces.has(nonce)) throw new Refused('replayed request', { replayed: true });
    if (this.nonces.size >= MAX_NONCES) {
      const oldest = Math.min(...this.nonces.values());
      throw new Refused('too many requests', { retryAfter: Math.max(1, Math.ceil(oldest - now)) });
    }
    this.nonces.set(nonce, Number(timestamp) + WINDOW_SECONDS);
  }

  forgetExpired(now) {
    for (const [nonce, expiry] of this.nonces) {
      if (expiry < now) this.nonces.delete(nonce);
    }
  }
}

module.exports = { Verifier, Refused, sign };
