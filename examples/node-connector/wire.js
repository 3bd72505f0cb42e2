// The wire: the JSON shape of every request (docs/protocol/*.request.json), checked strictly, and the envelope.
'use strict';

const ACTOR_TYPES = ['customer', 'supplier', 'partner', 'person', 'project'];
const OPERATORS = [
  '=', '!=', '>', '<', '>=', '<=', 'begins', 'contains', 'ends', 'notbegins', 'notcontains', 'notends', 'isnot',
  'between', 'oneof', 'notoneof', 'before', 'after', 'beforeOrEqual', 'afterOrEqual',
];

class Invalid extends Error {} // -> HTTP 422

const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);
const isScalar = (value) => value === null || ['string', 'number', 'boolean'].includes(typeof value);

function string(min, max) {
  return (value, where) => {
    if (typeof value !== 'string') throw new Invalid(`${where}: not a string`);
    if (value.length < min || value.length > max) throw new Invalid(`${where}: length not within ${min}-${max}`);
  };
}

const key = string(1, 255);
const nullable = (check) => (value, where) => (value === null ? undefined : check(value, where));
const oneOf = (allowed) => (value, where) => {
  if (!allowed.includes(value)) throw new Invalid(`${where}: not one of ${allowed.join(', ')}`);
};
const actorType = oneOf(ACTOR_TYPES);

function integer(min, max) {
  return (value, where) => {
    if (typeof value !== 'number' || !Number.isInteger(value)) throw new Invalid(`${where}: not an integer`);
    if (value < min || value > max) throw new Invalid(`${where}: not within ${min}-${max}`);
  };
}

function list(check, max) {
  return (value, where) => {
    if (!Array.isArray(value)) throw new Invalid(`${where}: not a list`);
    if (value.length > max) throw new Invalid(`${where}: more than ${max} items`);
    value.forEach((item, index) => check(item, `${where}[${index}]`));
  };
}

function values(value, where) {
  if (!isObject(value)) throw new Invalid(`${where}: not an object`);
  for (const [name, item] of Object.entries(value)) {
    key(name, `${where} key`);
    if (!isScalar(item)) throw new Invalid(`${where}.${name}: not a string, number, boolean or null`);
    if (typeof item === 'string' && item.length > 100000) throw new Invalid(`${where}.${name}: too long`);
  }
}

// members: name -> [check, required]; unknown members are refused at every depth.
function object(members) {
  return (value, where) => {
    if (!isObject(value)) throw new Invalid(`${where || 'body'}: not an object`);
    for (const name of Object.keys(value)) {
      if (!(name in members)) throw new Invalid(`${where ? `${where}.` : ''}${name}: unknown member`);
    }
    for (const [name, [check, required]] of Object.entries(members)) {
      const path = where ? `${where}.${name}` : name;
      if (!(name in value)) {
        if (required) throw new Invalid(`${path}: missing`);
        continue;
      }
      check(value[name], path);
    }
  };
}

const actor = object({
  actor_type: [actorType, true],
  erp_key: [nullable(key), false],
  last_modified: [nullable(string(0, 64)), false],
  parent_type: [nullable(actorType), false],
  parent_key: [nullable(key), false],
  fields: [values, false],
});
const restriction = object({
  field: [key, true],
  operator: [oneOf(OPERATORS), true],
  values: [list((item, where) => { if (!isScalar(item)) throw new Invalid(`${where}: not a scalar`); }, 1000), false],
});

const connectionId = [string(1, 64), true];
const onType = { connection_id: connectionId, actor_type: [actorType, true] };
const fieldKeys = [list(key, 1000), true];
const limit = [integer(1, 1000), false];

const REQUESTS = {
  info: object({}),
  config_fields: object({}),
  test_config: object({ config: [values, true] }),
  save_connection: object({ connection_id: connectionId, config: [values, true] }),
  test_connection: object({ connection_id: connectionId }),
  delete_connection: object({ connection_id: connectionId }),
  actor_types: object({ connection_id: connectionId }),
  actor_fields: object(onType),
  searchable_fields: object(onType),
  get_actors: object({ ...onType, erp_keys: [list(key, 1000), true], field_keys: fieldKeys }),
  search_actors: object({ ...onType, text: [string(0, 1000), true], field_keys: fieldKeys, limit }),
  search_by_parent: object({
    ...onType,
    text: [string(0, 1000), false],
    parent_type: [actorType, true],
    parent_key: [key, true],
    field_keys: fieldKeys,
    limit,
  }),
  search_advanced: object({ ...onType, restrictions: [list(restriction, 100), true], field_keys: fieldKeys, limit }),
  changes: object({
    ...onType,
    since: [nullable(string(0, 64)), false],
    field_keys: fieldKeys,
    cursor: [nullable(string(0, 1000)), false],
    limit,
  }),
  create_actor: object({ connection_id: connectionId, actor: [actor, true], idempotency_key: [key, true] }),
  save_actors: object({ connection_id: connectionId, actors: [list(actor, 1000), true] }),
  list_items: object({ connection_id: connectionId, list_name: [key, true], keys: [nullable(list(key, 1000)), false] }),
};

// A failure the connector answers with HTTP 200 and ok:false (an ERP-side problem, or a request's meaning).
class Failure extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

const envelope = (payload = {}) => ({ ok: true, state: 'ok', user_message: '', tech_message: '', error_code: '', ...payload });
const failure = (code, message) => ({ ok: false, state: 'error', user_message: message, tech_message: '', error_code: code });

module.exports = { REQUESTS, Invalid, Failure, envelope, failure };
