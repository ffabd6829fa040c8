import { Route, Switch } from 'wouter';
import { CostsPage } from './costs-page';
import { TemplatesPage } from './templates-page';

/** /notifications: SMS templates with their live preview, and what the messages cost. */
export default function NotificationsSection() {
  return (
    <Switch>
      <Route path="/" component={TemplatesPage} />
      <Route path="/costs" component={CostsPage} />
    </Switch>
  );
}
