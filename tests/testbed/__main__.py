"""testbed up|down|status|env — the project's real services on loopback."""

import argparse
import shlex
import sys

from . import core, state


def main(argv=None):
    parser = argparse.ArgumentParser(prog="testbed", description=__doc__)
    parser.add_argument("command", choices=("up", "down", "status", "env", "install", "enclave"))
    parser.add_argument("action", nargs="?", choices=("up", "down", "status", "env"),
                        help="for `enclave`: the sealed enclave's up, down, status or env")
    parser.add_argument("--dir", default=None, help="state directory (default: $AIRLOCK_TESTBED_DIR "
                        "or <tmp>/airlock-testbed-<uid>; for `enclave`, $AIRLOCK_ENCLAVE_DIR or "
                        "<tmp>/airlock-enclave-<uid>)")
    args = parser.parse_args(argv)
    if args.command == "enclave":
        return _enclave(args.action or "status", args.dir)
    state_dir = args.dir or state.default_dir()

    if args.command == "install":
        from . import install  # pylint: disable=import-outside-toplevel
        for name, path in sorted(install.ensure_all(log).items()):
            print(f"{name}: {path}")
        return 0
    if args.command == "up":
        try:
            current, reused = core.up(state_dir, log)
        except core.TestbedBusy as error:
            log(f"testbed: {error}")
            return 2
        log(f"testbed: {'reusing the running testbed' if reused else 'up'} in {state_dir}")
        _print_env(core.environment(current))
        return 0
    if args.command == "down":
        stopped = core.down(state_dir)
        log(f"testbed: down; stopped {len(stopped)} process(es)")
        return 0
    if args.command == "status":
        for name, text in core.status(state_dir).items():
            print(f"{name}: {text}")
        return 0
    current = state.load(state_dir)
    if not current["services"]:
        log(f"testbed: nothing is running from {state_dir}; run `testbed up`")
        return 1
    _print_env(core.environment(current))
    return 0


def _enclave(action, state_dir):
    from . import enclave  # pylint: disable=import-outside-toplevel
    state_dir = state_dir or enclave.default_dir()
    if action == "up":
        current = enclave.up(state_dir, log)
        log(f"enclave: up in {state_dir} ({current.get('seconds_to_start', 0)} s to start)")
        _print_env(enclave.environment(current))
        return 0
    if action == "down":
        stopped = enclave.down(state_dir)
        log(f"enclave: down; stopped {len(stopped)} process(es), namespaces deleted")
        return 0
    if action == "status":
        for name, text in enclave.status(state_dir).items():
            print(f"{name}: {text}")
        return 0
    current = enclave.load(state_dir)
    if not current:
        log(f"enclave: nothing is running from {state_dir}; run `testbed enclave up`")
        return 1
    _print_env(enclave.environment(current))
    return 0


def log(message):
    print(message, file=sys.stderr)


def _print_env(env):
    for key, value in sorted(env.items()):
        print(f"export {key}={shlex.quote(value)}")


if __name__ == "__main__":
    sys.exit(main())
