// iceberg-js against an Iceberg REST catalog: the second real client of
// Bingsan's conformance suite. Run with `node --test` and
// BINGSAN_TEST_CATALOG_URL set to the catalog's base URL (before /v1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { IcebergRestCatalog, IcebergError } from 'iceberg-js';

const baseUrl = process.env.BINGSAN_TEST_CATALOG_URL;
if (!baseUrl) {
  throw new Error('BINGSAN_TEST_CATALOG_URL must name the catalog to test');
}
const catalog = new IcebergRestCatalog({ baseUrl });
const run = randomBytes(4).toString('hex');
let seq = 0;
const unique = (base) => `${base}_${run}_${++seq}`;

const schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', type: 'long', required: true },
    { id: 2, name: 'data', type: 'string', required: false },
  ],
};

// rejects asserts that fn fails with an Iceberg error of that status and type.
async function rejects(fn, status, type) {
  await assert.rejects(fn, (err) => {
    assert.ok(err instanceof IcebergError, `want an IcebergError, got ${err}`);
    assert.equal(err.status, status, `status of: ${err.message}`);
    assert.equal(err.icebergType, type, `error.type of: ${err.message}`);
    assert.equal(err.icebergCode, status, 'error.code equals the status');
    return true;
  });
}

async function newNamespace(t, base) {
  const ns = { namespace: [unique(base)] };
  await catalog.createNamespace(ns, { properties: { owner: 'iceberg-js' } });
  t.after(async () => {
    const { identifiers } = await catalog.listTables(ns).catch(() => ({ identifiers: [] }));
    for (const id of identifiers) await catalog.dropTable(id).catch(() => {});
    await catalog.dropNamespace(ns).catch(() => {});
  });
  return ns;
}

test('namespaces: create, load, list, properties, drop', async (t) => {
  const ns = await newNamespace(t, 'js_ns');
  const props = await catalog.loadNamespaceMetadata(ns);
  assert.equal(props.properties.owner, 'iceberg-js');
  assert.equal(await catalog.namespaceExists(ns), true);

  const { namespaces } = await catalog.listNamespaces();
  assert.ok(namespaces.some((n) => n.namespace.join('.') === ns.namespace.join('.')), 'listed');

  const child = { namespace: [...ns.namespace, 'child'] };
  await catalog.createNamespace(child);
  const kids = await catalog.listNamespaces({ parent: ns });
  assert.deepEqual(kids.namespaces.map((n) => n.namespace), [child.namespace]);
  await catalog.dropNamespace(child);

  const upd = await catalog.updateNamespaceProperties(ns, { updates: { a: '1' }, removals: ['owner', 'missing'] });
  assert.deepEqual(upd.updated, ['a']);
  assert.deepEqual(upd.removed, ['owner']);
  assert.deepEqual(upd.missing, ['missing']);

  await rejects(() => catalog.createNamespace(ns), 409, 'AlreadyExistsException');
  const missing = { namespace: [unique('js_missing')] };
  await rejects(() => catalog.loadNamespaceMetadata(missing), 404, 'NoSuchNamespaceException');
  await rejects(() => catalog.dropNamespace(missing), 404, 'NoSuchNamespaceException');
  assert.equal(await catalog.namespaceExists(missing), false);
});

test('tables: create, load, list, exists, rename, drop', async (t) => {
  const ns = await newNamespace(t, 'js_tbl');
  const meta = await catalog.createTable(ns, { name: 'events', schema, properties: { 'created-by': 'iceberg-js' } });
  assert.equal(meta['format-version'] >= 2, true);
  assert.equal(meta.properties['created-by'], 'iceberg-js');

  const id = { namespace: ns.namespace, name: 'events' };
  const loaded = await catalog.loadTableResult(id);
  assert.equal(loaded.metadata['table-uuid'], meta['table-uuid']);
  assert.ok(loaded['metadata-location'], 'metadata-location');
  assert.equal(await catalog.tableExists(id), true);

  const { identifiers } = await catalog.listTables(ns);
  assert.deepEqual(identifiers.map((i) => i.name), ['events']);

  await rejects(() => catalog.createTable(ns, { name: 'events', schema }), 409, 'AlreadyExistsException');
  await rejects(() => catalog.loadTable({ namespace: ns.namespace, name: 'nope' }), 404, 'NoSuchTableException');
  await rejects(() => catalog.createTable({ namespace: [unique('js_missing')] }, { name: 't', schema }), 404, 'NoSuchNamespaceException');

  const renamed = { namespace: ns.namespace, name: 'events_v2' };
  await catalog.renameTable({ source: id, destination: renamed });
  assert.equal(await catalog.tableExists(id), false);
  assert.equal((await catalog.loadTable(renamed))['table-uuid'], meta['table-uuid']);

  await catalog.dropTable(renamed);
  assert.equal(await catalog.tableExists(renamed), false);
  await rejects(() => catalog.dropTable(renamed), 404, 'NoSuchTableException');
});

test('commit: schema change, then a conflicting one is 409', async (t) => {
  const ns = await newNamespace(t, 'js_commit');
  await catalog.createTable(ns, { name: 't', schema });
  const id = { namespace: ns.namespace, name: 't' };
  const addColumn = (name) => ({
    requirements: [{ type: 'assert-current-schema-id', 'current-schema-id': 0 }],
    updates: [
      {
        action: 'add-schema',
        schema: { ...schema, 'schema-id': 1, fields: [...schema.fields, { id: 3, name, type: 'int', required: false }] },
        'last-column-id': 3,
      },
      { action: 'set-current-schema', 'schema-id': -1 },
      { action: 'set-properties', updates: { committed: name } },
    ],
  });
  const res = await catalog.commitTable(id, addColumn('score'));
  assert.equal(res.metadata['current-schema-id'], 1);
  assert.equal(res.metadata.properties.committed, 'score');
  const loaded = await catalog.loadTableResult(id);
  assert.equal(loaded['metadata-location'], res['metadata-location']);

  await rejects(() => catalog.commitTable(id, addColumn('other')), 409, 'CommitFailedException');
  await rejects(
    () => catalog.commitTable({ namespace: ns.namespace, name: 'nope' }, { requirements: [], updates: [] }),
    404,
    'NoSuchTableException',
  );
});

test('register: a dropped table comes back from its metadata file', async (t) => {
  const ns = await newNamespace(t, 'js_reg');
  await catalog.createTable(ns, { name: 't', schema });
  const id = { namespace: ns.namespace, name: 't' };
  const before = await catalog.loadTableResult(id);
  await catalog.dropTable(id, { purge: false });

  const registered = await catalog.registerTableResult(ns, { name: 'again', 'metadata-location': before['metadata-location'] });
  assert.equal(registered['metadata-location'], before['metadata-location']);
  assert.equal(registered.metadata['table-uuid'], before.metadata['table-uuid']);
  await rejects(
    () => catalog.registerTable(ns, { name: 'again', 'metadata-location': before['metadata-location'] }),
    409,
    'AlreadyExistsException',
  );
});

test('invalid schemas are rejected with 400', async (t) => {
  const ns = await newNamespace(t, 'js_bad');
  const invalid = {
    'unknown type': { type: 'struct', fields: [{ id: 1, name: 'a', type: 'varchar(3)', required: true }] },
    'duplicate field id': {
      type: 'struct',
      fields: [
        { id: 1, name: 'a', type: 'long', required: true },
        { id: 1, name: 'b', type: 'long', required: true },
      ],
    },
    'duplicate field name': {
      type: 'struct',
      fields: [
        { id: 1, name: 'a', type: 'long', required: true },
        { id: 2, name: 'a', type: 'string', required: false },
      ],
    },
    'no fields': { type: 'struct' },
    'unknown identifier field': {
      type: 'struct',
      fields: [{ id: 1, name: 'a', type: 'long', required: true }],
      'identifier-field-ids': [9],
    },
    'optional identifier field': {
      type: 'struct',
      fields: [{ id: 1, name: 'a', type: 'long', required: false }],
      'identifier-field-ids': [1],
    },
    'decimal without precision': { type: 'struct', fields: [{ id: 1, name: 'a', type: 'decimal', required: true }] },
  };
  let i = 0;
  for (const [what, bad] of Object.entries(invalid)) {
    const name = `bad_${i++}`;
    await t.test(what, async () => {
      await rejects(() => catalog.createTable(ns, { name, schema: bad }), 400, 'BadRequestException');
      assert.equal(await catalog.tableExists({ namespace: ns.namespace, name }), false);
    });
  }
});
