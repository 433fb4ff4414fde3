"""testbed up|down|status|env — the project's real services on loopback."""

import argparse
import shlex
import sys

from . import core, state


def main(argv=None):
    parser = argparse.ArgumentParser(prog="testbed", description=__doc__)
    parser.add_argument("command", choices=("up", "down", "status", "env", "install"))
    parser.add_argument("--dir", default=None, help="state directory (default: $AIRLOCK_TESTBED_DIR "
                        "or <tmp>/airlock-testbed-<uid>)")
    args = parser.parse_args(argv)
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


def log(message):
    print(message, file=sys.stderr)


def _print_env(env):
    for key, value in sorted(env.items()):
        print(f"export {key}={shlex.quote(value)}")


if __name__ == "__main__":
    sys.exit(main())
