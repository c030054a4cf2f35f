exports.lambdaHandler = async (event) => {
  const params = (event && (event.queryStringParameters || event)) || {};
  const name = params.name || "World";
  console.log(`{{name}}: greeting ${name}`);
  return { statusCode: 200, body: JSON.stringify({ message: `Hello, ${name}!` }) };
};
