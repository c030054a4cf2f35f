'use strict';
/*
 * OpenWhisk action proxy for Node.js: POST /init and POST /run on one port.
 *
 * Runs as `node proxy.js` inside a bare node image or as a local process, so it uses
 * Node built-ins only (Node 18+). It behaves like openwhisk-runtime-nodejs
 * (core/nodejsActionBase: app.js, src/service.js, runner.js): same status codes, same
 * error bodies, the same way of finding `main`, and the
 * XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX sentinel on stdout and stderr after every
 * activation.
 *
 * Protocol with the process that starts it: once listening, the first stdout line is
 * `EMU_PROXY_READY <port>`; everything after it on stdout/stderr is the action's log.
 * Environment: __EMU_PROXY_HOST (default 0.0.0.0), __EMU_PROXY_PORT (default 8080,
 * 0 lets the OS pick a port).
 *
 * /init may ask for AWS Lambda's calling convention with `adapter: "lambda"`; that lives
 * in lambda_adapter.js next to this file, required only then.
 */

const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');
const vm = require('vm');
const zlib = require('zlib');
const { createRequire } = require('module');

const SENTINEL = 'XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX\n';
const MAX_BODY = 64 * 1024 * 1024;

/** An expected failure whose message says it all: reported without a stack trace. */
class ActionError extends Error {}

/**
 * Mirrors NodeActionService: one action, and a status that a crash moves to 'stopped'.
 * `adapter` replaces `main` when /init chose another calling convention.
 */
const state = { status: 'ready', main: undefined, adapter: undefined, workdir: undefined };
/** Open client connections: the Lambda adapter tells the proxy's own handles from the function's. */
let openConnections = 0;
// As in the real runtime, __OW_ALLOW_CONCURRENT=true lets /run calls overlap.
const allowConcurrent = String(process.env.__OW_ALLOW_CONCURRENT).toLowerCase() === 'true';

function reply(code, response) {
  return { code, response };
}

function errorReply(code, message) {
  return reply(code, { error: message });
}

// ---------------------------------------------------------------------------- /init

async function initCode(body) {
  if (state.main !== undefined || state.adapter !== undefined) {
    return refuse('Cannot initialize the action more than once.');
  }
  if (state.status !== 'ready') {
    return refuse(`System not ready, status is ${state.status}.`);
  }
  const message = isObject(body.value) ? body.value : {};
  const main = message.main || 'main';
  if (!hasCode(message) || typeof main !== 'string') {
    return errorReply(403, 'Missing main/no code to execute.');
  }
  addDependencies(message.dependencies);
  if (message.adapter !== undefined && message.adapter !== null) return initAdapter(message, main);
  state.status = 'starting';
  try {
    exportInitEnv(message.env);
    state.main = hasPath(message)
      ? loadFolder(message.path, main, 'The code folder must contain either package.json or index.js.')
      : message.binary
        ? loadArchive(message.code, main)
        : loadSource(message.code, main, message.name);
    state.status = 'ready';
    return reply(200, { OK: true });
  } catch (error) {
    // Like the real runtime, a failed init leaves the instance unusable.
    state.status = 'stopped';
    console.error('Error during initialization:', error instanceof ActionError ? error.message : error);
    return errorReply(502, `Initialization has failed due to: ${describe(error)}`);
  }
}

/**
 * The gateway-installed node_modules folders, searched after the code's own node_modules
 * (NODE_PATH's place in the lookup order, as a global folder would be).
 */
function addDependencies(folders) {
  if (!Array.isArray(folders) || folders.length === 0) return;
  const extra = folders.filter((folder) => typeof folder === 'string');
  process.env.NODE_PATH = [...extra, process.env.NODE_PATH].filter(Boolean).join(path.delimiter);
  require('module').Module._initPaths();
}

function hasPath(message) {
  return typeof message.path === 'string' && message.path !== '';
}

function hasCode(message) {
  return hasPath(message) || (typeof message.code === 'string' && message.code !== '');
}

/** Another calling convention (only 'lambda' here); its module is loaded on demand. */
async function initAdapter(message, main) {
  if (message.adapter === 'azure') return initAzure(message);
  if (message.adapter !== 'lambda') return refuse(`Unsupported adapter '${message.adapter}'.`);
  const lambda = require('./lambda_adapter.js');
  exportInitEnv(message.env);
  let folder;
  try {
    folder = codeFolder(message, lambda.sourceFile(main));
  } catch (error) {
    console.error(error instanceof ActionError ? error.message : error);
    return rawReply(502, JSON.stringify({ errorType: 'Runtime.Unknown', errorMessage: error.message }));
  }
  const started = await lambda.start(main, folder, () => openConnections);
  state.adapter = started.adapter;
  return started.reply;
}

/** Azure Functions' Node.js programming model (azure_adapter.js): one instance per function app. */
async function initAzure(message) {
  exportInitEnv(message.env);
  const started = require('./azure_adapter.js').start(message, codeFolder(message, 'index.js'));
  state.adapter = started.adapter;
  return started.reply;
}

/** The code as a folder: `path` as it is (never written to), else a temporary one we fill. */
function codeFolder(message, sourceFile) {
  if (hasPath(message)) {
    if (!fs.statSync(message.path, { throwIfNoEntry: false })?.isDirectory()) {
      throw new ActionError(`The code folder '${message.path}' does not exist.`);
    }
    return path.resolve(message.path);
  }
  state.workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'emu-action-'));
  if (message.binary) {
    const archive = Buffer.from(message.code, 'base64');
    checkZipMagic(archive);
    extractZip(archive, state.workdir);
  } else {
    const target = safeTarget(state.workdir, sourceFile);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, message.code);
  }
  return state.workdir;
}

/** A reply whose body is already serialized, with optional extra response headers. */
function rawReply(code, body, headers) {
  return { code, body, headers };
}

function refuse(message) {
  console.error('Internal system error:', message);
  return errorReply(403, message);
}

function describe(error) {
  if (error instanceof ActionError || !error || !error.stack) {
    return error instanceof Error ? error.message : String(error);
  }
  return String(error.stack);
}

/** Init parameters become environment variables; all values end up as strings. */
function exportInitEnv(env) {
  if (!isObject(env)) return;
  for (const [key, value] of Object.entries(env)) {
    if (value === null || value === undefined) process.env[key] = '';
    else if (typeof value === 'object') process.env[key] = JSON.stringify(value);
    else process.env[key] = String(value);
  }
}

/**
 * Plain code is evaluated as the body of a CommonJS module, followed by `return <main>`,
 * so a top-level `function main` is found first and `exports.main`/`module.exports.main`
 * second: the same lookup runner.js does with eval.
 */
function loadSource(code, main, name) {
  const filename = path.join(process.cwd(), `${path.basename(String(name || 'action'))}.js`);
  const lookup = `\n;try { return ${main} } catch (e) {
    if (e.name === 'ReferenceError') { return module.exports.${main} || exports.${main} } throw e }`;
  const wrapper = compileModule(code, lookup, filename);
  const mod = { exports: {}, filename, id: filename, loaded: true };
  const actionRequire = createRequire(filename);
  const handler = wrapper.call(mod.exports, mod.exports, actionRequire, mod, filename, path.dirname(filename));
  return assertFunction(handler, main);
}

const MODULE_PARAMS = ['exports', 'require', 'module', '__filename', '__dirname'];

/**
 * Lets plain code use import() like code evaluated by runner.js does; needs Node 20.12+
 * (vm.constants); on older versions only require() is available.
 */
const DYNAMIC_IMPORT = vm.constants && vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER;

function compileModule(code, lookup, filename) {
  const options = { filename, importModuleDynamically: DYNAMIC_IMPORT };
  try {
    return vm.compileFunction(code + lookup, MODULE_PARAMS, options);
  } catch (error) {
    // An unclosed block shows up in the appended lookup: report the action's own error.
    vm.compileFunction(code, MODULE_PARAMS, options);
    throw error;
  }
}

/** A zip holding package.json (its `main` is used) or index.js; `main` may be `module.fn`. */
function loadArchive(code, main) {
  if (splitMainHandler(main) === undefined) throw new ActionError('Name of main function is not valid.');
  const archive = Buffer.from(code, 'base64');
  checkZipMagic(archive);
  state.workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'emu-action-'));
  extractZip(archive, state.workdir);
  const missing = 'Zipped actions must contain either package.json or index.js at the root.';
  return loadFolder(state.workdir, main, missing);
}

/** The action's folder (unzipped or `path`): package.json's main or index.js, run from there. */
function loadFolder(folder, main, missing) {
  const parts = splitMainHandler(main);
  if (parts === undefined) throw new ActionError('Name of main function is not valid.');
  const [index, fn] = parts;
  process.chdir(folder);
  if (index === undefined && !fs.existsSync('package.json') && !fs.existsSync('index.js')) {
    throw new ActionError(missing);
  }
  const exported = require(path.resolve(folder, index === undefined ? '.' : index));
  const handler = fn.split('.').reduce((object, key) => (object == null ? undefined : object[key]), exported);
  return assertFunction(handler, main);
}

function checkZipMagic(archive) {
  const magic = archive.length >= 4 ? archive.readUInt32LE(0) : 0;
  if (magic === ZIP_LOCAL || magic === ZIP_END) return;
  if (archive[0] === 0x1f && archive[1] === 0x8b) {
    throw new ActionError('tar.gz action archives are not supported here: zip the action instead.');
  }
  throw new ActionError('The action code is marked binary but is not a base64-encoded zip file.');
}

/** 'fn' -> [undefined, 'fn']; 'module.a.b' -> ['module', 'a.b'] (runner.js splitMainHandler). */
function splitMainHandler(handler) {
  const matches = handler.match(/^([^.]+)$|^([^.]+)\.(.+)$/);
  if (!matches) return undefined;
  return [matches[2], matches[3] || matches[1]];
}

function assertFunction(handler, name) {
  if (typeof handler !== 'function') throw new ActionError(`Action entrypoint '${name}' is not a function.`);
  return handler;
}

// ---------------------------------------------------------------------------- /run

async function runCode(body) {
  if (state.adapter !== undefined) return state.adapter.run(body);
  if (state.main === undefined) return refuse('System not initialized.');
  if (state.status !== 'ready') return refuse(`System not ready, status is ${state.status}.`);
  let args = body.value;
  if (args === null || args === undefined) {
    args = {};
  } else if (typeof args !== 'object') {
    return refuse(`Internal system error: the argument must be a dictionary but has type '${typeof args}'.`);
  }
  exportActivationEnv(body);
  if (!allowConcurrent) state.status = 'running';
  let result;
  try {
    result = await invoke(state.main, args);
  } catch (error) {
    // A synchronous throw: the real runtime reports it and stops the container.
    console.error(error);
    state.status = 'stopped';
    return errorReply(502, `An error has occurred: ${error}`);
  }
  if (!allowConcurrent) state.status = 'ready';
  if (typeof result !== 'object') {
    console.error(`Result must be of type object but has type "${typeof result}":`, result);
    return errorReply(502, 'The action did not return a dictionary.');
  }
  return reply(200, result);
}

/** Every string field next to `value` becomes __OW_<FIELD> (service.js doRun). */
function exportActivationEnv(body) {
  for (const [key, value] of Object.entries(body)) {
    if (key !== 'value' && typeof value === 'string') process.env[`__OW_${key.toUpperCase()}`] = value;
  }
}

/**
 * Resolves with the action's result; a rejected promise becomes {error: ...} (an
 * application error), only a synchronous throw rejects.
 */
function invoke(main, args) {
  let pending;
  try {
    pending = main(args);
  } catch (error) {
    return Promise.reject(error);
  }
  return Promise.resolve(pending).then(
    (result) => (result === undefined ? {} : result),
    (error) => ({ error: error ? serializeError(error) : {} }),
  );
}

/** What the npm package serialize-error (used by the runtime) makes of a rejection. */
function serializeError(value) {
  if (typeof value === 'function') return `[Function: ${value.name || 'anonymous'}]`;
  if (typeof value !== 'object' || value === null) return value;
  return destroyCircular(value, []);
}

function destroyCircular(from, seen) {
  const to = Array.isArray(from) ? [] : {};
  seen.push(from);
  for (const [key, value] of Object.entries(from)) {
    if (typeof value === 'function') continue;
    if (!value || typeof value !== 'object') to[key] = value;
    else if (!seen.includes(value)) to[key] = destroyCircular(value, seen.slice());
    else to[key] = '[Circular]';
  }
  for (const key of ['name', 'message', 'stack']) {
    if (typeof from[key] === 'string') to[key] = from[key];
  }
  return to;
}

// ---------------------------------------------------------------------------- zip

const ZIP_LOCAL = 0x04034b50;
const ZIP_CENTRAL = 0x02014b50;
const ZIP_END = 0x06054b50;
const ZIP64_END = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

/**
 * Unpacks a zip into `root` from its central directory (stored and deflated entries,
 * zip64 included). Every path is checked before anything is written; symbolic links
 * are made last, so no file is ever written through one.
 */
function extractZip(archive, root) {
  let entries;
  try {
    entries = readCentralDirectory(archive);
  } catch (error) {
    throw new ActionError(`There was an error uncompressing the action archive: ${error.message}`);
  }
  for (const entry of entries) entry.target = safeTarget(root, entry.name);
  try {
    writeEntries(archive, root, entries);
  } catch (error) {
    // A damaged entry, or entries that clash on disk (`a` and `a/b`, an entry named ""): the
    // archive's fault, reported as such rather than as a crash of the proxy.
    if (error instanceof ActionError) throw error;
    throw new ActionError(`There was an error uncompressing the action archive: ${error.message}`);
  }
}

function writeEntries(archive, root, entries) {
  const links = [];
  for (const entry of entries) {
    if (entry.isDir) {
      fs.mkdirSync(entry.target, { recursive: true });
      continue;
    }
    const data = entryData(archive, entry);
    fs.mkdirSync(path.dirname(entry.target), { recursive: true });
    if (entry.isLink) links.push([entry, data.toString('utf8')]);
    else fs.writeFileSync(entry.target, data, { mode: entry.mode & 0o777 || 0o644 });
  }
  const realRoot = fs.realpathSync(root);
  for (const [entry, linkTarget] of links) makeLink(realRoot, root, entry, linkTarget);
}

function readCentralDirectory(archive) {
  let { count, offset } = findCentralDirectory(archive);
  const entries = [];
  for (let i = 0; i < count; i++) {
    if (archive.readUInt32LE(offset) !== ZIP_CENTRAL) throw new Error('bad central directory entry');
    const entry = parseCentralEntry(archive, offset);
    entries.push(entry);
    offset = entry.next;
  }
  return entries;
}

function findCentralDirectory(archive) {
  const last = archive.length - 22;
  for (let at = last; at >= Math.max(0, last - 0xffff); at--) {
    if (archive.readUInt32LE(at) !== ZIP_END) continue;
    const count = archive.readUInt16LE(at + 10);
    const offset = archive.readUInt32LE(at + 16);
    if (count !== 0xffff && offset !== 0xffffffff) return { count, offset };
    return findZip64CentralDirectory(archive, at);
  }
  throw new Error('end of central directory not found');
}

function findZip64CentralDirectory(archive, endAt) {
  if (endAt < 20 || archive.readUInt32LE(endAt - 20) !== ZIP64_LOCATOR) {
    throw new Error('zip64 locator not found');
  }
  const at = Number(archive.readBigUInt64LE(endAt - 12));
  if (archive.readUInt32LE(at) !== ZIP64_END) throw new Error('zip64 end of central directory not found');
  const count = Number(archive.readBigUInt64LE(at + 32));
  return { count, offset: Number(archive.readBigUInt64LE(at + 48)) };
}

function parseCentralEntry(archive, at) {
  const madeBy = archive.readUInt16LE(at + 4);
  const flags = archive.readUInt16LE(at + 8);
  const nameLength = archive.readUInt16LE(at + 28);
  const extraLength = archive.readUInt16LE(at + 30);
  const commentLength = archive.readUInt16LE(at + 32);
  const nameEnd = at + 46 + nameLength;
  const name = archive.toString(flags & 0x800 ? 'utf8' : 'latin1', at + 46, nameEnd);
  const mode = madeBy >> 8 === 3 ? archive.readUInt32LE(at + 38) >>> 16 : 0; // 3 = Unix
  const entry = {
    name,
    flags,
    mode,
    method: archive.readUInt16LE(at + 10),
    crc: archive.readUInt32LE(at + 16),
    compressedSize: archive.readUInt32LE(at + 20),
    size: archive.readUInt32LE(at + 24),
    localOffset: archive.readUInt32LE(at + 42),
    isDir: name.endsWith('/') || name.endsWith('\\'),
    isLink: (mode & S_IFMT) === S_IFLNK,
    next: nameEnd + extraLength + commentLength,
  };
  applyZip64Extra(entry, archive.subarray(nameEnd, nameEnd + extraLength));
  return entry;
}

/** Sizes and offsets too big for 32 bits live in the zip64 extra field, in this order. */
function applyZip64Extra(entry, extra) {
  for (let at = 0; at + 4 <= extra.length; at += 4 + extra.readUInt16LE(at + 2)) {
    if (extra.readUInt16LE(at) !== 0x0001) continue;
    let field = at + 4;
    for (const key of ['size', 'compressedSize', 'localOffset']) {
      if (entry[key] !== 0xffffffff) continue;
      entry[key] = Number(extra.readBigUInt64LE(field));
      field += 8;
    }
  }
}

function entryData(archive, entry) {
  try {
    return inflateEntry(archive, entry);
  } catch (error) {
    const reason = `There was an error uncompressing '${entry.name}' from the action archive`;
    throw new ActionError(`${reason}: ${error.message}`);
  }
}

function inflateEntry(archive, entry) {
  if (entry.flags & 0x1) throw new Error('encrypted entries are not supported');
  const at = entry.localOffset;
  if (archive.readUInt32LE(at) !== ZIP_LOCAL) throw new Error('bad local header');
  const start = at + 30 + archive.readUInt16LE(at + 26) + archive.readUInt16LE(at + 28);
  if (start + entry.compressedSize > archive.length) {
    throw new Error('entry runs past the end of the archive');
  }
  const raw = archive.subarray(start, start + entry.compressedSize);
  let data;
  if (entry.method === 0) data = raw;
  else if (entry.method === 8) data = zlib.inflateRawSync(raw);
  else throw new Error(`compression method ${entry.method} is not supported`);
  if (data.length !== entry.size || crc32(data) !== entry.crc) throw new Error('checksum mismatch');
  return data;
}

/** Refuses absolute paths and `..`: an entry must land inside the action folder. */
function safeTarget(root, name) {
  const clean = name.replace(/\\/g, '/');
  const target = path.resolve(root, clean);
  const escapes = clean.startsWith('/') || /^[a-zA-Z]:/.test(clean) || clean.split('/').includes('..');
  if (escapes || !isInside(root, target)) {
    throw new ActionError(`Refusing to extract '${name}': the path leaves the action folder.`);
  }
  return target;
}

function makeLink(realRoot, root, entry, linkTarget) {
  const pointsAt = path.resolve(path.dirname(entry.target), linkTarget);
  if (path.isAbsolute(linkTarget) || !isInside(root, pointsAt)) {
    const link = `'${entry.name}' -> '${linkTarget}'`;
    throw new ActionError(`Refusing to extract the link ${link}: it leaves the action folder.`);
  }
  // An earlier link could have redirected the parent folder: check where it really is.
  if (!isInside(realRoot, fs.realpathSync(path.dirname(entry.target)))) {
    throw new ActionError(`Refusing to extract the link '${entry.name}': its folder is outside.`);
  }
  fs.symlinkSync(linkTarget, entry.target);
}

function isInside(root, target) {
  return target === root || target.startsWith(root + path.sep);
}

let crcTable;

function crc32(data) {
  if (typeof zlib.crc32 === 'function') return zlib.crc32(data); // Node 20.15+/22.2+
  crcTable = crcTable || makeCrcTable();
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = crcTable[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function makeCrcTable() {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
}

// ---------------------------------------------------------------------------- HTTP

const ROUTES = { '/init': initCode, '/run': runCode };

function onRequest(req, res) {
  const pathname = req.url.split('?', 1)[0];
  const route = req.method === 'POST' ? ROUTES[pathname] : undefined;
  if (!route) {
    req.resume();
    send(res, 404, JSON.stringify({ error: `Not found: ${req.method} ${pathname}` }));
    return;
  }
  readJson(req)
    .then(route, (error) => error)
    .catch((error) => {
      console.error('Internal proxy error:', error);
      return errorReply(500, `Internal proxy error: ${error}`);
    })
    .then((result) => finish(res, pathname, result));
}

/** Resolves with the JSON object body; rejects with a ready-made error reply. */
function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('error', (error) => reject(errorReply(400, `Error reading request body: ${error.message}`)));
    req.on('end', () => {
      if (size > MAX_BODY) return reject(errorReply(413, `Request body larger than ${MAX_BODY} bytes.`));
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (isObject(body)) return resolve(body);
        reject(errorReply(400, 'Error unmarshaling request: expected a JSON object.'));
      } catch (error) {
        reject(errorReply(400, `Error unmarshaling request: ${error.message}`));
      }
    });
  });
}

/**
 * The sentinels end every /run and every failed /init, and are flushed before the reply.
 * A reply with `exitCode` ends the process once it is sent (the Lambda runtime's crashes).
 */
function finish(res, pathname, result) {
  let body = result.body;
  try {
    if (body === undefined) body = JSON.stringify(result.response);
  } catch (error) {
    console.error(error);
    result = errorReply(502, `The action result could not be serialized: ${error.message}`);
    body = JSON.stringify(result.response);
  }
  if (result.exitCode !== undefined) res.on('close', () => process.exit(result.exitCode));
  if (pathname === '/run' || result.code !== 200) {
    // The process's peak resident set, so the gateway need not read /proc for Lambda's REPORT.
    const headers = { ...result.headers, 'X-Emu-Peak-Memory-Kb': String(process.resourceUsage().maxRSS) };
    writeMarkers().then(() => send(res, result.code, body, headers));
  } else {
    send(res, result.code, body, result.headers);
  }
}

function writeMarkers() {
  return Promise.all([process.stdout, process.stderr].map(writeFlushed));
}

function writeFlushed(stream) {
  return new Promise((resolve) => {
    try {
      stream.write(SENTINEL, () => resolve());
    } catch (error) {
      resolve();
    }
  });
}

function send(res, code, json, headers) {
  const body = Buffer.from(json);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': body.length, ...headers });
  res.end(body);
}

function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------- main

function cleanup() {
  if (state.workdir) fs.rmSync(state.workdir, { recursive: true, force: true });
}

/** Node flags the dynamic-import loader as experimental; that note is not the action's log. */
function hideDynamicImportWarning() {
  const emitWarning = process.emitWarning;
  process.emitWarning = function (warning, ...rest) {
    if (String(warning).includes('USE_MAIN_CONTEXT_DEFAULT_LOADER')) return;
    emitWarning.call(process, warning, ...rest);
  };
}

function start() {
  const host = process.env.__EMU_PROXY_HOST || '0.0.0.0';
  const port = Number(process.env.__EMU_PROXY_PORT || 8080);
  const server = http.createServer(onRequest);
  // The gateway pools connections: never drop an idle one under it.
  server.keepAliveTimeout = 0;
  server.on('connection', (socket) => {
    openConnections++;
    socket.on('close', () => openConnections--);
  });
  server.on('error', (error) => {
    console.error(`Cannot listen on ${host}:${port}: ${error.message}`);
    process.exit(1);
  });
  server.listen(port, host, () => {
    process.stdout.write(`EMU_PROXY_READY ${server.address().port}\n`);
  });
  // A closed log pipe must not crash the proxy; the platform stops it when it is done.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  process.on('exit', cleanup);
  hideDynamicImportWarning();
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
}

start();
