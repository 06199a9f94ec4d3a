#!/usr/bin/env python3
"""Prune botocore's AWS service models down to what snapaudit's collector parses.

Run from the repository root with a Python that can `import botocore`:

    /tmp/sa/venv/bin/python scripts/prune-models.py

For every service of the catalogue of calls (src/snapshot/catalogue.toml) this writes src/snapshot/models/<service>.json
holding, for the listed operations only, the output shape name, the query
result wrapper, the paginator config, and the output shapes reachable from
those operations (transitively). Documentation, constraints (min/max/pattern/
enum/required) and input shapes are dropped. Structure members stay an
ordered list of [member_name, ref] in model order. It also writes
src/snapshot/models/README.md.

Only the standard library and botocore are used. The model data is read with
botocore's own loader (so sdk-extras files are applied exactly as botocore
applies them), and cross-checked against the raw service-2.json.gz.
"""

import gzip
import json
import os
import sys

import botocore
import botocore.loaders
import botocore.model

def catalogue_operations():
    """The operations of the catalogue of calls (src/snapshot/catalogue.toml), by service:
    every call and every helper the collector makes. The catalogue is the one list."""
    import tomllib

    path = os.path.join(ROOT, "src", "snapshot", "catalogue.toml")
    with open(path, "rb") as f:
        cat = tomllib.load(f)
    ops = {}
    for entry in cat.get("call", []) + cat.get("helper", []):
        # botocore's name of the service (`model`), where the CLI's differs.
        service = entry.get("model", entry["service"])
        ops.setdefault(service, [])
        if entry["operation"] not in ops[service]:
            ops[service].append(entry["operation"])
    return ops



# Serialization keys that are copied verbatim when a ref or shape has them.
SPECIAL_KEYS = ("xmlAttribute", "location", "eventheader", "jsonvalue", "timestampFormat", "payload")
SCALAR_TYPES = {
    "string", "integer", "long", "boolean", "timestamp", "blob", "float",
    "double", "character", "byte", "short", "bigdecimal", "biginteger",
}
# Keys that may legitimately be dropped without comment.
IGNORED_KEYS = {
    "type", "documentation", "min", "max", "pattern", "enum", "required",
    "sensitive", "deprecated", "deprecatedMessage", "box", "idempotencyToken",
    "members", "member", "key", "value", "locationName", "flattened",
    "document", "union", "exception", "error", "retryable", "fault",
}

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
OUT_DIR = os.path.join(ROOT, "src", "snapshot", "models")


class Report:
    def __init__(self):
        self.special = {}  # (service, key) -> set of "where" strings
        self.unknown = {}  # (service, key) -> set of "where"
        self.order_mismatch = {}  # service -> [structure names]

    def note(self, table, service, key, where):
        table.setdefault((service, key), set()).add(where)


def newest_api_version(loader, service):
    return loader.determine_latest_version(service, "service-2")


def as_list(v):
    if v is None:
        return []
    return list(v) if isinstance(v, list) else [v]


def merged(ref, shapes):
    """Member ref traits merged over the target shape, as botocore's ShapeResolver does."""
    target = dict(shapes[ref["shape"]])
    target.update({k: v for k, v in ref.items() if k != "shape"})
    return target


def specials(d, service, where, rep):
    out = {}
    for k in SPECIAL_KEYS:
        if k in d:
            out[k] = d[k]
            rep.note(rep.special, service, k, where)
    return out


def member_ref(ref, shapes, service, where, rep, with_flattened):
    m = merged(ref, shapes)
    out = {"shape": ref["shape"], "name": m.get("locationName")}
    if with_flattened:
        out["flattened"] = bool(m.get("flattened", False))
    out.update(specials(m, service, where, rep))
    for k in ref:
        if k not in IGNORED_KEYS and k not in SPECIAL_KEYS and k != "shape":
            rep.note(rep.unknown, service, k, where)
    return out


def prune_shape(name, shape, shapes, service, rep):
    t = shape["type"]
    for k in shape:
        if k not in IGNORED_KEYS and k not in SPECIAL_KEYS:
            rep.note(rep.unknown, service, k, f"shape {name}")
    out = {"type": t}
    if t == "structure":
        if shape.get("document"):
            out["document"] = True
        if shape.get("union"):
            out["union"] = True
        out["members"] = [
            [mname, member_ref(mref, shapes, service, f"{name}.{mname}", rep, True)]
            for mname, mref in shape.get("members", {}).items()
        ]
    elif t == "list":
        out["member"] = member_ref(shape["member"], shapes, service, f"{name}.member", rep, False)
        out["flattened"] = bool(shape.get("flattened", False))
    elif t == "map":
        out["key"] = member_ref(shape["key"], shapes, service, f"{name}.key", rep, False)
        out["value"] = member_ref(shape["value"], shapes, service, f"{name}.value", rep, False)
        out["flattened"] = bool(shape.get("flattened", False))
    elif t not in SCALAR_TYPES:
        raise SystemExit(f"{service}: shape {name} has unexpected type {t!r}")
    # Shape-level serialization keys (e.g. timestampFormat on a timestamp shape).
    out.update(specials(shape, service, f"shape {name}", rep))
    return out


def referenced(shape):
    t = shape["type"]
    if t == "structure":
        return [r["shape"] for r in shape.get("members", {}).values()]
    if t == "list":
        return [shape["member"]["shape"]]
    if t == "map":
        return [shape["key"]["shape"], shape["value"]["shape"]]
    return []


def check_member_order(service, raw, service_model, keep, rep):
    bad = []
    for name in sorted(keep):
        if raw["shapes"][name]["type"] != "structure":
            continue
        loaded = list(service_model.shape_for(name).members)
        if loaded != list(raw["shapes"][name].get("members", {})):
            bad.append(name)
    rep.order_mismatch[service] = bad


def build(service, ops, loader, rep):
    version = newest_api_version(loader, service)
    model = loader.load_service_model(service, "service-2", version)
    pag = loader.load_service_model(service, "paginators-1", version).get("pagination", {})
    rel = f"data/{service}/{version}"
    raw_path = os.path.join(os.path.dirname(botocore.__file__), rel, "service-2.json.gz")
    with gzip.open(raw_path, "rt", encoding="utf-8") as f:
        raw = json.load(f)
    # The pruned output is built from the loaded model; raw must agree for what we keep.
    shapes = model["shapes"]
    service_model = botocore.model.ServiceModel(model, service_name=service)

    operations = {}
    roots = []
    for op in sorted(ops):
        if op not in model["operations"]:
            raise SystemExit(f"{service}: no operation {op}")
        o = model["operations"][op]
        out = o.get("output")
        p = pag.get(op)
        if p is not None:
            p = {
                "result_keys": as_list(p.get("result_key")),
                "output_tokens": as_list(p["output_token"]),
                "input_tokens": as_list(p["input_token"]),
                "more_results": p.get("more_results"),
                "non_aggregate_keys": as_list(p.get("non_aggregate_keys")),
            }
        operations[op] = {
            "output": out["shape"] if out else None,
            "result_wrapper": out.get("resultWrapper") if out else None,
            "paginator": p,
        }
        # Cross-check against botocore's OperationModel.
        om = service_model.operation_model(op)
        assert (om.output_shape.name if om.output_shape else None) == operations[op]["output"]
        if om.output_shape is not None:
            assert om.output_shape.serialization.get("resultWrapper") == operations[op]["result_wrapper"]
        if out:
            roots.append(out["shape"])

    keep = set()
    stack = list(roots)
    while stack:
        n = stack.pop()
        if n in keep:
            continue
        keep.add(n)
        stack.extend(referenced(shapes[n]))

    for n in keep:
        if shapes[n] != raw["shapes"][n]:
            raise SystemExit(f"{service}: loaded shape {n} differs from raw service-2.json.gz")
    check_member_order(service, raw, service_model, keep, rep)

    doc = {
        "source": f"botocore {botocore.__version__}, {rel}/service-2.json.gz and paginators-1.json",
        "service": service,
        "protocol": model["metadata"]["protocol"],
        "operations": operations,
        "shapes": {n: prune_shape(n, shapes[n], shapes, service, rep) for n in sorted(keep)},
    }
    path = os.path.join(OUT_DIR, f"{service}.json")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
    return path, version, doc, service_model


README = """\
# Pruned AWS service models

These JSON files are derived from the service models shipped with
[botocore](https://github.com/boto/botocore) {version}
(`botocore/data/<service>/<api-version>/service-2.json.gz` and
`paginators-1.json`), which are licensed under the Apache License 2.0
(Copyright Amazon.com, Inc. or its affiliates).

## What is kept

Per service, only the operations snapaudit's collector calls:

{ops}

For each operation: the output shape name, the query `resultWrapper`, and the
paginator (`result_key`, `output_token`, `input_token` normalised to lists,
`more_results`, `non_aggregate_keys`). Then every output shape reachable from
those operations. Structure members are an ordered list of `[name, ref]` in
model order (the order the AWS CLI prints). Each ref carries the serialized
`name` (ref `locationName`, else the target shape's) and `flattened`, plus
`xmlAttribute`, `location`, `eventheader`, `jsonvalue`, `timestampFormat`
when present. Scalars keep only `type` (and `timestampFormat`). Documentation,
constraints, enums, input and error shapes are dropped.

`protocol` is the model's `metadata.protocol`. Where the model lists several
`metadata.protocols`, botocore picks the first it supports in the order
json, rest-json, rest-xml, smithy-rpc-v2-cbor, query, ec2 (cloudwatch: the
model says smithy-rpc-v2-cbor, botocore actually speaks json).

## Regenerating

    python -m pip install botocore=={version}
    python scripts/prune-models.py

(any Python 3.11 that can `import botocore`). The script writes every file in
this directory; do not edit them by hand.
"""


def main():
    loader = botocore.loaders.create_loader()
    rep = Report()
    os.makedirs(OUT_DIR, exist_ok=True)
    lines = []
    for service, ops in catalogue_operations().items():
        path, version, doc, sm = build(service, ops, loader, rep)
        lines.append(f"- `{service}` ({version}): " + ", ".join(sorted(ops)))
        print(f"{os.path.relpath(path, ROOT)}: {os.path.getsize(path)} bytes, "
              f"protocol={doc['protocol']} (protocols={sm.metadata.get('protocols')}, "
              f"botocore resolves {sm.resolved_protocol}), {len(doc['shapes'])} shapes")
        for op, o in doc["operations"].items():
            p = o["paginator"]
            pdesc = "no paginator" if p is None else (
                f"result_keys={p['result_keys']} out={p['output_tokens']} in={p['input_tokens']} "
                f"more={p['more_results']} non_agg={p['non_aggregate_keys']}")
            print(f"  {op}: output={o['output']} wrapper={o['result_wrapper']} {pdesc}")
        print(f"  member-order mismatches (ServiceModel vs raw): {rep.order_mismatch[service] or 'none'}")
    with open(os.path.join(OUT_DIR, "README.md"), "w", encoding="utf-8", newline="\n") as f:
        f.write(README.format(version=botocore.__version__, ops="\n".join(lines)))
    print("special serialization keys:")
    for (svc, k), where in sorted(rep.special.items()):
        w = sorted(where)
        print(f"  {svc} {k}: {len(w)}x e.g. {w[:4]}")
    if rep.unknown:
        print("other (dropped) keys:")
        for (svc, k), where in sorted(rep.unknown.items()):
            w = sorted(where)
            print(f"  {svc} {k}: {len(w)}x e.g. {w[:4]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
