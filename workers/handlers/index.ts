// Handlers bound to catalog kinds by name. Producers never import this module.
import type { JobName, Payload } from '../../core/catalog.ts';
import type { HandlerContext } from '../runtime.ts';
import { noop, sleepJob } from './diagnostics.ts';

export type Handler<N extends JobName> = (payload: Payload<N>, ctx: HandlerContext) => Promise<unknown>;
export type HandlerMap = { [N in JobName]?: Handler<N> };

export const handlers: HandlerMap = {
  'diagnostics.noop': noop,
  'diagnostics.sleep': sleepJob,
};
