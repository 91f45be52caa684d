"""infra/k8s against the Flink Kubernetes Operator's CRD schema (its openAPIV3Schema, from the
operator's API jar on Maven Central, fetched by infra/k8s/pom.xml), with jsonschema.

The newest operator API jar served here is 1.10.0, whose flinkVersion enum stops at v1_20;
operators from 1.11 on add v2_* (Flink 2.x). For the PyFlink job's manifest (Flink 2.3) the
enum is widened by exactly those values and nothing else is changed."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml

jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).resolve().parents[3]
CRD = "META-INF/fabric8/flinkdeployments.flink.apache.org-v1.yml"
FLINK_2 = ["v2_0", "v2_1", "v2_2"]


@pytest.fixture(scope="module")
def flink_deployment_schema(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("crd")
    problem = None
    if not shutil.which("mvn"):
        problem = "Maven (mvn) is not on PATH"
    else:
        result = subprocess.run(
            [
                "mvn",
                "-q",
                "-B",
                "-f",
                str(ROOT / "infra/k8s/pom.xml"),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={out}",
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            problem = f"could not fetch the operator API jar: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    (jar,) = out.glob("flink-kubernetes-operator-api-*.jar")
    crd = yaml.safe_load(zipfile.ZipFile(jar).read(CRD))
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1beta1"]
    return version["schema"]["openAPIV3Schema"]


def _documents(name: str) -> list[dict]:
    return list(yaml.safe_load_all((ROOT / "infra/k8s" / name).read_text()))


def _validate(schema: dict, document: dict, newer_flink: bool = False) -> None:
    if newer_flink:
        schema = yaml.safe_load(yaml.safe_dump(schema))  # a copy
        schema["properties"]["spec"]["properties"]["flinkVersion"]["enum"] += FLINK_2
    jsonschema.Draft4Validator(schema).validate(document)


def test_pyflink_job_deployment_matches_the_operator_crd(flink_deployment_schema):
    (deployment,) = _documents("flink-deployment.yaml")
    assert deployment["kind"] == "FlinkDeployment" and deployment["apiVersion"] == "flink.apache.org/v1beta1"
    _validate(flink_deployment_schema, deployment, newer_flink=True)
    args = deployment["spec"]["job"]["args"]
    assert args[:3] == ["-pym", "tendencias.flink", "run"]  # the module scripts/flink.sh runs
    assert (ROOT / "infra/flink/Dockerfile").read_text().count(
        deployment["spec"]["job"]["jarURI"].rsplit("-", 1)[1][:-4]
    ) >= 1


def test_beam_on_flink_session_cluster_matches_the_operator_crd(flink_deployment_schema):
    deployment, job = _documents("beam-on-flink.yaml")
    _validate(flink_deployment_schema, deployment)  # Flink 1.19: the CRD as served, unchanged
    assert job["kind"] == "Job" and job["apiVersion"] == "batch/v1"
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--runner=FlinkRunner" in args and "--environment_type=EXTERNAL" in args


def test_the_schema_rejects_a_broken_deployment(flink_deployment_schema):
    (deployment,) = _documents("flink-deployment.yaml")
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["job"]["upgradeMode"] = "whenever"
    with pytest.raises(jsonschema.ValidationError):
        _validate(flink_deployment_schema, broken, newer_flink=True)
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["job"]["parallelism"] = "two"
    with pytest.raises(jsonschema.ValidationError):
        _validate(flink_deployment_schema, broken, newer_flink=True)
    with pytest.raises(jsonschema.ValidationError):  # v2_2 is not in the 1.10.0 enum itself
        _validate(flink_deployment_schema, deployment)
