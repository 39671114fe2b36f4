// Validate AsyncAPI documents: `node validate.mjs FILE...`.
// Prints one line per error (file, path, message) and exits 1 on any error.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Parser, fromFile } from '@asyncapi/parser';
import { AvroSchemaParser } from '@asyncapi/avro-schema-parser';

const parser = new Parser();
parser.registerSchemaParser(AvroSchemaParser());

let failed = false;
for (const file of process.argv.slice(2)) {
  const { document, diagnostics } = await fromFile(parser, resolve(file)).parse();
  const errors = diagnostics.filter((d) => d.severity === 0);
  for (const d of errors) {
    failed = true;
    const line = d.range ? d.range.start.line + 1 : 0;
    console.log(`${file}:${line}: ${d.code}: ${d.message} at ${(d.path || []).join('.')}`);
  }
  if (!document && errors.length === 0) {
    failed = true;
    console.log(`${file}:0: not parsed`);
  }
  if (document && errors.length === 0) console.log(`${file}: valid AsyncAPI ${document.version()}`);
}
process.exit(failed ? 1 : 0);
