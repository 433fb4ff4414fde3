"""One run of a vendor flow in figures, measured: what crossed, what changed, what the witness saw, what answered.

tests/examples/run.sh and tests/demo.sh call it after their last phase:

    python tests/examples/summary.py NAME WORK_DIR LOCK WITNESS_URL SINCE CHECK_LOG

It reads the phase lines of WORK_DIR/phases.txt (time and every host's recap), the bundle's lock
(LOCK: images, charts, models and files moved), the egress witness's events since SINCE, and the
validate role's summary in CHECK_LOG (health URLs answered; null when this run had no check phase), then writes WORK_DIR/summary.json,
appends it to WORK_DIR/summaries.jsonl (one line per run) and prints it as one `summary` line.
"""

import json
import os
import re
import sys
import urllib.request

PHASE_LINE = re.compile(r"^phase (\w+) +(\d+) ms +(.*)$")
HEALTH = re.compile(r"(\d+)/(\d+) health URLs answered")


def phases(work_dir):
    """{phase: {"seconds", "changed"}} from the phase lines (changed summed over every host's recap)."""
    found = {}
    with open(os.path.join(work_dir, "phases.txt"), encoding="utf-8") as handle:
        for line in handle:
            matched = PHASE_LINE.match(line.strip())
            if matched:
                name, milliseconds, recaps = matched.groups()
                found[name] = {"seconds": round(int(milliseconds) / 1000, 1),
                               "changed": sum(int(count) for count in re.findall(r"changed=(\d+)", recaps))}
    return found


def moved(lock_file):
    with open(lock_file, encoding="utf-8") as handle:
        lock = json.load(handle)
    return {kind: len(lock.get(kind) or []) for kind in ("images", "charts", "models", "files")}


def witness_count(url, since):
    with urllib.request.urlopen(f"{url}?since={since}", timeout=10) as response:  # noqa: S310 (the enclave's own witness)
        return json.load(response)["count"]


def health_answered(check_log):
    if not os.path.exists(check_log):
        return None
    with open(check_log, encoding="utf-8") as handle:
        found = HEALTH.findall(handle.read())
    answered, checked = found[-1] if found else ("0", "0")
    return {"answered": int(answered), "checked": int(checked)}


def main(name, work_dir, lock_file, witness_url, since, check_log):
    timed = phases(work_dir)
    summary = {"example": name, "moved": moved(lock_file), "changed": sum(phase["changed"] for phase in timed.values()),
               "witness": witness_count(witness_url, since), "health": health_answered(check_log),
               "seconds": {phase: figures["seconds"] for phase, figures in timed.items()}}
    with open(os.path.join(work_dir, "summary.json"), "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=1)
    with open(os.path.join(work_dir, "summaries.jsonl"), "a", encoding="utf-8") as handle:
        handle.write(json.dumps(summary, sort_keys=True) + "\n")
    print("summary " + json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    main(*sys.argv[1:7])
