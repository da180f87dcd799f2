// Tests never touch the development database: integration and end-to-end suites use their own.
process.env['DATABASE_URL'] ??= 'postgres://postgres@127.0.0.1:5432/spotgrid_test';
process.env['KAFKA_CLIENT_ID'] ??= 'spotgrid-test';
process.env['QUEUE_PREFIX'] ??= 'spotgrid-test';
process.env['LOG_LEVEL'] ??= 'warn';
process.env['NODE_ENV'] ??= 'test';
