// Lint what bites in async code (STYLE.md 9) and enforce DESIGN.md section 3's layering.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const APPS = ['gateway', 'market-data', 'matching-engine', 'dispatcher', 'billing'];
const PURE_LIBS = ['order-book', 'pricing', 'ledger'];
const IO_PACKAGES = ['@nestjs/*', 'typeorm', 'pg', 'kafkajs', 'bullmq', 'ioredis', 'pino', 'prom-client', 'express', 'node:fs', 'node:net', 'node:http', 'node:child_process', 'fs', 'net', 'http', 'child_process'];
const TOPIC_LITERAL = '/^(market|jobs|usage)\\.[a-z-]+\\.v\\d+(\\.dlq)?$/';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.stack/**', 'artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      'no-restricted-syntax': [
        'error',
        { selector: `Literal[value=${TOPIC_LITERAL}]`, message: 'Topic names come from libs/contracts (Topic.X), never a string literal.' },
      ],
    },
  },
  // Decorated constructor parameters need runtime imports for Nest's metadata.
  { files: ['apps/**/*.ts', 'libs/runtime/**/*.ts', 'libs/messaging/**/*.ts'], rules: { '@typescript-eslint/consistent-type-imports': 'off' } },
  { files: ['libs/contracts/**/*.ts', '**/*.spec.ts', '**/*.int-spec.ts', 'test/**/*.ts'], rules: { 'no-restricted-syntax': 'off' } },
  // Apps never import other apps.
  ...APPS.map((app) => ({
    files: [`apps/${app}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(\\.\\./)+(apps/)?(${APPS.filter((a) => a !== app).join('|')})/src/`,
              message: 'Apps never import other apps: share through libs/ or talk through Kafka and BullMQ.',
            },
          ],
        },
      ],
    },
  })),
  // Libraries never import apps.
  {
    files: ['libs/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^(\\.\\./)+apps/', message: 'Libraries never import apps.' }] }],
    },
  },
  // The functional core is pure: no framework, no I/O, no clock of its own.
  {
    files: PURE_LIBS.map((lib) => `libs/${lib}/**/*.ts`),
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: IO_PACKAGES, message: 'libs/order-book, libs/pricing and libs/ledger are pure: no Nest, no I/O packages.' },
            { regex: '^#(messaging|persistence|runtime|platform)$', message: 'Pure libraries depend on nothing with I/O.' },
            { regex: '^(\\.\\./)+apps/', message: 'Libraries never import apps.' },
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'Date', message: 'Pure code takes the time as an input.' }],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Pure code is deterministic: take randomness as an input.' }],
    },
  },
);
