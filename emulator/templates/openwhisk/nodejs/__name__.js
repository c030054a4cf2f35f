function main(args) {
  const name = args.name || "World";
  console.log(`{{name}}: greeting ${name}`);
  return { greeting: `Hello, ${name}!` };
}

exports.main = main;
