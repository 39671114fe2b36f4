// What the real parser reads about documents' channels: `node dead-letters.mjs FILE...`.
// Prints one JSON document, by file: for every channel its address, its dead-letter mark, the
// headers of its messages once their traits are applied, its payloads (as parsed) and
// its bindings; and every operation's action, channel and mark. Exits 1 when invalid.
import { resolve } from 'node:path';
import { Parser, fromFile } from '@asyncapi/parser';
import { AvroSchemaParser } from '@asyncapi/avro-schema-parser';

const parser = new Parser();
parser.registerSchemaParser(AvroSchemaParser());

const mark = (o) => {
  const found = o.extensions().get('x-evtgen-dead-letter-of');
  return found ? found.value() : null;
};
const bindings = (o) => Object.fromEntries(o.bindings().all().map((b) => [b.protocol(), b.value()]));

const read = {};
for (const file of process.argv.slice(2)) {
  const { document, diagnostics } = await fromFile(parser, resolve(file)).parse();
  const errors = diagnostics.filter((d) => d.severity === 0);
  if (!document || errors.length) {
    console.error(`${file}: ${JSON.stringify(errors, null, 1)}`);
    process.exit(1);
  }
  const channels = {};
  for (const channel of document.channels().all()) {
    channels[channel.id()] = {
      address: channel.address(),
      deadLetterOf: mark(channel),
      bindings: bindings(channel),
      messages: Object.fromEntries(
        channel.messages().all().map((m) => [
          m.id(),
          {
            deadLetterOf: mark(m),
            headers: m.hasHeaders() ? Object.keys(m.headers().properties() || {}).sort() : [],
            required: m.hasHeaders() ? m.headers().required() || [] : [],
            payload: m.hasPayload() ? m.payload().json() : null,
          },
        ]),
      ),
    };
  }
  const operations = {};
  for (const op of document.operations().all()) {
    operations[op.id()] = {
      action: op.action(),
      channels: op.channels().all().map((c) => c.id()),
      deadLetterOf: mark(op),
      bindings: bindings(op),
    };
  }
  read[file] = { channels, operations };
}
console.log(JSON.stringify(read));
