import { Route, Switch } from 'wouter';
import { BatchListPage } from './batch-list-page';
import { BatchPage } from './batch-page';
import { NewBatchPage } from './new-batch-page';
import './batches.css';

/** The batches section: the list, the creation wizard, one batch (paths relative to /batches). */
export default function BatchesSection() {
  return (
    <Switch>
      <Route path="/" component={BatchListPage} />
      <Route path="/new" component={NewBatchPage} />
      <Route path="/:id">{(params) => <BatchPage id={params.id} />}</Route>
    </Switch>
  );
}
