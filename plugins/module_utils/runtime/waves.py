# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How one containerd import is split into streams that run side by side.

`ctr images import` stores the blobs, then unpacks image after image, layer after layer: one
gunzip at a time. Splitting the work uses the node's cores: first the missing blobs are shared
between parallel streams (by size, each blob in one stream only), then the images are unpacked
by parallel streams too. Images that share layers share their unpacking, so it is ordered in
waves: first one image of each distinct base layer (bases unpacked once), then the others, kept
together with the images they share their deepest layers with, so no layer is unpacked twice
unless two families of images split below what the first wave unpacked.
"""

from __future__ import annotations

from ansible_collections.airlock.airgap.plugins.module_utils.runtime.images import chain_ids


def bin_pack(items, count, size):
    """items spread over at most count bins, biggest first, each into the lightest bin; empty bins dropped."""
    bins = [[] for _bin in range(max(1, count))]
    loads = [0] * len(bins)
    for item in sorted(items, key=size, reverse=True):
        lightest = loads.index(min(loads))
        bins[lightest].append(item)
        loads[lightest] += size(item)
    return [kept for kept in bins if kept]


def blob_shares(images, have, count):
    """For each of up to count content streams, the digests it leaves out: what the node has and what other streams carry."""
    missing = {}
    for image in images:
        for descriptor in image.content:
            if descriptor["digest"] not in have:
                missing[descriptor["digest"]] = descriptor["size"]
    shares = bin_pack(list(missing), count, missing.get)
    return [set(have) | (set(missing) - set(share)) for share in shares]


def unpack_waves(images, count):
    """[wave, ...], each a list of up to count groups of images to unpack side by side, waves one after the other."""
    chains = [chain_ids(image.diff_ids) for image in images]
    first_of_base, rest = {}, []
    for image, chain in zip(images, chains):
        base = chain[0] if chain else image.digest
        if base in first_of_base:
            rest.append((image, chain))
        else:
            first_of_base[base] = image
    first_wave = list(first_of_base.values())
    families = {}
    for image, chain in rest:
        families.setdefault(_deepest_shared_chain(image.digest, chain, chains), []).append(image)
    size = _size
    waves = [bin_pack(first_wave, count, size)]
    if families:
        waves.append([[image for family in group for image in family]
                      for group in bin_pack(list(families.values()), count, lambda family: sum(map(size, family)))])
    return waves


def _deepest_shared_chain(digest, own, chains):
    """The chain ID of the deepest layer stack an image (digest, its chain IDs) shares with another (its digest when none)."""
    depth = 0
    for other in chains:
        if other is not own:
            depth = max(depth, sum(1 for mine, theirs in zip(own, other) if mine == theirs))
    return own[depth - 1] if depth else digest


def _size(image):
    return sum(descriptor["size"] for descriptor in image.content)
