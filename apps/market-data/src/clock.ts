import { Injectable } from '@nestjs/common';

/** The service's notion of now, injected so nothing below the shell reads the wall clock itself. */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
}
