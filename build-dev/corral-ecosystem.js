// SPDX-License-Identifier: ISC
//
// corral-ecosystem.js: reads a PM2 ecosystem file as PM2 does and prints
// its apps as one JSON object, {"apps": [...]}, on stdout. corrald runs it
// with node, in the environment and folder of the client that named the
// file (so `process.env` is the user's shell environment), under a time
// limit and an output cap.
//
//   node corral-ecosystem.js FILE [SHOWN]
//
// FILE.json is evaluated as a JavaScript expression, as PM2 does (comments,
// unquoted keys, trailing commas); FILE.js and .cjs are required (CommonJS,
// or imported when node says the file is an ES module); FILE.mjs is
// imported and its default export taken. The apps are `apps` (an array, or
// one app object), else `pm2`, else the whole export (an array, or one app
// object). Values JSON cannot carry (functions, undefined) are left out.
//
// Exit status 0 with the JSON on stdout; 2 with "SHOWN:LINE: message" (or
// "SHOWN: message") on stderr when the file cannot be evaluated.
'use strict';

const fs = require('fs');
const path = require('path');
const url = require('url');
const vm = require('vm');

const file = path.resolve(process.argv[2] || '');
const shown = process.argv[3] || process.argv[2] || '';

// An ES module namespace (what import() gives, and what newer nodes'
// require() gives for an ES module), or a transpiled one: its default.
function unwrap(m) {
  if (m && (m[Symbol.toStringTag] === 'Module' || m.__esModule) &&
      m.default !== undefined)
    return m.default;
  return m;
}

async function importDefault(f) {
  return unwrap(await import(url.pathToFileURL(f).href));
}

async function evaluate() {
  if (!fs.existsSync(file)) {
    const e = new Error('no such file');
    e.plain = true;
    throw e;
  }
  if (/\.json$/i.test(file)) {
    const code = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
    return vm.runInThisContext('(' + code + '\n)', {
      filename: file, displayErrors: false, timeout: 5000,
    });
  }
  if (/\.mjs$/i.test(file))
    return importDefault(file);
  try {
    return unwrap(require(file));
  } catch (e) {
    if (e && (e.code === 'ERR_REQUIRE_ESM' ||
        e.code === 'ERR_REQUIRE_ASYNC_MODULE'))
      return importDefault(file);
    throw e;
  }
}

function appsOf(config) {
  if (config === null || typeof config !== 'object')
    throw new Error('the file exports no object (module.exports = { apps: [...] })');
  let apps = config;
  if (config.apps !== undefined)
    apps = config.apps;
  else if (config.pm2 !== undefined)
    apps = config.pm2;
  if (apps === null || typeof apps !== 'object')
    throw new Error('"apps" is neither an array nor an object');
  return Array.isArray(apps) ? apps : [apps];
}

// The line of the file an error points at: the header node puts above a
// syntax error ("FILE:LINE"), else the first stack frame in the file.
function lineOf(e) {
  const stack = String((e && e.stack) || '');
  const esc = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = stack.match(new RegExp('(?:^|\\(|file://|\\s)' + esc + ':(\\d+)')) ||
      stack.match(new RegExp('^' + esc + ':(\\d+)', 'm'));
  return m ? m[1] : null;
}

function fail(e) {
  const line = lineOf(e);
  const what = e && e.plain ? e.message :
    e && e.name && e.message !== undefined ? e.name + ': ' + e.message :
    String(e);
  const where = shown + (line ? ':' + line : '');
  process.stderr.write(where + ': ' + what.split('\n')[0] + '\n', () => {
    process.exit(2);
  });
}

evaluate().then((config) => {
  const out = JSON.stringify({ apps: appsOf(config) }, (k, v) =>
    typeof v === 'bigint' ? v.toString() : v);
  process.stdout.write(out + '\n', () => process.exit(0));
}, fail).catch(fail);
