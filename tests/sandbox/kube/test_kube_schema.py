"""Bullet 7: openAPIV3Schema validation, pruning and defaulting (pure), and their HTTP behaviour."""

from __future__ import annotations

import copy

import pytest

from sandbox.kube import schema as S
from tests.sandbox.kube.kube_helpers import ACK_CRDS, GROUP, LEGACY_CRDS, TJ, load_crd, trainingjob


def _schema(path, version=0) -> dict:
    return load_crd(path)["spec"]["versions"][version]["schema"]["openAPIV3Schema"]


TJ_SCHEMA = _schema(LEGACY_CRDS / "trainingjobs.yaml")
HD_SCHEMA = _schema(LEGACY_CRDS / "hostingdeployments.yaml")
ACK_TJ_SCHEMA = _schema(ACK_CRDS / "trainingjobs.yaml")


def _errors(schema: dict, obj: dict) -> list[tuple[str, str, str]]:
    return [(e.type, e.field, e.body()) for e in S.validate(schema, obj)]


def _set(obj: dict, dotted: str, value) -> dict:
    obj = copy.deepcopy(obj)
    node = obj
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if value is KeyError:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return obj


HOSTING = {
    "apiVersion": f"{GROUP}/v1",
    "kind": "HostingDeployment",
    "metadata": {"name": "hd"},
    "spec": {
        "region": "us-west-2",
        "models": [
            {
                "name": "m",
                "executionRoleArn": "arn:aws:iam::123456789012:role/x",
                "primaryContainer": "c",
                "containers": [{"containerHostname": "c", "image": "img", "modelDataUrl": "s3://b/m.tar.gz"}],
            }
        ],
        "productionVariants": [
            {
                "variantName": "AllTraffic",
                "modelName": "m",
                "initialInstanceCount": 1,
                "instanceType": "ml.m5.large",
                "initialVariantWeight": 1,
            }
        ],
    },
}
ACK_TJ = {
    "apiVersion": "sagemaker.services.k8s.aws/v1alpha1",
    "kind": "TrainingJob",
    "metadata": {"name": "t"},
    "spec": {
        "trainingJobName": "t",
        "roleARN": "arn:aws:iam::123456789012:role/x",
        "algorithmSpecification": {"trainingImage": "img", "trainingInputMode": "File"},
        "outputDataConfig": {"s3OutputPath": "s3://b/out"},
        "resourceConfig": {"instanceCount": 1, "instanceType": "ml.m5.large", "volumeSizeInGB": 5},
        "stoppingCondition": {"maxRuntimeInSeconds": 3600},
        "hyperParameters": {"eta": "0.2", "max_depth": "5"},
    },
}


@pytest.mark.parametrize(
    ("schema", "obj"),
    [(TJ_SCHEMA, trainingjob()), (HD_SCHEMA, HOSTING), (ACK_TJ_SCHEMA, ACK_TJ)],
    ids=["legacy-tj", "legacy-hd", "ack-tj"],
)
def test_valid_samples(schema, obj):
    assert _errors(schema, obj) == []


@pytest.mark.parametrize(
    ("schema", "base", "path", "value", "expected"),
    [
        (
            TJ_SCHEMA,
            trainingjob(),
            "spec.resourceConfig.instanceCount",
            0,
            (
                "FieldValueInvalid",
                "spec.resourceConfig.instanceCount",
                "Invalid value: 0: spec.resourceConfig.instanceCount in body should be greater than or equal "
                "to 1",
            ),
        ),
        (
            TJ_SCHEMA,
            trainingjob(),
            "spec.roleArn",
            KeyError,
            ("FieldValueRequired", "spec.roleArn", "Required value"),
        ),
        (TJ_SCHEMA, trainingjob(), "spec", KeyError, ("FieldValueRequired", "spec", "Required value")),
        (
            TJ_SCHEMA,
            trainingjob(),
            "spec.resourceConfig.instanceCount",
            "2",
            (
                "FieldValueTypeInvalid",
                "spec.resourceConfig.instanceCount",
                'Invalid value: "2": spec.resourceConfig.instanceCount in body must be of type integer: '
                '"string"',
            ),
        ),
        (
            TJ_SCHEMA,
            trainingjob(),
            "spec.algorithmSpecification.trainingInputMode",
            "Stream",
            (
                "FieldValueNotSupported",
                "spec.algorithmSpecification.trainingInputMode",
                'Unsupported value: "Stream": supported values: "File", "Pipe"',
            ),
        ),
        (
            TJ_SCHEMA,
            trainingjob(),
            "spec.outputDataConfig.s3OutputPath",
            "ftp://x",
            (
                "FieldValueInvalid",
                "spec.outputDataConfig.s3OutputPath",
                'Invalid value: "ftp://x": spec.outputDataConfig.s3OutputPath in body should match '
                "'^(https|s3)://([^/]+)/?(.*)$'",
            ),
        ),
        (
            TJ_SCHEMA,
            trainingjob(),
            "spec.roleArn",
            "short",
            (
                "FieldValueInvalid",
                "spec.roleArn",
                'Invalid value: "short": spec.roleArn in body should be at least 20 chars long',
            ),
        ),
        (
            TJ_SCHEMA,
            trainingjob(),
            "spec.trainingJobName",
            "x" * 64,
            ("FieldValueTooLong", "spec.trainingJobName", "Too long: may not be more than 63 bytes"),
        ),
        (
            TJ_SCHEMA,
            trainingjob(),
            "spec.inputDataConfig",
            [],
            (
                "FieldValueInvalid",
                "spec.inputDataConfig",
                "Invalid value: 0: spec.inputDataConfig in body should have at least 1 items",
            ),
        ),
        (
            TJ_SCHEMA,
            trainingjob(),
            "spec.inputDataConfig.0.channelName",
            "",
            (
                "FieldValueInvalid",
                "spec.inputDataConfig[0].channelName",
                'Invalid value: "": spec.inputDataConfig[0].channelName in body should be at least 1 chars '
                "long",
            ),
        ),
        (
            TJ_SCHEMA,
            trainingjob(),
            "spec.vpcConfig",
            {"securityGroupIds": ["a", "b", "c", "d", "e", "f"], "subnets": ["s"]},
            (
                "FieldValueTooMany",
                "spec.vpcConfig.securityGroupIds",
                "Too many: 6: must have at most 5 items",
            ),
        ),
        (
            TJ_SCHEMA,
            trainingjob(),
            "spec.enableNetworkIsolation",
            "yes",
            (
                "FieldValueTypeInvalid",
                "spec.enableNetworkIsolation",
                'Invalid value: "yes": spec.enableNetworkIsolation in body must be of type boolean: "string"',
            ),
        ),
        (
            TJ_SCHEMA,
            trainingjob(),
            "spec.hyperParameters",
            {"eta": "1"},
            (
                "FieldValueTypeInvalid",
                "spec.hyperParameters",
                'Invalid value: map[string]interface {}{"eta":"1"}: spec.hyperParameters in body must be of '
                "type "
                'array: "object"',
            ),
        ),
        (
            HD_SCHEMA,
            HOSTING,
            "spec.productionVariants",
            [],
            (
                "FieldValueInvalid",
                "spec.productionVariants",
                "Invalid value: 0: spec.productionVariants in body should have at least 1 items",
            ),
        ),
        (
            HD_SCHEMA,
            HOSTING,
            "spec.productionVariants.0.initialInstanceCount",
            0,
            (
                "FieldValueInvalid",
                "spec.productionVariants[0].initialInstanceCount",
                "Invalid value: 0: spec.productionVariants[0].initialInstanceCount in body should be greater "
                "than or "
                "equal to 1",
            ),
        ),
        (
            HD_SCHEMA,
            HOSTING,
            "spec.models.0.containers.0.mode",
            "Other",
            (
                "FieldValueNotSupported",
                "spec.models[0].containers[0].mode",
                'Unsupported value: "Other": supported values: "SingleModel", "MultiModel"',
            ),
        ),
        (
            HD_SCHEMA,
            HOSTING,
            "spec.region",
            KeyError,
            ("FieldValueRequired", "spec.region", "Required value"),
        ),
        (
            ACK_TJ_SCHEMA,
            ACK_TJ,
            "spec.hyperParameters.eta",
            0.2,
            (
                "FieldValueTypeInvalid",
                "spec.hyperParameters.eta",
                'Invalid value: 0.2: spec.hyperParameters.eta in body must be of type string: "number"',
            ),
        ),
        (
            ACK_TJ_SCHEMA,
            ACK_TJ,
            "spec.roleARN",
            KeyError,
            ("FieldValueRequired", "spec.roleARN", "Required value"),
        ),
    ],
    ids=lambda v: v if isinstance(v, str) and v.startswith("spec") else None,
)
def test_invalid_fragments(schema, base, path, value, expected):
    assert expected in _errors(schema, _set(base, path, value))


SYNTH = {
    "type": "object",
    "properties": {
        "s": {"type": "string", "maxLength": 3, "minLength": 1, "pattern": "^[a-z]+$"},
        "n": {
            "type": "number",
            "minimum": 0,
            "exclusiveMinimum": True,
            "maximum": 10,
            "exclusiveMaximum": True,
        },
        "i": {"type": "integer", "maximum": 5, "multipleOf": 2},
        "b": {"type": "boolean"},
        "nullable": {"type": "string", "nullable": True},
        "ios": {"x-kubernetes-int-or-string": True},
        "arr": {"type": "array", "items": {"type": "integer"}, "maxItems": 2},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "strmap": {"type": "object", "additionalProperties": {"type": "string"}},
        "openmap": {"type": "object", "additionalProperties": True},
        "embedded": {
            "type": "object",
            "x-kubernetes-embedded-resource": True,
            "x-kubernetes-preserve-unknown-fields": True,
        },
        "defaulted": {"type": "object", "properties": {"d": {"type": "string", "default": "dflt"}}},
        "choice": {"enum": ["a", 1]},
    },
}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"s": "abc", "n": 5, "i": 4, "b": True, "nullable": None, "ios": 3, "arr": [1, 2]}, []),
        ({"ios": "80%"}, []),
        ({"s": "abcd"}, [("FieldValueTooLong", "s")]),
        ({"s": "A"}, [("FieldValueInvalid", "s")]),
        ({"n": 0}, [("FieldValueInvalid", "n")]),
        ({"n": 10}, [("FieldValueInvalid", "n")]),
        ({"i": 3}, [("FieldValueInvalid", "i")]),
        ({"i": 6}, [("FieldValueInvalid", "i")]),
        ({"i": 2.5}, [("FieldValueTypeInvalid", "i")]),
        ({"i": True}, [("FieldValueTypeInvalid", "i")]),
        ({"b": 1}, [("FieldValueTypeInvalid", "b")]),
        ({"ios": 1.5}, [("FieldValueTypeInvalid", "ios")]),
        ({"arr": [1, "x", 3]}, [("FieldValueTooMany", "arr"), ("FieldValueTypeInvalid", "arr[1]")]),
        ({"strmap": {"k": 1}}, [("FieldValueTypeInvalid", "strmap.k")]),
        ({"free": {"anything": [1, {"x": None}]}}, []),
        ({"embedded": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}}, []),
        (
            {"embedded": {"metadata": {}}},
            [("FieldValueRequired", "embedded.apiVersion"), ("FieldValueRequired", "embedded.kind")],
        ),
        ({"choice": 1}, []),
        ({"choice": "1"}, [("FieldValueNotSupported", "choice")]),
        ({"arr": [None]}, [("FieldValueTypeInvalid", "arr[0]")]),
    ],
)
def test_keywords(obj, expected):
    assert [(e.type, e.field) for e in S.validate(SYNTH, obj, root=False)] == expected


def test_pruning_drops_unknown_fields_and_reports_paths():
    obj = trainingjob()
    obj["metadata"]["bogus"] = 1
    obj["spec"]["foo"] = 1
    obj["spec"]["inputDataConfig"][1]["bar"] = {"x": 1}
    obj["extra"] = True
    unknown = S.prune(TJ_SCHEMA, obj)
    assert sorted(unknown) == ["extra", "metadata.bogus", "spec.foo", "spec.inputDataConfig[1].bar"]
    assert "foo" not in obj["spec"] and "bar" not in obj["spec"]["inputDataConfig"][1] and "extra" not in obj
    assert obj["metadata"]["name"] == "xgboost-mnist" and obj["apiVersion"] == f"{GROUP}/v1"


def test_pruning_respects_preserve_additional_and_embedded():
    obj = {
        "free": {"a": {"b": 1}},
        "strmap": {"k": "v"},
        "openmap": {"x": [1]},
        "embedded": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "junk": 1}, "spec": {}},
        "defaulted": {"unknown": 1},
        "gone": 1,
    }
    unknown = S.prune(SYNTH, obj, root=False)
    assert sorted(unknown) == ["defaulted.unknown", "embedded.metadata.junk", "gone"]
    assert obj["free"] == {"a": {"b": 1}} and obj["strmap"] == {"k": "v"} and obj["openmap"] == {"x": [1]}
    assert obj["embedded"] == {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}}


def test_type_object_without_properties_prunes_everything():
    obj = {"spec": {"anything": 1}}
    assert S.prune({"type": "object", "properties": {"spec": {"type": "object"}}}, obj, root=False) == [
        "spec.anything"
    ]
    assert obj == {"spec": {}}


def test_defaulting_and_null_pruning():
    obj = {"defaulted": {}, "s": None, "nullable": None}
    S.default(SYNTH, obj)
    assert obj == {"defaulted": {"d": "dflt"}, "nullable": None}


# -- over HTTP ------------------------------------------------------------------------------------------


def test_http_invalid_is_422_in_kube_style(api):
    bad = trainingjob("xgb")
    bad["spec"]["resourceConfig"]["instanceCount"] = 0
    resp = api.post(TJ, bad)
    assert resp.status == 422
    body = resp.body
    assert body["reason"] == "Invalid" and body["code"] == 422 and body["status"] == "Failure"
    assert body["message"] == (
        f'TrainingJob.{GROUP} "xgb" is invalid: spec.resourceConfig.instanceCount: Invalid value: 0: '
        "spec.resourceConfig.instanceCount in body should be greater than or equal to 1"
    )
    assert body["details"] == {
        "name": "xgb",
        "group": GROUP,
        "kind": "TrainingJob",
        "causes": [
            {
                "reason": "FieldValueInvalid",
                "field": "spec.resourceConfig.instanceCount",
                "message": "Invalid value: 0: spec.resourceConfig.instanceCount in body should be greater "
                "than or equal to 1",
            }
        ],
    }
    del bad["spec"]["roleArn"]
    body = api.post(TJ, bad).body
    assert body["message"].startswith(f'TrainingJob.{GROUP} "xgb" is invalid: [')
    assert "spec.roleArn: Required value" in body["message"]
    assert {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.roleArn"} in (
        body["details"]["causes"]
    )


def test_http_validation_applies_to_update_and_patch(api):
    api.post(TJ, trainingjob("a"))
    obj = api.get(f"{TJ}/a").body
    obj["spec"]["region"] = ""
    assert api.put(f"{TJ}/a", obj).status == 422
    assert (
        api.patch(f"{TJ}/a", {"spec": {"algorithmSpecification": {"trainingInputMode": "X"}}}).status == 422
    )
    assert api.patch(f"{TJ}/a", [{"op": "remove", "path": "/spec/region"}], "json").status == 422
    assert api.get(f"{TJ}/a").body["spec"]["region"] == "us-west-2"


def test_http_pruning_and_field_validation_modes(api):
    obj = trainingjob("a")
    obj["spec"]["foo"] = "x"
    obj["metadata"]["bogus"] = "y"
    strict = api.post(TJ, obj, query={"fieldValidation": "Strict"})
    assert strict.status == 400 and strict.body["reason"] == "BadRequest"
    assert (
        'strict decoding error: unknown field "metadata.bogus", unknown field "spec.foo"'
        in strict.body["message"]
    )
    warn = api.post(TJ, obj, query={"fieldValidation": "Warn"})
    assert warn.status == 201
    assert warn.warnings == [
        '299 - "unknown field \\"metadata.bogus\\""',
        '299 - "unknown field \\"spec.foo\\""',
    ]
    assert "foo" not in warn.body["spec"] and "bogus" not in warn.body["metadata"]
    assert "foo" not in api.get(f"{TJ}/a").body["spec"]
    obj["metadata"]["name"] = "b"
    default = api.post(TJ, obj)
    assert default.status == 201 and len(default.warnings) == 2, "Warn is the server default"
    obj["metadata"]["name"] = "c"
    ignore = api.post(TJ, obj, query={"fieldValidation": "Ignore"})
    assert ignore.status == 201 and ignore.warnings == []
    patched = api.patch(f"{TJ}/a", {"spec": {"bar": 1}}, query={"fieldValidation": "Strict"})
    assert patched.status == 400 and 'unknown field "spec.bar"' in patched.body["message"]


@pytest.mark.parametrize(
    ("meta", "field", "fragment"),
    [
        ({"name": "Bad_Name"}, "metadata.name", "a lowercase RFC 1123 subdomain must consist of"),
        ({"name": "x" * 254}, "metadata.name", "must be no more than 253 characters"),
        ({}, "metadata.name", "name or generateName is required"),
        ({"name": "ok", "labels": {"bad key!": "v"}}, "metadata.labels", "name part must consist of"),
        (
            {"name": "ok", "labels": {"k": "bad value!"}},
            "metadata.labels",
            "a valid label must be an empty string",
        ),
        ({"name": "ok", "labels": {"k": "v" * 64}}, "metadata.labels", "must be no more than 63 characters"),
        (
            {"name": "ok", "labels": {"Bad.Prefix/k": "v"}},
            "metadata.labels",
            "prefix part a lowercase RFC 1123",
        ),
        (
            {"name": "ok", "annotations": {"a/b/c": "v"}},
            "metadata.annotations",
            "a qualified name must consist",
        ),
    ],
)
def test_http_metadata_validation(api, meta, field, fragment):
    obj = trainingjob()
    obj["metadata"] = meta
    resp = api.post(TJ, obj)
    assert resp.status == 422, resp.body
    causes = resp.body["details"]["causes"]
    assert any(c["field"] == field and fragment in c["message"] for c in causes), causes


def test_http_namespace_names_are_dns_labels(api):
    resp = api.post("/api/v1/namespaces", {"metadata": {"name": "has.dot"}})
    assert resp.status == 422
    assert "a lowercase RFC 1123 label must consist of" in resp.body["message"]


def test_crd_validation(api):
    crd = load_crd(LEGACY_CRDS / "models.yaml")
    crd["metadata"]["name"] = "wrong.example.com"
    resp = api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    assert resp.status == 422
    assert (
        'metadata.name: Invalid value: "wrong.example.com": must be spec.names.plural+"."+spec.group'
        in (resp.body["message"])
    )
    crd = load_crd(LEGACY_CRDS / "models.yaml")
    crd["metadata"]["name"] = f"models2.{GROUP}"
    crd["spec"]["names"]["plural"] = "models2"
    del crd["spec"]["versions"][0]["schema"]
    resp = api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    assert resp.status == 422
    assert (
        "spec.versions[0].schema.openAPIV3Schema: Required value: schemas are required"
        in resp.body["message"]
    )
