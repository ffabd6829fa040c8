import { Route, Switch } from 'wouter';
import { BeneficiaryPage } from './beneficiary-page';
import { SearchPage } from './search-page';

/** /beneficiaries: the search, and one person with their enrolments and history. */
export default function BeneficiariesSection() {
  return (
    <Switch>
      <Route path="/" component={SearchPage} />
      <Route path="/:id">{(params) => <BeneficiaryPage id={params.id} />}</Route>
    </Switch>
  );
}
