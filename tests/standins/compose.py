"""A Compose project on a sealed node: Debian's docker-compose against the node's dockerd.

The node logs in to the mirror with the Docker config the publish role writes (DOCKER_CONFIG),
so Compose pulls from the mirror through the node's trust of the registry CA.
"""

import json


def compose(sealed, node_name, project_dir, args, docker_config_dir=None, files=(), timeout=300):
    """docker-compose ARGS in project_dir on the node (files: -f each, in order)."""
    node = sealed.node(node_name)
    env = [f"DOCKER_HOST={node['env']['DOCKER_HOST']}"]
    if docker_config_dir:
        env.append(f"DOCKER_CONFIG={docker_config_dir}")
    argv = ["env", *env, "docker-compose", "--project-directory", project_dir,
            *(option for path in files for option in ("-f", path)), *args]
    return sealed.run(node_name, argv, cwd=project_dir, timeout=timeout)


def container_address(sealed, node_name, container):
    """A container's address on its Compose network, reachable from the node."""
    node = sealed.node(node_name)
    done = sealed.run(node_name, ["env", f"DOCKER_HOST={node['env']['DOCKER_HOST']}", "docker", "inspect", container])
    if done.returncode != 0:
        raise RuntimeError(f"docker inspect {container} on {node_name}: {done.stderr.strip()}")
    networks = json.loads(done.stdout)[0]["NetworkSettings"]["Networks"]
    return next(network["IPAddress"] for network in networks.values() if network.get("IPAddress"))
