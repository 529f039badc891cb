/** The alias name is taken by a concrete index (a write auto-created it before setup ran). */
export class AliasConflictError extends Error {
  override name = 'AliasConflictError';
}
