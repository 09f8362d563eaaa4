"""Standalone JSON schemas for kubeconform from the PyPI package ``kubernetes-validate`` (no download at run time).

kubernetes-validate ships the Kubernetes OpenAPI schemas per version as ``<kind>-<group>-<version>.json`` files
whose ``$ref`` s point into one shared ``/api/_definitions.json``. kubeconform cannot resolve that absolute path,
so this script writes, for the requested resource files, self-contained copies: every ``$ref`` rewritten to
``#/$defs/<name>`` and the definitions each one reaches copied into its own ``$defs``.

Usage::

    python deploy/helm/kube_schemas.py --k8s-version 1.33.0 --out DIR FILE_STEM...
    # e.g. deployment-apps-v1 configmap-v1; writes DIR/v1.33.0/<stem>.json

kubeconform then runs with
``-schema-location 'DIR/{{ .NormalizedKubernetesVersion }}/{{ .ResourceKind }}{{ .KindSuffix }}.json'``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REF_PREFIX = "/api/_definitions.json#/$defs/"
LOCAL_PREFIX = "#/$defs/"  # how the definitions refer to each other inside _definitions.json


def schema_root(k8s_version: str, *, strict: bool = True) -> Path:
    """Directory of one Kubernetes version's schemas inside the installed kubernetes-validate."""
    try:
        import kubernetes_validate
    except ImportError as exc:
        msg = "kubernetes-validate is not installed (deploy/tools.sh installs it)"
        raise SystemExit(msg) from exc
    base = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    root = base / f"v{k8s_version}-local{'-strict' if strict else ''}"
    if not root.is_dir():
        have = sorted(p.name for p in base.iterdir() if p.is_dir())
        msg = f"kubernetes-validate has no schemas for {k8s_version}; it has {', '.join(have)}"
        raise SystemExit(msg)
    return root


def _refs(node: Any, out: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            for prefix in (REF_PREFIX, LOCAL_PREFIX):
                if ref.startswith(prefix):
                    out.add(ref[len(prefix) :])
        for v in node.values():
            _refs(v, out)
    elif isinstance(node, list):
        for v in node:
            _refs(v, out)


def _rewrite(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: ("#/$defs/" + v[len(REF_PREFIX) :] if k == "$ref" and isinstance(v, str) and v.startswith(REF_PREFIX)
                else _rewrite(v))
            for k, v in node.items()
        }  # fmt: skip
    if isinstance(node, list):
        return [_rewrite(v) for v in node]
    return node


def standalone(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with the definitions it reaches (transitively) embedded and its refs made local."""
    needed: set[str] = set()
    todo: set[str] = set()
    _refs(schema, todo)
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        if name not in definitions:
            msg = f"schema refers to an unknown definition {name}"
            raise KeyError(msg)
        needed.add(name)
        _refs(definitions[name], todo)
    out = _rewrite(schema)
    out["$defs"] = {n: _rewrite(definitions[n]) for n in sorted(needed)}
    return out


def write(k8s_version: str, stems: list[str], out_dir: Path) -> list[Path]:
    """Write standalone schemas for ``stems`` to ``out_dir/v<version>/``; returns the files."""
    root = schema_root(k8s_version)
    definitions = json.loads((root / "_definitions.json").read_text())["$defs"]
    target = out_dir / f"v{k8s_version}"
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for stem in stems:
        src = root / f"{stem}.json"
        if not src.is_file():
            msg = f"no schema {src.name} for Kubernetes {k8s_version}"
            raise SystemExit(msg)
        dst = target / src.name
        dst.write_text(json.dumps(standalone(json.loads(src.read_text()), definitions)))
        written.append(dst)
    return written


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module docstring."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--k8s-version", default="1.33.0", help="Kubernetes version, e.g. 1.33.0")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("stems", nargs="+", help="schema file stems, e.g. deployment-apps-v1")
    args = p.parse_args(argv)
    for path in write(args.k8s_version, args.stems, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
