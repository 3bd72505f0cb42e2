// A small in-memory ERP: customers, persons (belonging to a customer) and a list of segments.
// It knows nothing of the protocol; connector.js translates between the two.
'use strict';

const SEGMENTS = { retail: 'Retail', wholesale: 'Wholesale', public: 'Public sector' };

// Every write gets a stamp greater than any before: ISO 8601 UTC with milliseconds, fixed width, so stamps order
// as strings (the protocol compares last_modified as strings).
class Clock {
  constructor() {
    this.last = 0;
  }

  stamp() {
    this.last = Math.max(Date.now(), this.last + 1);
    return new Date(this.last).toISOString();
  }

  latest() {
    return new Date(this.last).toISOString();
  }
}

class Erp {
  constructor() {
    this.clock = new Clock();
    this.records = new Map(); // erp_key -> {type, key, lastModified, fields, parentKey, deleted}
    this.next = { customer: 1, person: 1 };
  }

  insert(type, fields, parentKey) {
    const prefix = type === 'customer' ? 'C' : 'P';
    const key = `${prefix}${String(this.next[type]++).padStart(6, '0')}`;
    const record = { type, key, lastModified: this.clock.stamp(), fields: { ...fields }, parentKey, deleted: false };
    if (type === 'customer') record.fields.number = `CU-${key.slice(1)}`;
    this.records.set(key, record);
    return record;
  }

  update(record, fields, parentKey) {
    Object.assign(record.fields, fields);
    record.parentKey = parentKey;
    record.lastModified = this.clock.stamp();
  }

  live(type, key) {
    const record = this.records.get(key);
    return record && record.type === type && !record.deleted ? record : null;
  }

  all(type) {
    return [...this.records.values()].filter((record) => record.type === type && !record.deleted);
  }

  // Deleting leaves a tombstone, so the next changes can report it; a customer takes its persons along.
  delete(type, key) {
    const record = this.live(type, key);
    if (!record) return false;
    record.deleted = true;
    record.lastModified = this.clock.stamp();
    if (type === 'customer') {
      for (const person of this.all('person')) {
        if (person.parentKey === key) this.delete('person', person.key);
      }
    }
    return true;
  }
}

module.exports = { Erp, SEGMENTS };
