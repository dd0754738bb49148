#!/usr/bin/env python3
"""Checks of the shipped monitoring files (stdlib only; driven by ops/check/run.sh).

  check.py static ROOT
      Dashboards (grafana/dashboards/*.json): valid JSON, unique uid, a `datasource` variable that
      every panel and query uses, unique panel ids, grid positions inside the 24 columns and not
      overlapping, every variable a query uses defined. Provisioning files point at the dashboards.
      Alert tests: every alert of ops/prometheus/alerts.yml has a firing and a not-firing case in
      ops/prometheus/alerts_test.yml. ops/compose*.yaml mount only files that exist.

  check.py live ROOT PROMETHEUS_URL GATEWAY_URL JOB
      Against a Prometheus that scrapes a gateway under load and loaded ops/prometheus/alerts.yml:
      every rule is healthy and its expression evaluates without error; every metric a rule names
      exists (except the documented future ones); every dashboard query (with Grafana's variables
      substituted) evaluates without error AND returns data (cluster-mode queries: see CLUSTER_PREFIXES); every template-variable query finds
      its label; every tidings_* metric the gateway exports is documented in docs/operations.md
      and every metric documented there is exported (or listed as coming with another feature).

Exit code 0 when everything holds; every problem is printed.
"""
import glob
import json
import math
import os
import re
import sys
import urllib.parse
import urllib.request

GRID_COLUMNS = 24
# Metrics the rules and docs name that the check's gateway (plain HTTP, no webhook, no asymmetric
# keys, no --config file) does not export; each is registered only when its feature is configured.
FUTURE_METRICS = {"tidings_resumes_total",
                  # only exported by a gateway that serves TLS itself (tlsCertFile/tlsKeyFile)
                  "tidings_tls_certificate_expiry_timestamp_seconds", "tidings_tls_reloads_total",
                  # only with authWebhookUrl (docs/security.md)
                  "tidings_webhook_requests_total", "tidings_webhook_request_seconds", "tidings_webhook_cache_total",
                  "tidings_webhook_in_flight", "tidings_webhook_waiting",
                  # only with jwtPublicKeyFile / jwksFile / jwksUrl
                  "tidings_jwt_key_refreshes_total", "tidings_jwt_public_keys",
                  # only when started with --config (API keys are reloaded from it)
                  "tidings_config_reloads_total"}
# Metrics (and recording rules) of cluster mode (`log: kafka`): a gateway on the embedded log exports
# none of them. Against such a gateway their rules and queries must still parse and evaluate, but may
# have no data, and docs/operations.md may document them; a gateway that exports any tidings_cluster_*
# family is in cluster mode and then they are held to the same rules as every other metric.
CLUSTER_PREFIXES = ("tidings_cluster_", "tidings:cluster_")
# Values used for Grafana's built-in variables when evaluating dashboard queries.
BUILTINS = {"__rate_interval": "1m", "__interval": "15s", "__range": "5m", "__range_s": "300"}

problems = []


def problem(msg):
    problems.append(msg)
    print("  FAIL " + msg)


def ok(msg):
    print("  ok   " + msg)


# ------------------------------------------------------------------------------------ dashboards
def load_dashboards(root):
    files = sorted(glob.glob(os.path.join(root, "grafana", "dashboards", "*.json")))
    if not files:
        problem("no dashboards in grafana/dashboards")
    out = []
    for f in files:
        try:
            with open(f) as fh:
                out.append((os.path.relpath(f, root), json.load(fh)))
        except ValueError as e:
            problem(f"{f}: invalid JSON: {e}")
    return out


def all_panels(panels):
    for p in panels:
        yield p
        yield from all_panels(p.get("panels", []))  # rows (collapsed rows keep their panels here)


def variables(dash):
    return {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}


def var_refs(text):
    return set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", text))


def check_dashboard(name, d, seen_uids):
    n0 = len(problems)
    uid = d.get("uid")
    if not uid or not d.get("title"):
        problem(f"{name}: needs a uid and a title")
    elif uid in seen_uids:
        problem(f"{name}: uid {uid} also used by {seen_uids[uid]}")
    seen_uids[uid] = name
    vars_ = variables(d)
    ds_vars = [v for v in vars_.values() if v.get("type") == "datasource" and v.get("query") == "prometheus"]
    if not ds_vars:
        problem(f"{name}: no datasource template variable of type prometheus")
    ds_names = {v["name"] for v in ds_vars}

    def uses_ds_var(ds, where):
        uid_ = ds.get("uid") if isinstance(ds, dict) else ds
        if not isinstance(uid_, str) or not any(uid_ in ("$" + v, "${" + v + "}") for v in ds_names):
            problem(f"{name}: {where} uses data source {ds!r}, not the datasource variable")

    for v in vars_.values():
        if v.get("type") == "query":
            uses_ds_var(v.get("datasource"), f"variable {v.get('name')}")
    ids = {}
    boxes = []
    panels = list(all_panels(d.get("panels", [])))
    for p in panels:
        pid = p.get("id")
        title = p.get("title", "?")
        if not isinstance(pid, int):
            problem(f"{name}: panel {title!r} has no integer id")
        elif pid in ids:
            problem(f"{name}: panel id {pid} used by {ids[pid]!r} and {title!r}")
        else:
            ids[pid] = title
        g = p.get("gridPos") or {}
        x, y, w, h = (g.get(k) for k in ("x", "y", "w", "h"))
        if not all(isinstance(v, int) for v in (x, y, w, h)):
            problem(f"{name}: panel {title!r} has an incomplete gridPos {g}")
            continue
        if x < 0 or y < 0 or w < 1 or h < 1 or x + w > GRID_COLUMNS:
            problem(f"{name}: panel {title!r} gridPos {g} is outside the {GRID_COLUMNS}-column grid")
        for (ox, oy, ow, oh, ot) in boxes:
            if x < ox + ow and ox < x + w and y < oy + oh and oy < y + h:
                problem(f"{name}: panels {ot!r} and {title!r} overlap")
        boxes.append((x, y, w, h, title))
        if p.get("type") == "row":
            continue
        uses_ds_var(p.get("datasource"), f"panel {title!r}")
        targets = p.get("targets") or []
        if not targets:
            problem(f"{name}: panel {title!r} has no query")
        refids = [t.get("refId") for t in targets]
        if len(set(refids)) != len(refids):
            problem(f"{name}: panel {title!r} repeats a refId")
        for t in targets:
            uses_ds_var(t.get("datasource", p.get("datasource")), f"panel {title!r} query {t.get('refId')}")
            if not (t.get("expr") or "").strip():
                problem(f"{name}: panel {title!r} query {t.get('refId')} has no expr")
            for ref in var_refs(t.get("expr", "")):
                if ref not in vars_ and ref not in BUILTINS:
                    problem(f"{name}: panel {title!r} uses undefined variable ${ref}")
    if len(problems) == n0:
        ok(f"{name}: {len(panels)} panels, ids unique, grid valid, datasource variable used everywhere")


def check_provisioning(root, dashboards):
    prov = os.path.join(root, "grafana", "provisioning")
    ds = glob.glob(os.path.join(prov, "datasources", "*.y*ml"))
    db = glob.glob(os.path.join(prov, "dashboards", "*.y*ml"))
    if not ds or not db:
        problem("grafana/provisioning needs datasources/*.yaml and dashboards/*.yaml")
        return
    text = open(db[0]).read()
    m = re.search(r"path:\s*(\S+)", text)
    if not m:
        problem(f"{db[0]}: no dashboards path")
    if "type: prometheus" not in open(ds[0]).read():
        problem(f"{ds[0]}: no prometheus data source")
    else:
        ok(f"provisioning: data source and dashboard provider ({m.group(1) if m else '?'})")


def check_compose(root):
    for path in sorted(glob.glob(os.path.join(root, "ops", "compose*.yaml"))):
        name = os.path.relpath(path, root)
        mounts = re.findall(r"^\s*-\s*(\.{1,2}/[^:\s]+):", open(path).read(), re.M)
        missing = [m for m in mounts if not os.path.exists(os.path.join(root, "ops", m))]
        if missing:
            problem(f"{name} mounts missing paths: " + ", ".join(missing))
        else:
            ok(f"{name}: all {len(mounts)} mounted paths exist")


# ----------------------------------------------------------------------------------- alert tests
def alert_names(root):
    with open(os.path.join(root, "ops", "prometheus", "alerts.yml")) as f:
        return re.findall(r"^\s*-\s*alert:\s*(\w+)", f.read(), re.M)


def check_alert_tests(root):
    names = alert_names(root)
    with open(os.path.join(root, "ops", "prometheus", "alerts_test.yml")) as f:
        lines = f.read().splitlines()
    firing, silent = set(), set()
    for i, line in enumerate(lines):
        m = re.search(r"alertname:\s*(\w+)", line)
        if not m:
            continue
        # the expectation is on this line ({... exp_alerts: []}) or the next ones
        rest = "\n".join(lines[i:i + 3])
        e = re.search(r"exp_alerts:\s*(\[\])?\s*\n?(\s*- exp_labels)?", rest)
        if e and e.group(1):
            silent.add(m.group(1))
        elif e and e.group(2):
            firing.add(m.group(1))
    for n in names:
        if n not in firing or n not in silent:
            problem(f"alerts_test.yml: alert {n} needs a firing and a not-firing case "
                    f"(firing: {n in firing}, not firing: {n in silent})")
    if names and all(n in firing and n in silent for n in names):
        ok(f"alerts_test.yml covers all {len(names)} alerts, firing and not firing")


# ------------------------------------------------------------------------------------- live checks
def get_json(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def query(prom, expr):
    url = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        return get_json(url)
    except urllib.error.HTTPError as e:  # 400 = parse error, 422 = execution error
        try:
            return json.load(e)
        except ValueError:
            return {"status": "error", "error": f"HTTP {e.code}"}


def substitute(expr, values):
    def repl(m):
        name = m.group(1) or m.group(2)
        return values.get(name, BUILTINS.get(name, m.group(0)))
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", repl, expr)


def numbers(result):
    data = result.get("data", {})
    if data.get("resultType") == "scalar":
        return [float(data["result"][1])]
    return [float(s["value"][1]) for s in data.get("result", [])]


def cluster_only(names, cluster_mode):
    """True when every name is a cluster-mode metric and the scraped gateway is not in cluster mode."""
    return not cluster_mode and bool(names) and all(n.startswith(CLUSTER_PREFIXES) for n in names)


def metric_names(expr):
    return set(re.findall(r"\b(tidings[_:][A-Za-z0-9_:]+|up)\b", expr))


def check_live(root, prom, gateway, job):
    exported = set(get_json(prom + "/api/v1/label/__name__/values")["data"])
    cluster_mode = any(m.startswith("tidings_cluster_") for m in exported)
    print(f"  ..   gateway is in {'cluster' if cluster_mode else 'embedded'} mode"
          + ("" if cluster_mode else ": cluster-mode expressions are checked for errors, not for data"))
    # rules: healthy, evaluate, name only existing metrics
    groups = get_json(prom + "/api/v1/rules")["data"]["groups"]
    rules = [r for g in groups for r in g["rules"]]
    if not rules:
        problem("Prometheus loaded no rules")
    for r in rules:
        label = r.get("name")
        if r.get("health") != "ok":
            problem(f"rule {label}: health {r.get('health')} {r.get('lastError', '')}")
        res = query(prom, r["query"])
        if res.get("status") != "success":
            problem(f"rule {label}: {res.get('error')}")
            continue
        missing = sorted({m for m in metric_names(r["query"]) if m not in exported and m not in FUTURE_METRICS})
        if cluster_only(missing, cluster_mode):
            ok(f"rule {label}: evaluates (cluster mode only: {', '.join(missing)} not exported here)")
        elif missing:
            problem(f"rule {label}: names metrics nobody exports: {', '.join(missing)}")
        else:
            n = len(numbers(res))
            ok(f"rule {label}: evaluates ({n} series now)")

    # dashboards: every query parses and returns data
    values = {"job": job, "instance": ".*", "datasource": "prometheus"}
    for name, d in load_dashboards(root):
        for v in variables(d).values():
            if v.get("type") != "query":
                continue
            q = v.get("query")
            q = q.get("query") if isinstance(q, dict) else q
            m = re.match(r"label_values\((.*),\s*(\w+)\)\s*$", q or "")
            if not m:
                problem(f"{name}: variable {v['name']}: unsupported query {q!r}")
                continue
            res = query(prom, substitute(m.group(1), values))
            found = [s["metric"].get(m.group(2)) for s in res.get("data", {}).get("result", [])]
            if res.get("status") != "success" or not any(found):
                problem(f"{name}: variable {v['name']}: {q} finds no {m.group(2)} ({res.get('error', 'no data')})")
            else:
                ok(f"{name}: variable {v['name']} -> {sorted(set(found))}")
        for p in all_panels(d.get("panels", [])):
            for t in p.get("targets") or []:
                expr = substitute(t.get("expr", ""), values)
                res = query(prom, expr)
                where = f"{name}: panel {p.get('title')!r} query {t.get('refId')}"
                if res.get("status") != "success":
                    problem(f"{where}: {res.get('error')}\n         {expr}")
                    continue
                nums = numbers(res)
                if not nums and cluster_only(metric_names(expr), cluster_mode):
                    ok(f"{where}: evaluates (cluster mode only: no data from this gateway)")
                elif not nums:
                    problem(f"{where}: returned no data\n         {expr}")
                elif all(math.isnan(x) for x in nums):
                    problem(f"{where}: returned only NaN\n         {expr}")
                else:
                    ok(f"{where}: {len(nums)} series")

    # docs: every exported tidings_* metric is documented, every documented one exists
    with urllib.request.urlopen(gateway + "/metrics", timeout=10) as r:
        text = r.read().decode()
    families = set(re.findall(r"^# TYPE (tidings_\w+) \w+", text, re.M))
    with open(os.path.join(root, "docs", "operations.md")) as f:
        docs = f.read()
    documented = set(re.findall(r"`(tidings_[a-z0-9_]+)`", docs))
    undocumented = sorted(f for f in families
                          if f not in documented and not (f.endswith("_max") and f[:-4] in documented))
    if undocumented:
        problem("docs/operations.md does not document: " + ", ".join(undocumented))
    bases = families | {f[:-4] for f in families if f.endswith("_max")}
    stale = sorted(d for d in documented if d not in bases and d not in FUTURE_METRICS
                   and not cluster_only({d}, cluster_mode))
    if stale:
        problem("docs/operations.md documents metrics the gateway does not export: " + ", ".join(stale))
    if not undocumented and not stale:
        ok(f"docs/operations.md documents all {len(families)} tidings_* metric families the gateway exports")


def main(argv):
    if len(argv) >= 2 and argv[0] == "static":
        root = argv[1]
        seen = {}
        dashboards = load_dashboards(root)
        for name, d in dashboards:
            check_dashboard(name, d, seen)
        check_provisioning(root, dashboards)
        check_alert_tests(root)
        check_compose(root)
    elif len(argv) == 5 and argv[0] == "live":
        check_live(argv[1], argv[2].rstrip("/"), argv[3].rstrip("/"), argv[4])
    else:
        print(__doc__)
        return 2
    if problems:
        print(f"{len(problems)} problem(s)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
