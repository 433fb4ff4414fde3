# Copyright (c) 2026, airlock.airgap contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The operator knowledge shipped with the collection: data, in the YAML that image_inventory's rules_files take.

It lives in a Python module only so that it travels with the module to wherever Ansible runs it;
operators.py reads it exactly as it reads a user's rules file, and a user's rules are added after
these. Each section:

derive
  An image an operator computes at run time from a resource's fields and facts only the cluster
  knows. `kind` and `component` (a field path) say where; `image` is the template, whose `{field}`
  names are the component's own fields and whose other names are `inputs`, given in
  image_inventory's rule_inputs (a list gives one image per value). `unless` lists fields that,
  when the component sets them, mean the operator uses them instead. The component's own
  assembled reference is replaced by the derived ones (it names no image that exists). A
  component whose version is a digest is pulled as written.
requires
  Components of a resource that the operator runs only when another field of it is true: while it
  is not, their images are candidates with that condition.
select
  Operator settings (an env var, flag or ConfigMap key; shell-style patterns) whose value maps a
  version to an image: the operator pulls the entry that `field` of a `kind` resource names.
"""

from __future__ import annotations

BUILTIN_RULES = r"""
derive:
  # The GPU operator appends the node's OS (ID and VERSION_ID from os-release) to the driver's version:
  # nvcr.io/nvidia/driver:550.90.07-ubuntu22.04. Give rule_inputs.node_os, e.g. [ubuntu22.04, rhel9.4].
  - name: gpu-operator-driver
    kind: ClusterPolicy
    component: spec.driver
    image: "{repository}/{image}:{version}-{node_os}"
    inputs: [node_os]
  - name: gpu-operator-vgpu-manager
    kind: ClusterPolicy
    component: spec.vgpuManager
    image: "{repository}/{image}:{version}-{node_os}"
    inputs: [node_os]
  # ECK runs the Elastic image of spec.version unless spec.image names one.
  - name: eck-elasticsearch
    kind: Elasticsearch
    component: spec
    image: "docker.elastic.co/elasticsearch/elasticsearch:{version}"
    unless: [image]
  - name: eck-kibana
    kind: Kibana
    component: spec
    image: "docker.elastic.co/kibana/kibana:{version}"
    unless: [image]
requires:
  # Sandbox (VM passthrough, Kata, confidential computing) components run only with sandbox workloads on.
  - name: gpu-operator-sandbox-workloads
    kind: ClusterPolicy
    components: [spec.sandboxDevicePlugin, spec.kataManager, spec.vfioManager, spec.ccManager, spec.vgpuDeviceManager]
    when: spec.sandboxWorkloads.enabled
select:
  # Strimzi's operator maps each Kafka version to its image; a Kafka resource names the version it runs.
  - name: strimzi-kafka
    setting: STRIMZI_KAFKA_IMAGES
    kind: Kafka
    field: spec.kafka.version
  - name: strimzi-kafka-connect
    setting: STRIMZI_KAFKA_CONNECT_IMAGES
    kind: KafkaConnect
    field: spec.version
  - name: strimzi-kafka-mirror-maker-2
    setting: STRIMZI_KAFKA_MIRROR_MAKER_2_IMAGES
    kind: KafkaMirrorMaker2
    field: spec.version
"""
