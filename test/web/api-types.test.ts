import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { API_TYPES, generatedApiTypes } from '../../scripts/web';
import { offlineOpenapiDocument } from '../../src/api-document';
import { get } from '../helpers/http';

describe('console API types (src/web/api/schema.d.ts)', function () {
  this.timeout(60_000);

  it('are the ones the service’s current OpenAPI document gives (run npm run web:api when this fails)', async () => {
    const committed = readFileSync(API_TYPES, 'utf8');
    const fresh = await generatedApiTypes();
    expect(committed === fresh, 'src/web/api/schema.d.ts is stale: run npm run web:api and commit it').to.equal(true);
  });

  it('come from the same document the running service serves at /api/v1/openapi.json', async () => {
    const served = await get('/openapi.json');
    expect(served.status).to.equal(200);
    expect(offlineOpenapiDocument()).to.deep.equal(served.body);
  });
});
