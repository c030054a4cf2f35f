const { app } = require('@azure/functions');

app.http('HelloV4', {
  methods: ['GET', 'POST'],
  authLevel: 'anonymous',
  route: 'v4/hello/{name?}',
  handler: async (request, context) => {
    context.log(`Http function processed request for url "${request.url}"`);

    const name = request.params.name || request.query.get('name') || (await request.text()) || 'world';

    return { body: `Hello, ${name}!` };
  },
});

app.http('OrderV4', {
  methods: ['PUT'],
  route: 'v4/orders/{id:int}',
  handler: async (request, context) => {
    const order = await request.json();
    return { status: 201, jsonBody: { id: Number(request.params.id), ...order, invocation: context.invocationId } };
  },
});
