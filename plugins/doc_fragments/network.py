# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How hard modules that talk over the network try: the options of the one HTTP transport (module_utils/http/transport.py)."""


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION = r"""
options:
  retries:
    description:
      - How many failures that look like an outage (the server answering nothing else meanwhile, and not 429 or 503)
        one request survives, and how many times a download cut midway resumes with C(Range) (its digest is checked
        over every byte). At least 1.
      - Connection errors, timeouts, 408, 429 and 5xx are retried with backoff, honouring C(Retry-After) within the time
        budget; the token exchange and the request sent again after a 401 are retried with the request they are for.
        Failures while the server keeps answering other requests (a storm) are retried soon and gently, up to four times
        as many attempts and 30 seconds per attempt from the first failure, so a storm rarely fails a transfer while a
        dead server still fails fast.
      - S3 requests are retried by botocore (standard mode) up to this many attempts; where pip downloads, it gets these as
        its C(--retries) and C(--timeout).
    type: int
    default: 5
  timeout:
    description: Seconds to wait for a server to send data before the attempt counts as failed. From 1 to 86400.
    type: int
    default: 300
"""
