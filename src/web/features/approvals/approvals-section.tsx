import { Route, Switch } from 'wouter';
import { BatchPage } from './batch-page';
import { InboxPage } from './inbox-page';

/** /approvals: the inbox, and one batch as the officer judges it. */
export default function ApprovalsSection() {
  return (
    <Switch>
      <Route path="/" component={InboxPage} />
      <Route path="/:id">{(p) => <BatchPage id={p.id} />}</Route>
    </Switch>
  );
}
