import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { testApp } from '../helpers/app';
import { areaId, auditCount, makeUser, tokenFor, uniq, type TestUser } from '../helpers/factories';
import { call, del, get, patch, post, type Reply } from '../helpers/http';

interface AreaRow {
  id: number;
  code: string;
  name: string;
  level: string;
  parent_id: number | null;
  path: string;
  depth: number;
  active: number;
}

interface AuditRow {
  action: string;
  entity_type: string;
  entity_id: string | null;
  actor_user_id: number | null;
  area_id: number | null;
  request_id: string | null;
  summary: string;
}

/** A code no other test uses: letters and digits, at most 16 (the schema's limit). */
function areaCode(prefix = 't'): string {
  const c = uniq(prefix).replace(/[^0-9a-z]/g, '');
  return c.length <= 16 ? c : c.slice(c.length - 16);
}

async function dbArea(id: number): Promise<AreaRow | undefined> {
  const { infra } = await testApp();
  const [row] = (await infra.ds.query('SELECT id, code, name, level, parent_id, path, depth, active FROM areas WHERE id = ?', [
    id,
  ])) as AreaRow[];
  return row;
}

async function dbAreaByCode(code: string): Promise<AreaRow | undefined> {
  const { infra } = await testApp();
  const [row] = (await infra.ds.query('SELECT id, code, name, level, parent_id, path, depth, active FROM areas WHERE code = ?', [
    code,
  ])) as AreaRow[];
  return row;
}

async function areaCount(): Promise<number> {
  const { infra } = await testApp();
  const [row] = (await infra.ds.query('SELECT COUNT(*) AS n FROM areas')) as { n: string }[];
  return Number(row!.n);
}

async function auditsOf(id: number): Promise<AuditRow[]> {
  const { infra } = await testApp();
  return (await infra.ds.query("SELECT * FROM audit_events WHERE entity_type = 'area' AND entity_id = ? ORDER BY id", [
    String(id),
  ])) as AuditRow[];
}

/** The one audit event a request wrote, found by the request id the response carried. */
async function auditOfRequest(r: Reply): Promise<AuditRow> {
  const { infra } = await testApp();
  const rid = r.headers.get('x-request-id');
  expect(rid, 'X-Request-Id').to.be.a('string').and.not.empty;
  const rows = (await infra.ds.query('SELECT * FROM audit_events WHERE request_id = ?', [rid])) as AuditRow[];
  expect(rows, `audit events of request ${rid}`).to.have.length(1);
  return rows[0]!;
}

function expectError(r: Reply, status: number, code: string): void {
  expect(r.status, JSON.stringify(r.body)).to.equal(status);
  expect(r.body.error.code, JSON.stringify(r.body)).to.equal(code);
  expect(r.body.error.requestId).to.equal(r.headers.get('x-request-id'));
}

function expectInvalid(r: Reply, location: string, path: string): void {
  expectError(r, 400, 'VALIDATION_FAILED');
  const fields = (r.body.error.details as { location: string; path: string }[]).map((d) => `${d.location}.${d.path}`);
  expect(fields).to.include(`${location}.${path}`);
}

async function createArea(
  token: string,
  parentId: number | null,
  opts: { level?: string; name?: string; code?: string } = {},
): Promise<any> {
  const code = opts.code ?? areaCode();
  const r = await post(
    '/areas',
    { code, name: opts.name ?? `Khu ${code}`, level: opts.level ?? (parentId === null ? 'province' : 'commune'), parentId },
    token,
  );
  expect(r.status, JSON.stringify(r.body)).to.equal(201);
  return r.body;
}

describe('areas component', () => {
  let root: TestUser; // admin with no area limit
  let admin001: TestUser; // admin scoped to district 001 (Ba Đình)
  let staff: TestUser;
  let approver: TestUser;
  let auditor: TestUser;
  let hanoi: number;
  let d001: number;
  let d002: number;

  before(async () => {
    root = await makeUser(['admin'], { area: null });
    admin001 = await makeUser(['admin'], { area: '001' });
    staff = await makeUser(['staff']);
    approver = await makeUser(['approver']);
    auditor = await makeUser(['auditor'], { area: null });
    hanoi = await areaId('01');
    d001 = await areaId('001');
    d002 = await areaId('002');
  });

  describe('GET /api/v1/areas/:id', () => {
    it('returns a ward with its ancestors from the root down and its child count', async () => {
      const ward = await areaId('00004');
      const r = await get(`/areas/${ward}`, staff.token);
      expect(r.status).to.equal(200);
      expect(r.body).to.deep.equal({
        id: ward,
        code: '00004',
        name: 'Phường Trúc Bạch',
        level: 'commune',
        parentId: d001,
        path: `/${hanoi}/${d001}/${ward}/`,
        depth: 2,
        active: true,
        childCount: 0,
        ancestors: [
          { id: hanoi, code: '01', name: 'Thành phố Hà Nội', level: 'province' },
          { id: d001, code: '001', name: 'Quận Ba Đình', level: 'district' },
        ],
      });
    });

    it('returns a root with no ancestors and counts its children', async () => {
      const r = await get(`/areas/${hanoi}`, auditor.token);
      expect(r.status).to.equal(200);
      expect(r.body.ancestors).to.deep.equal([]);
      expect(r.body.parentId).to.equal(null);
      expect(r.body.depth).to.equal(0);
      expect(r.body.childCount).to.be.at.least(3);
    });

    it('answers an unknown id with 404 AREA_NOT_FOUND', async () => {
      expectError(await get('/areas/99999999', root.token), 404, 'AREA_NOT_FOUND');
    });

    it('refuses a non-numeric or non-positive id with 400 VALIDATION_FAILED naming params.id', async () => {
      expectInvalid(await get('/areas/abc', root.token), 'params', 'id');
      expectInvalid(await get('/areas/0', root.token), 'params', 'id');
      expectInvalid(await get('/areas/-3', root.token), 'params', 'id');
      expectInvalid(await get('/areas/1.5', root.token), 'params', 'id');
    });

    it('lets an admin scoped to district 001 read an area inside it', async () => {
      const r = await get(`/areas/${await areaId('00001')}`, admin001.token);
      expect(r.status).to.equal(200);
      expect(r.body.code).to.equal('00001');
    });

    it('answers an admin scoped to district 001 reading a ward of district 002 with 404 AREA_NOT_FOUND, as for a missing one', async () => {
      expectError(await get(`/areas/${await areaId('00037')}`, admin001.token), 404, 'AREA_NOT_FOUND');
      expectError(await get(`/areas/${d002}`, admin001.token), 404, 'AREA_NOT_FOUND');
      expectError(await get(`/areas/${hanoi}`, admin001.token), 404, 'AREA_NOT_FOUND');
    });
  });

  describe('GET /api/v1/areas', () => {
    it('lists every area in id order for a user with no area limit', async () => {
      const { infra } = await testApp();
      const r = await get('/areas?limit=200', root.token);
      expect(r.status).to.equal(200);
      const all = (await infra.ds.query('SELECT id FROM areas ORDER BY id LIMIT 200')) as { id: number }[];
      expect(r.body.items.map((a: { id: number }) => a.id)).to.deep.equal(all.map((a) => a.id));
      const ba = r.body.items.find((a: { code: string }) => a.code === '001');
      expect(ba).to.deep.include({
        id: d001,
        name: 'Quận Ba Đình',
        level: 'district',
        parentId: hanoi,
        depth: 1,
        active: true,
        childCount: 5,
      });
    });

    it('limits a user scoped to district 001 to that subtree', async () => {
      const { infra } = await testApp();
      const r = await get('/areas?limit=200', admin001.token);
      expect(r.status).to.equal(200);
      const path = `/${hanoi}/${d001}/`;
      const inScope = (await infra.ds.query('SELECT id FROM areas WHERE path LIKE ? ORDER BY id', [`${path}%`])) as { id: number }[];
      expect(r.body.items.map((a: { id: number }) => a.id)).to.deep.equal(inScope.map((a) => a.id));
      expect(r.body.items.map((a: { code: string }) => a.code)).to.include.members(['001', '00001', '00004', '00006', '00007', '00008']);
      for (const a of r.body.items as { path: string }[]) expect(a.path.startsWith(path), a.path).to.equal(true);
      expect(r.body.items.map((a: { code: string }) => a.code)).to.not.include.members(['01', '002', '00037']);
    });

    it('gives a scoped user nothing when a filter points outside the scope', async () => {
      const under = await get(`/areas?under=${d002}`, admin001.token);
      expect(under.status).to.equal(200);
      expect(under.body).to.deep.equal({ items: [], nextCursor: null });
      const children = await get(`/areas?parentId=${d002}`, admin001.token);
      expect(children.body.items).to.deep.equal([]);
      const roots = await get('/areas?roots=true', admin001.token);
      expect(roots.body.items).to.deep.equal([]);
    });

    it('filters by parentId to the direct children only', async () => {
      const r = await get(`/areas?parentId=${d002}`, staff.token);
      expect(r.status).to.equal(200);
      expect(r.body.items.map((a: { code: string }) => a.code).sort()).to.deep.equal(['00037', '00040', '00043', '00046']);
      for (const a of r.body.items) expect(a.parentId).to.equal(d002);
    });

    it('filters by roots=true to top-level areas only', async () => {
      const r = await get('/areas?roots=true&limit=200', root.token);
      expect(r.status).to.equal(200);
      expect(r.body.items.map((a: { code: string }) => a.code)).to.include('01');
      for (const a of r.body.items) expect(a.parentId).to.equal(null);
      expect(r.body.items.map((a: { code: string }) => a.code)).to.not.include('001');
    });

    it('filters by under to a whole subtree, the area itself included', async () => {
      const r = await get(`/areas?under=${d001}`, root.token);
      expect(r.status).to.equal(200);
      expect(r.body.items.map((a: { code: string }) => a.code).sort()).to.deep.equal(['00001', '00004', '00006', '00007', '00008', '001']);
    });

    it('filters by level and combines filters', async () => {
      const r = await get(`/areas?level=district&under=${hanoi}&limit=200`, root.token);
      expect(r.status).to.equal(200);
      expect(r.body.items.map((a: { code: string }) => a.code)).to.include.members(['001', '002', '003']);
      for (const a of r.body.items) expect(a.level).to.equal('district');
    });

    it('filters by active, both true and false', async () => {
      const top = await createArea(root.token, null);
      const on = await createArea(root.token, top.id);
      const off = await createArea(root.token, top.id);
      expect((await patch(`/areas/${off.id}`, { active: false }, root.token)).status).to.equal(200);
      const inactive = await get(`/areas?under=${top.id}&active=false`, root.token);
      expect(inactive.body.items.map((a: { id: number }) => a.id)).to.deep.equal([off.id]);
      const active = await get(`/areas?under=${top.id}&active=true`, root.token);
      expect(active.body.items.map((a: { id: number }) => a.id)).to.deep.equal([top.id, on.id]);
    });

    it('searches by part of the name, Vietnamese diacritics included, and by part of the code', async () => {
      const byName = await get(`/areas?q=${encodeURIComponent('Ba Đình')}`, staff.token);
      expect(byName.status, JSON.stringify(byName.body)).to.equal(200);
      expect(byName.body.items.map((a: { code: string }) => a.code)).to.deep.equal(['001']);
      const byCode = await get('/areas?q=0004', staff.token);
      expect(byCode.status).to.equal(200);
      expect(byCode.body.items.map((a: { code: string }) => a.code)).to.include.members(['00004', '00040', '00043', '00046']);
      // NFD input (as some keyboards send it) finds the NFC-stored name
      const nfd = await get(`/areas?q=${encodeURIComponent('Trúc Bạch'.normalize('NFD'))}`, staff.token);
      expect(nfd.body.items.map((a: { code: string }) => a.code)).to.deep.equal(['00004']);
    });

    it('finds a name typed without tones or marks, đ as d', async () => {
      const plain = async (q: string) =>
        ((await get(`/areas?q=${encodeURIComponent(q)}`, staff.token)).body.items as { code: string }[]).map((a) => a.code);
      expect(await plain('dong xuan')).to.deep.equal(['00040']);
      expect(await plain('DONG XUAN')).to.deep.equal(['00040']);
      expect(await plain('ba dinh')).to.deep.equal(['001']);
      expect(await plain('phuc xa')).to.deep.equal(['00001']);
      // typed with its marks, or with đ and no tones, it is found the same
      expect(await plain('Đồng Xuân')).to.deep.equal(['00040']);
      expect(await plain('đong xuan')).to.deep.equal(['00040']);
      const communes = await get(`/areas?level=commune&q=${encodeURIComponent('phuc')}`, staff.token);
      expect(communes.body.items.map((a: { code: string }) => a.code)).to.deep.equal(['00001', '00006', '00037']);
    });

    it('treats % and _ in the search text literally', async () => {
      const top = await createArea(root.token, null);
      const pct = await createArea(root.token, top.id, { name: 'Xã 100% mới' });
      await createArea(root.token, top.id, { name: 'Xã 1000 cũ' });
      const r = await get(`/areas?under=${top.id}&q=${encodeURIComponent('0%')}`, root.token);
      expect(r.body.items.map((a: { id: number }) => a.id)).to.deep.equal([pct.id]);
      const u = await get(`/areas?under=${top.id}&q=_`, root.token);
      expect(u.body.items).to.deep.equal([]);
    });

    it('walks every area exactly once by following nextCursor', async () => {
      const { infra } = await testApp();
      const seen: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const r: Reply = await get(`/areas?limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, root.token);
        expect(r.status).to.equal(200);
        expect(r.body.items.length).to.be.at.most(4);
        seen.push(...r.body.items.map((a: { id: number }) => a.id));
        cursor = r.body.nextCursor;
        pages += 1;
        expect(pages).to.be.below(1000);
      } while (cursor);
      const all = (await infra.ds.query('SELECT id FROM areas ORDER BY id')) as { id: number }[];
      expect(seen).to.deep.equal(all.map((a) => a.id));
      expect(new Set(seen).size).to.equal(seen.length);
      expect(pages).to.equal(Math.max(1, Math.ceil(all.length / 4)));
    });

    it('walks a filtered, scoped list with the cursor and ends with nextCursor null', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const r: Reply = await get(`/areas?limit=2&level=commune${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, admin001.token);
        expect(r.status).to.equal(200);
        seen.push(...r.body.items.map((a: { code: string }) => a.code));
        cursor = r.body.nextCursor;
      } while (cursor);
      expect(seen.filter((c) => c.startsWith('000'))).to.deep.equal(['00001', '00004', '00006', '00007', '00008']);
    });

    it('returns nextCursor null when everything fits in one page', async () => {
      const r = await get(`/areas?parentId=${d001}&limit=5`, root.token);
      expect(r.body.items).to.have.length(5);
      expect(r.body.nextCursor).to.equal(null);
    });

    it('refuses a cursor it did not issue with 400 INVALID_CURSOR', async () => {
      expectError(await get('/areas?cursor=garbage!!', root.token), 400, 'INVALID_CURSOR');
      const wrongArity = Buffer.from(JSON.stringify([1, 2])).toString('base64url');
      expectError(await get(`/areas?cursor=${wrongArity}`, root.token), 400, 'INVALID_CURSOR');
      const notAnId = Buffer.from(JSON.stringify(['abc'])).toString('base64url');
      expectError(await get(`/areas?cursor=${notAnId}`, root.token), 400, 'INVALID_CURSOR');
      const obj = Buffer.from(JSON.stringify({ id: 1 })).toString('base64url');
      expectError(await get(`/areas?cursor=${obj}`, root.token), 400, 'INVALID_CURSOR');
    });

    it('refuses bad query values with 400 VALIDATION_FAILED naming the field', async () => {
      expectInvalid(await get('/areas?limit=0', root.token), 'query', 'limit');
      expectInvalid(await get('/areas?limit=201', root.token), 'query', 'limit');
      expectInvalid(await get('/areas?limit=ten', root.token), 'query', 'limit');
      expectInvalid(await get('/areas?level=planet', root.token), 'query', 'level');
      expectInvalid(await get('/areas?active=yes', root.token), 'query', 'active');
      expectInvalid(await get('/areas?roots=1', root.token), 'query', 'roots');
      expectInvalid(await get('/areas?parentId=-1', root.token), 'query', 'parentId');
      expectInvalid(await get('/areas?under=x', root.token), 'query', 'under');
      expectInvalid(await get(`/areas?q=${'x'.repeat(101)}`, root.token), 'query', 'q');
      expectInvalid(await get('/areas?q=', root.token), 'query', 'q');
      expectInvalid(await get('/areas?colour=red', root.token), 'query', '');
    });

    it('is open to every role, not only admins', async () => {
      for (const u of [staff, approver, auditor]) {
        const r = await get(`/areas?parentId=${d001}`, u.token);
        expect(r.status, u.username).to.equal(200);
        expect(r.body.items).to.have.length(5);
      }
    });
  });

  describe('POST /api/v1/areas', () => {
    it('creates a commune under a district, stores its path and depth, and audits it', async () => {
      const code = areaCode('c');
      const before = await auditCount();
      const r = await post('/areas', { code, name: '  Phường  Thử nghiệm  ', level: 'commune', parentId: d001 }, root.token);
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      const id = r.body.id as number;
      expect(r.body).to.deep.equal({
        id,
        code,
        name: 'Phường  Thử nghiệm',
        level: 'commune',
        parentId: d001,
        path: `/${hanoi}/${d001}/${id}/`,
        depth: 2,
        active: true,
        childCount: 0,
        ancestors: [
          { id: hanoi, code: '01', name: 'Thành phố Hà Nội', level: 'province' },
          { id: d001, code: '001', name: 'Quận Ba Đình', level: 'district' },
        ],
      });
      expect(await dbArea(id)).to.deep.equal({
        id,
        code,
        name: 'Phường  Thử nghiệm',
        level: 'commune',
        parent_id: d001,
        path: `/${hanoi}/${d001}/${id}/`,
        depth: 2,
        active: 1,
      });
      expect(await auditCount()).to.equal(before + 1);
      const ev = await auditOfRequest(r);
      expect(ev).to.deep.include({
        action: 'area.create',
        entity_type: 'area',
        entity_id: String(id),
        actor_user_id: root.id,
        area_id: id,
      });
      // area names are place names, not personal data: the trail keeps them readable
      expect(JSON.parse(ev.summary).after).to.deep.equal({ code, areaName: 'Phường  Thử nghiệm', level: 'commune', parentId: d001 });
    });

    it('stores the name in NFC whatever normalisation the client sent', async () => {
      const a = await createArea(root.token, d001, { name: 'Phường Đồng Tâm'.normalize('NFD') });
      expect(a.name).to.equal('Phường Đồng Tâm'.normalize('NFC'));
      expect((await dbArea(a.id))!.name).to.equal('Phường Đồng Tâm'.normalize('NFC'));
    });

    it('creates a top-level area for an admin with no area limit', async () => {
      const a = await createArea(root.token, null, { level: 'province' });
      expect(a).to.deep.include({ parentId: null, depth: 0, path: `/${a.id}/`, ancestors: [] });
      expect(await dbArea(a.id)).to.deep.include({ parent_id: null, depth: 0, path: `/${a.id}/` });
      const [ev] = await auditsOf(a.id);
      expect(ev).to.deep.include({ action: 'area.create', actor_user_id: root.id });
    });

    it('builds a tree deeper than three levels', async () => {
      let parent = await createArea(root.token, null);
      for (let depth = 1; depth <= 5; depth++) {
        const child = await createArea(root.token, parent.id);
        expect(child.depth).to.equal(depth);
        expect(child.path).to.equal(`${parent.path}${child.id}/`);
        expect(child.ancestors).to.have.length(depth);
        parent = child;
      }
    });

    it('refuses a tree deeper than the path column holds with 400 AREA_TOO_DEEP, writing nothing', async () => {
      let parent = await createArea(root.token, null);
      let refused: Reply | undefined;
      for (let i = 0; i < 200 && !refused; i++) {
        const code = areaCode('d');
        const audits = await auditCount();
        const r = await post('/areas', { code, name: 'Sâu', level: 'commune', parentId: parent.id }, root.token);
        if (r.status === 201) {
          parent = r.body;
          continue;
        }
        refused = r;
        expectError(r, 400, 'AREA_TOO_DEEP');
        expect(await dbAreaByCode(code)).to.equal(undefined);
        expect(await auditCount()).to.equal(audits);
      }
      expect(refused, 'a refusal before 200 levels').to.exist;
      expect(parent.path.length).to.be.at.most(255);
    });

    it('lets an admin scoped to district 001 create inside it, audited under their user id', async () => {
      const ward = await areaId('00001');
      const code = areaCode('s');
      const r = await post('/areas', { code, name: 'Tổ dân phố 1', level: 'commune', parentId: ward }, admin001.token);
      expect(r.status, JSON.stringify(r.body)).to.equal(201);
      expect(r.body.path).to.equal(`/${hanoi}/${d001}/${ward}/${r.body.id}/`);
      const ev = await auditOfRequest(r);
      expect(ev).to.deep.include({ action: 'area.create', entity_id: String(r.body.id), actor_user_id: admin001.id });
    });

    it('refuses an admin scoped to district 001 creating under district 002 with 403 AREA_OUT_OF_SCOPE, writing nothing', async () => {
      const code = areaCode('o');
      const [areas, audits] = [await areaCount(), await auditCount()];
      expectError(
        await post('/areas', { code, name: 'Ngoài phạm vi', level: 'commune', parentId: d002 }, admin001.token),
        403,
        'AREA_OUT_OF_SCOPE',
      );
      expectError(
        await post('/areas', { code, name: 'Ngoài phạm vi', level: 'commune', parentId: hanoi }, admin001.token),
        403,
        'AREA_OUT_OF_SCOPE',
      );
      expectError(
        await post('/areas', { code, name: 'Tỉnh mới', level: 'province', parentId: null }, admin001.token),
        403,
        'AREA_OUT_OF_SCOPE',
      );
      expect(await dbAreaByCode(code)).to.equal(undefined);
      expect(await areaCount()).to.equal(areas);
      expect(await auditCount()).to.equal(audits);
    });

    it('refuses an unknown parent with 400 UNKNOWN_AREA, writing nothing', async () => {
      const code = areaCode('u');
      const [areas, audits] = [await areaCount(), await auditCount()];
      const r = await post('/areas', { code, name: 'Mồ côi', level: 'commune', parentId: 99999999 }, root.token);
      expectError(r, 400, 'UNKNOWN_AREA');
      expect(r.body.error.message).to.contain('parentId');
      expect(await dbAreaByCode(code)).to.equal(undefined);
      expect(await areaCount()).to.equal(areas);
      expect(await auditCount()).to.equal(audits);
    });

    it('refuses a code already in use with 409 AREA_CODE_TAKEN, writing nothing', async () => {
      const [areas, audits] = [await areaCount(), await auditCount()];
      const r = await post('/areas', { code: '00001', name: 'Trùng mã', level: 'commune', parentId: d001 }, root.token);
      expectError(r, 409, 'AREA_CODE_TAKEN');
      expect(await areaCount()).to.equal(areas);
      expect(await auditCount()).to.equal(audits);
      const [{ n }] = (await (await testApp()).infra.ds.query("SELECT COUNT(*) AS n FROM areas WHERE code = '00001'")) as [{ n: string }];
      expect(Number(n)).to.equal(1);
    });

    it('answers two simultaneous creates with the same code with one 201 and one 409 AREA_CODE_TAKEN', async () => {
      const parents = [await createArea(root.token, null), await createArea(root.token, null)];
      for (let round = 0; round < 3; round++) {
        const code = areaCode('r');
        const replies = await Promise.all(
          parents.map((p) => post('/areas', { code, name: 'Đua', level: 'commune', parentId: p.id }, root.token)),
        );
        expect(replies.map((r) => r.status).sort(), JSON.stringify(replies.map((r) => r.body))).to.deep.equal([201, 409]);
        expect(replies.find((r) => r.status === 409)!.body.error.code).to.equal('AREA_CODE_TAKEN');
        const { infra } = await testApp();
        const rows = (await infra.ds.query('SELECT id FROM areas WHERE code = ?', [code])) as { id: number }[];
        expect(rows).to.have.length(1);
      }
    });

    it('refuses bad bodies with 400 VALIDATION_FAILED naming each field, writing nothing', async () => {
      const audits = await auditCount();
      const ok = { code: areaCode('v'), name: 'Hợp lệ', level: 'commune', parentId: d001 };
      expectInvalid(await post('/areas', { ...ok, code: 'x'.repeat(17) }, root.token), 'body', 'code');
      expectInvalid(await post('/areas', { ...ok, code: '' }, root.token), 'body', 'code');
      expectInvalid(await post('/areas', { ...ok, code: 'ab-1' }, root.token), 'body', 'code');
      expectInvalid(await post('/areas', { ...ok, code: 'ĐB1' }, root.token), 'body', 'code');
      expectInvalid(await post('/areas', { ...ok, code: 1234 }, root.token), 'body', 'code');
      expectInvalid(await post('/areas', { ...ok, name: '   ' }, root.token), 'body', 'name');
      expectInvalid(await post('/areas', { ...ok, name: 'x'.repeat(201) }, root.token), 'body', 'name');
      expectInvalid(await post('/areas', { ...ok, level: 'planet' }, root.token), 'body', 'level');
      expectInvalid(await post('/areas', { ...ok, parentId: 0 }, root.token), 'body', 'parentId');
      expectInvalid(await post('/areas', { ...ok, parentId: '12' }, root.token), 'body', 'parentId');
      const { parentId: _omit, ...noParent } = ok;
      expectInvalid(await post('/areas', noParent, root.token), 'body', 'parentId');
      expectInvalid(await post('/areas', { ...ok, active: false }, root.token), 'body', '');
      expect(await dbAreaByCode(ok.code)).to.equal(undefined);
      expect(await auditCount()).to.equal(audits);
    });
  });

  describe('PATCH /api/v1/areas/:id', () => {
    it('renames, recodes, relevels and deactivates an area, and audits before and after', async () => {
      const top = await createArea(root.token, null);
      const a = await createArea(root.token, top.id, { level: 'district', name: 'Cũ' });
      const code = areaCode('n');
      const r = await patch(`/areas/${a.id}`, { code, name: 'Mới tinh', level: 'commune', active: false }, root.token);
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(r.body).to.deep.include({
        id: a.id,
        code,
        name: 'Mới tinh',
        level: 'commune',
        active: false,
        parentId: top.id,
        path: a.path,
        depth: 1,
      });
      expect(await dbArea(a.id)).to.deep.include({ code, name: 'Mới tinh', level: 'commune', active: 0, parent_id: top.id, path: a.path });
      const ev = await auditOfRequest(r);
      expect(ev).to.deep.include({ action: 'area.update', entity_type: 'area', entity_id: String(a.id), actor_user_id: root.id });
      const summary = JSON.parse(ev.summary);
      expect(summary.before).to.deep.equal({ code: a.code, areaName: 'Cũ', level: 'district', parentId: top.id, active: true });
      expect(summary.after).to.deep.equal({ code, areaName: 'Mới tinh', level: 'commune', parentId: top.id, active: false });
    });

    it('reactivates a deactivated area', async () => {
      const a = await createArea(root.token, null);
      await patch(`/areas/${a.id}`, { active: false }, root.token);
      const r = await patch(`/areas/${a.id}`, { active: true }, root.token);
      expect(r.status).to.equal(200);
      expect(r.body.active).to.equal(true);
      expect((await dbArea(a.id))!.active).to.equal(1);
      expect((await auditsOf(a.id)).map((e) => e.action)).to.deep.equal(['area.create', 'area.update', 'area.update']);
    });

    it('keeps the code when it is sent unchanged', async () => {
      const a = await createArea(root.token, null);
      const r = await patch(`/areas/${a.id}`, { code: a.code, name: 'Đổi tên thôi' }, root.token);
      expect(r.status).to.equal(200);
      expect(r.body).to.deep.include({ code: a.code, name: 'Đổi tên thôi' });
    });

    it('moves a subtree: rewrites the paths and depths of every descendant', async () => {
      const from = await createArea(root.token, null);
      const to = await createArea(root.token, null);
      const toChild = await createArea(root.token, to.id, { level: 'district' });
      const a = await createArea(root.token, from.id, { level: 'district' });
      const b = await createArea(root.token, a.id);
      const c = await createArea(root.token, b.id);
      const b2 = await createArea(root.token, a.id);
      const sibling = await createArea(root.token, from.id, { level: 'district' });

      const r = await patch(`/areas/${a.id}`, { parentId: toChild.id }, root.token);
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      const base = `/${to.id}/${toChild.id}/`;
      expect(r.body).to.deep.include({ parentId: toChild.id, path: `${base}${a.id}/`, depth: 2, childCount: 2 });
      expect(r.body.ancestors.map((x: { id: number }) => x.id)).to.deep.equal([to.id, toChild.id]);

      expect(await dbArea(a.id)).to.deep.include({ parent_id: toChild.id, path: `${base}${a.id}/`, depth: 2 });
      expect(await dbArea(b.id)).to.deep.include({ parent_id: a.id, path: `${base}${a.id}/${b.id}/`, depth: 3 });
      expect(await dbArea(c.id)).to.deep.include({ parent_id: b.id, path: `${base}${a.id}/${b.id}/${c.id}/`, depth: 4 });
      expect(await dbArea(b2.id)).to.deep.include({ parent_id: a.id, path: `${base}${a.id}/${b2.id}/`, depth: 3 });
      // nothing outside the moved subtree changes
      expect(await dbArea(sibling.id)).to.deep.include({ parent_id: from.id, path: `/${from.id}/${sibling.id}/`, depth: 1 });
      expect(await dbArea(toChild.id)).to.deep.include({ path: `/${to.id}/${toChild.id}/`, depth: 1 });

      const underTo = await get(`/areas?under=${to.id}`, root.token);
      expect(underTo.body.items.map((x: { id: number }) => x.id)).to.have.members([to.id, toChild.id, a.id, b.id, c.id, b2.id]);
      const underFrom = await get(`/areas?under=${from.id}`, root.token);
      expect(underFrom.body.items.map((x: { id: number }) => x.id)).to.have.members([from.id, sibling.id]);

      const ev = await auditOfRequest(r);
      expect(ev).to.deep.include({ action: 'area.update', entity_id: String(a.id), actor_user_id: root.id });
      const summary = JSON.parse(ev.summary);
      expect(summary.before.parentId).to.equal(from.id);
      expect(summary.after.parentId).to.equal(toChild.id);
    });

    it('moves a subtree up to the top level and back down', async () => {
      const top = await createArea(root.token, null);
      const a = await createArea(root.token, top.id, { level: 'district' });
      const b = await createArea(root.token, a.id);
      const up = await patch(`/areas/${a.id}`, { parentId: null }, root.token);
      expect(up.status, JSON.stringify(up.body)).to.equal(200);
      expect(await dbArea(a.id)).to.deep.include({ parent_id: null, path: `/${a.id}/`, depth: 0 });
      expect(await dbArea(b.id)).to.deep.include({ path: `/${a.id}/${b.id}/`, depth: 1 });
      const down = await patch(`/areas/${a.id}`, { parentId: top.id }, root.token);
      expect(down.status).to.equal(200);
      expect(await dbArea(a.id)).to.deep.include({ parent_id: top.id, path: `/${top.id}/${a.id}/`, depth: 1 });
      expect(await dbArea(b.id)).to.deep.include({ path: `/${top.id}/${a.id}/${b.id}/`, depth: 2 });
    });

    it('does not touch areas whose ids merely share a prefix with the moved one', async () => {
      // paths are compared segment by segment: /1/ must not match /12/
      const { infra } = await testApp();
      const top = await createArea(root.token, null);
      const a = await createArea(root.token, top.id);
      const dest = await createArea(root.token, null);
      const before = (await infra.ds.query('SELECT id, path, depth FROM areas WHERE path NOT LIKE ? ORDER BY id', [
        `/${top.id}/%`,
      ])) as unknown[];
      expect((await patch(`/areas/${top.id}`, { parentId: dest.id }, root.token)).status).to.equal(200);
      const after = (await infra.ds.query('SELECT id, path, depth FROM areas WHERE path NOT LIKE ? AND path NOT LIKE ? ORDER BY id', [
        `/${dest.id}/${top.id}/%`,
        `/${top.id}/%`,
      ])) as unknown[];
      expect(after).to.deep.equal(before);
      expect(await dbArea(a.id)).to.deep.include({ path: `/${dest.id}/${top.id}/${a.id}/`, depth: 2 });
    });

    it('ends the sessions of users scoped inside a moved subtree and leaves the others alone', async () => {
      const from = await createArea(root.token, null);
      const to = await createArea(root.token, null);
      const a = await createArea(root.token, from.id, { level: 'district' });
      const b = await createArea(root.token, a.id);
      const atA = await makeUser(['staff'], { area: a.code });
      const atB = await makeUser(['approver'], { area: b.code });
      const atFrom = await makeUser(['staff'], { area: from.code });
      const atTo = await makeUser(['staff'], { area: to.code });
      for (const u of [atA, atB, atFrom, atTo]) expect((await get('/areas?limit=1', u.token)).status).to.equal(200);

      const r = await patch(`/areas/${a.id}`, { parentId: to.id }, root.token);
      expect(r.status, JSON.stringify(r.body)).to.equal(200);

      expectError(await get('/areas?limit=1', atA.token), 401, 'SESSION_ENDED');
      expectError(await get('/areas?limit=1', atB.token), 401, 'SESSION_ENDED');
      expect((await get('/areas?limit=1', atFrom.token)).status).to.equal(200);
      expect((await get('/areas?limit=1', atTo.token)).status).to.equal(200);
      expect((await get('/areas?limit=1', root.token)).status).to.equal(200);

      // a new login carries the new path and sees the moved subtree
      const fresh = await tokenFor({ id: atB.id, username: atB.username, roles: atB.roles, areaId: b.id });
      const mine = await get('/areas', fresh);
      expect(mine.body.items.map((x: { id: number }) => x.id)).to.deep.equal([b.id]);
      expect(mine.body.items[0].path).to.equal(`/${to.id}/${a.id}/${b.id}/`);
    });

    it('does not end any session when only the name changes', async () => {
      const a = await createArea(root.token, null);
      const u = await makeUser(['staff'], { area: a.code });
      expect((await patch(`/areas/${a.id}`, { name: 'Chỉ đổi tên' }, root.token)).status).to.equal(200);
      expect((await get('/areas?limit=1', u.token)).status).to.equal(200);
    });

    it('refuses moving an area under its own descendant or itself with 400 AREA_CYCLE, changing nothing', async () => {
      const top = await createArea(root.token, null);
      const a = await createArea(root.token, top.id, { level: 'district' });
      const b = await createArea(root.token, a.id);
      const c = await createArea(root.token, b.id);
      const audits = await auditCount();
      expectError(await patch(`/areas/${a.id}`, { parentId: c.id }, root.token), 400, 'AREA_CYCLE');
      expectError(await patch(`/areas/${a.id}`, { parentId: b.id, name: 'Không được đổi' }, root.token), 400, 'AREA_CYCLE');
      expectError(await patch(`/areas/${a.id}`, { parentId: a.id }, root.token), 400, 'AREA_CYCLE');
      expect(await dbArea(a.id)).to.deep.include({ parent_id: top.id, path: `/${top.id}/${a.id}/`, depth: 1, name: a.name });
      expect(await dbArea(c.id)).to.deep.include({ parent_id: b.id, path: `/${top.id}/${a.id}/${b.id}/${c.id}/`, depth: 3 });
      expect(await auditCount()).to.equal(audits);
    });

    it('refuses moving under an unknown parent with 400 UNKNOWN_AREA, changing nothing', async () => {
      const a = await createArea(root.token, null);
      const audits = await auditCount();
      expectError(await patch(`/areas/${a.id}`, { parentId: 99999999, name: 'Không được đổi' }, root.token), 400, 'UNKNOWN_AREA');
      expect(await dbArea(a.id)).to.deep.include({ parent_id: null, name: a.name, path: `/${a.id}/` });
      expect(await auditCount()).to.equal(audits);
    });

    it('refuses a move that would make a path longer than the column holds with 400 AREA_TOO_DEEP, changing nothing', async () => {
      const { infra } = await testApp();
      let deepest = await createArea(root.token, null);
      while (deepest.path.length < 244) deepest = await createArea(root.token, deepest.id);
      const top = await createArea(root.token, null);
      const a = await createArea(root.token, top.id);
      const b = await createArea(root.token, a.id);
      const c = await createArea(root.token, b.id);
      const snapshot = async () =>
        infra.ds.query('SELECT id, parent_id, path, depth FROM areas WHERE path LIKE ? ORDER BY id', [`/${top.id}/%`]);
      const before = await snapshot();
      const audits = await auditCount();
      expectError(await patch(`/areas/${a.id}`, { parentId: deepest.id, name: 'Không được đổi' }, root.token), 400, 'AREA_TOO_DEEP');
      expect(await snapshot()).to.deep.equal(before);
      expect(await dbArea(c.id)).to.deep.include({ path: `/${top.id}/${a.id}/${b.id}/${c.id}/`, depth: 3 });
      expect((await dbArea(a.id))!.name).to.equal(a.name);
      expect(await auditCount()).to.equal(audits);
    });

    it('refuses a code used by another area with 409 AREA_CODE_TAKEN, changing nothing', async () => {
      const a = await createArea(root.token, null);
      const audits = await auditCount();
      const r = await patch(`/areas/${a.id}`, { code: '002', name: 'Không được đổi' }, root.token);
      expectError(r, 409, 'AREA_CODE_TAKEN');
      expect(await dbArea(a.id)).to.deep.include({ code: a.code, name: a.name });
      expect(await dbArea(d002)).to.deep.include({ code: '002' });
      expect(await auditCount()).to.equal(audits);
    });

    it('answers an unknown id with 404 AREA_NOT_FOUND', async () => {
      expectError(await patch('/areas/99999999', { name: 'x' }, root.token), 404, 'AREA_NOT_FOUND');
    });

    it('refuses bad bodies and params with 400 VALIDATION_FAILED naming the field', async () => {
      const a = await createArea(root.token, null);
      const audits = await auditCount();
      expectInvalid(await patch(`/areas/${a.id}`, {}, root.token), 'body', '');
      expectInvalid(await patch(`/areas/${a.id}`, { active: 'no' }, root.token), 'body', 'active');
      expectInvalid(await patch(`/areas/${a.id}`, { code: 'a b' }, root.token), 'body', 'code');
      expectInvalid(await patch(`/areas/${a.id}`, { name: '' }, root.token), 'body', 'name');
      expectInvalid(await patch(`/areas/${a.id}`, { level: 'country' }, root.token), 'body', 'level');
      expectInvalid(await patch(`/areas/${a.id}`, { parentId: -2 }, root.token), 'body', 'parentId');
      expectInvalid(await patch(`/areas/${a.id}`, { path: '/1/' }, root.token), 'body', '');
      expectInvalid(await patch('/areas/zero', { name: 'x' }, root.token), 'params', 'id');
      expect(await dbArea(a.id)).to.deep.include({ code: a.code, name: a.name, active: 1 });
      expect(await auditCount()).to.equal(audits);
    });

    it('lets an admin scoped to district 001 change and move areas within it', async () => {
      const x = await createArea(admin001.token, d001);
      const y = await createArea(admin001.token, d001);
      const r = await patch(`/areas/${y.id}`, { parentId: x.id, name: 'Trong phạm vi' }, admin001.token);
      expect(r.status, JSON.stringify(r.body)).to.equal(200);
      expect(await dbArea(y.id)).to.deep.include({
        parent_id: x.id,
        path: `/${hanoi}/${d001}/${x.id}/${y.id}/`,
        depth: 3,
        name: 'Trong phạm vi',
      });
      expect((await auditOfRequest(r)).actor_user_id).to.equal(admin001.id);
    });

    it('answers an admin scoped to district 001 changing an area of district 002 with 404 AREA_NOT_FOUND, changing nothing', async () => {
      const ward = await areaId('00037');
      const before = await dbArea(ward);
      const audits = await auditCount();
      expectError(await patch(`/areas/${ward}`, { name: 'Chiếm quyền' }, admin001.token), 404, 'AREA_NOT_FOUND');
      expectError(await patch(`/areas/${ward}`, { parentId: d001 }, admin001.token), 404, 'AREA_NOT_FOUND');
      expect(await dbArea(ward)).to.deep.equal(before);
      expect(await auditCount()).to.equal(audits);
    });

    it('refuses an admin scoped to district 001 moving an area of theirs out of it with 403 AREA_OUT_OF_SCOPE', async () => {
      const x = await createArea(admin001.token, d001);
      const audits = await auditCount();
      expectError(await patch(`/areas/${x.id}`, { parentId: d002, name: 'Không được đổi' }, admin001.token), 403, 'AREA_OUT_OF_SCOPE');
      expectError(await patch(`/areas/${x.id}`, { parentId: null }, admin001.token), 403, 'AREA_OUT_OF_SCOPE');
      expect(await dbArea(x.id)).to.deep.include({ parent_id: d001, name: x.name, path: x.path });
      expect(await auditCount()).to.equal(audits);
    });

    it('refuses an admin moving the root of their own scope with 403 AREA_OUT_OF_SCOPE', async () => {
      const top = await createArea(root.token, null);
      const other = await createArea(root.token, top.id, { level: 'district' });
      const mine = await createArea(root.token, top.id, { level: 'district' });
      const scoped = await makeUser(['admin'], { area: mine.code });
      expectError(await patch(`/areas/${mine.id}`, { parentId: other.id }, scoped.token), 403, 'AREA_OUT_OF_SCOPE');
      expect(await dbArea(mine.id)).to.deep.include({ parent_id: top.id });
    });
  });

  describe('DELETE /api/v1/areas/:id', () => {
    it('deletes a leaf nothing refers to and audits it', async () => {
      const top = await createArea(root.token, null);
      const leaf = await createArea(root.token, top.id);
      const r = await del(`/areas/${leaf.id}`, root.token);
      expect(r.status, r.text).to.equal(204);
      expect(r.text).to.equal('');
      expect(await dbArea(leaf.id)).to.equal(undefined);
      expectError(await get(`/areas/${leaf.id}`, root.token), 404, 'AREA_NOT_FOUND');
      const ev = await auditOfRequest(r);
      expect(ev).to.deep.include({
        action: 'area.delete',
        entity_type: 'area',
        entity_id: String(leaf.id),
        actor_user_id: root.id,
        area_id: top.id,
      });
      expect(JSON.parse(ev.summary).before).to.deep.equal({ code: leaf.code, areaName: leaf.name, level: 'commune', parentId: top.id });
      expect((await get(`/areas/${top.id}`, root.token)).body.childCount).to.equal(0);
    });

    it('lets an admin scoped to district 001 delete a leaf inside it', async () => {
      const leaf = await createArea(admin001.token, d001);
      const r = await del(`/areas/${leaf.id}`, admin001.token);
      expect(r.status).to.equal(204);
      expect(await dbArea(leaf.id)).to.equal(undefined);
      expect((await auditOfRequest(r)).actor_user_id).to.equal(admin001.id);
    });

    it('refuses an area with children with 409 AREA_HAS_CHILDREN, deleting nothing', async () => {
      const top = await createArea(root.token, null);
      const child = await createArea(root.token, top.id);
      const audits = await auditCount();
      expectError(await del(`/areas/${top.id}`, root.token), 409, 'AREA_HAS_CHILDREN');
      expect(await dbArea(top.id)).to.exist;
      expect(await dbArea(child.id)).to.exist;
      expect(await auditCount()).to.equal(audits);
    });

    it('refuses an area a user is scoped to with 409 AREA_IN_USE, deleting nothing', async () => {
      const leaf = await createArea(root.token, null);
      const u = await makeUser(['staff'], { area: leaf.code });
      const audits = await auditCount();
      expectError(await del(`/areas/${leaf.id}`, root.token), 409, 'AREA_IN_USE');
      expect(await dbArea(leaf.id)).to.exist;
      expect(await auditCount()).to.equal(audits);
      expect((await get('/areas', u.token)).body.items.map((x: { id: number }) => x.id)).to.deep.equal([leaf.id]);
    });

    it('answers an admin scoped to district 001 deleting a leaf of district 002 with 404 AREA_NOT_FOUND, deleting nothing', async () => {
      const leaf = await createArea(root.token, d002);
      const audits = await auditCount();
      expectError(await del(`/areas/${leaf.id}`, admin001.token), 404, 'AREA_NOT_FOUND');
      expect(await dbArea(leaf.id)).to.exist;
      expect(await auditCount()).to.equal(audits);
    });

    it('refuses an admin deleting the root of their own scope with 403 AREA_OUT_OF_SCOPE', async () => {
      const top = await createArea(root.token, null);
      const mine = await createArea(root.token, top.id);
      const u = await makeUser(['admin'], { area: mine.code });
      expectError(await del(`/areas/${mine.id}`, u.token), 403, 'AREA_OUT_OF_SCOPE');
      expect(await dbArea(mine.id)).to.exist;
    });

    it('answers an unknown id with 404 AREA_NOT_FOUND and a bad id with 400 VALIDATION_FAILED', async () => {
      expectError(await del('/areas/99999999', root.token), 404, 'AREA_NOT_FOUND');
      expectInvalid(await del('/areas/x1', root.token), 'params', 'id');
    });
  });

  describe('roles', () => {
    for (const role of ['staff', 'approver', 'auditor'] as const) {
      it(`refuses ${role === 'staff' ? 'a' : 'an'} ${role} creating, changing or deleting areas with 403 ROLE_REQUIRED, writing nothing`, async () => {
        const user = { staff, approver, auditor }[role];
        const victim = await createArea(root.token, null);
        const [areas, audits] = [await areaCount(), await auditCount()];
        const code = areaCode('p');
        expectError(
          await post('/areas', { code, name: 'Không được', level: 'commune', parentId: victim.id }, user.token),
          403,
          'ROLE_REQUIRED',
        );
        expectError(await patch(`/areas/${victim.id}`, { name: 'Không được' }, user.token), 403, 'ROLE_REQUIRED');
        expectError(await del(`/areas/${victim.id}`, user.token), 403, 'ROLE_REQUIRED');
        expect(await dbAreaByCode(code)).to.equal(undefined);
        expect(await dbArea(victim.id)).to.deep.include({ name: victim.name });
        expect(await areaCount()).to.equal(areas);
        expect(await auditCount()).to.equal(audits);
      });
    }
  });

  describe('authentication', () => {
    const endpoints = (id: number): [string, string, unknown][] => [
      ['GET', '/api/v1/areas', undefined],
      ['GET', `/api/v1/areas/${id}`, undefined],
      ['POST', '/api/v1/areas', { code: areaCode('a'), name: 'x', level: 'commune', parentId: id }],
      ['PATCH', `/api/v1/areas/${id}`, { name: 'x' }],
      ['DELETE', `/api/v1/areas/${id}`, undefined],
    ];

    async function liveClaims(u: TestUser): Promise<Record<string, unknown>> {
      const { services } = await testApp();
      const sid = await services.sessions.create({ userId: u.id, roles: u.roles, areaId: u.areaId, stage: 'full' });
      return { sid, usr: u.username, roles: u.roles, area: u.areaId, apath: null, stage: 'full' };
    }

    async function signed(
      u: TestUser,
      opts: { secret?: string; issuer?: string; audience?: string; expiresIn?: number; exp?: number } = {},
    ): Promise<string> {
      const { infra } = await testApp();
      const claims = await liveClaims(u);
      if (opts.exp !== undefined) claims.exp = opts.exp;
      return jwt.sign(claims, opts.secret ?? infra.cfg.jwtSecret, {
        algorithm: 'HS256',
        subject: String(u.id),
        jwtid: claims.sid as string,
        issuer: opts.issuer ?? infra.cfg.jwtIssuer,
        audience: opts.audience ?? infra.cfg.jwtAudience,
        ...(opts.exp === undefined ? { expiresIn: opts.expiresIn ?? 600 } : {}),
      });
    }

    it('accepts a token built by hand the way login builds it (control for the tests below)', async () => {
      expect((await get('/areas?limit=1', await signed(root))).status).to.equal(200);
    });

    it('refuses every endpoint without a token with 401 TOKEN_MISSING, writing nothing', async () => {
      const victim = await createArea(root.token, null);
      const audits = await auditCount();
      for (const [method, path, body] of endpoints(victim.id)) {
        const r = await call(method, path, body === undefined ? {} : { body });
        expectError(r, 401, 'TOKEN_MISSING');
      }
      expect(await dbArea(victim.id)).to.deep.include({ name: victim.name });
      expect(await auditCount()).to.equal(audits);
    });

    it('refuses a malformed Authorization header or token with 401 INVALID_TOKEN', async () => {
      for (const header of [
        'Bearer not-a-jwt',
        'Bearer a.b.c',
        'Bearer',
        `Basic ${Buffer.from('admin:pw').toString('base64')}`,
        `Bearer ${root.token} extra`,
        root.token,
      ]) {
        const r = await call('GET', '/api/v1/areas', { headers: { authorization: header } });
        expect(r.status, header).to.equal(401);
        expect(r.body.error.code, header).to.be.oneOf(['INVALID_TOKEN', 'TOKEN_MISSING']);
      }
      expectError(await call('GET', '/api/v1/areas', { headers: { authorization: 'Bearer not.a.jwt' } }), 401, 'INVALID_TOKEN');
      const tampered = root.token.slice(0, -4) + (root.token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
      expectError(await get('/areas', tampered), 401, 'INVALID_TOKEN');
    });

    it('refuses an expired token with 401 TOKEN_EXPIRED even while its session lives', async () => {
      const token = await signed(root, { exp: Math.floor(Date.now() / 1000) - 120 });
      for (const [method, path, body] of endpoints(d001)) {
        expectError(await call(method, path, { token, ...(body === undefined ? {} : { body }) }), 401, 'TOKEN_EXPIRED');
      }
    });

    it('refuses a token signed with another key with 401 INVALID_TOKEN', async () => {
      const token = await signed(root, { secret: 'another-key-another-key-another-key-!!' });
      expectError(await get('/areas', token), 401, 'INVALID_TOKEN');
      expectError(await post('/areas', { code: areaCode('k'), name: 'x', level: 'province', parentId: null }, token), 401, 'INVALID_TOKEN');
    });

    it('refuses a token for another issuer or audience with 401 INVALID_TOKEN', async () => {
      expectError(await get('/areas', await signed(root, { issuer: 'someone-else' })), 401, 'INVALID_TOKEN');
      expectError(await get('/areas', await signed(root, { audience: 'another-api' })), 401, 'INVALID_TOKEN');
    });

    it('refuses an unsigned alg:none token with 401 INVALID_TOKEN', async () => {
      const { infra } = await testApp();
      const now = Math.floor(Date.now() / 1000);
      const claims = await liveClaims(root);
      const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const payload = b64({
        ...claims,
        sub: String(root.id),
        jti: claims.sid,
        iss: infra.cfg.jwtIssuer,
        aud: infra.cfg.jwtAudience,
        iat: now,
        exp: now + 600,
      });
      for (const alg of ['none', 'None', 'NONE']) {
        const unsigned = `${b64({ alg, typ: 'JWT' })}.${payload}.`;
        expectError(await get('/areas', unsigned), 401, 'INVALID_TOKEN');
        expectError(
          await post('/areas', { code: areaCode('n'), name: 'x', level: 'province', parentId: null }, unsigned),
          401,
          'INVALID_TOKEN',
        );
      }
      // the same claims signed with the right key pass: the refusal is about the algorithm
      const good = jwt.sign(
        {
          ...claims,
          sub: String(root.id),
          jti: claims.sid,
          iss: infra.cfg.jwtIssuer,
          aud: infra.cfg.jwtAudience,
          iat: now,
          exp: now + 600,
        },
        infra.cfg.jwtSecret,
        {
          algorithm: 'HS256',
        },
      );
      expect((await get('/areas?limit=1', good)).status).to.equal(200);
    });

    it('refuses a well-signed token whose session has ended with 401 SESSION_ENDED', async () => {
      const { services } = await testApp();
      const u = await makeUser(['staff']);
      expect((await get('/areas?limit=1', u.token)).status).to.equal(200);
      await services.sessions.revokeAll(u.id);
      expectError(await get('/areas?limit=1', u.token), 401, 'SESSION_ENDED');
    });
  });
});
