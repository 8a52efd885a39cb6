// For running cucumber-js directly (`npx cucumber-js`, node × axios only); `npm run conformance` passes the same
// support files itself, with the implementation pairs it detected.
module.exports = {
  default: {
    requireModule: ['ts-node/register/transpile-only'],
    require: ['support/world.ts', 'support/parameter-types.ts', 'support/hooks.ts', 'steps/**/*.ts'],
    paths: ['features/**/*.feature'],
    format: ['progress'],
  },
};
