#!/usr/bin/env python3
"""Render a kustomization directory without kubectl: the subset of kustomize these manifests use.

    python3 render.py DIR [-o FILE]

Supported kustomization fields: `resources` (files and directories holding a kustomization),
`patches` (strategic-merge patches, inline `patch:` or `path:`, including `$patch: delete`
of a whole object; lists of objects with a `name` are merged by name, other lists are
replaced), `images` (`name` with `newName` / `newTag` / `digest`) and `namespace`. Anything
else is refused with an error rather than rendered wrongly. Output order and formatting
follow `kubectl kustomize` (kustomize's legacy kind order, keys sorted), so validate.sh can
compare the two byte for byte where kubectl is installed.

Needs PyYAML (it comes with kubernetes-validate in validate.sh's venv).
"""

import argparse
import copy
import os
import sys

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "patches", "images", "namespace"}

# kustomize's legacy ordering (api/resmap/reswrangler.go, "legacy" sort): these kinds first,
# in this order; any other kind after them, alphabetically; these two last.
ORDER_FIRST = [
    "Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition",
    "ServiceAccount", "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding",
    "ClusterRoleBinding", "ConfigMap", "Secret", "Endpoints", "Service", "LimitRange",
    "PriorityClass", "PersistentVolume", "PersistentVolumeClaim", "Deployment",
    "StatefulSet", "CronJob", "PodDisruptionBudget",
]
ORDER_LAST = ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]
CLUSTER_SCOPED = {
    "Namespace", "StorageClass", "CustomResourceDefinition", "PodSecurityPolicy",
    "ClusterRole", "ClusterRoleBinding", "PriorityClass", "PersistentVolume",
    "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
}


class RenderError(Exception):
    pass


def load_docs(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def kustomization_file(directory):
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        p = os.path.join(directory, name)
        if os.path.isfile(p):
            return p
    raise RenderError(f"{directory}: no kustomization.yaml")


def ident(obj):
    group = obj.get("apiVersion", "").rpartition("/")[0]
    meta = obj.get("metadata") or {}
    return (group, obj.get("kind"), meta.get("name"))


def merge(base, patch):
    """Strategic merge for the shapes used here: maps merge, lists of named maps merge by
    name, anything else is replaced; `null` deletes a key."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            if v is None:
                out.pop(k, None)
            elif k in out:
                out[k] = merge(out[k], v)
            else:
                out[k] = copy.deepcopy(v)
        return out
    if (isinstance(base, list) and isinstance(patch, list)
            and all(isinstance(i, dict) and "name" in i for i in base + patch)):
        out = [copy.deepcopy(i) for i in base]
        for item in patch:
            for n, existing in enumerate(out):
                if existing["name"] == item["name"]:
                    if item.get("$patch") == "delete":
                        del out[n]
                    else:
                        out[n] = merge(existing, item)
                    break
            else:
                if item.get("$patch") != "delete":
                    out.append(copy.deepcopy(item))
        return out
    return copy.deepcopy(patch)


def apply_patch(objs, patch, where):
    if not isinstance(patch, dict):
        raise RenderError(f"{where}: a patch must be one YAML object")
    target = ident(patch)
    matches = [i for i, o in enumerate(objs) if ident(o) == target]
    if len(matches) != 1:
        raise RenderError(f"{where}: patch target {target} matches {len(matches)} objects")
    i = matches[0]
    if patch.get("$patch") == "delete":
        del objs[i]
    else:
        objs[i] = merge(objs[i], patch)


def set_images(obj, images):
    def walk(node):
        if isinstance(node, dict):
            for key in ("containers", "initContainers"):
                for c in node.get(key) or []:
                    image = c.get("image")
                    if not image:
                        continue
                    if "@" in image:
                        name = image.split("@", 1)[0]
                    else:
                        slash = image.rfind("/")
                        colon = image.rfind(":")
                        name = image[:colon] if colon > slash else image
                    for rule in images:
                        if rule.get("name") != name:
                            continue
                        new = rule.get("newName", name)
                        if "digest" in rule:
                            c["image"] = f"{new}@{rule['digest']}"
                        else:
                            tag = rule.get("newTag")
                            old_tag = image[len(name) + 1:] if image.startswith(name + ":") else None
                            tag = tag or old_tag
                            c["image"] = f"{new}:{tag}" if tag else new
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(obj)


def render(directory):
    kfile = kustomization_file(directory)
    with open(kfile, encoding="utf-8") as f:
        k = yaml.safe_load(f) or {}
    unknown = set(k) - SUPPORTED
    if unknown:
        raise RenderError(f"{kfile}: unsupported fields {sorted(unknown)} (extend render.py)")
    objs = []
    for res in k.get("resources") or []:
        p = os.path.normpath(os.path.join(directory, res))
        if os.path.isdir(p):
            objs.extend(render(p))
        elif os.path.isfile(p):
            objs.extend(load_docs(p))
        else:
            raise RenderError(f"{kfile}: resource {res} not found")
    seen = set()
    for o in objs:
        if ident(o) in seen:
            raise RenderError(f"{kfile}: duplicate object {ident(o)}")
        seen.add(ident(o))
    for n, entry in enumerate(k.get("patches") or []):
        extra = set(entry) - {"path", "patch"}
        if extra:
            raise RenderError(f"{kfile}: patches[{n}]: unsupported fields {sorted(extra)}")
        if "path" in entry:
            docs = load_docs(os.path.join(directory, entry["path"]))
        else:
            docs = [d for d in yaml.safe_load_all(entry["patch"]) if d is not None]
        if len(docs) != 1:
            # kustomize (v5.5) cannot take several objects in one patch either.
            raise RenderError(f"{kfile}: patches[{n}]: exactly one object per patch")
        apply_patch(objs, docs[0], f"{kfile}: patches[{n}]")
    if k.get("images"):
        for o in objs:
            set_images(o, k["images"])
    if k.get("namespace"):
        for o in objs:
            if o.get("kind") not in CLUSTER_SCOPED:
                o.setdefault("metadata", {})["namespace"] = k["namespace"]
    return objs


def sort_key(obj):
    kind = obj.get("kind", "")
    if kind in ORDER_FIRST:
        rank = (0, ORDER_FIRST.index(kind), "")
    elif kind in ORDER_LAST:
        rank = (2, ORDER_LAST.index(kind), "")
    else:
        rank = (1, 0, kind)
    meta = obj.get("metadata") or {}
    return rank + (meta.get("namespace", ""), meta.get("name", ""))


READS_AS_OTHER = {f"tag:yaml.org,2002:{t}" for t in ("bool", "int", "float", "null", "timestamp")}


class Dumper(yaml.SafeDumper):
    pass


def _str(dumper, value):
    # As kubectl (go-yaml) writes: block style for multi-line text, double quotes for
    # strings that would read as another type ("false", "5", ""), PyYAML's choice otherwise.
    if "\n" in value:
        style = "|"
    elif value == "" or dumper.resolve(yaml.ScalarNode, value, (True, False)) in READS_AS_OTHER:
        style = '"'
    else:
        style = None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


Dumper.add_representer(str, _str)


def dump(objs):
    docs = sorted(objs, key=sort_key)
    return "---\n".join(
        yaml.dump(d, Dumper=Dumper, default_flow_style=False, sort_keys=True, width=1 << 20)
        for d in docs
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("directory")
    ap.add_argument("-o", "--output")
    args = ap.parse_args()
    try:
        text = dump(render(args.directory))
    except (RenderError, OSError, yaml.YAMLError) as e:
        print(f"render.py: {e}", file=sys.stderr)
        return 1
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
