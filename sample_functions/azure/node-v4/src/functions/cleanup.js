const { app } = require('@azure/functions');

app.timer('CleanupV4', {
  schedule: '0 30 2 * * *',
  handler: (myTimer, context) => {
    context.log(`Timer function processed request; past due: ${myTimer.isPastDue}`);
  },
});
