'use strict';
// Minimal flag parsing: --name value, --name=value, --flag (boolean). Every flag must be declared
// in `spec` ({name: {def, help, type: 'number'|'string'|'boolean'}}); unknown flags are an error.

function parseArgs(argv, spec, usage) {
  const out = {};
  for (const [k, v] of Object.entries(spec)) out[k] = v.def;
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    if (a === '--help' || a === '-h') {
      printHelp(spec, usage);
      process.exit(0);
    }
    if (!a.startsWith('--')) fail(`unexpected argument '${a}'`, spec, usage);
    a = a.slice(2);
    let value;
    const eq = a.indexOf('=');
    if (eq >= 0) {
      value = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const s = spec[a];
    if (!s) fail(`unknown flag --${a}`, spec, usage);
    if (s.type === 'boolean') {
      out[a] = value === undefined ? true : value !== 'false';
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) fail(`--${a} needs a value`, spec, usage);
      value = argv[++i];
    }
    if (s.type === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n)) fail(`--${a} must be a number, got '${value}'`, spec, usage);
      out[a] = n;
    } else out[a] = value;
  }
  for (const [k, v] of Object.entries(spec)) {
    if (v.required && (out[k] === undefined || out[k] === '')) fail(`--${k} is required`, spec, usage);
  }
  return out;
}

function printHelp(spec, usage) {
  console.log(usage);
  for (const [k, v] of Object.entries(spec)) {
    const def = v.def === undefined ? (v.required ? ' (required)' : '') : ` (default ${v.def})`;
    console.log(`  --${k}${v.type === 'boolean' ? '' : ' <' + (v.type || 'string') + '>'}  ${v.help}${def}`);
  }
}

function fail(msg, spec, usage) {
  console.error(`error: ${msg}\n`);
  printHelp(spec, usage);
  process.exit(2);
}

module.exports = { parseArgs };
