#!/usr/bin/env bash
# tests/examples/run.sh NAME [ansible-playbook args]: one vendor flow of examples/NAME end to end on the testbed, as make demo
# runs the embedding server: its stand-in world (tests/examples/world.yml with tests/examples/NAME/world.yml: the vendor's images on the "public" registry,
# its model sources) -> prepare (connected side) -> volumes carried to another folder -> enclave (receive, publish, preload,
# deploy, validate) -> the example's own checks (tests/examples/NAME/check.yml). The example is copied to a site folder
# first, as a site would keep it: deploy writes the Compose override and .env beside the project. One line per phase;
# a second run changes nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
name=$1; shift
eval "$(tests/testbed/testbed up)"
work="${AIRLOCK_EXAMPLE_DIR:-/tmp/airlock-example-$name}"
site="$work/site"
export ANSIBLE_COLLECTIONS_PATH="$PWD/.cache/collections" ANSIBLE_STDOUT_CALLBACK=default ANSIBLE_LOCALHOST_WARNING=false \
  ANSIBLE_PYTHON_INTERPRETER="$PWD/.venv/bin/python" PATH="$(dirname "$AIRLOCK_HELM"):$PATH"
[ -d "$site" ] || { mkdir -p "$work" && cp -r "examples/$name" "$site"; }  # the site keeps its copy, and its .env, between runs
runtime_socket=$AIRLOCK_CONTAINERD_SOCKET
grep -Eq '^ +runtime: docker' "$site/airlock.yml" && runtime_socket=${AIRLOCK_DOCKER_HOST#unix://}
common=(-e "airlock_manifest_file=$site/airlock.yml" -e "demo_work_dir=$work" -e "demo_example_dir=$PWD/tests/examples/$name"
        -e "demo_public_registry=$AIRLOCK_PUBLIC_REGISTRY" -e "demo_private_registry=$AIRLOCK_PRIVATE_REGISTRY"
        -e "demo_private_ca=$AIRLOCK_PRIVATE_REGISTRY_CA" -e "demo_s3_endpoint=$AIRLOCK_S3_ENDPOINT")

phase() {  # phase NAME PLAYBOOK ARGS...: one ansible-playbook run, its time and its recap on one line
  local phase=$1 started; shift
  started=$(date +%s%N)
  .venv/bin/ansible-playbook -i tests/demo/inventory.yml "$@" "${common[@]}" | tee "$work/$phase.log"
  printf 'phase %-9s %6d ms  %s\n' "$phase" "$(( ($(date +%s%N) - started) / 1000000 ))" \
    "$(grep -E '^localhost +:' "$work/$phase.log" | tr -s ' ' | cut -d: -f2-)" | tee -a "$work/phases.txt"
}

: > "$work/phases.txt"
sources_pid=""
trap '[ -z "$sources_pid" ] || kill "$sources_pid"' EXIT
if [ -f "tests/examples/$name/model_sources.json" ]; then  # the vendor's NGC and Hub, as loopback stand-ins, for the prepare phase
  .venv/bin/python tests/examples/model_sources.py "tests/examples/$name/model_sources.json" "$work/model-sources.env" &
  sources_pid=$!
  for _ in $(seq 100); do [ -s "$work/model-sources.env" ] && break; sleep 0.1; done
  # shellcheck disable=SC1091
  . "$work/model-sources.env"
  export HF_ENDPOINT=$DEMO_HF_ENDPOINT HF_HUB_DISABLE_XET=1  # the Hub client of the prepare phase reads them
  common+=(-e "airlock_ngc_endpoint=$DEMO_NGC_ENDPOINT" -e "airlock_ngc_api_key=$DEMO_NGC_API_KEY")
fi
phase world tests/examples/world.yml -e "@tests/examples/$name/world.yml" "$@"
phase prepare playbooks/prepare.yml -e "airlock_bundle_dir=$work/connected/bundle" -e "airlock_volumes_dir=$work/connected/volumes" "$@"
[ -z "$sources_pid" ] || { kill "$sources_pid"; sources_pid=""; }  # nothing in the enclave may reach them
mkdir -p "$work/usb" && cp -u "$work"/connected/volumes/* "$work/usb/"  # the carry: another disk
phase enclave playbooks/enclave.yml -e "airlock_volumes_dir=$work/usb" -e "airlock_bundle_dir=$work/enclave/bundle" \
  -e "airlock_output_dir=$work/enclave/out" -e "preload_socket=$runtime_socket" -e "preload_namespace=airlock-example-$name" "$@"
[ ! -f "tests/examples/$name/check.yml" ] || phase check "tests/examples/$name/check.yml" -e "airlock_bundle_dir=$work/enclave/bundle" \
  -e "airlock_output_dir=$work/enclave/out" "$@"
echo
cat "$work/phases.txt"
