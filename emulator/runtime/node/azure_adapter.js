'use strict';
/*
 * The Azure Functions Node.js worker's v3 programming model for the runtime proxy (`adapter: "azure"`).
 *
 * One instance hosts a function app, as one Node.js worker does. Each function folder's script
 * (`scriptFile`, else index.js) is required on its first call; its export (`entryPoint`, else the
 * one exported function) is called with `(context, ...inputs)`, inputs in function.json's order.
 * The HTTP answer is `context.res` (or `context.bindings.<name>`) for a named http output, the
 * return value for `$return`; `context.done()` is honoured for callback-style functions.
 *
 * /run value: {function, invocationId, trigger: {kind: "http"|"timer"|"input", ...}}; the reply is
 * {http: {status, headers, body}} (body base64), {result} or {error: {type, message}}.
 */

const path = require('path');
const util = require('util');

function reply(code, body) {
  return { code, body: JSON.stringify(body), headers: {} };
}

function lower(value) {
  return String(value || '').toLowerCase();
}

function start(message, folder) {
  const settings = message.azure || {};
  process.chdir(folder);
  if (settings.model === 'v4') {
    try {
      return { reply: reply(200, { ok: true }), adapter: new WorkerV4(folder) };
    } catch (error) {
      console.error(error && error.stack ? error.stack : error);
      return { reply: reply(502, { error: { type: 'Error', message: String(error && error.message) } }) };
    }
  }
  const worker = new Worker(folder, settings.functions || {});
  return { reply: reply(200, { ok: true }), adapter: worker };
}

/** The v4 model: `@azure/functions` registers handlers; its programming model runs them. */
class WorkerV4 {
  constructor(root) {
    const core = require('./azure_core.js');
    this.functions = {};
    for (const entry of core.loadApp(root)) this.functions[entry.metadata.name] = entry;
    this.registry = core.registry;
  }

  async run(body) {
    const value = body.value || {};
    const entry = this.functions[String(value.function || '')];
    if (!entry) return reply(404, { error: { type: 'Error', message: `no function ${value.function}` } });
    try {
      const coreCtx = coreContext(entry.metadata, value);
      const model = this.registry.model.getInvocationModel(coreCtx);
      const { context, inputs } = await model.getArguments();
      const result = await model.invokeFunction(context, inputs, entry.callback);
      coreCtx.state = 'invocationResponse';
      const response = await model.getResponse(context, result);
      return reply(200, v4Outcome(entry.metadata, response));
    } catch (error) {
      console.error(`Result: Failure\nException: ${error && error.stack ? error.stack : util.inspect(error)}`);
      return reply(200, { error: { type: (error && error.name) || 'Error', message: String(error && error.message ? error.message : error) } });
    }
  }

  close() {}
}

/** The worker's CoreInvocationContext: the invocation request as RPC typed data. */
function coreContext(metadata, value) {
  const trigger = value.trigger || {};
  const inputData = [];
  for (const [name, binding] of Object.entries(metadata.bindings || {})) {
    if (lower(binding.direction) !== 'in') continue;
    const type = lower(binding.type);
    let data;
    if (type === 'httptrigger' && trigger.kind === 'http') {
      data = {
        http: {
          method: trigger.method,
          url: trigger.url,
          headers: trigger.headers || {},
          query: trigger.query || {},
          params: Object.fromEntries(Object.entries(trigger.params || {}).filter(([, item]) => item !== null)),
          body: { bytes: Buffer.from(trigger.body || '', 'base64') },
          identities: [],
          cookies: [],
        },
      };
    } else if (type === 'timertrigger') {
      data = { json: JSON.stringify(trigger.data || {}) };
    } else if (type.endsWith('trigger')) {
      data = typeof trigger.data === 'string' ? { string: trigger.data } : { json: JSON.stringify(trigger.data) };
    }
    if (data !== undefined) inputData.push({ name, data });
  }
  return {
    invocationId: value.invocationId,
    request: { invocationId: value.invocationId, functionId: metadata.name, inputData, triggerMetadata: {}, retryContext: null, traceContext: {} },
    metadata,
    state: 'invocation',
    log(level, category, message) {
      const stream = level === 'error' || level === 'critical' ? process.stderr : process.stdout;
      if (category === 'user' || level !== 'debug') stream.write(`${message}\n`);
    },
  };
}

function fromTyped(data) {
  if (!data) return Buffer.alloc(0);
  if (data.bytes !== undefined) return Buffer.from(data.bytes);
  if (data.string !== undefined) return Buffer.from(data.string);
  if (data.json !== undefined) return Buffer.from(data.json);
  if (data.int !== undefined || data.double !== undefined) return Buffer.from(String(data.int ?? data.double));
  return Buffer.alloc(0);
}

function v4Outcome(metadata, response) {
  for (const [name, binding] of Object.entries(metadata.bindings || {})) {
    if (lower(binding.direction) !== 'out' || lower(binding.type) !== 'http') continue;
    const typed = name === '$return' ? response.returnValue : (response.outputData.find((item) => item.name === name) || {}).data;
    const http = typed && typed.http;
    if (!http) return { http: { status: 200, headers: [], body: '' } };
    const headers = Object.entries(http.headers || {}).map(([key, item]) => [key, String(item)]);
    for (const cookie of http.cookies || []) headers.push(['Set-Cookie', `${cookie.name}=${cookie.value}`]);
    return { http: { status: Number(http.statusCode || 200), headers, body: fromTyped(http.body).toString('base64') } };
  }
  return { result: null };
}

class Worker {
  constructor(root, metadata) {
    this.root = root;
    this.metadata = metadata;
    this.loaded = {};
  }

  load(name, metadata) {
    if (!(name in this.loaded)) {
      const directory = metadata.directory || path.join(this.root, name);
      const script = path.resolve(directory, metadata.scriptFile || 'index.js');
      const exported = require(script);
      let fn = exported;
      if (metadata.entryPoint) fn = exported[metadata.entryPoint];
      else if (typeof exported !== 'function') {
        const functions = Object.values(exported || {}).filter((item) => typeof item === 'function');
        fn = exported && typeof exported.run === 'function' ? exported.run : functions.length === 1 ? functions[0] : undefined;
      }
      if (typeof fn !== 'function') {
        throw new Error(`Worker was unable to load function ${name}: 'Unable to determine function entry point. If multiple functions are exported, you must indicate the entry point, either by naming it 'run' or 'index', or by naming it explicitly via the 'entryPoint' metadata property.'`);
      }
      this.loaded[name] = fn;
    }
    return this.loaded[name];
  }

  async run(body) {
    const value = body.value || {};
    const name = String(value.function || '');
    const metadata = this.metadata[name];
    if (!metadata) return reply(404, { error: { type: 'Error', message: `no function ${name}` } });
    try {
      const fn = this.load(name, metadata);
      const { context, inputs, finished } = makeContext(name, metadata, value);
      let returned = fn(context, ...inputs);
      if (returned && typeof returned.then === 'function') {
        returned = await returned;
        if (returned === undefined && context.__usesDone) returned = await finished;
      } else if (returned === undefined) {
        returned = await finished; // a callback-style function ends when it calls context.done()
      }
      return reply(200, outcome(metadata, context, returned));
    } catch (error) {
      console.error(`Result: Failure\nException: ${error && error.stack ? error.stack : util.inspect(error)}`);
      return reply(200, { error: { type: (error && error.name) || 'Error', message: String(error && error.message ? error.message : error) } });
    }
  }

  close() {}
}

function makeContext(name, metadata, value) {
  const trigger = value.trigger || {};
  const bindings = {};
  const inputs = [];
  const bindingData = { invocationId: value.invocationId };
  let request;
  for (const binding of metadata.bindings || []) {
    if (lower(binding.direction) !== 'in') continue;
    let input;
    const type = lower(binding.type);
    if (type === 'httptrigger' && trigger.kind === 'http') {
      request = input = httpRequest(trigger);
      Object.assign(bindingData, { query: request.query, headers: request.headers, params: request.params });
      for (const [key, item] of Object.entries(request.params)) if (item !== null) bindingData[key] = item;
    } else if (type === 'timertrigger') {
      input = timerInfo(trigger.data || {});
    } else if (type.endsWith('trigger')) {
      input = trigger.data;
    }
    bindings[binding.name] = input;
    inputs.push(input);
  }
  bindingData.sys = { methodName: name, utcNow: new Date().toISOString(), randGuid: require('crypto').randomUUID() };
  let settle;
  const finished = new Promise((resolve, reject) => {
    settle = (error, result) => (error ? reject(error) : resolve(result));
  });
  const log = (...args) => console.log(util.format(...args));
  log.error = (...args) => console.error(util.format(...args));
  log.warn = (...args) => console.error(util.format(...args));
  log.info = log;
  log.verbose = log;
  const context = {
    invocationId: value.invocationId,
    executionContext: {
      invocationId: value.invocationId,
      functionName: name,
      functionDirectory: metadata.directory,
      retryContext: null,
    },
    bindings,
    bindingData,
    bindingDefinitions: (metadata.bindings || []).map((b) => ({ name: b.name, type: b.type, direction: b.direction })),
    traceContext: { traceparent: null, tracestate: null, attributes: {} },
    log,
    req: request,
    res: request ? {} : undefined,
    done(error, result) {
      context.__usesDone = true;
      settle(error, result);
    },
  };
  return { context, inputs, finished };
}

function httpRequest(trigger) {
  const raw = Buffer.from(trigger.body || '', 'base64');
  const headers = trigger.headers || {};
  let body = raw.length ? raw.toString('utf8') : undefined;
  if (body !== undefined && lower(headers['content-type']).includes('json')) {
    try {
      body = JSON.parse(body);
    } catch (error) {
      // Not JSON after all: the worker keeps the string.
    }
  }
  const params = {};
  for (const [key, item] of Object.entries(trigger.params || {})) params[key] = item === null ? undefined : item;
  return {
    method: trigger.method,
    url: trigger.url,
    originalUrl: trigger.url,
    headers,
    query: trigger.query || {},
    params,
    body,
    rawBody: raw.length ? raw.toString('utf8') : undefined,
    bufferBody: raw,
    user: null,
    get(field) {
      return headers[lower(field)];
    },
  };
}

function timerInfo(data) {
  const status = data.ScheduleStatus || {};
  return {
    schedule: { adjustForDST: Boolean((data.Schedule || {}).AdjustForDST) },
    scheduleStatus: { last: status.Last, next: status.Next, lastUpdated: status.LastUpdated },
    isPastDue: Boolean(data.IsPastDue),
  };
}

function outcome(metadata, context, returned) {
  for (const binding of metadata.bindings || []) {
    if (lower(binding.direction) !== 'out' || lower(binding.type) !== 'http') continue;
    let response;
    if (binding.name === '$return') response = returned;
    else if (context.bindings[binding.name] !== undefined) response = context.bindings[binding.name];
    else response = context.res;
    return { http: httpResponse(response) };
  }
  return { result: returned === undefined ? null : returned };
}

/** The v3 worker's response conversion: status, headers, and a body typed by what it is. */
function httpResponse(response) {
  const answer = response || {};
  const headers = [];
  let contentType;
  for (const [key, item] of Object.entries(answer.headers || {})) {
    if (lower(key) === 'content-type') contentType = String(item);
    headers.push([key, String(item)]);
  }
  let body = answer.body;
  let data;
  let defaultType;
  if (body === undefined || body === null) {
    data = Buffer.alloc(0);
  } else if (Buffer.isBuffer(body) || body instanceof Uint8Array) {
    data = Buffer.from(body);
    defaultType = 'application/octet-stream';
  } else if (typeof body === 'object') {
    data = Buffer.from(JSON.stringify(body));
    defaultType = 'application/json; charset=utf-8';
  } else {
    data = Buffer.from(String(body));
    defaultType = 'text/plain; charset=utf-8';
  }
  if (contentType === undefined && defaultType !== undefined) headers.push(['Content-Type', defaultType]);
  const status = Number(answer.status || answer.statusCode || 200);
  return { status, headers, body: data.toString('base64') };
}

module.exports = { start };
