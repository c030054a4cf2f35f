'use strict';
/*
 * `@azure/functions-core`: the module the Azure Functions Node.js worker gives the v4 library
 * (`@azure/functions`). The library registers each `app.http(...)`/`app.timer(...)` here and sets
 * its programming model, which then turns an invocation request into the handler's arguments
 * and its result into the response. `install()` makes `require('@azure/functions-core')` find it.
 */

const Module = require('module');
const fs = require('fs');
const path = require('path');

const registry = { functions: [], model: undefined, hooks: {} };

class Disposable {
  constructor(callOnDispose) {
    this._dispose = callOnDispose;
  }
  static from(...items) {
    return new Disposable(() => items.forEach((item) => item.dispose()));
  }
  dispose() {
    if (this._dispose) this._dispose();
    this._dispose = undefined;
  }
}

const core = {
  version: '3.10.1',
  hostVersion: '4.1037.0.0',
  Disposable,
  setProgrammingModel(model) {
    registry.model = model;
  },
  getProgrammingModel() {
    return registry.model;
  },
  registerFunction(metadata, callback) {
    const entry = { metadata, callback };
    registry.functions.push(entry);
    return new Disposable(() => registry.functions.splice(registry.functions.indexOf(entry), 1));
  },
  registerHook(name, callback) {
    const list = (registry.hooks[name] ||= []);
    list.push(callback);
    return new Disposable(() => list.splice(list.indexOf(callback), 1));
  },
  log(level, category, message) {
    const stream = level === 'error' || level === 'critical' ? process.stderr : process.stdout;
    if (category === 'user' || level === 'warning' || level === 'error') stream.write(`${message}\n`);
  },
};

function install() {
  const load = Module._load;
  Module._load = function (request, ...rest) {
    if (request === '@azure/functions-core') return core;
    return load.call(this, request, ...rest);
  };
}

/** The files package.json's `main` names (a path or a glob such as `src/functions/*.js`), as the worker loads them. */
function entryFiles(root) {
  let main = 'index.js';
  try {
    main = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).main || main;
  } catch (error) {
    // No package.json: the worker's default entry point.
  }
  const parts = main.replace(/^\.\//, '').split('/');
  return glob(root, parts).sort();
}

function glob(base, parts) {
  if (parts.length === 0) return fs.existsSync(base) && fs.statSync(base).isFile() ? [base] : [];
  const [head, ...rest] = parts;
  if (head === '**') {
    const here = glob(base, rest);
    const deeper = subdirs(base).flatMap((dir) => glob(path.join(base, dir), parts));
    return [...here, ...deeper];
  }
  if (!head.includes('*') && !head.includes('?')) return glob(path.join(base, head), rest);
  const pattern = new RegExp('^' + head.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
  let names = [];
  try {
    names = fs.readdirSync(base).filter((name) => pattern.test(name) && name !== 'node_modules');
  } catch (error) {
    return [];
  }
  return names.flatMap((name) => glob(path.join(base, name), rest));
}

function subdirs(base) {
  try {
    return fs
      .readdirSync(base, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && entry.name !== 'node_modules' && !entry.name.startsWith('.'))
      .map((entry) => entry.name);
  } catch (error) {
    return [];
  }
}

/** Load the app's entry files; returns the functions they registered. */
function loadApp(root) {
  install();
  const files = entryFiles(root);
  if (files.length === 0) throw new Error(`No job functions found: package.json "main" matches no file in ${root}.`);
  for (const file of files) require(file);
  return registry.functions;
}

/** function.json-style bindings (a list) from the registered metadata (a record by name). */
function bindingList(metadata) {
  return Object.entries(metadata.bindings || {}).map(([name, binding]) => {
    const { properties, ...rest } = binding;
    return { ...rest, name };
  });
}

module.exports = { core, registry, install, loadApp, bindingList, entryFiles };
