// The operations of protocol v1 over the in-memory ERP. Each takes the validated request and returns the payload
// members of a successful answer, or throws Failure(error_code, message) for an answer with ok:false.
'use strict';

const { SEGMENTS } = require('./erp');
const { Failure } = require('./wire');

const REGIONS = { north: 'North', south: 'South' };
const POSITION = 'after:'; // a next_since this connector gives: a position after the stamp that follows it
const API_KEY = process.env.NODE_ERP_API_KEY || 'demo-api-key';

const meta = (key, type, extra = {}) => ({
  key, label: key[0].toUpperCase() + key.slice(1), description: '', type, list_name: null, default: null,
  max_length: null, access: 'normal', rank: 0, ...extra,
});
const FIELDS = {
  customer: [
    meta('name', 'text', { access: 'mandatory', max_length: 200, rank: 1 }),
    meta('email', 'text', { max_length: 200, rank: 2 }),
    meta('number', 'text', { access: 'read_only', rank: 3 }),
    meta('employees', 'integer', { rank: 4 }),
    meta('turnover', 'double', { rank: 5 }),
    meta('vip', 'checkbox', { rank: 6 }),
    meta('segment', 'list', { list_name: 'segments', rank: 7 }),
    meta('founded', 'datetime', { rank: 8 }),
  ],
  person: [
    meta('name', 'text', { access: 'mandatory', max_length: 200, rank: 1 }),
    meta('email', 'text', { max_length: 200, rank: 2 }),
  ],
};
const CONFIG_FIELDS = [
  meta('api_key', 'password', { access: 'mandatory', rank: 1 }),
  meta('region', 'list', { list_name: 'regions', rank: 2 }),
];
const OPERATORS = {
  text: ['=', 'begins', 'contains', 'ends', 'notbegins', 'notcontains', 'notends', 'isnot', 'between'],
  integer: ['=', '!=', '>', '<', '>=', '<=', 'between'],
  double: ['=', '!=', '>', '<', '>=', '<=', 'between'],
  checkbox: ['='],
  list: ['oneof', 'notoneof'],
  datetime: ['=', 'before', 'after', 'beforeOrEqual', 'afterOrEqual', 'between'],
};
const NEGATED = ['notbegins', 'notcontains', 'notends', 'isnot', '!=', 'notoneof'];

const invalid = (message) => new Failure('validation', message);
const isBlank = (value) => value === null || value === undefined || value === '';

// A datetime without offset is UTC (JavaScript would read it as local time).
function instant(text) {
  const zoned = /([zZ]|[+-]\d\d:?\d\d)$/.test(text) ? text : `${text}Z`;
  const time = Date.parse(zoned);
  if (Number.isNaN(time)) throw invalid(`${text} is not an ISO 8601 datetime`);
  return time;
}

class Connector {
  constructor(erp) {
    this.erp = erp;
    this.connections = new Map();
    this.created = new Map(); // connection id + idempotency key -> erp_key
  }

  info() {
    return {
      name: 'node-example', version: '1.0.0', protocol_version: '1',
      capabilities: {
        get_batch_size: 100, save_batch_size: 100, max_page_size: 500, search: true, advanced_search: true,
        create: { customer: true, person: true }, rate_limit_per_second: null, signing: ['2'],
      },
    };
  }

  config_fields() { return { fields: CONFIG_FIELDS }; }

  test_config({ config }) {
    if (config.api_key !== API_KEY) throw new Failure('auth', 'The API key is wrong.');
    if (!isBlank(config.region) && !(config.region in REGIONS)) throw invalid(`There is no region ${config.region}.`);
    return {};
  }

  save_connection({ connection_id, config }) {
    this.test_config({ config });
    this.connections.set(connection_id, { ...config });
    return {};
  }

  test_connection({ connection_id }) { this.connection(connection_id); return {}; }

  delete_connection({ connection_id }) { this.connections.delete(connection_id); return {}; }

  actor_types({ connection_id }) { this.connection(connection_id); return { actor_types: Object.keys(FIELDS) }; }

  actor_fields(request) { return { fields: this.fields(request) }; }

  searchable_fields(request) { return { field_keys: this.fields(request).map((field) => field.key) }; }

  get_actors(request) {
    this.selected(request);
    const found = request.erp_keys.map((key) => this.erp.live(request.actor_type, key));
    return {
      actors: found.filter(Boolean).map((record) => this.actor(record, request.field_keys)),
      not_found: request.erp_keys.filter((key, index) => !found[index]),
    };
  }

  search_actors(request) {
    return this.search(request, () => true);
  }

  search_by_parent(request) {
    return this.search(request, (record) => request.parent_type === 'customer' && record.parentKey === request.parent_key);
  }

  search(request, where) {
    this.selected(request);
    const text = (request.text || '').toLowerCase();
    const hits = this.erp.all(request.actor_type).filter((record) => where(record) && (
      String(record.fields.name || '').toLowerCase().includes(text)
      || String(record.fields.number || '').toLowerCase().includes(text)));
    return { actors: hits.slice(0, request.limit || 50).map((record) => this.actor(record, request.field_keys)) };
  }

  search_advanced(request) {
    const fields = Object.fromEntries(this.selected(request).map((field) => [field.key, field]));
    for (const { field, operator, values = [] } of request.restrictions) {
      if (!(field in fields)) throw invalid(`There is no field ${field}.`);
      if (!OPERATORS[fields[field].type].includes(operator)) throw invalid(`${operator} does not fit ${field}.`);
      const count = operator === 'between' ? values.length === 2
        : ['oneof', 'notoneof'].includes(operator) ? values.length >= 1 : values.length === 1;
      if (!count) throw invalid(`${field} ${operator}: wrong number of values`);
    }
    const hits = this.erp.all(request.actor_type).filter((record) => request.restrictions.every(
      (restriction) => matches(fields[restriction.field].type, record.fields[restriction.field], restriction)));
    return { actors: hits.slice(0, request.limit || 50).map((record) => this.actor(record, request.field_keys)) };
  }

  changes(request) {
    this.selected(request);
    // since: null (everything), an ISO time (changed at or after it), or a position this connector gave as
    // next_since ("after:" and the latest stamp then): changed strictly after it, so a quiet cycle answers nothing.
    const resumed = (request.since || '').startsWith(POSITION);
    const since = resumed ? request.since.slice(POSITION.length) : request.since || '';
    const after = request.cursor ? readCursor(request.cursor, request) : null;
    const limit = request.limit || 500;
    const pending = [...this.erp.records.values()]
      .filter((record) => record.type === request.actor_type)
      .filter((record) => (resumed ? record.lastModified > since : record.lastModified >= since))
      .filter((record) => !after || compare(record, after) > 0)
      .sort((a, b) => compare(a, [b.lastModified, b.key]));
    const page = pending.slice(0, limit);
    const more = pending.length > limit;
    const last = page[page.length - 1];
    return {
      actors: page.filter((record) => !record.deleted).map((record) => this.actor(record, request.field_keys)),
      deleted: page.filter((record) => record.deleted).map((record) => record.key),
      next_cursor: more ? writeCursor(request, last) : null,
      // After the latest stamp given so far: any later write is stamped greater, so the next cycle sees it.
      next_since: more ? null : `${POSITION}${this.erp.clock.latest()}`,
    };
  }

  create_actor({ connection_id, actor, idempotency_key }) {
    this.connection(connection_id);
    const type = this.supported(actor.actor_type);
    if (actor.erp_key !== undefined && actor.erp_key !== null) throw invalid('A new actor has no erp_key yet.');
    const fields = actor.fields || {};
    this.checkValues(type, fields, { creating: true });
    const parentKey = this.parent(actor, null);
    const known = `${connection_id}\u0000${idempotency_key}`;
    let record = this.created.has(known) ? this.erp.records.get(this.created.get(known)) : null;
    if (!record) {
      record = this.erp.insert(type, fields, parentKey);
      this.created.set(known, record.key);
    }
    if (record.deleted) throw new Failure('not_found', 'The actor created with this key has since been deleted.');
    return { actor: this.actor(record, FIELDS[type].map((field) => field.key)) };
  }

  save_actors({ connection_id, actors }) {
    this.connection(connection_id);
    const saved = [];
    const errors = [];
    actors.forEach((actor, index) => {
      try {
        saved.push(this.saveOne(actor));
      } catch (error) {
        if (!(error instanceof Failure)) throw error;
        errors.push({ index, erp_key: actor.erp_key || null, error_code: error.code, message: error.message });
      }
    });
    return { actors: saved, errors };
  }

  saveOne(actor) {
    const type = this.supported(actor.actor_type);
    const record = this.erp.live(type, actor.erp_key || '');
    if (!record) throw new Failure('not_found', `There is no ${type} ${actor.erp_key}.`);
    const fields = actor.fields || {};
    this.checkValues(type, fields, { creating: false });
    const parentKey = this.parent(actor, record.parentKey);
    // Optimistic locking: the hub sends last_modified as it read the actor; a newer edit is not overwritten.
    if (!isBlank(actor.last_modified) && actor.last_modified !== record.lastModified) {
      throw new Failure('conflict', `${type} ${record.key} was changed in the ERP since it was read.`);
    }
    this.erp.update(record, fields, parentKey);
    return this.actor(record, FIELDS[type].map((field) => field.key));
  }

  list_items({ connection_id, list_name, keys }) {
    const lists = { regions: REGIONS, segments: SEGMENTS };
    if (list_name !== 'regions') this.connection(connection_id); // config lists answer for connection "new"
    if (!(list_name in lists)) throw invalid(`There is no list ${list_name}.`);
    const items = Object.entries(lists[list_name]).map(([key, label]) => ({ key, label }));
    return { items: keys ? items.filter((item) => keys.includes(item.key)) : items };
  }

  // --- helpers --------------------------------------------------------------------------------------------------

  connection(connectionId) {
    const config = this.connections.get(connectionId);
    if (!config) throw new Failure('unknown_connection', `Connection ${connectionId} is not known.`);
    return config;
  }

  supported(type) {
    if (!(type in FIELDS)) throw invalid(`This ERP has no ${type} actors.`);
    return type;
  }

  fields({ connection_id, actor_type }) {
    this.connection(connection_id);
    return FIELDS[this.supported(actor_type)];
  }

  selected(request) {
    const fields = this.fields(request);
    const unknown = request.field_keys.filter((key) => !fields.some((field) => field.key === key));
    if (unknown.length) throw invalid(`Unknown fields: ${unknown.join(', ')}.`);
    return fields;
  }

  // Absent parent members keep the parent; both null clear it; both set move the actor.
  parent(actor, current) {
    const given = 'parent_type' in actor || 'parent_key' in actor;
    if (!given) return current;
    const { parent_type: type = null, parent_key: key = null } = actor;
    if (type === null && key === null) return null;
    if (actor.actor_type !== 'person' || type !== 'customer' || !this.erp.live('customer', key || '')) {
      throw invalid(`No customer ${key} can be the parent.`);
    }
    return key;
  }

  checkValues(type, fields, { creating }) {
    const metas = Object.fromEntries(FIELDS[type].map((field) => [field.key, field]));
    for (const [key, value] of Object.entries(fields)) {
      const field = metas[key];
      if (!field) throw invalid(`Unknown field ${key}.`);
      if (field.access === 'read_only') throw invalid(`${key} is read-only.`);
      if (field.access === 'mandatory' && isBlank(value)) throw invalid(`${key} is mandatory.`);
      if (!isBlank(value)) checkType(field, value);
    }
    if (creating) {
      const missing = FIELDS[type].filter((field) => field.access === 'mandatory' && isBlank(fields[field.key]));
      if (missing.length) throw invalid(`Mandatory: ${missing.map((field) => field.key).join(', ')}.`);
    }
  }

  actor(record, fieldKeys) {
    return {
      actor_type: record.type,
      erp_key: record.key,
      last_modified: record.lastModified,
      parent_type: record.parentKey ? 'customer' : null,
      parent_key: record.parentKey || null,
      fields: Object.fromEntries(fieldKeys.map((key) => [key, record.fields[key] ?? null])),
    };
  }
}

function checkType(field, value) {
  const ok = {
    text: () => typeof value === 'string' && (!field.max_length || value.length <= field.max_length),
    integer: () => Number.isInteger(value),
    double: () => typeof value === 'number',
    checkbox: () => typeof value === 'boolean',
    list: () => typeof value === 'string',
    datetime: () => typeof value === 'string' && !Number.isNaN(instant(value)),
  }[field.type]();
  if (!ok) throw invalid(`${field.key}: ${JSON.stringify(value)} does not fit a ${field.type} field.`);
  if (field.type === 'list' && !(value in SEGMENTS)) throw new Failure('mapping', `${value} is not a ${field.list_name} item.`);
}

function comparable(type, value) {
  if (type === 'text') return String(value).toLowerCase();
  if (type === 'datetime') return instant(String(value));
  return value;
}

function matches(type, value, { operator, values = [] }) {
  if (operator === 'oneof' || operator === 'notoneof') {
    const found = !isBlank(value) && values.includes(value);
    return operator === 'oneof' ? found : !found;
  }
  if (isBlank(value)) return NEGATED.includes(operator); // blank: no positive operator, every negated one
  const subject = comparable(type, value);
  const [first, second] = values.map((operand) => comparable(type, operand));
  const tests = {
    '=': () => subject === first,
    '!=': () => subject !== first,
    isnot: () => subject !== first,
    begins: () => subject.startsWith(first),
    notbegins: () => !subject.startsWith(first),
    contains: () => subject.includes(first),
    notcontains: () => !subject.includes(first),
    ends: () => subject.endsWith(first),
    notends: () => !subject.endsWith(first),
    '>': () => subject > first,
    after: () => subject > first,
    '<': () => subject < first,
    before: () => subject < first,
    '>=': () => subject >= first,
    afterOrEqual: () => subject >= first,
    '<=': () => subject <= first,
    beforeOrEqual: () => subject <= first,
    between: () => first <= subject && subject <= second,
  };
  return tests[operator]();
}

// --- changes: order and cursors ----------------------------------------------------------------------------------

function compare(record, [lastModified, key]) {
  if (record.lastModified !== lastModified) return record.lastModified < lastModified ? -1 : 1;
  if (record.key === key) return 0;
  return record.key < key ? -1 : 1;
}

// The cursor carries the position itself (no server state): valid across restarts, as long as its since lasts.
function writeCursor(request, record) {
  const position = { t: request.actor_type, s: request.since || '', m: record.lastModified, k: record.key };
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

function readCursor(cursor, request) {
  let position;
  try {
    position = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid('The cursor is not one this connector gave.');
  }
  if (!position || position.t !== request.actor_type || position.s !== (request.since || '')
      || typeof position.m !== 'string' || typeof position.k !== 'string') {
    throw invalid('The cursor is not one this connector gave for this actor type and since.');
  }
  return [position.m, position.k];
}

module.exports = { Connector, FIELDS };
