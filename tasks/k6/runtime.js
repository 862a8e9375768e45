// ---------------------------------------------------------------------------------------------
// perfcampaign runtime: templates, steps, checks. The same semantics as the built-in engine
// (tasks/load/flow.py): latency per request, a failed status counts and the flow goes on, a
// failed capture, a transport error or a missing template variable ends the iteration.
// ---------------------------------------------------------------------------------------------
const TEMPLATE = /\{\{\s*([^{}]+?)\s*\}\}/g;
const WHOLE = /^\{\{\s*([^{}]+?)\s*\}\}$/;
const CALL = /^\$(\w+)\s*(?:\((.*)\))?$/;
const SECRET = /\$\{perfcampaign-secret:([A-Za-z0-9_]+)\}/g;
const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const OK_2XX = http.expectedStatuses({ min: 200, max: 299 });
const COUNTERS = {};
let AUTH = null;

class MissingVariable extends Error {}

function uuid4() {
  return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (c) => {
    const r = Math.floor(Math.random() * 16);
    return (c === 'x' ? r : (r & 0x3) | 0x8).toString(16);
  });
}

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Linus', 'Margaret', 'Ken'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Torvalds', 'Hamilton', 'Thompson'];
const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];
const ALPHA = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function pickOne(xs) { return xs[Math.floor(Math.random() * xs.length)]; }
function randInt(lo, hi) { return lo + Math.floor(Math.random() * (hi - lo + 1)); }
function ints(parts, lo, hi) {
  return parts.length >= 2 ? [parseInt(parts[0], 10), parseInt(parts[1], 10)] : [lo, hi];
}
function chars(alphabet, n) {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}
function email() { return `user-${chars(ALNUM, 10)}@example.com`; }

// the template functions of campaigns/templating.py (BUILTINS), with the same names and meaning
const BUILTINS = {
  randomInt: (p) => randInt(...ints(p, 0, 1000000)),
  randomNumber: (p) => randInt(...ints(p, 0, 1000000)),
  randomString: (p) => chars(ALPHA, p.length ? parseInt(p[0], 10) : 10),
  uuid: () => uuid4(),
  timestamp: () => Date.now(),
  isoTimestamp: () => new Date().toISOString(),
  randomEmail: () => email(),
  randomFromArray: (p, vars) => {
    if (p.length === 1 && Array.isArray(vars[p[0]]) && vars[p[0]].length) return pickOne(vars[p[0]]);
    if (!p.length) throw new MissingVariable('$randomFromArray() needs arguments');
    return pickOne(p);
  },
  randomBoolean: () => Math.random() < 0.5,
  randEmail: () => email(),
  randFirstName: () => pickOne(FIRST),
  randLastName: () => pickOne(LAST),
  randFullName: () => `${pickOne(FIRST)} ${pickOne(LAST)}`,
  randUserName: () => `${pickOne(FIRST).toLowerCase()}${randInt(1, 9999)}`,
  randWord: () => pickOne(WORDS),
  randPhoneNumber: () => `+1-555-${randInt(100, 999)}-${randInt(1000, 9999)}`,
  randPassword: () => chars(ALPHA, 16),
  randUuid: () => uuid4(),
  randNumber: (p) => randInt(...ints(p, 0, 99999)),
  randBoolean: () => Math.random() < 0.5,
  randUrl: () => `https://example.com/${pickOne(WORDS)}`,
};

function builtin(name, args, vars) {
  const parts = (args || '').split(',').map((a) => a.trim().replace(/^['"]|['"]$/g, '')).filter((a) => a.length);
  if (Object.prototype.hasOwnProperty.call(BUILTINS, name)) return BUILTINS[name](parts, vars);
  throw new MissingVariable(`$${name}`);
}

function lookup(vars, expr) {
  if (expr.startsWith('$env.')) {
    const name = expr.slice(5).trim();
    if (__ENV[name] === undefined) throw new MissingVariable(expr);
    return __ENV[name];
  }
  const call = CALL.exec(expr);
  if (call && Object.prototype.hasOwnProperty.call(BUILTINS, call[1])) return builtin(call[1], call[2], vars);
  if (call && !(call[0] in vars) && !Object.prototype.hasOwnProperty.call(vars, call[1])) throw new MissingVariable(expr);
  let value = vars;
  for (const t of expr.match(/[^.[\]]+|\[\d+\]/g) || []) {
    if (t[0] === '[') {
      const i = parseInt(t.slice(1, -1), 10);
      if (value === null || value === undefined || typeof value !== 'object' || !(i in value)) throw new MissingVariable(expr);
      value = value[i];
    } else if (value !== null && typeof value === 'object' && !Array.isArray(value)
               && Object.prototype.hasOwnProperty.call(value, t)) {
      value = value[t];
    } else {
      throw new MissingVariable(expr);
    }
  }
  return value;
}

function text(value) {
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (value === null) return 'None';
  return String(value);
}

function render(value, vars) {
  if (typeof value === 'string') {
    if (value.indexOf('{{') < 0) return value;
    const whole = WHOLE.exec(value.trim());
    if (whole) return lookup(vars, whole[1]);
    return value.replace(TEMPLATE, (_, e) => text(lookup(vars, e)));
  }
  if (Array.isArray(value)) return value.map((v) => render(v, vars));
  if (value !== null && typeof value === 'object') {
    const out = {};
    for (const k of Object.keys(value)) out[k] = render(value[k], vars);
    return out;
  }
  return value;
}

function jsonPath(doc, path) {
  let expr = path.trim();
  if (expr.startsWith('$')) expr = expr.slice(1);
  if (!expr) return doc;
  return lookup({ $: doc }, '$' + (expr.startsWith('[') ? expr : '.' + expr.replace(/^\./, '')));
}

function unmark(value) {
  if (typeof value === 'string') return value.replace(SECRET, (_, key) => (key === 'AUTH' ? AUTH : SECRETS[key]));
  if (Array.isArray(value)) return value.map(unmark);
  if (value !== null && typeof value === 'object') {
    const out = {};
    for (const k of Object.keys(value)) out[k] = unmark(value[k]);
    return out;
  }
  return value;
}

function secrets(headers) {
  const out = {};
  for (const k of Object.keys(headers)) out[k] = unmark(text(headers[k]));
  return out;
}

function urlFor(s, vars) {
  let path = s.path;
  if (s.paths) {
    COUNTERS[s.id] = COUNTERS[s.id] === undefined ? __VU : COUNTERS[s.id] + 1;
    path = s.paths[COUNTERS[s.id] % s.paths.length];
  }
  let url = BASE_URL + render(path, vars);
  const query = render(s.query || {}, vars);
  const parts = [];
  for (const k of Object.keys(query)) {
    for (const v of Array.isArray(query[k]) ? query[k] : [query[k]]) {
      parts.push(encodeURIComponent(k) + '=' + encodeURIComponent(text(v)));
    }
  }
  if (parts.length) url += (url.indexOf('?') >= 0 ? '&' : '?') + parts.join('&');
  return url;
}

function check(s, res, vars) {
  const e = s.expect || {};
  if (e.max_latency_ms && res.timings.duration > e.max_latency_ms) return 'slow';
  if (e.content_type && (res.headers['Content-Type'] || '').toLowerCase().indexOf(e.content_type.toLowerCase()) < 0) {
    return 'expect';
  }
  const raw = res.body || '';
  if (e.body_contains !== undefined && e.body_contains !== null && raw.indexOf(e.body_contains) < 0) return 'expect';
  const capture = s.capture || [];
  let doc = null;
  if ((e.fields || []).length || (e.values || []).length || capture.length) {
    try {
      doc = JSON.parse(raw);
    } catch (err) {
      return capture.length ? 'capture' : 'expect';
    }
  }
  for (const f of e.fields || []) {
    try { jsonPath(doc, f); } catch (err) { return 'expect'; }
  }
  for (const [p, v] of e.values || []) {
    try {
      if (JSON.stringify(jsonPath(doc, p)) !== JSON.stringify(v)) return 'expect';
    } catch (err) {
      return 'expect';
    }
  }
  for (const [name, p] of capture) {
    try { vars[name] = jsonPath(doc, p); } catch (err) { return 'capture'; }
  }
  return null;
}

// One request of a flow; false ends the iteration.
function step(vars, s) {
  let url;
  let headers;
  let body = null;
  try {
    url = urlFor(s, vars);
    headers = secrets(render(s.headers || {}, vars));
    if (s.body !== undefined && s.body !== null) {
      const b = render(s.body, vars);
      if (typeof b === 'string') {
        body = b;
      } else {
        if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
        body = JSON.stringify(b);
      }
    }
  } catch (err) {
    if (!(err instanceof MissingVariable)) throw err;
    failed.add(1, { name: s.name, kind: 'template' });
    return false;
  }
  const status = s.expect && s.expect.status && s.expect.status.length ? s.expect.status : null;
  const params = {
    headers, timeout: TIMEOUT, tags: { name: s.name },
    responseCallback: status ? http.expectedStatuses(...status) : OK_2XX,
  };
  if (s.needs_body) params.responseType = 'text';
  if (!COOKIES) params.jar = new http.CookieJar();   // nothing a response sets is sent back
  const res = http.request(s.method, url, body, params);
  if (res.status === 0) {
    failed.add(1, { name: s.name, kind: 'transport' });
    return false;
  }
  const ok = status ? status.indexOf(res.status) >= 0 : res.status >= 200 && res.status < 300;
  const kind = ok ? check(s, res, vars) : 'status';
  failed.add(kind ? 1 : 0, kind ? { name: s.name, kind } : { name: s.name });
  if (kind === 'capture') return false;
  if (s.think > 0) sleep(s.think);
  return true;
}

function newVariables() {
  const vars = Object.assign({}, VARIABLES);
  const n = exec.scenario.iterationInTest;
  for (const name of Object.keys(FEEDERS)) {
    const f = FEEDERS[name];
    vars[name] = f.order === 'random' ? f.rows[Math.floor(Math.random() * f.rows.length)] : f.rows[n % f.rows.length];
  }
  return vars;
}

function pick() {
  if (SCENARIOS.length === 1) return SCENARIOS[0];
  const r = Math.random() * TOTAL_WEIGHT;
  let acc = 0;
  for (const sc of SCENARIOS) {
    acc += sc.weight;
    if (r < acc) return sc;
  }
  return SCENARIOS[SCENARIOS.length - 1];
}

// The campaign's auth flow, once, before the load (as the built-in engine signs in once per run).
export function setup() {
  for (const key of Object.keys(SECRETS)) {
    if (SECRETS[key] === undefined || SECRETS[key] === '') {
      exec.test.abort(`set the environment variable ${SECRET_SOURCES[key]} before running this script`);
    }
  }
  if (!AUTH_FLOW) return {};
  if (__ENV.PERFCAMPAIGN_AUTH) return { auth: __ENV.PERFCAMPAIGN_AUTH };
  const vars = Object.assign({}, VARIABLES);
  for (const name of Object.keys(FEEDERS)) vars[name] = FEEDERS[name].rows[0];
  const r = AUTH_FLOW.request;
  const headers = secrets(render(r.headers || {}, vars));
  if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
  const body = r.body === null || r.body === undefined ? null : JSON.stringify(unmark(render(r.body, vars)));
  const res = http.request(r.method, BASE_URL + render(r.path, vars), body,
    { headers, timeout: TIMEOUT, tags: { name: 'perfcampaign-auth' }, responseType: 'text' });
  if (res.status === 0 || res.status >= 400) exec.test.abort(`the campaign's auth flow answered ${res.status}`);
  let token;
  try {
    token = jsonPath(JSON.parse(res.body), AUTH_FLOW.capture);
  } catch (err) {
    exec.test.abort(`the campaign's auth flow: no ${AUTH_FLOW.capture} in the response`);
  }
  return { auth: AUTH_FLOW.format.replace('{token}', text(token)) };
}

export default function (data) {
  AUTH = data && data.auth ? data.auth : null;
  started.add(1);
  const sc = pick();
  const vars = newVariables();
  for (const s of sc.steps) {
    if (s.condition && !vars[s.condition]) continue;   // Artillery ifTrue: skip, send nothing
    if (!step(vars, s)) break;
  }
  if (ITERATION_THINK > 0) sleep(ITERATION_THINK);
}
