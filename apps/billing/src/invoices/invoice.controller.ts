import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { z } from 'zod';
import { Access, parseRequest, ProblemException } from '#runtime';
import { InvoiceService } from './invoice.service.js';

const invoiceIdParam = z.string().min(1).max(300).regex(/^inv:/, 'an invoice id, such as inv:acme:2026-11');

/**
 * Invoice operations, internal (the service token): admins close a draft early through the
 * gateway (`POST /v1/admin/invoices/:id/finalize`). Reading invoices is the gateway's
 * (`/v1/finance/invoices`). Charges are given to invoices as they are posted; billing closes them.
 */
@Controller('v1/invoices')
@Access.service()
export class InvoiceController {
  constructor(private readonly invoices: InvoiceService) {}

  /** Closes a draft before its grace period ends (finance closing the books early). */
  @Post(':id/finalize')
  @HttpCode(200)
  async finalize(@Param('id') raw: string) {
    const id = parseRequest(invoiceIdParam, raw, 'path');
    const invoice = await this.invoices.finalize(id);
    if (invoice === undefined) throw new ProblemException({ title: 'not found', status: 404, detail: `no invoice ${id}` });
    return invoice;
  }
}
