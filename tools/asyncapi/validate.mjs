// Validates an AsyncAPI document with the AsyncAPI project's own parser (@asyncapi/parser) and its Avro schema
// parser (@asyncapi/avro-schema-parser):
//
//   node validate.mjs ../../docs/asyncapi.yaml
//
// 1. The parser parses the document: the AsyncAPI 3.0 JSON schema (bindings and the shape of Avro payloads
//    included), the references, and the parser's Spectral ruleset; with the Avro parser registered, every Avro
//    payload is turned into a JSON schema.
// 2. For AsyncAPI 3 the parser does not run a schema parser's validate() on the payloads (its ruleset does so for
//    AsyncAPI 2 only), and turning Avro into a JSON schema does not resolve named types: a payload naming a type it
//    does not define would pass. So every payload in a schema format the Avro parser handles is also given to that
//    parser's validate() (avsc's Type.forSchema: every name resolved, every default of its type).
//
// Prints one line per diagnostic ("error|warning|info|hint <code> <path>: <message>") and a last line of JSON:
// {"errors": N, "warnings": N, "infos": N, "hints": N, "parsed": bool, "avro_payloads": N, "channels": N, ...}.
// Exits 1 when the document does not parse or any diagnostic is an error, 2 on a usage error.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Parser, fromFile, DiagnosticSeverity } from '@asyncapi/parser';
import { AvroSchemaParser } from '@asyncapi/avro-schema-parser';
import yaml from 'js-yaml';

const [file] = process.argv.slice(2);
if (!file) {
  console.error('usage: node validate.mjs ASYNCAPI_FILE');
  process.exit(2);
}
const path = resolve(file);

const SEVERITY = {
  [DiagnosticSeverity.Error]: 'error',
  [DiagnosticSeverity.Warning]: 'warning',
  [DiagnosticSeverity.Information]: 'info',
  [DiagnosticSeverity.Hint]: 'hint',
};

const avro = AvroSchemaParser();
const avroFormats = new Set(avro.getMimeTypes());
const parser = new Parser();
parser.registerSchemaParser(avro);
const { document, diagnostics } = await fromFile(parser, path).parse();

const found = diagnostics.map((d) => ({
  severity: SEVERITY[d.severity] ?? String(d.severity), code: d.code, path: d.path ?? [], message: d.message,
}));

// 2: every multi-format payload of a message (components and channels) in an Avro schema format, as written
const raw = yaml.load(await readFile(path, 'utf8'));
const payloads = [];
const collect = (messages, at) => {
  for (const [id, message] of Object.entries(messages ?? {})) {
    const payload = message?.payload;
    if (payload && avroFormats.has(payload.schemaFormat)) payloads.push({ data: payload.schema, path: [...at, id, 'payload', 'schema'] });
  }
};
collect(raw?.components?.messages, ['components', 'messages']);
for (const [id, channel] of Object.entries(raw?.channels ?? {})) collect(channel?.messages, ['channels', id, 'messages']);
for (const payload of payloads) {
  for (const problem of await avro.validate({ data: payload.data, path: payload.path })) {
    found.push({ severity: 'error', code: 'avro-schema', path: payload.path, message: problem.message });
  }
}

const counts = { errors: 0, warnings: 0, infos: 0, hints: 0 };
for (const d of found) {
  counts[`${d.severity}s`] = (counts[`${d.severity}s`] ?? 0) + 1;
  console.log(`${d.severity} ${d.code} ${d.path.join('/')}: ${d.message}`);
}
console.log(JSON.stringify({
  ...counts,
  parsed: document !== undefined,
  avro_payloads: payloads.length,
  channels: document ? document.channels().length : 0,
  operations: document ? document.operations().length : 0,
  messages: document ? document.components().messages().length : 0,
}));
process.exit(document === undefined || counts.errors > 0 ? 1 : 0);
