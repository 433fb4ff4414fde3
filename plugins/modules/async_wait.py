#!/usr/bin/python
# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: async_wait
short_description: Wait for a step started with async, printing what is done and what remains on every poll
version_added: 0.1.0
description:
  - >-
    Waits for a task started with C(async) and C(poll=0) (for example M(airlock.airgap.image_copy) with its
    O(airlock.airgap.image_copy#module:progress_file)), and while it runs prints one line per poll, read from the progress
    file the step's module writes - C(images: 12.4 of 40.1 GB, 85 MB/s, about 5 min left). The same lines show in a terminal
    and in AWX's job output.
  - Polls start 1 s apart and double up to O(interval), so short steps end quickly and long ones print calmly.
  - Returns the step's own result, as C(register) on the step would have held it with C(poll) left on, and fails when the step failed.
  - Removes the progress file once the step has ended.
  - The whole wait is one task run by the action plugin on the controller. Each poll is one shell command on the step's host
    that reads the job's status file and the progress file (no module process); once the job has ended, its result is read
    once with M(ansible.builtin.async_status), and the job's status file is removed, as a task with C(poll) left on removes it.
author:
  - airlock.airgap maintainers (@airlock)
extends_documentation_fragment:
  - airlock.airgap.attributes
attributes:
  action:
    description: Has a corresponding action plugin, so parts of the work run on the controller.
    support: full
    details: The wait is the action plugin's; there is no module process of its own.
  check_mode:
    support: full
    details: Only reads the job's status and its progress file; the steps it waits for run synchronously in check mode.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  jid:
    description: The job id of the step (C(ansible_job_id) of its registered result).
    type: str
    required: true
  label:
    description: What the step moves, as the lines name it (C(images), C(volumes)).
    type: str
    required: true
  progress_file:
    description:
      - The progress file the step's module writes on the step's host. Without it, the lines say only how long the step has run.
    type: str
  interval:
    description: The longest pause between two polls, in seconds.
    type: int
    default: 15
  timeout:
    description: How long to wait in all, in seconds, before failing with the job id (the step itself goes on until its own C(async) limit).
    type: int
    default: 86400
"""

EXAMPLES = r"""
- name: Copy every image, for the manifest's platforms, into the bundle's layout
  airlock.airgap.image_copy:
    images: "{{ images }}"
    destination: oci:/srv/bundle/images
    progress_file: /srv/bundle/.images.progress
  async: 86400
  poll: 0
  register: copy_job

- name: Wait for the images, printing progress
  airlock.airgap.async_wait:
    jid: "{{ copy_job.ansible_job_id }}"
    label: images
    progress_file: /srv/bundle/.images.progress
  register: copy
"""

RETURN = r"""
progress:
  description: The last line printed - what the step did, and in how long.
  type: str
  returned: always
  sample: "images: 40.1 of 40.1 GB in 8 min 3 s"
finished:
  description: Whether the step has ended (always true when the task succeeds).
  type: bool
  returned: always
ansible_job_id:
  description: The job id waited for.
  type: str
  returned: always
"""
