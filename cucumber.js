// Used when cucumber-js is run directly (`npx cucumber-js`); `npm run conformance` passes the same settings itself.
module.exports = {
  default: {
    requireModule: ['ts-node/register/transpile-only'],
    require: ['support/**/*.ts', 'steps/**/*.ts'],
    paths: ['features/**/*.feature'],
    format: ['progress'],
  },
};
