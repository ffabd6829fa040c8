import { Route, Switch } from 'wouter';
import { HandoversPage } from './handovers-page';

/** /paypoints: the cash hand-overs of every batch, by day and commune. */
export default function PayPointsSection() {
  return (
    <Switch>
      <Route path="/" component={HandoversPage} />
    </Switch>
  );
}
