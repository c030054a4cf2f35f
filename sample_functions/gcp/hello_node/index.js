const functions = require('@google-cloud/functions-framework');

// GET /hello_node?name=Ada, or POST a JSON body {"name": "Ada"}.
functions.http('helloNode', (req, res) => {
  const name = req.query.name || (req.body && req.body.name) || 'World';
  res.send(`Hello, ${name}!`);
});
