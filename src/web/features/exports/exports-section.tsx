import { Route, Switch } from 'wouter';
import { ExportsPage } from './exports-page';
import { ManifestPage } from './manifest-page';

/** /exports: make an export and list them; one export's manifest and its file. */
export default function ExportsSection() {
  return (
    <Switch>
      <Route path="/" component={ExportsPage} />
      <Route path="/:id">{(p) => <ManifestPage id={p.id} />}</Route>
    </Switch>
  );
}
