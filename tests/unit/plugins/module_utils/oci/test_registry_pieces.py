"""Cutting an upload stream into PATCH pieces without buffering it."""

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.oci import registry
from ansible_collections.airlock.airgap.plugins.module_utils.oci.errors import RegistryError

DATA = bytes(range(256)) * 40  # 10240 bytes


def chunked(data, size):
    return [data[i:i + size] for i in range(0, len(data), size)]


def consume(pieces):
    return [(length, b"".join(piece)) for length, piece in pieces]


@pytest.mark.parametrize("chunk", [1, 7, 1000, 4096, 20000])
@pytest.mark.parametrize("piece", [1024, 3000, 10240, 50000])
def test_pieces_reassemble_the_stream_at_exact_boundaries(chunk, piece):
    got = consume(registry._pieces(chunked(DATA, chunk), piece, len(DATA)))  # pylint: disable=protected-access
    assert b"".join(body for _length, body in got) == DATA
    assert all(len(body) == length for length, body in got)
    assert [length for length, _body in got][:-1] == [piece] * (len(got) - 1)


def test_pieces_without_a_size_gather_each_piece():
    got = consume(registry._pieces(chunked(DATA, 333), 4096))  # pylint: disable=protected-access
    assert [length for length, _body in got] == [4096, 4096, 2048]


def test_a_short_stream_is_an_error():
    with pytest.raises(RegistryError, match="short"):
        consume(registry._pieces(chunked(DATA[:-1], 500), 4096, len(DATA)))  # pylint: disable=protected-access


def test_a_long_stream_is_an_error():
    with pytest.raises(RegistryError, match="longer"):
        consume(registry._pieces(chunked(DATA + b"x", 500), 4096, len(DATA)))  # pylint: disable=protected-access


def test_the_stream_is_read_to_its_end_so_a_verifier_can_check():
    finished = []

    def verifying():
        yield from chunked(DATA, 1000)
        finished.append(True)

    consume(registry._pieces(verifying(), 4096, len(DATA)))  # pylint: disable=protected-access
    assert finished == [True]


def test_tag_pages_follow_the_link_header():
    # pylint: disable=protected-access
    assert registry._next_page('</v2/app/tags/list?n=2&last=b>; rel="next"') == "/v2/app/tags/list?n=2&last=b"
    assert registry._next_page('<https://r.example/v2/a/tags/list?last=x>; rel="next", <https://r.example/x>; rel="prev"') == \
        "https://r.example/v2/a/tags/list?last=x"
    assert registry._next_page("") is None
    assert registry._next_page('</v2/app/tags/list>; rel="prev"') is None


@pytest.mark.parametrize("header, held", [("0-65535", 65536), ("0-0", 0), ("", 0), (None, 0), ("bytes=0-9", 10)])
def test_an_upload_session_holds_the_bytes_its_range_names(header, held):
    assert registry._upload_length(header) == held  # pylint: disable=protected-access


def test_a_piece_is_sent_again_from_any_offset_and_the_stream_is_read_once():
    reads = []

    def stream():
        for block in chunked(DATA, 1000):
            reads.append(len(block))
            yield block

    piece = registry._Replayable(stream(), len(DATA))  # pylint: disable=protected-access
    first = piece.stream(0)
    assert len(first) == len(DATA)
    sent = b"".join(block for block, _n in zip(first, range(3)))  # an attempt cut after three blocks
    assert sent == DATA[:3000]
    for skip in (0, 1500, 3000, 7777, len(DATA)):
        again = piece.stream(skip)
        assert len(again) == len(DATA) - skip and b"".join(again) == DATA[skip:]
    assert sum(reads) == len(DATA)
