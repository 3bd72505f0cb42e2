// Deletes a record in the example ERP: the conformance kit's --delete-command.
//
//   ERPSYNC_CONNECTOR_SECRET=... node delete.js http://127.0.0.1:8766 ACTOR_TYPE ERP_KEY
//   erpsync conformance http://127.0.0.1:8766 --config connection.json \
//       --delete-command "node examples/node-connector/delete.js http://127.0.0.1:8766"
'use strict';

const crypto = require('node:crypto');
const http = require('node:http');

const { sign } = require('./signing');

const [url, actorType, erpKey] = process.argv.slice(2);
const secret = process.env.ERPSYNC_CONNECTOR_SECRET;
if (!url || !actorType || !erpKey || !secret) {
  console.error('usage: ERPSYNC_CONNECTOR_SECRET=... node delete.js URL ACTOR_TYPE ERP_KEY');
  process.exit(2);
}

const body = Buffer.from(JSON.stringify({ actor_type: actorType, erp_key: erpKey }), 'utf8');
const timestamp = String(Math.floor(Date.now() / 1000));
const nonce = crypto.randomBytes(16).toString('hex');
const path = '/erp/delete';
const request = http.request(new URL(path, url), {
  method: 'POST',
  headers: {
    'Content-Type': 'application/json',
    'X-Erpsync-Timestamp': timestamp,
    'X-Erpsync-Nonce': nonce,
    'X-Erpsync-Signature-V2': sign(secret, { method: 'POST', path, timestamp, nonce, body }),
  },
}, (response) => {
  const chunks = [];
  response.on('data', (chunk) => chunks.push(chunk));
  response.on('end', () => {
    const answer = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    if (response.statusCode === 200 && answer.deleted) process.exit(0);
    console.error(`not deleted: HTTP ${response.statusCode} ${JSON.stringify(answer)}`);
    process.exit(1);
  });
});
request.on('error', (error) => { console.error(error.message); process.exit(1); });
request.end(body);
