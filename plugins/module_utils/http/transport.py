# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one HTTP layer every client of the collection sends through, and the only one that retries.

Like go-containerregistry's retry transport, a request that fails in a way another attempt may cure
(no answer, a timeout, 408, 429, 5xx) is sent again after a backoff, honouring Retry-After within the
time budget. A 401 calls the client's authenticate hook (the token exchange, sent through here
without a retry of its own) and the request is sent again: exchange and re-send count against the
request's one budget, so no layer multiplies another's attempts. A download cut midway resumes with
Range where it stopped; the caller checks the digest over every byte, resumed or not. Every retry is
bounded in count and in time (RetryPolicy). S3 traffic stays with botocore, configured from the same
`retries` and `timeout`; the Hugging Face client keeps its own (see models/hub.py).
"""

from __future__ import annotations

import dataclasses
import email.utils
import random
import time
import traceback

from ansible_collections.airlock.airgap.plugins.module_utils.errors import AirlockError, InvalidInput

try:
    import requests
    REQUESTS_IMPORT_ERROR = None
except ImportError:
    requests = None
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

# Small enough that a connection cut midway loses little (the bytes of a read cut short are
# discarded by urllib3); large enough that Python's per-chunk cost stays negligible.
CHUNK = 64 * 1024
RETRYABLE_STATUS = (408, 429, 500, 502, 503, 504)
# The server saying "come back later": it is up, so these are no sign of an outage.
BUSY_STATUS = (429, 503)
CONNECT_TIMEOUT = 10
# The `retries` and `timeout` options of every module that talks over the network, as the
# airlock.airgap.network doc fragment documents them.
ARGUMENT_SPEC = dict(
    retries=dict(type="int", default=5),
    timeout=dict(type="int", default=300),
)
# (lowest, highest or None) of each; a read timeout past a day is a typo, and far longer ones overflow the socket clock.
OPTION_RANGES = {"retries": (1, None), "timeout": (1, 86400)}


class HttpError(AirlockError):
    """A request that got no usable answer; status and code say what the server answered, if anything."""

    def __init__(self, message, status=None, code=None):
        super().__init__(message)
        self.status = status
        self.code = code


class Unavailable(HttpError):
    """No answer, or an answer that the server cannot now (408, 429, 5xx): worth another attempt."""

    def __init__(self, message, status=None, code=None, retry_after=None):
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


@dataclasses.dataclass(frozen=True)
class Backoff:
    """Waits that start at `first` and grow by `growth` per attempt, with jitter, up to `longest`."""

    first: float
    growth: float
    longest: float

    def wait(self, attempt):
        return min(self.first * (self.growth ** attempt) * (1 + random.random() / 4), self.longest)


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How hard one request tries before its failure is reported.

    `attempts` bounds the failures that suggest the server is down: those while it answered no other
    request, unless it answered "come back later" (429, 503). A request that fails while the server
    keeps answering others is in a storm, not an outage: it goes on trying, up to `storm_factor` times
    as many attempts and `seconds_per_attempt` seconds per attempt from its first failure. So a dead
    server fails as soon as ever, and a storm failing 30% of the requests almost never exhausts one.
    A download cut midway resumes `attempts` times. `option` names the module option that sets
    `attempts`, for the error to advise raising (None: the caller has none).

    The waits follow the same evidence: after a failure that suggests an outage, `outage` backs off
    hard, which rides out a short restart; after any other, `storm` retries soon and grows gently, since
    the next attempt will most likely be answered and a copy waits for its slowest request (a server
    answering nothing but "come back later" is asked 20 times in about 20 s by default). A Retry-After
    is honoured while it fits in the time budget; one that does not ends the retries at once.
    """

    attempts: int = 5
    outage: Backoff = Backoff(first=0.25, growth=2, longest=30)
    storm: Backoff = Backoff(first=0.02, growth=1.5, longest=2)
    storm_factor: int = 4
    seconds_per_attempt: float = 30.0
    option: str | None = None

    @property
    def most_attempts(self):
        return self.attempts * self.storm_factor

    @property
    def resumes(self):
        """How many times one download continues after its connection was cut."""
        return self.attempts

    @property
    def budget(self):
        """Seconds one request may spend retrying, counted from its first failure."""
        return self.attempts * self.seconds_per_attempt

    def wait(self, attempt, retry_after=None, in_storm=False):
        if retry_after is not None:
            return retry_after
        return (self.storm if in_storm else self.outage).wait(attempt)


def option_problems(params, ranges=None):
    """Why the `retries` or `timeout` option (or each of ranges: {option: (lowest, highest or None)}) cannot be used,
    one sentence each naming the option."""
    for name, (lowest, highest) in (ranges or OPTION_RANGES).items():
        value = params[name]
        if value < lowest or (highest is not None and value > highest):
            bounds = f"at least {lowest}" + (f" and at most {highest}" if highest is not None else "")
            yield f"{name} must be {bounds}, not {value}"


def checked(params):
    """(retries, timeout) of a module's options; InvalidInput when one is out of range. For clients with HTTP of their own (pip)."""
    problems = list(option_problems(params))
    if problems:
        raise InvalidInput("; ".join(problems))
    return params["retries"], params["timeout"]


def policy_from(params):
    """The RetryPolicy the `retries` option sets, whose errors advise raising it; InvalidInput when an option is out of range."""
    return RetryPolicy(attempts=checked(params)[0], option="retries")


class Retries:
    """One request's retries: its attempts, the failures that suggest an outage, and its time budget.

    A failure suggests an outage when the server answered no request of the transport from the start
    of the failed attempt to the end of the wait after it: the wait is part of the evidence, as one
    attempt alone is often too short to see another request answered.
    """

    def __init__(self, transport):
        self.transport = transport
        self.policy = transport.retry
        self.started = time.monotonic()
        self.first_failure = None
        self.attempts = 0
        self.outage_signs = 0
        self.outage_suspected = False
        self._answers_seen = transport.answers

    def after(self, failure):
        """Wait before the next attempt, or raise failure with the count and the fix when tried enough."""
        now = time.monotonic()
        self.first_failure = self.first_failure or now
        self.attempts += 1
        wait = self.policy.wait(self.attempts - 1, failure.retry_after, in_storm=not self.outage_suspected)
        if self.attempts >= self.policy.most_attempts or now + wait - self.first_failure > self.policy.budget:
            self._give_up(failure)
        self.transport.sleep(wait)
        self.outage_suspected = failure.status not in BUSY_STATUS and self.transport.answers == self._answers_seen
        self.outage_signs += self.outage_suspected
        if self.outage_signs >= self.policy.attempts:
            self._give_up(failure)
        self._answers_seen = self.transport.answers

    def _give_up(self, failure):
        advice = f": if the server is overloaded or restarting, raise {self.policy.option} (now {self.policy.attempts})" \
            if self.policy.option else ""
        raise Unavailable(f"{failure}; {self.attempts} attempts over {time.monotonic() - self.started:.1f} s{advice}",
                          status=failure.status, code=failure.code) from failure


class Transport:  # pylint: disable=too-many-instance-attributes
    """One session to one service (or a set of repositories), with its retry policy and timeouts.

    name says who answers in messages; tls_advice is the fix a TLS failure names; explain(response)
    gives (code, detail) of an error answer, for the service's own error format.
    """

    def __init__(self, name, retry=RetryPolicy(), timeout=300, verify=True, sleep=time.sleep,
                 tls_advice="give its CA certificate (ca_file)", explain=None):
        if requests is None:
            raise HttpError("the Python library 'requests' is required for HTTP(S) transfers")
        self.name = name
        self.retry = retry
        self.timeout = (CONNECT_TIMEOUT, timeout)
        # Passed on every request: requests lets REQUESTS_CA_BUNDLE override a session's verify.
        self.verify = verify
        self.sleep = sleep
        self.tls_advice = tls_advice
        self.explain = explain or _plain_explanation
        self.session = requests.Session()
        self.requests_sent = 0
        # Answers that were not a failure: a request failing while this grows is in a storm, not an outage.
        # Unlocked: a lost increment under a race still leaves it grown, which is all anyone asks of it.
        self.answers = 0

    def request(self, method, url, *, what, retry=True, **options):
        """Send until answered with a status that is no reason to try again; the answer is the caller's to judge.

        options: headers, body (bytes, or a callable giving a fresh body per attempt), params, stream,
        allow_redirects, auth, verify (this request's CA bundle or bool), sign (a callable giving
        (extra headers, auth) per attempt) and authenticate (called with a 401 answer; the request is
        then sent once more). retry=False makes one attempt.
        """
        retries = Retries(self) if retry else None
        while True:
            try:
                return self.attempt(method, url, what=what, **options)
            except Unavailable as failure:
                if retries is None:
                    raise
                retries.after(failure)

    def attempt(self, method, url, *, what, authenticate=None, **options):
        """One attempt, authenticating once on a 401; Unavailable when another attempt may succeed."""
        try:
            response = self._send(method, url, **options)
            if response.status_code == 401 and authenticate is not None:
                response.close()  # the challenge is in its headers, which stay readable
                authenticate(response)
                response = self._send(method, url, **options)
        except requests.exceptions.SSLError as error:
            raise HttpError(f"TLS verification of {_origin(url)} failed for {what}: {root_cause(error)}; {self.tls_advice}") from error
        except (requests.ConnectionError, requests.Timeout) as error:
            raise Unavailable(f"{self.name} did not answer for {what}: {root_cause(error)}") from error
        if response.status_code in RETRYABLE_STATUS:
            code, detail = self.explain(response)
            response.close()
            raise Unavailable(f"{self.name} answered {answer_text(response.status_code, code, detail)} for {what}",
                              status=response.status_code, code=code, retry_after=retry_after(response))
        self.answers += 1
        return response

    def _send(self, method, url, headers=None, body=None, params=None, stream=False, allow_redirects=True, sign=None, auth=None,
              verify=None):
        merged = dict(headers or {})
        if sign is not None:
            extra, auth = sign()
            merged.update(extra)
        self.requests_sent += 1
        return self.session.request(method, url, headers=merged, data=body() if callable(body) else body, params=params,
                                    stream=stream, timeout=self.timeout, verify=self.verify if verify is None else verify, auth=auth,
                                    allow_redirects=allow_redirects)

    def download(self, open_range, *, what, size=None, offset=0, restart=None):
        """Yield a body's bytes from offset; a connection cut midway resumes with Range where it stopped.

        open_range(headers) sends the GET with those extra headers and returns the judged answer
        (normally through request()). The answer to a resumed request must be 206; a 200 (no Range
        support) or 416 (the bytes held are not a prefix) calls restart() and continues from byte 0,
        or fails when there is no restart, as bytes already handed on cannot be taken back. With a
        restart, If-Range carries the first answer's validator, so a file that changed starts over.
        The caller verifies the digest of the whole: a resumed download is checked like any other.
        """
        received, resumes, validator = offset, 0, None
        while True:
            response = open_range(_range_headers(received, validator if restart else None))
            try:
                if received and response.status_code != 206:
                    if restart is None:
                        raise HttpError(f"{self.name} cannot resume {what} at byte {received} (answered {response.status_code}, "
                                        "not 206: no Range support)")
                    restart()
                    received = 0
                    if response.status_code == 416:
                        continue
                validator = validator or response.headers.get("ETag") or response.headers.get("Last-Modified")
                total = _expected_total(response, received)
                for block in response.iter_content(CHUNK):
                    received += len(block)
                    yield block
                known = size if size is not None else total
                if known is None or received >= known:
                    return
                cut = f"the connection closed at byte {received} of {known}"
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
                cut = root_cause(error)
            finally:
                response.close()
            resumes += 1
            if resumes > self.retry.resumes:
                raise Unavailable(f"download of {what} from {self.name} kept failing at byte {received} after "
                                  f"{self.retry.resumes} resumes ({cut}); run again")
            self.sleep(self.retry.wait(resumes))


def _range_headers(received, validator):
    headers = {"Range": f"bytes={received}-"} if received else {}
    if received and validator:
        headers["If-Range"] = validator
    return headers


def _expected_total(response, offset):
    """The body's full size, from Content-Range or Content-Length, when the server says."""
    content_range = response.headers.get("Content-Range", "")
    if response.status_code == 206 and "/" in content_range and content_range.rsplit("/", 1)[1].isdigit():
        return int(content_range.rsplit("/", 1)[1])
    length = response.headers.get("Content-Length")
    if length and length.isdigit() and "Content-Encoding" not in response.headers:
        return int(length) + (offset if response.status_code == 206 else 0)
    return None


def retry_after(response):
    """Seconds a Retry-After header asks to wait (a number or an HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, parsed.timestamp() - time.time())


def answer_text(status, code, detail):
    """An error answer in a few words: `503`, `400 DIGEST_INVALID (digest did not match content)`."""
    text = " ".join(str(part) for part in (status, code) if part)
    return f"{text} ({detail.strip()})" if detail and detail.strip() else text


def _plain_explanation(response):
    return None, response.text[:200]


def root_cause(error):
    """The innermost reason requests wraps around a failure (TLS, refused connection, timeout)."""
    while getattr(error, "__context__", None) is not None:
        error = error.__context__
    return str(error)


def _origin(url):
    scheme, _sep, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"
