#!/usr/bin/env python3
"""Derive a single-node equivalent of the rendered manifests that podman 4.3's
`podman kube play` can run, and the plan tests/kubernetes/run.sh follows.

    single_node.py --manifests RENDERED.yaml --secret SECRET.yaml --out DIR
                   [--prefix wms-k8s] [--image IMAGE] [--publish SERVICE=PORT[,PORT...]]

podman 4.3 plays Pods, Deployments, PersistentVolumeClaims and ConfigMaps, and has no
Services, no scheduler and no kubelet probes. The derivation is mechanical:

* A Deployment or StatefulSet with N replicas becomes the N Pods its controller would
  create (`PREFIX-backend-0`, `PREFIX-backend-1`, ...; the `wms-` of a name is replaced by
  the prefix). A Job becomes its one Pod, with the template's restartPolicy.
* A StatefulSet's volumeClaimTemplates become PersistentVolumeClaims (podman named volumes)
  `PREFIX-data-postgres-0`, mounted by the ordinal's Pod, in a file of their own (podman
  4.3 refuses to play a claim whose volume exists, and a re-played Pod must find its data).
* emptyDir volumes get per-Pod names (`POD-run`): podman 4.3 turns an emptyDir into a named
  volume called after the volume, shared by every pod that uses the same name.
* A Service becomes a network alias: run.sh plays each workload with
  `--network NET:alias=SERVICE` for every Service whose selector matches its pods, so
  aardvark-dns answers the Service name with the addresses of all of them (as a headless
  Service would). `--publish SERVICE=P0,P1` adds hostPort P0, P1 (on 127.0.0.1) to the
  Service's target port of replica 0, 1, ...: the way in from the host.
* The Secret becomes a podman secret `PREFIX-secrets` (a JSON map of base64 values, the
  form podman 4.3 resolves secretKeyRef from) and the references are renamed to it.
* httpGet probes become `wms probe http://127.0.0.1:PORT/PATH` exec probes (podman would
  turn them into a curl command; the image has no curl). The livenessProbe becomes the
  container's healthcheck; podman ignores readinessProbe and startupProbe, so run.sh polls
  each readinessProbe itself (ready.tsv) with `podman exec`.
* Container ports are dropped unless published: podman 4.3 publishes every containerPort
  on all host addresses (hostPort = containerPort when unset); in Kubernetes they are only
  informational (named ports are resolved above).
* Everything else is passed through: PodDisruptionBudgets and NetworkPolicies have no
  single-node meaning and are left out; podman ignores preStop and
  terminationGracePeriodSeconds (its stop timeout stays 10 s).

Output in DIR: one YAML file per workload, plan.tsv (`secret NAME FILE`, then
`claim FILE` and `play FILE ALIASES` in manifest order), ready.tsv (`CONTAINER<TAB>COMMAND...`), pods.tsv
(`KIND<TAB>WORKLOAD<TAB>POD<TAB>CONTAINER`), volumes.txt (every named volume created).
"""

import argparse
import base64
import copy
import json
import os
import sys

import yaml


def short(name):
    return name[4:] if name.startswith("wms-") else name


def labels_match(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def to_exec(probe, container):
    """An httpGet probe as the equivalent `wms probe` exec probe."""
    if "httpGet" not in probe:
        return probe
    get = probe["httpGet"]
    port = get["port"]
    if isinstance(port, str):
        port = next(p["containerPort"] for p in container.get("ports") or [] if p.get("name") == port)
    out = {k: v for k, v in probe.items() if k != "httpGet"}
    out["exec"] = {"command": ["wms", "probe", f"http://127.0.0.1:{port}{get.get('path', '/')}"]}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--manifests", required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--prefix", default="wms-k8s")
    ap.add_argument("--image")
    ap.add_argument("--publish", action="append", default=[])
    args = ap.parse_args()
    with open(args.manifests, encoding="utf-8") as f:
        objs = [o for o in yaml.safe_load_all(f) if o]
    with open(args.secret, encoding="utf-8") as f:
        secret = yaml.safe_load(f)
    publish = {}
    for p in args.publish:
        svc, _, ports = p.partition("=")
        publish[svc] = [int(x) for x in ports.split(",")]
    os.makedirs(args.out, exist_ok=True)
    rename = lambda n: f"{args.prefix}-{short(n)}"  # noqa: E731

    plan, ready, pods_tsv, volumes = [], [], [], []
    # The Secret, in the shape podman 4.3's secretKeyRef reads.
    values = dict(secret.get("data") or {})
    for k, v in (secret.get("stringData") or {}).items():
        values[k] = base64.b64encode(v.encode()).decode()
    secret_file = os.path.join(args.out, "secret.json")
    with open(secret_file, "w", encoding="utf-8") as f:
        json.dump(values, f)
    plan.append(("secret", rename(secret["metadata"]["name"]), secret_file))

    services = [o for o in objs if o["kind"] == "Service"]
    for o in objs:
        kind = o["kind"]
        if kind not in ("StatefulSet", "Job", "Deployment"):
            continue
        name = o["metadata"]["name"]
        template = o["spec"]["template"]
        tlabels = template["metadata"]["labels"]
        aliases = [s["metadata"]["name"] for s in services if labels_match(s["spec"]["selector"], tlabels)]
        replicas = 1 if kind == "Job" else o["spec"].get("replicas", 1)
        docs, claims = [], []
        for i in range(replicas):
            pod = rename(name) if kind == "Job" else f"{rename(name)}-{i}"
            spec = copy.deepcopy(template["spec"])
            vols = []
            for v in spec.get("volumes") or []:
                if "emptyDir" in v:
                    vols.append({"name": v["name"], "new": f"{pod}-{v['name']}"})
            for tmpl in o["spec"].get("volumeClaimTemplates") or []:
                claim = f"{args.prefix}-{tmpl['metadata']['name']}-{short(name)}-{i}"
                claims.append({
                    "apiVersion": "v1", "kind": "PersistentVolumeClaim",
                    "metadata": {"name": claim},
                    "spec": copy.deepcopy(tmpl["spec"]),
                })
                spec.setdefault("volumes", []).append(
                    {"name": tmpl["metadata"]["name"], "persistentVolumeClaim": {"claimName": claim}})
                volumes.append(claim)
            for v in vols:
                volumes.append(v["new"])
                for vol in spec["volumes"]:
                    if vol["name"] == v["name"]:
                        vol["name"] = v["new"]
            renamed = {v["name"]: v["new"] for v in vols}
            for c in spec["containers"]:
                if args.image:
                    c["image"] = args.image
                for m in c.get("volumeMounts") or []:
                    m["name"] = renamed.get(m["name"], m["name"])
                for e in c.get("env") or []:
                    ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                    if ref:
                        ref["name"] = rename(ref["name"])
                if "livenessProbe" in c:
                    c["livenessProbe"] = to_exec(c["livenessProbe"], c)
                for key in ("readinessProbe", "startupProbe"):
                    if key in c:
                        c[key] = to_exec(c[key], c)
                cname = f"{pod}-{c['name']}"
                if "readinessProbe" in c:
                    ready.append((cname, " ".join(c["readinessProbe"]["exec"]["command"])))
                pods_tsv.append((kind, name, pod, cname))
                published = []
                for s in services:
                    if s["metadata"]["name"] not in publish or not labels_match(s["spec"]["selector"], tlabels):
                        continue
                    for sp in s["spec"]["ports"]:
                        for cp in c.get("ports") or []:
                            if sp.get("targetPort") in (cp.get("name"), cp["containerPort"]):
                                published.append(dict(cp, hostIP="127.0.0.1", hostPort=publish[s["metadata"]["name"]][i]))
                # podman 4.3 publishes every containerPort on the host (0.0.0.0, hostPort =
                # containerPort when unset): keep only the ports published on purpose.
                if published:
                    c["ports"] = published
                else:
                    c.pop("ports", None)
            docs.append({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod, "labels": dict(tlabels)},
                "spec": spec,
            })
        if claims:
            # Created once, like a StatefulSet controller does: podman 4.3 refuses to play a
            # claim whose volume exists, so the Pods can be played again without them.
            path = os.path.join(args.out, f"{len(plan):02d}-{short(name)}-claims.yaml")
            with open(path, "w", encoding="utf-8") as f:
                yaml.safe_dump_all(claims, f, sort_keys=False)
            plan.append(("claim", path, "-"))
        path = os.path.join(args.out, f"{len(plan):02d}-{short(name)}.yaml")
        with open(path, "w", encoding="utf-8") as f:
            yaml.safe_dump_all(docs, f, sort_keys=False)
        plan.append(("play", path, ",".join(aliases) or "-"))

    with open(os.path.join(args.out, "plan.tsv"), "w", encoding="utf-8") as f:
        for row in plan:
            f.write("\t".join(row) + "\n")
    with open(os.path.join(args.out, "ready.tsv"), "w", encoding="utf-8") as f:
        for row in ready:
            f.write("\t".join(row) + "\n")
    with open(os.path.join(args.out, "pods.tsv"), "w", encoding="utf-8") as f:
        for row in pods_tsv:
            f.write("\t".join(row) + "\n")
    with open(os.path.join(args.out, "volumes.txt"), "w", encoding="utf-8") as f:
        f.write("".join(v + "\n" for v in volumes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
