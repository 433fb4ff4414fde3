"""The retry policy of the one HTTP transport: every request bounded in attempts and in seconds, waits as the evidence says."""

import types

import pytest

from ansible_collections.airlock.airgap.plugins.module_utils.errors import InvalidInput
from ansible_collections.airlock.airgap.plugins.module_utils.http import transport


def test_waits_grow_to_their_cap_and_a_retry_after_is_taken_as_given():
    policy = transport.RetryPolicy()
    storm = [policy.wait(n, in_storm=True) for n in range(30)]
    outage = [policy.wait(n) for n in range(30)]
    assert storm[0] < 0.05 and max(storm) <= policy.storm.longest
    assert outage[0] >= 0.25 and max(outage) <= policy.outage.longest
    assert sum(outage[:4]) >= 3.75, "retries of an outage ride out a short restart"
    assert policy.wait(0, retry_after=12.0) == 12.0


def test_every_request_is_bounded_in_attempts_and_seconds():
    policy = transport.RetryPolicy(attempts=5)
    assert policy.most_attempts == 20 and policy.budget == 150 and policy.resumes == 5


@pytest.mark.parametrize("status, code, detail, text", [
    (503, None, "", "503"),
    (400, "DIGEST_INVALID", "digest did not match ", "400 DIGEST_INVALID (digest did not match)"),
    (500, None, "boom", "500 (boom)"),
])
def test_an_error_answer_reads_in_a_few_words(status, code, detail, text):
    assert transport.answer_text(status, code, detail) == text


class Clock:
    """A transport stand-in whose sleeps only add up (no request is ever answered unless told)."""

    def __init__(self, retry):
        self.retry = retry
        self.answers = 0
        self.waited = []

    def sleep(self, seconds):
        self.waited.append(seconds)


def exhaust(retries, failure, answered_meanwhile=False):
    """Attempts until the policy gives up on the same failure: (attempts, the error raised)."""
    for attempt in range(1, 1000):
        if answered_meanwhile:
            retries.transport.answers += 1
        try:
            retries.after(failure)
        except transport.Unavailable as error:
            return attempt, error
    raise AssertionError("the retries never ended")


@pytest.mark.parametrize("attempts", [1, 3, 5])
def test_an_outage_ends_after_the_attempts_the_option_allows_and_says_so(attempts):
    clock = Clock(transport.RetryPolicy(attempts=attempts, option="retries"))
    tried, error = exhaust(transport.Retries(clock), transport.Unavailable("r did not answer for x"))
    assert tried == attempts
    assert f"{tried} attempts over" in str(error) and f"raise retries (now {attempts})" in str(error)
    assert sum(clock.waited) <= clock.retry.budget


@pytest.mark.parametrize("status", [429, 503])
def test_come_back_later_is_retried_up_to_the_storm_bound_and_within_the_time_budget(status):
    clock = Clock(transport.RetryPolicy(attempts=2))
    tried, error = exhaust(transport.Retries(clock), transport.Unavailable("busy", status=status))
    assert tried == clock.retry.most_attempts == 8 and error.status == status
    assert sum(clock.waited) <= clock.retry.budget


def test_a_storm_while_other_requests_are_answered_is_bounded_by_the_storm_factor():
    clock = Clock(transport.RetryPolicy(attempts=3))
    tried, _error = exhaust(transport.Retries(clock), transport.Unavailable("500", status=500), answered_meanwhile=True)
    assert tried == 12 and max(clock.waited) <= clock.retry.storm.longest


def test_a_retry_after_beyond_the_budget_ends_the_retries_at_once():
    clock = Clock(transport.RetryPolicy(attempts=1))
    tried, _error = exhaust(transport.Retries(clock), transport.Unavailable("busy", status=429, retry_after=3600.0))
    assert tried == 1 and clock.waited == []


def test_a_retry_after_within_the_budget_is_waited_as_asked():
    clock = Clock(transport.RetryPolicy())
    transport.Retries(clock).after(transport.Unavailable("busy", status=503, retry_after=7.0))
    assert clock.waited == [7.0]


@pytest.mark.parametrize("header, seconds", [("12", 12.0), ("", None), ("soon", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)])
def test_retry_after_reads_seconds_or_a_date_in_the_past_as_now(header, seconds):
    assert transport.retry_after(types.SimpleNamespace(headers={"Retry-After": header})) == seconds


@pytest.mark.parametrize("params, problem", [({"retries": 0, "timeout": 300}, "retries must be at least 1, not 0"),
                                             ({"retries": 5, "timeout": 0}, "timeout must be at least 1 and at most 86400, not 0"),
                                             ({"retries": 5, "timeout": 86401}, "timeout must be at least 1 and at most 86400")])
def test_options_out_of_range_are_refused_by_name(params, problem):
    with pytest.raises(InvalidInput, match=problem):
        transport.policy_from(params)


def test_the_options_set_the_policy_that_names_them():
    policy = transport.policy_from({"retries": 7, "timeout": 30})
    assert policy.attempts == 7 and policy.option == "retries"
