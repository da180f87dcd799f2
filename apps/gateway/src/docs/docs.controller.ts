import { createRequire } from 'node:module';
import path from 'node:path';
import { Controller, Get, Header, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Access, ProblemException } from '#runtime';
import { gatewayApiDocument } from './api-document.js';

const require = createRequire(import.meta.url);
/** Swagger UI's files, served from the installed package: no CDN, no network at run time. */
const UI_DIR = path.dirname(require.resolve('swagger-ui-dist/package.json'));
const UI_FILES = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'favicon-32x32.png', 'favicon-16x16.png']);

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Spotgrid API</title>
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="api"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({ url: '/docs/openapi.json', dom_id: '#api', deepLinking: true, persistAuthorization: true });
  </script>
</body>
</html>
`;

/** The API description, for people (`/docs`) and programs (`/docs/openapi.json`). Public: it holds no one's data. */
@Controller('docs')
@Access.public()
export class DocsController {
  private readonly document = gatewayApiDocument();

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  page(): string {
    return PAGE;
  }

  @Get('openapi.json')
  openapi(): Record<string, unknown> {
    return this.document;
  }

  @Get('assets/:file')
  asset(@Param('file') file: string, @Res() res: Response): void {
    if (!UI_FILES.has(file)) throw new ProblemException({ title: 'not found', status: 404, detail: `no asset ${file}` });
    res.sendFile(path.join(UI_DIR, file), { maxAge: '1d' });
  }
}
