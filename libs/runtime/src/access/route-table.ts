import { METHOD_METADATA, PATH_METADATA, SSE_METADATA } from '@nestjs/common/constants.js';
import { RequestMethod, type Type } from '@nestjs/common';
import { DOC_METADATA, POLICY_METADATA, type ApiDoc, type Policy } from './policy.js';

/** One HTTP route of an app, as Nest will serve it, with what it declares about access and docs. */
export interface Route {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Express-style path: `/v1/jobs/:id`. */
  readonly path: string;
  readonly controller: string;
  readonly handler: string;
  readonly policy: Policy | undefined;
  readonly doc: ApiDoc | undefined;
  readonly sse: boolean;
}

const METHODS: Partial<Record<RequestMethod, Route['method']>> = {
  [RequestMethod.GET]: 'GET',
  [RequestMethod.POST]: 'POST',
  [RequestMethod.PUT]: 'PUT',
  [RequestMethod.PATCH]: 'PATCH',
  [RequestMethod.DELETE]: 'DELETE',
};

function join(...parts: string[]): string {
  const path = parts.flatMap((p) => p.split('/')).filter((p) => p.length > 0).join('/');
  return `/${path}`;
}

/**
 * The route table of a set of controllers, read from the same decorator metadata Nest routes
 * with: the single source for the access matrix test and the OpenAPI document. Controllers with
 * no HTTP methods (Kafka consumers) contribute nothing.
 */
export function routeTable(controllers: readonly Type[]): Route[] {
  const routes: Route[] = [];
  for (const controller of controllers) {
    const base = (Reflect.getMetadata(PATH_METADATA, controller) as string | string[] | undefined) ?? '';
    const classPolicy = Reflect.getMetadata(POLICY_METADATA, controller) as Policy | undefined;
    const proto = controller.prototype as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === 'constructor') continue;
      const fn = proto[name];
      if (typeof fn !== 'function') continue;
      const path = Reflect.getMetadata(PATH_METADATA, fn) as string | string[] | undefined;
      const method = Reflect.getMetadata(METHOD_METADATA, fn) as RequestMethod | undefined;
      if (path === undefined || method === undefined) continue;
      const verb = METHODS[method];
      if (verb === undefined) throw new Error(`${controller.name}.${name}: HTTP method ${RequestMethod[method]} is not supported by the route table`);
      for (const b of Array.isArray(base) ? base : [base]) {
        for (const p of Array.isArray(path) ? path : [path]) {
          routes.push({
            method: verb,
            path: join(b, p),
            controller: controller.name,
            handler: name,
            policy: (Reflect.getMetadata(POLICY_METADATA, fn) as Policy | undefined) ?? classPolicy,
            doc: Reflect.getMetadata(DOC_METADATA, fn) as ApiDoc | undefined,
            sse: Reflect.getMetadata(SSE_METADATA, fn) === true,
          });
        }
      }
    }
  }
  return routes.sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
}
