"""extensions/awx as awx.awx and ansible-builder take it (awx.awx is not installed here, so its modules' options are
checked against the argument specs of awx.awx's credential_type and job_template modules, copied below), and the
execution environment's build context rendered with no container engine."""

import os
import re
import subprocess

import yaml
from ansible.parsing.yaml.loader import AnsibleLoader

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AWX = os.path.join(REPO, "extensions", "awx")
# awx.awx's credential_type module: kind choices; AWX's own rules for inputs and injectors.
KINDS = {"ssh", "vault", "net", "scm", "cloud", "insights"}
FIELD_TYPES = {"string", "boolean"}
INJECTOR_KINDS = {"env", "extra_vars", "file"}
# awx.awx's job_template survey_spec, as the API takes it.
QUESTION_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}
QUESTION_KEYS = {"variable", "question_name", "question_description", "type", "required", "default", "min", "max", "choices"}
AWX_MODULE_OPTIONS = {
    "awx.awx.credential_type": {"name", "description", "kind", "inputs", "injectors", "state"},
    "awx.awx.execution_environment": {"name", "image", "organization", "pull", "credential", "description", "state"},
    "awx.awx.project": {"name", "organization", "scm_type", "scm_url", "scm_branch", "default_environment", "wait", "state"},
    "awx.awx.job_template": {"name", "description", "job_type", "organization", "project", "inventory", "playbook",
                             "execution_environment", "credentials", "ask_credential_on_launch", "survey_enabled", "survey_spec",
                             "extra_vars", "state"},
}


def load(name):
    with open(os.path.join(AWX, name), encoding="utf-8") as handle:
        return AnsibleLoader(handle.read()).get_single_data()


def test_every_credential_type_injects_only_its_own_inputs_and_marks_secrets():
    types = load("credential_types.yml")["awx_credential_types"]
    assert [t["name"] for t in types] == ["Airlock enclave registry", "Airlock connected-side registry", "Airlock S3 store",
                                          "Airlock Hugging Face token", "Airlock NGC API key"]
    for credential_type in types:
        assert credential_type["kind"] in KINDS
        fields = {field["id"]: field for field in credential_type["inputs"]["fields"]}
        assert all(field["type"] in FIELD_TYPES and field["label"] for field in fields.values())
        assert set(credential_type["inputs"]["required"]) <= set(fields)
        assert set(credential_type["injectors"]) <= INJECTOR_KINDS
        for variable, template in credential_type["injectors"]["env"].items():
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*", variable)
            used = re.fullmatch(r"\{\{ (\w+) \}\}", str(template)).group(1)
            assert used in fields
        secrets = [f for f in fields.values() if re.search("password|secret|token|key", f["id"]) and f["id"] != "access_key"]
        assert secrets and all(f.get("secret") for f in secrets), credential_type["name"]


def test_every_injector_template_is_left_to_awx():
    """!unsafe: Ansible leaves {{ }} alone, so AWX receives the template and fills it in from the inputs."""
    with open(os.path.join(AWX, "credential_types.yml"), encoding="utf-8") as handle:
        lines = [line for line in handle if "{{" in line and not line.lstrip().startswith("#")]
    assert lines and all(": !unsafe " in line for line in lines)


def test_the_roles_read_every_injected_variable():
    injected = {variable for t in load("credential_types.yml")["awx_credential_types"] for variable in t["injectors"]["env"]}
    read = ""
    for folder, _subfolders, files in os.walk(os.path.join(REPO, "roles")):
        for name in files:
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                read += handle.read()
    # HF_TOKEN is read by huggingface_hub itself.
    assert {v for v in injected if v != "HF_TOKEN" and v not in read} == set()


def test_the_job_templates_have_surveys_awx_accepts_and_ask_no_secret():
    types = {t["name"] for t in load("credential_types.yml")["awx_credential_types"]}
    templates = load("job_templates.yml")["awx_job_templates"]
    assert {t["playbook"] for t in templates} == {"playbooks/prepare.yml", "playbooks/enclave.yml"}
    for template in templates:
        assert os.path.isfile(os.path.join(REPO, template["playbook"]))
        assert set(template["credential_types"]) <= types
        for question in template["survey"]:
            assert set(question) <= QUESTION_KEYS and question["type"] in QUESTION_TYPES and question["type"] != "password"
            assert question["variable"].startswith("airlock_") and not re.search("password|secret|token|key", question["variable"])


def test_the_configure_playbook_uses_only_options_awx_awx_has():
    with open(os.path.join(AWX, "configure.yml"), encoding="utf-8") as handle:
        plays = yaml.safe_load(handle)
    used = {}
    for task in plays[0]["tasks"]:
        for module, options in AWX_MODULE_OPTIONS.items():
            if module in task:
                used[module] = set(task[module])
                assert used[module] <= options, (module, used[module] - options)
    assert set(used) == set(AWX_MODULE_OPTIONS)


def test_the_execution_environment_renders_a_build_context_with_helm(tmp_path):
    subprocess.run([os.path.join(REPO, ".venv", "bin", "ansible-builder"), "create", "-f", os.path.join(AWX, "execution-environment.yml"),
                    "-c", str(tmp_path), "--output-filename", "Containerfile"], check=True, capture_output=True, timeout=120)
    containerfile = (tmp_path / "Containerfile").read_text(encoding="utf-8")
    assert "sha256sum -c" in containerfile and "/usr/local/bin/helm" in containerfile
    assert re.search(r"^FROM ", containerfile, re.MULTILINE)
