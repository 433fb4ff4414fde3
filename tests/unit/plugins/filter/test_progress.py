"""The progress_line filter reads a progress file's JSON as the roles poll it: a lower bound while items are unsized.

It lives with the controller's tests: ansible-test units runs module_utils tests where the controller (ansible.errors,
which the filter imports) is not importable."""

from ansible_collections.airlock.airgap.plugins.filter import progress as progress_filter

WRITTEN = {"files_done": 2, "files_total": 2, "bytes_done": 1000, "bytes_total": 1000, "unsized": 0, "items": 2,
           "seconds": 1.5, "bytes_per_second": 666}


def test_a_file_with_unsized_items_reads_as_a_lower_bound_and_a_finished_one_as_done():
    assert progress_filter.progress_line(dict(WRITTEN, unsized=1), "images").startswith("images: 1.0 of at least 1.0 kB")
    assert progress_filter.progress_line(WRITTEN, "images", finished=True).startswith("images: 1.0 of 1.0 kB in ")
