'use strict';
/*
 * AWS Lambda's Node.js calling convention for the runtime proxy (`adapter: "lambda"`).
 *
 * proxy.js requires this file only when /init asks for it. It does in-process what the
 * AWS Node.js runtime (aws-lambda-nodejs-runtime-interface-client: UserFunction.js,
 * Runtime.js, CallbackContext.js, InvokeContext.js, LogPatch.js, Errors.js) does around
 * the user's code: load `dir/file.fn` (CommonJS or ES module), call it with the event, a
 * context and a callback, and report results, errors and log lines the same way.
 *
 * Replies are { code, body, headers, exitCode } for proxy.js to send.
 */

const fs = require('fs');
const path = require('path');
const util = require('util');
const { pathToFileURL } = require('url');

const REQUEST_ID = Symbol.for('aws.lambda.runtime.requestId');
const UNHANDLED = { 'X-Emu-Function-Error': 'Unhandled' };
const SENTINEL = 'XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX\n';

/** The invocation in flight, which a crash of the process reports to. */
let current;
let processHandlersInstalled = false;

// ---------------------------------------------------------------------------- errors

class ImportModuleError extends Error {}
class HandlerNotFound extends Error {}
class MalformedHandlerName extends Error {}
class UserCodeSyntaxError extends Error {}
class UnhandledPromiseRejection extends Error {
  constructor(reason, promise) {
    super(reason);
    this.reason = reason;
    this.promise = promise;
  }
}
for (const errorClass of [
  ImportModuleError,
  HandlerNotFound,
  MalformedHandlerName,
  UserCodeSyntaxError,
  UnhandledPromiseRejection,
]) {
  errorClass.prototype.name = `Runtime.${errorClass.name}`;
}

function isErrorLike(value) {
  return (
    value &&
    typeof value.name === 'string' &&
    typeof value.message === 'string' &&
    typeof value.stack === 'string' &&
    value.name &&
    value.message &&
    value.stack
  );
}

function intoError(value) {
  return value instanceof Error ? value : new Error(value);
}

/** The error body the invoker gets (Errors.toRapidResponse): note `trace`, not `stack`. */
function toRapidResponse(error) {
  try {
    if (util.types.isNativeError(error) || isErrorLike(error)) {
      return { errorType: error.name, errorMessage: error.message, trace: error.stack.split('\n') };
    }
    return { errorType: typeof error, errorMessage: error.toString(), trace: [] };
  } catch (_) {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}

/** The error as logged (Errors.toFormatted): a tab, then JSON with `stack` as lines. */
function toFormatted(error) {
  try {
    return '\t' + JSON.stringify(error, (_key, value) => withEnumerableProperties(value));
  } catch (_) {
    return '\t' + JSON.stringify(toRapidResponse(error));
  }
}

function withEnumerableProperties(value) {
  if (!(value instanceof Error)) return value;
  const result = { errorType: value.name, errorMessage: value.message, code: value.code, ...value };
  if (typeof value.stack === 'string') result.stack = value.stack.split('\n');
  return result;
}

function logError(message, error) {
  console.error(message, toFormatted(intoError(error)));
}

// ---------------------------------------------------------------------------- console

const LEVELS = { TRACE: 1, DEBUG: 2, INFO: 3, WARN: 4, ERROR: 5, FATAL: 6 };
// The AWS runtime writes every level to stdout; here warnings and errors go to stderr.
const STDERR_LEVELS = new Set(['WARN', 'ERROR', 'FATAL']);

/** `<ISO time>\t<request id>\t<LEVEL>\t<message>`; the request id is `undefined` during init. */
function writeLog(level, message, ...params) {
  const text = util.format(message, ...params);
  const line = `${new Date().toISOString()}\t${global[REQUEST_ID]}\t${level}\t${text}\n`;
  (STDERR_LEVELS.has(level) ? process.stderr : process.stdout).write(line);
}

/** LogPatch: console methods become leveled log lines, filtered by AWS_LAMBDA_LOG_LEVEL. */
function patchConsole() {
  const minimum = LEVELS[String(process.env.AWS_LAMBDA_LOG_LEVEL).toUpperCase()] || LEVELS.TRACE;
  const method = (level) =>
    LEVELS[level] >= minimum ? (message, ...params) => writeLog(level, message, ...params) : () => {};
  console.trace = method('TRACE');
  console.debug = method('DEBUG');
  console.info = method('INFO');
  console.log = console.info;
  console.warn = method('WARN');
  console.error = method('ERROR');
  console.fatal = (message, ...params) => writeLog('FATAL', message, ...params);
}

// ---------------------------------------------------------------------------- loading

const FUNCTION_EXPR = /^([^.]*)\.(.*)$/;

/** UserFunction.load: the same lookup order, checks and error types. */
async function loadHandler(appRoot, fullHandlerString) {
  if (fullHandlerString.includes('..')) {
    throw new MalformedHandlerName(
      `'${fullHandlerString}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const [moduleRoot, moduleAndHandler] = moduleRootAndHandler(fullHandlerString);
  const [module, handlerPath] = splitHandlerString(moduleAndHandler);
  const userApp = await loadUserApp(appRoot, moduleRoot, module);
  const handler = handlerPath.split('.').reduce((nested, key) => nested && nested[key], userApp);
  if (!handler) throw new HandlerNotFound(`${fullHandlerString} is undefined or not exported`);
  if (typeof handler !== 'function') throw new HandlerNotFound(`${fullHandlerString} is not a function`);
  return handler;
}

/** './dir/file.a.b' -> ['./dir/', 'file.a.b'] */
function moduleRootAndHandler(fullHandlerString) {
  const handlerString = path.basename(fullHandlerString);
  return [fullHandlerString.substring(0, fullHandlerString.indexOf(handlerString)), handlerString];
}

function splitHandlerString(handler) {
  const match = handler.match(FUNCTION_EXPR);
  if (!match || match.length !== 3) throw new MalformedHandlerName('Bad handler');
  return [match[1], match[2]];
}

async function loadUserApp(appRoot, moduleRoot, module) {
  try {
    return await tryRequire(appRoot, moduleRoot, module);
  } catch (error) {
    if (error instanceof SyntaxError) throw new UserCodeSyntaxError(error);
    if (error && error.code === 'MODULE_NOT_FOUND') throw new ImportModuleError(error);
    throw error;
  }
}

/** The file as is, then .js (CommonJS unless package.json says "module"), .mjs, .cjs. */
async function tryRequire(appRoot, moduleRoot, module) {
  const lambdaStylePath = path.resolve(appRoot, moduleRoot, module);
  const extensionless = tryRequireFile(lambdaStylePath);
  if (extensionless) return extensionless;
  const isModule = hasPackageJsonTypeModule(path.dirname(lambdaStylePath));
  if (!isModule) {
    const loaded = tryRequireFile(lambdaStylePath, '.js');
    if (loaded) return loaded;
  }
  const loaded =
    (isModule && (await tryImport(lambdaStylePath, '.js'))) ||
    (await tryImport(lambdaStylePath, '.mjs')) ||
    tryRequireFile(lambdaStylePath, '.cjs');
  if (loaded) return loaded;
  return require(require.resolve(module, { paths: [appRoot, moduleRoot] }));
}

function tryRequireFile(file, extension = '') {
  return fs.existsSync(file + extension) ? require(file + extension) : undefined;
}

async function tryImport(file, extension) {
  return fs.existsSync(file + extension) ? import(pathToFileURL(file + extension).href) : undefined;
}

/** The nearest package.json up the tree decides; node_modules or / end the search. */
function hasPackageJsonTypeModule(folder) {
  if (folder.endsWith('/node_modules')) return false;
  const packageJson = path.join(folder, 'package.json');
  if (fs.existsSync(packageJson)) {
    try {
      return JSON.parse(fs.readFileSync(packageJson)).type === 'module';
    } catch (error) {
      const reason = 'it will be ignored for ES module detection purposes.';
      console.warn(`${packageJson} cannot be read, ${reason}`, error);
      return false;
    }
  }
  if (folder === path.dirname(folder)) return false;
  return hasPackageJsonTypeModule(path.dirname(folder));
}

// ---------------------------------------------------------------------------- invoking

/**
 * Stands in for the runtime's 'beforeExit' hook, which can never fire inside the proxy:
 * the event loop counts as empty once only the proxy's own handles (its server and the
 * connections to it, counted at start) keep it alive.
 */
class EventLoopWatch {
  constructor(proxyConnections) {
    this.proxyConnections = proxyConnections;
    this.baseline = this.activeHandles();
  }

  activeHandles() {
    return process.getActiveResourcesInfo().length - this.proxyConnections();
  }

  whenEmpty(callback) {
    const check = () => {
      if (this.activeHandles() <= this.baseline) callback();
      else setTimeout(check, 1).unref(); // unref'd: the watch must not count itself
    };
    setTimeout(check, 0).unref();
  }
}

/** A function error: 200 with the Unhandled header; `exitCode` ends the process after it. */
function errorReply(error, exitCode) {
  return { code: 200, body: JSON.stringify(toRapidResponse(error)), headers: UNHANDLED, exitCode };
}

/** One /run call: settles once, with the reply for the proxy. */
class Invocation {
  constructor(id, resolve) {
    this.id = id;
    this.resolve = resolve;
    this.finished = false;
  }

  succeed(result) {
    let body;
    try {
      body = JSON.stringify(result === undefined ? null : result);
    } catch (_) {
      this.fail(new Error('Unable to stringify response body'));
      return;
    }
    this.finish({ code: 200, body: body === undefined ? 'null' : body });
  }

  fail(error) {
    logError('Invoke Error', error);
    this.finish(errorReply(error));
  }

  finish(reply) {
    if (this.finished) return;
    this.finished = true;
    this.resolve(reply);
  }
}

class LambdaFunction {
  constructor(handler, loop) {
    this.handler = handler;
    this.loop = loop;
  }

  run(body) {
    const details = body.lambda && typeof body.lambda === 'object' ? body.lambda : {};
    return new Promise((resolve) => {
      const invocation = new Invocation(String(body.activation_id || ''), resolve);
      current = invocation;
      global[REQUEST_ID] = invocation.id;
      forwardXRay(details.trace_id);
      const { callback, context, wasCalled } = callbackContext(invocation, this.loop);
      Object.assign(context, environmentData(), invokeData(invocation.id, details, body.deadline));
      this.invoke(body.value, context, callback, () => {
        if (!wasCalled()) invocation.succeed(null);
      });
    });
  }

  /**
   * Runtime.handleOnce: a promise settles the call; a callback or context.done/succeed/fail
   * does; otherwise (a plain function) the call ends with null once the event loop is empty.
   */
  invoke(event, context, callback, onEmptyLoop) {
    let result;
    try {
      result = this.handler(event, context, callback);
    } catch (error) {
      callback(error);
      return;
    }
    if (result && typeof result.then === 'function') {
      result.then(context.succeed, context.fail).catch(context.fail);
    } else if (result !== undefined) {
      context.succeed(result); // the AWS runtime ignores a plain return value; emu uses it
    } else {
      this.loop.whenEmpty(onEmptyLoop);
    }
  }
}

/** CallbackContext.build: callback(err, result) and the legacy done/succeed/fail; first call wins. */
function callbackContext(invocation, loop) {
  let waitForEmptyEventLoop = true;
  let called = false;
  const once =
    (fn) =>
    (...args) => {
      if (called) return;
      fn(...args);
      called = true;
    };
  const done = (error, result) => {
    if (error !== undefined && error !== null) invocation.fail(error);
    else invocation.succeed(result);
  };
  const callback = (error, result) => {
    if (error !== undefined && error !== null) invocation.fail(error);
    else if (!waitForEmptyEventLoop) invocation.succeed(result);
    else loop.whenEmpty(() => invocation.succeed(result));
  };
  const context = {
    get callbackWaitsForEmptyEventLoop() {
      return waitForEmptyEventLoop;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waitForEmptyEventLoop = value;
    },
    succeed: once((result) => done(null, result)),
    fail: once((error) => done(error === undefined || error === null ? 'handled' : error, null)),
    done: once(done),
  };
  return { callback: once(callback), context, wasCalled: () => called };
}

function environmentData() {
  return {
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
  };
}

function invokeData(id, details, deadline) {
  const deadlineMs = Number(deadline);
  return {
    clientContext: details.client_context ?? undefined,
    identity: details.identity ?? undefined,
    invokedFunctionArn: details.invoked_function_arn,
    awsRequestId: id,
    tenantId: details.tenant_id,
    getRemainingTimeInMillis: () => deadlineMs - Date.now(),
  };
}

function forwardXRay(traceId) {
  if (traceId) process.env._X_AMZN_TRACE_ID = traceId;
  else delete process.env._X_AMZN_TRACE_ID;
}

/**
 * As in the AWS runtime, an uncaught exception or unhandled rejection fails the invocation
 * in flight and then ends the process (129 and 128); with none in flight it just exits.
 */
function installProcessHandlers() {
  if (processHandlersInstalled) return;
  processHandlersInstalled = true;
  process.on('uncaughtException', (error) => {
    logError('Uncaught Exception', error);
    crash(error, 129);
  });
  process.on('unhandledRejection', (reason, promise) => {
    const error = new UnhandledPromiseRejection(reason, promise);
    logError('Unhandled Promise Rejection', error);
    crash(error, 128);
  });
  // process.exit() in the handler: still end the activation's log.
  process.on('exit', () => {
    if (current && !current.finished) {
      for (const fd of [1, 2]) fs.writeSync(fd, SENTINEL);
    }
  });
}

function crash(error, exitCode) {
  if (current && !current.finished) {
    current.finish(errorReply(error, exitCode));
  } else {
    process.exit(exitCode);
  }
}

// ---------------------------------------------------------------------------- entry points

/** Where plain (unzipped) code is saved: the handler's file, as CommonJS. */
function sourceFile(handler) {
  const [moduleRoot, moduleAndHandler] = moduleRootAndHandler(handler);
  return path.join(moduleRoot, `${moduleAndHandler.split('.')[0]}.js`);
}

/**
 * Loads the handler from `folder` (the working directory from now on). Resolves with the
 * /init reply and, when it loaded, the function that serves /run.
 */
async function start(handlerString, folder, proxyConnections) {
  patchConsole();
  installProcessHandlers();
  process.chdir(folder);
  // Measured before the user's code runs: whatever it opens counts as the function's.
  const loop = new EventLoopWatch(proxyConnections);
  try {
    const handler = await loadHandler(folder, handlerString);
    const adapter = new LambdaFunction(handler, loop);
    return { reply: { code: 200, body: JSON.stringify({ OK: true }) }, adapter };
  } catch (error) {
    logError('Uncaught Exception', error);
    return { reply: { code: 502, body: JSON.stringify(toRapidResponse(error)) }, adapter: undefined };
  }
}

module.exports = { start, sourceFile };
