/**
 * `npm run openapi [-- FILE]`: writes the gateway's OpenAPI document (the one `/docs` serves),
 * generated from the route table, to FILE or standard output. CI lints what it writes.
 */
import { writeFileSync } from 'node:fs';
import { gatewayApiDocument } from '../../apps/gateway/src/docs/api-document.js';

const json = `${JSON.stringify(gatewayApiDocument(), null, 2)}\n`;
const file = process.argv[2];
if (file === undefined) process.stdout.write(json);
else writeFileSync(file, json);
