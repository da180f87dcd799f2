import { z } from 'zod';
import type { Route } from './route-table.js';

/** The shape of every error answer (RFC 9457), as the problem filter writes it. */
const PROBLEM_SCHEMA = {
  type: 'object',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: { type: 'string' },
    errors: { type: 'array', items: { type: 'object', required: ['path', 'message'], properties: { path: { type: 'string' }, message: { type: 'string' } } } },
  },
};

const STANDARD_ERRORS: Record<number, string> = {
  400: 'The request is invalid; nothing was changed.',
  401: 'No API key, or one that is unknown, revoked or expired.',
  403: "The key's role cannot call this operation.",
  404: 'No such object, or not yours: a denial does not say which.',
  429: "Over the key's rate limit; `Retry-After` says when to retry.",
};

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  // Input side: what a caller sends, before transforms. Anything JSON Schema cannot say stays open.
  const s = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete s['$schema'];
  return s;
}

function problem(status: number, description: string): Record<string, unknown> {
  return {
    description,
    content: {
      'application/problem+json': {
        schema: { $ref: '#/components/schemas/Problem' },
        example: { type: `https://spotgrid.dev/problems/${status}`, title: description.split(/[.;:]/)[0]?.toLowerCase(), status, detail: description },
      },
    },
  };
}

function operationId(route: Route): string {
  return `${route.controller.replace(/Controller$/, '').replace(/^./, (c) => c.toLowerCase())}.${route.handler}`;
}

export interface OpenApiInfo {
  readonly title: string;
  readonly version: string;
  readonly description: string;
  readonly serverUrl: string;
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * The OpenAPI 3.1 description of a route table, from what each route declares (its policy, its
 * `@Doc` with the schemas it parses with, and its examples). Routes without a `@Doc` are left
 * out only when public infrastructure (health, metrics): the docs test fails on any other.
 */
export function openApiDocument(routes: readonly Route[], info: OpenApiInfo): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const doc = route.doc;
    if (doc === undefined) continue;
    const policy = route.policy;
    const path = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const parameters: Record<string, unknown>[] = [];
    for (const [name, schema] of Object.entries(doc.params ?? {})) {
      parameters.push({ name, in: 'path', required: true, schema: jsonSchema(schema) });
    }
    if (doc.query !== undefined) {
      const q = jsonSchema(doc.query) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
      for (const [name, schema] of Object.entries(q.properties ?? {})) {
        const { description, ...rest } = schema;
        parameters.push({ name, in: 'query', required: q.required?.includes(name) ?? false, schema: rest, ...(typeof description === 'string' ? { description } : {}) });
      }
    }
    for (const [name, h] of Object.entries(doc.headers ?? {})) {
      parameters.push({ name, in: 'header', required: h.required ?? false, description: h.description, schema: { type: 'string' }, example: h.example });
    }
    const status = doc.status ?? (route.method === 'POST' ? 201 : 200);
    const produces = doc.produces ?? 'application/json';
    const responses: Record<string, unknown> = {
      [String(status)]: {
        description: doc.summary,
        ...(status === 204 ? {} : { content: { [produces]: { ...(produces === 'application/json' ? { schema: {} } : { schema: { type: 'string' } }), example: doc.responseExample ?? null } } }),
      },
    };
    const errors: Record<number, string> = { ...doc.errors };
    if (doc.params !== undefined || doc.query !== undefined || doc.body !== undefined) errors[400] ??= STANDARD_ERRORS[400] as string;
    if (policy?.kind !== 'public') errors[401] = STANDARD_ERRORS[401] as string;
    if (policy?.kind === 'roles') {
      errors[403] = STANDARD_ERRORS[403] as string;
      errors[429] = STANDARD_ERRORS[429] as string;
    }
    for (const [s, why] of Object.entries(errors)) responses[s] = problem(Number(s), why);
    const roles = policy?.kind === 'roles' ? policy.roles : [];
    const who = policy?.kind === 'public' ? 'Anyone (no key).' : policy?.kind === 'service' ? 'Spotgrid services (service token).' : `Roles: ${roles.join(', ')}.`;
    (paths[path] ??= {})[route.method.toLowerCase()] = {
      operationId: operationId(route),
      summary: doc.summary,
      description: `${doc.description ?? doc.summary}\n\n${who}`,
      tags: [doc.tag],
      ...(roles.length > 0 ? { 'x-roles': roles } : {}),
      security: policy?.kind === 'public' ? [] : policy?.kind === 'service' ? [{ serviceToken: [] }] : [{ apiKey: [] }],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(doc.body !== undefined
        ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(doc.body), example: doc.requestExample } } } }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: info.title, version: info.version, description: info.description, license: { name: 'UNLICENSED', identifier: 'LicenseRef-Proprietary' } },
    servers: [{ url: info.serverUrl }],
    tags: Object.entries(info.tags).map(([name, description]) => ({ name, description })),
    paths,
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'A principal\'s API key: `Authorization: Bearer sgk_<keyId>_<secret>`.' },
        ...(routes.some((r) => r.doc !== undefined && r.policy?.kind === 'service')
          ? { serviceToken: { type: 'http', scheme: 'bearer', description: 'The shared token of Spotgrid services (SERVICE_TOKEN).' } }
          : {}),
      },
      schemas: { Problem: PROBLEM_SCHEMA },
    },
  };
}
