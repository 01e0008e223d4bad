/**
 * `npm run bench -- <name>...`: runs the named benchmarks (all when none is named).
 * Each prints its figures next to an anchor measured in the same run.
 */
const benches: Record<string, () => Promise<{ run(args: string[]): Promise<void> }>> = {
  store: () => import('./store.js'),
  apiserver: () => import('./apiserver.js'),
  scheduler: () => import('./scheduler.js'),
  kubelet: () => import('./kubelet.js'),
  controllers: () => import('./controllers.js'),
  proxy: () => import('./proxy.js'),
  dns: () => import('./dns.js'),
  quickstart: () => import('./quickstart.js'),
};

const args = process.argv.slice(2);
const names = args.filter((a) => !a.startsWith('-'));
const selected = names.length ? names : Object.keys(benches);
for (const name of selected) {
  const load = benches[name];
  if (!load) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(benches).join(', ')}`);
    process.exit(1);
  }
  const mod = await load();
  await mod.run(args.filter((a) => a.startsWith('-')));
}
process.exit(0);
