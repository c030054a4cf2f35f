const functions = require("@google-cloud/functions-framework");

functions.http("{{entry}}", (req, res) => {
  const name = req.query.name || (req.body && req.body.name) || "World";
  console.log(`{{name}}: greeting ${name}`);
  res.send(`Hello, ${name}!`);
});
