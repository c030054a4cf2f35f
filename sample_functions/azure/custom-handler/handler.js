// A custom handler with no dependencies: Node.js's own http module on FUNCTIONS_CUSTOMHANDLER_PORT.
// Payload mode: the host POSTs /{FunctionName} with {Data, Metadata}; we answer {Outputs, Logs, ReturnValue}.
// Forwarding mode (enableForwardingHttpRequest): any other path is the caller's own request.
const fs = require('fs');
const http = require('http');

const port = Number(process.env.FUNCTIONS_CUSTOMHANDLER_PORT || 8080);

function send(res, status, headers, body) {
  res.writeHead(status, headers);
  res.end(body);
}

function handle(req, res, raw) {
  const seen = { method: req.method, url: req.url, headers: req.rawHeaders, body: raw.toString('utf8') };
  // Every request the handler gets, for whoever wants to see exactly what arrived.
  if (process.env.HANDLER_LOG) fs.appendFileSync(process.env.HANDLER_LOG, JSON.stringify(seen) + '\n');
  if (req.method === 'GET' && req.url === '/') return send(res, 200, {}, 'ready');
  const json = { 'Content-Type': 'application/json' };
  if (req.method === 'POST' && req.url === '/Echo') {
    const payload = JSON.parse(raw);
    const name = payload.Data.req.Query.name || 'world';
    const outputs = {
      res: { statusCode: 200, headers: { 'X-Echo': 'yes' }, body: raw.toString('utf8') },
    };
    return send(res, 200, json, JSON.stringify({ Outputs: outputs, Logs: [`echo for ${name}`], ReturnValue: null }));
  }
  if (req.method === 'POST' && req.url === '/Report') {
    const payload = JSON.parse(raw);
    const answer = { statusCode: 201, headers: { 'Content-Type': 'application/json' }, body: { received: payload.Data.req.Body || null } };
    return send(res, 200, json, JSON.stringify({ Outputs: {}, Logs: [], ReturnValue: JSON.stringify(answer) }));
  }
  if (req.method === 'POST' && req.url === '/Tick') {
    return send(res, 200, json, JSON.stringify({ Outputs: {}, Logs: ['tick'], ReturnValue: null }));
  }
  // Forwarding mode: the original request, path and all.
  return send(res, 200, { ...json, 'X-Handler': 'node' }, JSON.stringify({ forwarded: seen }));
}

http
  .createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  })
  .listen(port, '127.0.0.1', () => console.log(`custom handler listening on ${port}`));
