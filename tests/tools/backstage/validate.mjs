// Validates the entities of catalog-info.yaml files (paths as arguments) with
// Backstage's own catalog model: the entity policies the catalog applies on
// ingestion, then the validator of the entity's kind (its JSON schema).
// `$text` placeholders are read first, relative to the file, as the catalog's
// placeholder processor does before validating.
// Prints one JSON line per entity: {file, kind, name, ok, error}; exits 1 on any error.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import {
  EntityPolicies,
  DefaultNamespaceEntityPolicy,
  FieldFormatEntityPolicy,
  NoForeignRootFieldsEntityPolicy,
  SchemaValidEntityPolicy,
  apiEntityV1alpha1Validator,
  componentEntityV1alpha1Validator,
  systemEntityV1alpha1Validator,
  domainEntityV1alpha1Validator,
  groupEntityV1alpha1Validator,
  resourceEntityV1alpha1Validator,
  userEntityV1alpha1Validator,
  locationEntityV1alpha1Validator,
} from "@backstage/catalog-model";

const policy = EntityPolicies.allOf([
  new SchemaValidEntityPolicy(),
  new DefaultNamespaceEntityPolicy(),
  new NoForeignRootFieldsEntityPolicy(),
  new FieldFormatEntityPolicy(),
]);
const kinds = [
  apiEntityV1alpha1Validator,
  componentEntityV1alpha1Validator,
  systemEntityV1alpha1Validator,
  domainEntityV1alpha1Validator,
  groupEntityV1alpha1Validator,
  resourceEntityV1alpha1Validator,
  userEntityV1alpha1Validator,
  locationEntityV1alpha1Validator,
];

function placeholders(value, base) {
  if (Array.isArray(value)) return value.map((v) => placeholders(v, base));
  if (value && typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === "$text") {
      return readFileSync(resolve(base, value.$text), "utf8");
    }
    return Object.fromEntries(keys.map((k) => [k, placeholders(value[k], base)]));
  }
  return value;
}

let failed = false;
for (const file of process.argv.slice(2)) {
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    if (doc.errors.length) {
      console.log(JSON.stringify({ file, ok: false, error: String(doc.errors[0]) }));
      failed = true;
      continue;
    }
    let entity;
    try {
      entity = placeholders(doc.toJS(), dirname(resolve(file)));
    } catch (err) {
      console.log(JSON.stringify({ file, ok: false, error: String(err?.message ?? err) }));
      failed = true;
      continue;
    }
    const out = { file, kind: entity?.kind, name: entity?.metadata?.name, ok: true };
    try {
      const applied = await policy.enforce(entity);
      let known = false;
      for (const validator of kinds) {
        if (await validator.check(applied)) known = true;
      }
      if (!known) throw new Error(`no validator knows kind ${entity?.apiVersion}/${entity?.kind}`);
    } catch (err) {
      out.ok = false;
      out.error = String(err?.message ?? err);
      failed = true;
    }
    console.log(JSON.stringify(out));
  }
}
process.exit(failed ? 1 : 0);
