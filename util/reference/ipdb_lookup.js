#!/usr/bin/env node
// Reference reader driver for IPIP.net ipdb files (tests/ipdb.rs).
//
//     node ipdb_lookup.js FILE.ipdb < addresses
//
// Reads one address per line from standard input and prints one JSON object
// per line: the npm `ipdb` reader's answer, {"ip", "code", "data"} with
// `data` the field map of the first language (code 0), or {"ip", "code": -1,
// "message"}. The reader (npm ipdb 0.4.0) is looked for in
// $IPGEO_IPDB_READER, else data/reference/ipdb of the repository.
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');

const reader = process.env.IPGEO_IPDB_READER ||
  path.join(__dirname, '..', '..', 'data', 'reference', 'ipdb');
const IPDB = require(path.resolve(reader));

const db = new IPDB(fs.readFileSync(process.argv[2]));
// The first language: the smallest offset.
const language = Object.keys(db.meta.languages)
  .sort((a, b) => db.meta.languages[a] - db.meta.languages[b])[0];

const out = [];
const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (line) => {
  const ip = line.trim();
  if (!ip) return;
  const r = db.find(ip, { language });
  const o = { ip, code: r.code };
  if (r.code === 0) {
    const data = {};
    for (const f of db.meta.fields) data[f] = r.data[f];
    o.data = data;
    o.bitmask = r.data.bitmask;
  } else {
    o.message = r.message;
  }
  out.push(JSON.stringify(o));
  if (out.length >= 4096) {
    process.stdout.write(out.join('\n') + '\n');
    out.length = 0;
  }
});
rl.on('close', () => {
  if (out.length) process.stdout.write(out.join('\n') + '\n');
});
