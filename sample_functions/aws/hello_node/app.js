exports.handler = async (event) => {
  const name = (event && event.name) || "World";
  const greeting = process.env.GREETING || "Hello";
  console.log(`hello_node: greeting ${name}`);
  return {
    statusCode: 200,
    body: JSON.stringify({ message: `${greeting}, ${name}!`, stage: process.env.STAGE || "" }),
  };
};
