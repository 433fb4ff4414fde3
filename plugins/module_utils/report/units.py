# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sizes, rates and durations as people read them, shared by the progress lines and the transfer report."""

from __future__ import annotations

UNITS = (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3))


def unit_for(count):
    """The decimal unit a size reads best in: (name, bytes per unit); bytes below 1 kB."""
    for name, size in UNITS:
        if count >= size:
            return name, size
    return "bytes", 1


def size(count):
    """1234567 -> '1.2 MB' (decimal units, as disks and networks are sold)."""
    name, unit = unit_for(count)
    return f"{count} bytes" if unit == 1 else f"{count / unit:.1f} {name}"


def duration(seconds):
    """A rough span: '40 s', '5 min', '2 h 10 min'."""
    seconds = max(0, int(round(seconds)))
    if seconds < 90:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def progress_line(label, done, total, per_second, seconds=0, finished=False):  # pylint: disable=too-many-arguments
    """'images: 12.4 of 40.1 GB, 85 MB/s, about 5 min left' while a step runs, '... in 8 min, 85 MB/s' when it has
    ended: both sizes in the unit of the total."""
    amounts = _amounts(done, total)
    rate = f"{size(per_second)}/s" if per_second else ""
    if finished:
        return f"{label}: {amounts} in {duration(seconds)}" + (f", {rate}" if rate else "")
    if not per_second:
        return f"{label}: {amounts}"
    if done >= total:
        return f"{label}: {amounts}, {rate}, finishing"
    return f"{label}: {amounts}, {rate}, about {duration((total - done) / per_second)} left"


def growing_line(label, done, total, per_second, unsized, items=0):  # pylint: disable=too-many-arguments
    """'images: 1.2 of at least 4.1 GB, 85.0 MB/s, 3 images not sized yet' while a step still learns its size, and,
    once some of its items are sized, the time left if the others average the same, said as such."""
    rate = f", {size(per_second)}/s" if per_second else ""
    line = f"{label}: {_amounts(done, total, 'at least ')}{rate}, {unsized} {label} not sized yet"
    sized = items - unsized
    if sized <= 0 or not per_second:
        return line
    guessed_total = total + unsized * total / sized
    return f"{line}, about {duration((guessed_total - done) / per_second)} left if they average the {sized} sized"


def _amounts(done, total, bound=""):
    """'12.4 of 40.1 GB': both sizes in the unit of the total."""
    name, unit = unit_for(total)
    return f"{done} of {bound}{total} bytes" if unit == 1 else f"{done / unit:.1f} of {bound}{total / unit:.1f} {name}"
