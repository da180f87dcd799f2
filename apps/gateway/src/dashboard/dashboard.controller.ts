import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Controller, Get, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Access, ProblemException } from '#runtime';

const require = createRequire(import.meta.url);
/** The built dashboard (apps/gateway/web, compiled and copied into dist/web by `npm run build`). */
const WEB_DIR = fileURLToPath(new URL('../../../../web/', import.meta.url));
/** uPlot's browser build and styles, from the installed package: no CDN, no network at run time. */
const VENDOR_DIR = path.join(path.dirname(require.resolve('uplot/package.json')), 'dist');
const VENDOR = new Set(['uPlot.iife.min.js', 'uPlot.min.css']);
const ASSET = /^(views\/)?[A-Za-z0-9-]+\.(js|css|js\.map)$/;

/** Scripts and styles only from this origin; data only from this gateway's API. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/**
 * The market dashboard, served by the gateway itself. Public as files: they hold no data. What it
 * shows comes from the API with the key the user signs in with, so each role sees its own views.
 */
@Controller()
@Access.public()
export class DashboardController {
  @Get()
  index(@Res() res: Response): void {
    res.setHeader('Content-Security-Policy', CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.sendFile('index.html', { root: WEB_DIR, maxAge: 0 });
  }

  @Get('app/vendor/:file')
  vendor(@Param('file') file: string, @Res() res: Response): void {
    if (!VENDOR.has(file)) throw notFound(file);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.sendFile(file, { root: VENDOR_DIR, maxAge: '1d' });
  }

  @Get('app/*path')
  asset(@Param('path') parts: string[] | string, @Res() res: Response): void {
    const file = Array.isArray(parts) ? parts.join('/') : parts;
    if (!ASSET.test(file)) throw notFound(file);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.sendFile(file, { root: WEB_DIR, maxAge: 0 }, (error) => {
      if (error !== undefined && !res.headersSent) res.status(404).type('application/problem+json').json({ type: 'https://spotgrid.dev/problems/not-found', title: 'not found', status: 404, detail: `no asset ${file}` });
    });
  }
}

function notFound(file: string): ProblemException {
  return new ProblemException({ title: 'not found', status: 404, detail: `no asset ${file}` });
}
