// Three tiers (STYLE.md 8): unit specs beside the code, integration specs against the real
// PostgreSQL, Redis and Kafka, end-to-end specs in test/ that run the built services.
// ESM throughout: Nest 12 ships as ES modules, so Jest runs with --experimental-vm-modules.
const shared = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: {
    '^#(contracts|messaging|persistence|platform|runtime|pricing|order-book|ledger|market)$': '<rootDir>/libs/$1/src/index.ts',
    '^#migrations$': '<rootDir>/migrations/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    // Type checking is `npm run typecheck`'s job; here ts-jest only strips types (fast).
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: false }],
  },
  setupFiles: ['<rootDir>/test/support/setup-env.ts'],
};

/** @type {import('jest').Config} */
export default {
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,migrations,tools}/**/*.spec.ts'] },
    { ...shared, displayName: 'integration', testMatch: ['<rootDir>/{apps,libs,migrations,tools}/**/*.int-spec.ts'] },
    { ...shared, displayName: 'e2e', testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'] },
  ],
};
