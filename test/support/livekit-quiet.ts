/**
 * @livekit/rtc-node logs at debug level unless NODE_ENV is production ("Connect callback
 * received" on stdout for every connect) and exports no way to change it. Import this before
 * it: production for the moment its logger is created, then the old value back.
 */
const previous = process.env.NODE_ENV;
process.env.NODE_ENV = 'production';
setImmediate(() => {
  if (previous === undefined) delete process.env.NODE_ENV;
  else process.env.NODE_ENV = previous;
});

export {};
