// The layering rule (docs/architecture.md), checked by `npm run deps` (part of `npm test`) over the
// production folders. Tests (test/, test/bench/) may import anything and are not cruised.
//   core/               the kernel: imports nothing above it
//   workers/<domain>/   one folder per job domain: no other domain, no producers/scheduler/dashboard/processes
//   core/engines/*/     the concrete engines: only core/engines/ itself (the factory) imports them
//   everywhere          no import cycles (file level; type-only imports count)
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-is-the-kernel',
      comment: 'core/ never imports workers/, producers/, scheduler/, dashboard/ or processes/',
      severity: 'error',
      from: { path: '^core/' },
      to: { path: '^(workers|producers|scheduler|dashboard|processes)/' },
    },
    {
      name: 'domain-stays-below-the-apps',
      comment: 'a job domain (workers/<domain>/) never imports producers/, scheduler/, dashboard/ or processes/',
      severity: 'error',
      from: { path: '^workers/[^/]+/' },
      to: { path: '^(producers|scheduler|dashboard|processes)/' },
    },
    {
      name: 'domain-not-another-domain',
      comment: 'a job domain (workers/<domain>/) never imports another domain',
      severity: 'error',
      from: { path: '^workers/([^/]+)/' },
      to: { path: '^workers/[^/]+/', pathNot: '^workers/$1/' },
    },
    {
      name: 'engines-behind-the-factory',
      comment: 'only core/engines/ imports a concrete engine (core/engines/bullmq/, core/engines/pgboss/); the rest use the factory',
      severity: 'error',
      from: { pathNot: '^core/engines/' },
      to: { path: '^core/engines/(bullmq|pgboss)/' },
    },
    {
      name: 'no-circular',
      comment: 'no import cycles',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(test|node_modules)/' },
    // type-only imports are dependencies too: a cycle through types is still a cycle
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.mjs', '.js', '.json'] },
    skipAnalysisNotInRules: true,
  },
};
