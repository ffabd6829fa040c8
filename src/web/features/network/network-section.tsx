import { Route, Switch } from 'wouter';
import { AccessPage } from './access-page';
import { ImportPage } from './import-page';
import { PointPage } from './point-page';
import { RegistryPage } from './registry-page';

/** /network: the registry of cash-out points, its imports, and the access report. */
export default function NetworkSection() {
  return (
    <Switch>
      <Route path="/" component={RegistryPage} />
      <Route path="/access" component={AccessPage} />
      <Route path="/points/new">{() => <PointPage id={null} />}</Route>
      <Route path="/points/:id">{(params) => <PointPage id={params.id} />}</Route>
      <Route path="/imports/:id">{(params) => <ImportPage id={params.id} />}</Route>
    </Switch>
  );
}
