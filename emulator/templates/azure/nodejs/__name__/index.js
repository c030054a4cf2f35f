module.exports = async function (context, req) {
  const name = req.query.name || (req.body && req.body.name) || "World";
  context.log(`{{name}}: greeting ${name}`);
  context.res = { body: `Hello, ${name}!` };
};
