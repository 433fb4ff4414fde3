#!/usr/bin/env bash
# tests/examples/run.sh NAME [ansible-playbook args]: one vendor flow of examples/NAME end to end, as make demo runs the
# embedding server: its stand-in world (tests/examples/world.yml with tests/examples/NAME/world.yml: the vendor's images on
# the testbed's "public" registry; tests/examples/NAME/model_sources.json: its NGC and Hub, as loopback stand-ins) -> prepare
# (connected side) -> volumes carried to another folder -> enclave, sealed (receive and publish into the sealed enclave's
# registry and S3, preload its nodes over SSH, deploy, validate with the egress witness counting) -> the checks
# (tests/examples/check.yml: the vendor's files fail the audit, each model consumer finds its models where it reads them;
# the workloads start from the mirror on the nodes and validate finds each health URL answering, the witness at 0).
# Last, the run's figures as one `summary` line (tests/examples/summary.py; also $work/summary.json and summaries.jsonl).
# The workloads keep running, as a site's would: `PYTHONPATH=tests .venv/bin/python -m standins.workloads down --work $work/workloads`.
# The example is copied to a site folder once, as a site keeps it: deploy writes the Compose override and .env beside the
# project. One line per phase, with every host's recap; a second run changes nothing on any host.
# AIRLOCK_PHASES names the phases to run (default: world prepare enclave check); the tests' second run is the
# collection's own playbooks alone: AIRLOCK_PHASES="prepare enclave".
set -euo pipefail
cd "$(dirname "$0")/../.."
name=$1; shift
eval "$(tests/testbed/testbed up)"
eval "$(tests/testbed/testbed enclave up)"
work="${AIRLOCK_EXAMPLE_DIR:-/tmp/airlock-example-$name}"
site="$work/site"
export ANSIBLE_CONFIG="${ANSIBLE_CONFIG:-$PWD/tests/ansible.cfg}"  # the tests' settings (tests/ansible.cfg)
export ANSIBLE_COLLECTIONS_PATH="$PWD/.cache/collections" ANSIBLE_STDOUT_CALLBACK=default ANSIBLE_LOCALHOST_WARNING=false \
  ANSIBLE_PYTHON_INTERPRETER="$PWD/.venv/bin/python" PATH="$(dirname "$AIRLOCK_HELM"):$PATH"
# The manifest's registry and S3 are the sealed enclave's, and so are their secrets.
export AIRLOCK_PRIVATE_REGISTRY_USER="$AIRLOCK_ENCLAVE_REGISTRY_USER" AIRLOCK_PRIVATE_REGISTRY_PASSWORD="$AIRLOCK_ENCLAVE_REGISTRY_PASSWORD" \
  AIRLOCK_S3_ACCESS_KEY="$AIRLOCK_ENCLAVE_S3_ACCESS_KEY" AIRLOCK_S3_SECRET_KEY="$AIRLOCK_ENCLAVE_S3_SECRET_KEY"
[ -d "$site" ] || { mkdir -p "$work" && cp -r "examples/$name" "$site"; }  # the site keeps its copy, and its .env, between runs
common=(-e "airlock_manifest_file=$site/airlock.yml" -e "demo_work_dir=$work"
        -e "demo_public_registry=$AIRLOCK_PUBLIC_REGISTRY" -e "demo_private_registry=$AIRLOCK_ENCLAVE_REGISTRY"
        -e "demo_private_ca=$AIRLOCK_ENCLAVE_REGISTRY_CA" -e "demo_s3_endpoint=$AIRLOCK_ENCLAVE_S3_ENDPOINT")

phases=" ${AIRLOCK_PHASES:-world prepare enclave check} "
phase() {  # phase NAME INVENTORY PLAYBOOK ARGS...: one ansible-playbook run, its time and its recaps (every host) on one line
  local phase=$1 inventory=$2 started; shift 2
  [[ $phases == *" $phase "* ]] || return 0
  started=$(date +%s%N)
  .venv/bin/ansible-playbook -i "$inventory" "$@" "${common[@]}" | tee "$work/$phase.log"
  printf 'phase %-9s %6d ms  %s\n' "$phase" "$(( ($(date +%s%N) - started) / 1000000 ))" \
    "$(sed -n '/PLAY RECAP/,$p' "$work/$phase.log" | grep -E '^[a-z0-9]+ +:' | tr -s ' ' | sed 's/ : /: /' | paste -sd'|')" \
    | tee -a "$work/phases.txt"
}

: > "$work/phases.txt"
rm -f "$work"/{world,prepare,enclave,check}.log  # only this run's phases leave a log (summary.py reads the check's)
sources_pid=""
trap '[ -z "$sources_pid" ] || kill "$sources_pid"' EXIT
if [ -f "tests/examples/$name/model_sources.json" ]; then  # the vendor's NGC and Hub, as loopback stand-ins, for the prepare phase
  rm -f "$work/model-sources.env"
  .venv/bin/python tests/examples/model_sources.py "tests/examples/$name/model_sources.json" "$work/model-sources.env" &
  sources_pid=$!
  for _ in $(seq 300); do [ -s "$work/model-sources.env" ] && break; sleep 0.1; done
  # shellcheck disable=SC1091
  . "$work/model-sources.env"
  export HF_ENDPOINT=$DEMO_HF_ENDPOINT HF_HUB_DISABLE_XET=1  # the Hub client of the prepare phase reads them
  common+=(-e "airlock_ngc_endpoint=$DEMO_NGC_ENDPOINT" -e "airlock_ngc_api_key=$DEMO_NGC_API_KEY")
fi
phase world tests/demo/inventory.yml tests/examples/world.yml -e "@tests/examples/$name/world.yml" "$@"
phase prepare tests/demo/inventory.yml playbooks/prepare.yml -e "airlock_bundle_dir=$work/connected/bundle" \
  -e "airlock_volumes_dir=$work/connected/volumes" "$@"
[ -z "$sources_pid" ] || { kill "$sources_pid"; wait "$sources_pid" || true; sources_pid=""; }  # the enclave side cannot reach them anyway
mkdir -p "$work/usb" && cp -u "$work"/connected/volumes/* "$work/usb/"  # the carry: another disk
# Sealed: the controller is the jump host, the nodes are reached over SSH (grouped by runtime by tests/examples/runtimes.yml;
# the playbook preloads the manifest's enclave.nodes), and the witness counts from this run's enclave side on, through
# the check phase, where the workloads start from the mirror and answer.
since=$(date +%s)
sealed=("$AIRLOCK_ENCLAVE_INVENTORY" -i tests/examples/runtimes.yml)
common+=(-e "airlock_bundle_dir=$work/enclave/bundle" -e "airlock_output_dir=$work/enclave/out"
         -e "validate_witness_url=$AIRLOCK_ENCLAVE_WITNESS_URL" -e "validate_witness_since=$since")
# The testbed's three nodes are preloaded at once (the play's default preloads a quarter of them at a time).
phase enclave "${sealed[@]}" playbooks/enclave.yml -e "airlock_volumes_dir=$work/usb" -e "preload_namespace=airlock-example-$name" \
  -e airlock_preload_batch=100% "$@"
phase check "${sealed[@]}" tests/examples/check.yml "$@"
echo
cat "$work/phases.txt"
.venv/bin/python tests/examples/summary.py "$name" "$work" "$work/connected/bundle/airlock.lock.json" "$AIRLOCK_ENCLAVE_WITNESS_URL" \
  "$since" "$work/check.log"
