"""Convert the legacy SageMaker operator's CRDs from apiextensions.k8s.io/v1beta1 to v1.

The Amazon SageMaker Operators for Kubernetes (``sagemaker.aws.amazon.com/v1``) published their
CRDs as ``apiextensions.k8s.io/v1beta1``, which Kubernetes 1.22+ no longer serves. This script
rewrites them structurally (never textually) into ``apiextensions.k8s.io/v1``:

* ``spec.validation.openAPIV3Schema`` moves under ``spec.versions[].schema``;
* ``spec.subresources`` and ``spec.additionalPrinterColumns`` move under each version, with
  ``JSONPath`` renamed to ``jsonPath``;
* the top-level ``spec.version`` and the ``status`` stanza are dropped.

The schemas themselves are kept intact. Run it once when the upstream CRDs change::

    python scripts/convert_legacy_crds.py SRC_DIR include/manifests/crds/legacy

SRC_DIR holds ``config/crd/bases/sagemaker.aws.amazon.com_<plural>.yaml`` from
github.com/aws/amazon-sagemaker-operator-for-k8s (commit e131566f, the last release, v1.2.2).
"""

from __future__ import annotations

import argparse
import copy
import pathlib
import sys

import yaml

HEADER = (
    "# Converted from apiextensions.k8s.io/v1beta1 to v1 by scripts/convert_legacy_crds.py.\n"
    "# Source: github.com/aws/amazon-sagemaker-operator-for-k8s @ e131566f,\n"
    "#   config/crd/bases/sagemaker.aws.amazon.com_{plural}.yaml (Apache-2.0). Schema unchanged.\n"
)


def convert(crd: dict) -> dict:
    """Return the apiextensions.k8s.io/v1 form of a v1beta1 CRD document."""
    if crd.get("apiVersion") != "apiextensions.k8s.io/v1beta1":
        raise ValueError(f"not a v1beta1 CRD: {crd.get('apiVersion')!r}")
    spec = crd["spec"]
    schema = copy.deepcopy(spec["validation"]["openAPIV3Schema"])
    columns = [
        {("jsonPath" if key == "JSONPath" else key): value for key, value in column.items()}
        for column in spec.get("additionalPrinterColumns", [])
    ]
    versions = []
    for version in spec.get("versions") or [{"name": spec["version"], "served": True, "storage": True}]:
        entry = {
            "name": version["name"],
            "served": version.get("served", True),
            "storage": version.get("storage", True),
            "schema": {"openAPIV3Schema": schema},
        }
        if spec.get("subresources"):
            entry["subresources"] = copy.deepcopy(spec["subresources"])
        if columns:
            entry["additionalPrinterColumns"] = columns
        versions.append(entry)
    metadata = {"name": crd["metadata"]["name"]}
    if crd["metadata"].get("annotations"):
        metadata["annotations"] = dict(crd["metadata"]["annotations"])
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": metadata,
        "spec": {
            "group": spec["group"],
            "names": copy.deepcopy(spec["names"]),
            "scope": spec["scope"],
            "versions": versions,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=pathlib.Path)
    parser.add_argument("target", type=pathlib.Path)
    args = parser.parse_args(argv)
    args.target.mkdir(parents=True, exist_ok=True)
    for path in sorted(args.source.glob("*.yaml")):
        docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
        (crd,) = docs
        converted = convert(crd)
        plural = converted["spec"]["names"]["plural"]
        out = args.target / f"{plural}.yaml"
        body = yaml.safe_dump(converted, sort_keys=False, width=100)
        out.write_text(HEADER.format(plural=plural) + body)
        print(f"{path.name} -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
