// node speedscope_validate.mjs NODE_MODULES PROFILE.json
// Validates a `leaktrace export --format speedscope` file against the schema
// speedscope ships (node_modules/speedscope/dist/release/file-format-schema.json,
// JSON Schema draft-07, checked with ajv), then what the schema cannot say:
// one weight per sample, frame indices in range, weights positive, endValue
// their sum. Prints one line per profile; exit 0 valid, 1 not, 2 bad usage.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const [modules, file] = process.argv.slice(2);
if (!modules || !file) {
  console.error('usage: node speedscope_validate.mjs NODE_MODULES PROFILE.json');
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(modules), 'noop.js'));
const Ajv = require('ajv');
const schema = JSON.parse(fs.readFileSync(path.join(modules, 'speedscope/dist/release/file-format-schema.json'), 'utf8'));
const doc = JSON.parse(fs.readFileSync(file, 'utf8'));

const problems = [];
const ajv = new Ajv({ allErrors: true, strict: false });
if (!ajv.validate(schema, doc)) problems.push('schema: ' + ajv.errorsText(ajv.errors));

const frames = doc.shared?.frames ?? [];
for (const [i, p] of (doc.profiles ?? []).entries()) {
  const where = `profile ${i} (${p.name})`;
  if (p.type !== 'sampled') { problems.push(`${where}: type ${p.type}, expected sampled`); continue; }
  if (p.samples.length !== p.weights.length) problems.push(`${where}: ${p.samples.length} samples, ${p.weights.length} weights`);
  for (const stack of p.samples)
    for (const f of stack)
      if (!Number.isInteger(f) || f < 0 || f >= frames.length) problems.push(`${where}: frame index ${f} out of range`);
  if (p.weights.some(w => !(w > 0))) problems.push(`${where}: a weight is not positive`);
  const sum = p.weights.reduce((a, b) => a + b, 0);
  if (Math.abs(sum - (p.endValue - p.startValue)) > 1e-6 * Math.max(1, sum)) problems.push(`${where}: endValue ${p.endValue}, weights add to ${sum}`);
  console.log(`${p.name}: ${p.samples.length} samples, ${sum} ${p.unit}`);
}
if (problems.length) {
  for (const p of problems) console.error('speedscope_validate: ' + p);
  process.exit(1);
}
console.log(`speedscope_validate: ${file}: valid (${doc.profiles.length} profiles, ${frames.length} frames)`);
