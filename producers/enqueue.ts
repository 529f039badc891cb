// The producers' enqueue path: the catalog's (workers/catalog.ts binds core/enqueue.ts to it). Every
// producer (HTTP API, SDK in-process, transactional enqueue) validates here and hands the engine a
// complete EnqueueRequest.
export { type JobOptions, jobOptionsSchema } from '../core/enqueue.ts';
export { toEnqueueRequest, type ValidJob, validateJob } from '../workers/catalog.ts';
