import { Route, Switch } from 'wouter';
import '../admin/admin.css';
import { StatementPage, Statements } from './statements';
import { Runs } from './runs';
import { ExceptionPage, Exceptions } from './exceptions';

export default function ReconciliationSection() {
  return (
    <Switch>
      <Route path="/" component={Statements} />
      <Route path="/statements/:id" component={StatementPage} />
      <Route path="/runs" component={Runs} />
      <Route path="/exceptions" component={Exceptions} />
      <Route path="/exceptions/:id" component={ExceptionPage} />
    </Switch>
  );
}
