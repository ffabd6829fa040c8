import { Route, Switch } from 'wouter';
import { ImportPage } from './import-page';
import { ImportsPage } from './imports-page';

/** /imports: the list with the upload form, and one import with its problems. */
export default function ImportsSection() {
  return (
    <Switch>
      <Route path="/" component={ImportsPage} />
      <Route path="/:id">{(params) => <ImportPage id={params.id} />}</Route>
    </Switch>
  );
}
