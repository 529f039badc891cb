export { JobCancelledError } from './cancelled-error.ts';
export { IdempotencyKeyUsedError } from './key-expired-error.ts';
export { PermanentError } from './permanent-error.ts';
export { RetryLaterError } from './retry-later-error.ts';
export { deadline, isStoreUnavailable, StoreUnavailableError, withStoreDeadline } from './store-unavailable.ts';
export { JobTimeoutError } from './timeout-error.ts';
