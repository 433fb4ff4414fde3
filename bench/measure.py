"""Timing helpers every benchmark here shares: one way to time a run and take a median."""

import statistics
import time


def timed(action):
    """Seconds action() took."""
    started = time.monotonic()
    action()
    return time.monotonic() - started


def median_of(runs, measure):
    """(median, samples) of runs calls of measure(), which returns seconds."""
    samples = [measure() for _run in range(runs)]
    return statistics.median(samples), samples
