#!/usr/bin/env python3
"""Our own rules for the rendered manifests, beyond what the Kubernetes schemas say.

    python3 policy.py RENDERED.yaml [--secret SECRET.yaml] [--external-db]

Prints every violation and exits 1 if there is any. The rules are the deployment decisions
of README.md: the one image with its roles switched by env, >= 2 replicas and a PDB for each
Deployment, all three probes on long-running containers (exec probes only through
`wms probe`), requests and limits, non-root with no privilege escalation and a read-only root
(writable emptyDirs where the supervisor writes), secrets only by reference to wms-secrets,
and a termination grace period that covers preStop plus the supervisor's shutdown cap.
"""

import argparse
import re
import sys

import yaml

IMAGE = "localhost/wms:latest"
SECRET = "wms-secrets"
SECRET_KEYS = {"postgres-password", "db-app-password", "database-url", "secret-key", "admin-password"}
ROLE_SWITCHES = ("WMS_EMBEDDED_POSTGRES", "WMS_RUN_BACKEND", "WMS_RUN_WEB")
# component -> the role switch that stays on (the other two must be "false").
ROLE_OF = {"postgres": "WMS_EMBEDDED_POSTGRES", "backend": "WMS_RUN_BACKEND", "web": "WMS_RUN_WEB"}
SUPERVISOR_DIRS = ("/run/wms", "/var/lib/wms", "/tmp")
DEFAULT_SHUTDOWN_S = 9  # config.toml: shutdown_timeout = ${WMS_SHUTDOWN_TIMEOUT:-9s}

problems = []


def bad(where, msg):
    problems.append(f"{where}: {msg}")


def seconds(text):
    m = re.fullmatch(r"(\d+)s", str(text))
    return int(m.group(1)) if m else None


def quantity(q):
    """CPU in millicores or memory in bytes, for comparing a request with a limit."""
    q = str(q)
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9}
    for u, f in units.items():
        if q.endswith(u):
            return float(q[: -len(u)]) * f
    return float(q)


def labels_match(selector, labels):
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        val = labels.get(expr["key"])
        op = expr["operator"]
        if op == "In" and val not in expr["values"]:
            return False
        if op == "NotIn" and val in expr["values"]:
            return False
        if op == "Exists" and val is None:
            return False
        if op == "DoesNotExist" and val is not None:
            return False
    return True


def env_map(c):
    return {e["name"]: e.get("value") for e in c.get("env") or [] if "value" in e}


def check_probe(where, c, kind, probe):
    if probe is None:
        bad(where, f"no {kind}")
        return
    if "exec" in probe:
        cmd = probe["exec"]["command"]
        if cmd[:2] != ["wms", "probe"] or not cmd[2].startswith("http://127.0.0.1:"):
            bad(where, f"{kind}: exec probes must be `wms probe http://127.0.0.1:PORT/...`, not {cmd}")
    elif "httpGet" in probe:
        port = probe["httpGet"]["port"]
        names = {p.get("name") for p in c.get("ports") or []}
        numbers = {p["containerPort"] for p in c.get("ports") or []}
        if port not in names and port not in numbers:
            bad(where, f"{kind}: port {port} is not a port of the container")
        if not probe["httpGet"]["path"].startswith("/health"):
            bad(where, f"{kind}: {probe['httpGet']['path']} is not a health endpoint")
    else:
        bad(where, f"{kind}: only exec (wms probe) and httpGet probes are used")
    if "timeoutSeconds" not in probe:
        bad(where, f"{kind}: set timeoutSeconds (the default of 1 s is tight on a busy node)")


def check_pod(where, spec, component, long_running, claims=()):
    sc = spec.get("securityContext") or {}
    if sc.get("runAsNonRoot") is not True:
        bad(where, "securityContext.runAsNonRoot must be true")
    if not sc.get("runAsUser"):
        bad(where, "securityContext.runAsUser must be a non-zero uid (the image's user is root)")
    if (sc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        bad(where, "securityContext.seccompProfile.type must be RuntimeDefault")
    if spec.get("automountServiceAccountToken") is not False:
        bad(where, "automountServiceAccountToken must be false (no pod talks to the API server)")
    if spec.get("enableServiceLinks") is not False:
        # Service links would set WMS_BACKEND_PORT=tcp://IP:8000 (Service wms-backend) and
        # WMS_WEB_PORT, which config.toml reads as port numbers.
        bad(where, "enableServiceLinks must be false (service env vars collide with config.toml's)")
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    volumes.update({name: {"persistentVolumeClaim": {}} for name in claims})
    grace = spec.get("terminationGracePeriodSeconds")
    for c in spec.get("containers") or []:
        cw = f"{where}/{c['name']}"
        if c.get("image") != IMAGE:
            bad(cw, f"image {c.get('image')!r}: every role uses {IMAGE} (retag in an overlay's images:)")
        if c.get("imagePullPolicy") != "IfNotPresent":
            bad(cw, "imagePullPolicy must be IfNotPresent (a :latest tag would mean Always)")
        csc = c.get("securityContext") or {}
        if csc.get("allowPrivilegeEscalation") is not False:
            bad(cw, "allowPrivilegeEscalation must be false")
        if csc.get("readOnlyRootFilesystem") is not True:
            bad(cw, "readOnlyRootFilesystem must be true")
        if (csc.get("capabilities") or {}).get("drop") != ["ALL"]:
            bad(cw, "capabilities.drop must be [ALL]")
        res = c.get("resources") or {}
        for r in ("cpu", "memory"):
            req = (res.get("requests") or {}).get(r)
            lim = (res.get("limits") or {}).get(r)
            if req is None or lim is None:
                bad(cw, f"resources: {r} needs a request and a limit")
            elif quantity(req) > quantity(lim):
                bad(cw, f"resources: {r} request {req} is above its limit {lim}")
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts") or []}
        for m, vol in mounts.items():
            if vol not in volumes:
                bad(cw, f"volumeMount {m} names no volume {vol}")
        for ref in [e["valueFrom"]["secretKeyRef"] for e in c.get("env") or [] if "secretKeyRef" in (e.get("valueFrom") or {})]:
            if ref["name"] != SECRET or ref["key"] not in SECRET_KEYS:
                bad(cw, f"secretKeyRef {ref}: only {SECRET} with keys {sorted(SECRET_KEYS)}")
        for e in c.get("env") or []:
            if re.search(r"PASSWORD|SECRET|DATABASE_URL", e["name"]) and "value" in e and e["value"]:
                bad(cw, f"env {e['name']} has a literal value: take it from {SECRET}")
        env = env_map(c)
        args = c.get("args") or []
        if args == ["supervise"]:
            for d in SUPERVISOR_DIRS:
                if d not in mounts:
                    bad(cw, f"the supervisor writes to {d}: mount an emptyDir there (read-only root)")
            on = ROLE_OF.get(component)
            for s in ROLE_SWITCHES:
                if s != on and env.get(s) != "false":
                    bad(cw, f"the {component} role needs {s}=false")
            if env.get(on) == "false":
                bad(cw, f"the {component} role switches itself off ({on}=false)")
            shutdown = seconds(env.get("WMS_SHUTDOWN_TIMEOUT", f"{DEFAULT_SHUTDOWN_S}s"))
            pre = 0
            pre_cmd = (((c.get("lifecycle") or {}).get("preStop") or {}).get("exec") or {}).get("command")
            if pre_cmd:
                if pre_cmd[0] != "sleep":
                    bad(cw, f"preStop {pre_cmd}: only a sleep is expected")
                pre = int(pre_cmd[1])
            if grace is None or grace < pre + shutdown + 1:
                bad(cw, f"terminationGracePeriodSeconds {grace} < preStop {pre} s + supervisor shutdown {shutdown} s + 1 s")
        elif args == ["migrate"]:
            if "/tmp" not in mounts:
                bad(cw, "mount an emptyDir at /tmp (read-only root)")
        else:
            bad(cw, f"args {args}: expected [supervise] or [migrate]")
        if long_running:
            check_probe(cw, c, "startupProbe", c.get("startupProbe"))
            check_probe(cw, c, "readinessProbe", c.get("readinessProbe"))
            check_probe(cw, c, "livenessProbe", c.get("livenessProbe"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rendered")
    ap.add_argument("--secret", help="a Secret from make-secret.sh, checked against the references")
    ap.add_argument("--external-db", action="store_true")
    args = ap.parse_args()
    with open(args.rendered, encoding="utf-8") as f:
        objs = [o for o in yaml.safe_load_all(f) if o]
    by_kind = {}
    for o in objs:
        by_kind.setdefault(o["kind"], []).append(o)
    pods = []  # (where, component, labels, spec)
    for o in objs:
        where = f"{o['kind']}/{o['metadata']['name']}"
        labels = o["metadata"].get("labels") or {}
        for k in ("app.kubernetes.io/name", "app.kubernetes.io/part-of"):
            if labels.get(k) != "wms":
                bad(where, f"label {k}=wms missing")
        if o["kind"] == "Secret":
            bad(where, "a Secret is committed: secrets are made by make-secret.sh, never stored")
        if o["kind"] in ("Deployment", "StatefulSet", "Job"):
            t = o["spec"]["template"]
            comp = t["metadata"]["labels"].get("app.kubernetes.io/component")
            if o["kind"] != "Job" and not labels_match(o["spec"]["selector"], t["metadata"]["labels"]):
                bad(where, "selector does not match the pod template")
            claims = [v["metadata"]["name"] for v in o["spec"].get("volumeClaimTemplates") or []]
            check_pod(where, t["spec"], comp, o["kind"] != "Job", claims)
            pods.append((where, comp, t["metadata"]["labels"], t["spec"]))
        if o["kind"] == "Deployment":
            if o["spec"].get("replicas", 1) < 2:
                bad(where, "at least 2 replicas")
            pdbs = [p for p in by_kind.get("PodDisruptionBudget", [])
                    if labels_match(p["spec"]["selector"], o["spec"]["template"]["metadata"]["labels"])]
            if len(pdbs) != 1:
                bad(where, f"needs exactly one PodDisruptionBudget, has {len(pdbs)}")
            ru = (o["spec"].get("strategy") or {}).get("rollingUpdate") or {}
            if ru.get("maxUnavailable") != 0:
                bad(where, "rolling updates keep every replica until its successor is ready (maxUnavailable: 0)")
        if o["kind"] == "StatefulSet":
            if not o["spec"].get("volumeClaimTemplates"):
                bad(where, "no volumeClaimTemplates: the database needs a PersistentVolumeClaim")
            if o["spec"].get("replicas") != 1:
                bad(where, "PostgreSQL from the image is one server, not a replicated cluster")
        if o["kind"] == "Job":
            if o["spec"]["template"]["spec"].get("restartPolicy") not in ("Never", "OnFailure"):
                bad(where, "restartPolicy must be Never or OnFailure")
            if o["spec"].get("backoffLimit") is None:
                bad(where, "set backoffLimit")
    for s in by_kind.get("Service", []):
        where = f"Service/{s['metadata']['name']}"
        matched = [p for p in pods if labels_match({"matchLabels": s["spec"]["selector"]}, p[2])]
        if not matched:
            bad(where, "selects no pod")
        for port in s["spec"]["ports"]:
            tp = port.get("targetPort")
            for _, _, _, spec in matched:
                names = {p.get("name") for c in spec["containers"] for p in c.get("ports") or []}
                if tp not in names:
                    bad(where, f"targetPort {tp} is not a named port of the selected pods")
    for p in by_kind.get("PodDisruptionBudget", []):
        if not any(labels_match(p["spec"]["selector"], pod[2]) for pod in pods):
            bad(f"PodDisruptionBudget/{p['metadata']['name']}", "selects no pod")
    text = open(args.rendered, encoding="utf-8").read()
    if args.external_db:
        if "StatefulSet" in by_kind or "wms-postgres" in text or "postgres-password" in text:
            bad("external-db", "the in-cluster database (wms-postgres, postgres-password) is still referenced")
    elif "StatefulSet" not in by_kind:
        bad("base", "no PostgreSQL StatefulSet")
    if args.secret:
        with open(args.secret, encoding="utf-8") as f:
            sec = yaml.safe_load(f)
        have = set((sec.get("stringData") or {}) | (sec.get("data") or {}))
        used = set(re.findall(r"key: ([a-z-]+)\n\s+name: " + SECRET, text))
        for k in sorted(used - have):
            bad(f"Secret/{sec['metadata']['name']}", f"make-secret.sh gives no {k}, which the manifests use")
        for k in sorted(have - used):
            bad(f"Secret/{sec['metadata']['name']}", f"key {k} is not used by these manifests")
    for p in problems:
        print(f"policy: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
