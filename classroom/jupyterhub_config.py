"""JupyterHub configuration for teaching the kit on one Linux server (``classroom/hub.py``).

Read by ``jupyterhub -f``; the instructor's settings arrive as ``KIT_HUB_*`` environment variables
that ``hub.py start`` sets from its options:

- ``KIT_HUB_BIND``: ``IP:PORT`` where students connect (``hub.py --bind``);
- ``KIT_HUB_STATE``: the hub's own folder (its database, cookie secret, password hashes, log);
- ``KIT_HUB_PORTS``: ``HUB,PROXY_API``, the two ports the hub and its proxy use on 127.0.0.1;
- ``KIT_HUB_PYTHON``: the Python students' servers run (this environment's, or one every user
  may run that sees its packages: ``hub.py share-python``);
- ``KIT_HUB_STUDENTS``: the class list, one user name per line (``#`` starts a comment);
- ``KIT_HUB_ADMINS``: comma-separated instructors, who may add and delete students at /hub/admin;
- ``KIT_HUB_HOMES``: the folder under which each student's home is created (``/home``);
- ``KIT_HUB_IDLE_MINUTES``: stop a student's server after this long without activity;
- ``KIT_HUB_MEM_LIMIT``, ``KIT_HUB_CPU_LIMIT``: per-student limits (enforced by the spawners
  that support them, not by the local-process spawner used here: see the README);
- ``KIT_HUB_API_TOKEN``: if set, a service ``instructor`` holding this token may manage users
  and servers through the REST API (``scripts/load_classroom.py`` uses it);
- ``KIT_HUB_TEST_HOOKS``: if ``1``, JupyterLab exposes its app object to the page, for the
  browser test only.

Each student is a system account (created at start for every name on the class list, with a
home of mode 0700) who sets their password on first login (``jupyterhub-firstuseauthenticator``);
only names on the list may log in. Before each server start, ``course.py`` runs as the student
and copies the lessons they lack into ``~/course``.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from pathlib import Path

from firstuseauthenticator import FirstUseAuthenticator
from jupyterhub.auth import LocalAuthenticator

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - given by jupyterhub -f

CLASSROOM = Path(__file__).resolve().parent
KIT = CLASSROOM.parent
VENV_BIN = Path(sys.executable).parent  # the kit's environment: students' servers use it too
PYTHON = Path(os.environ.get("KIT_HUB_PYTHON", sys.executable))  # which students may run
COURSE = "course"  # the folder in each home that holds the student's lessons
FIRST_LESSON = "01_define_the_net.ipynb"


class LocalFirstUseAuthenticator(LocalAuthenticator, FirstUseAuthenticator):
    """First-use passwords for the names on the class list, each a system account."""


def class_list(path: str) -> set[str]:
    """The user names in a class list file: one per line, ``#`` comments and blanks skipped."""
    names = (line.split("#", 1)[0].strip() for line in Path(path).read_text().splitlines())
    return {name for name in names if name}


def prepare_home(spawner) -> None:
    """pre_spawn_hook: close the student's home to others, then copy the lessons they lack,
    as the student."""
    account = pwd.getpwnam(spawner.user.name)
    home = Path(account.pw_dir)
    info = os.lstat(home)
    if info.st_uid != account.pw_uid or not home.is_dir() or home.is_symlink():
        raise RuntimeError(f"{home} is not a folder that {spawner.user.name} owns")
    os.chmod(home, 0o700)
    subprocess.run([str(PYTHON), str(CLASSROOM / "course.py"),
                    str(KIT / "notebooks"), str(home / COURSE)],
                   user=account.pw_uid, group=account.pw_gid, extra_groups=[], cwd=home,
                   env={"HOME": str(home), "PATH": "/usr/bin:/bin"}, check=True, timeout=120,
                   capture_output=True)


ip, _, port = os.environ.get("KIT_HUB_BIND", "0.0.0.0:8000").rpartition(":")
c.JupyterHub.ip = ip or "0.0.0.0"
c.JupyterHub.port = int(port)
c.JupyterHub.hub_ip = "127.0.0.1"  # the hub's own API stays on loopback
c.ConfigurableHTTPProxy.command = [str(CLASSROOM / "node_modules/.bin/configurable-http-proxy")]
hub_port, proxy_api_port = os.environ.get("KIT_HUB_PORTS", "8081,8001").split(",")
c.JupyterHub.hub_port = int(hub_port)
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{int(proxy_api_port)}"
state = Path(os.environ.get("KIT_HUB_STATE", "."))  # root's only: mode 0700
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.FirstUseAuthenticator.dbm_path = str(state / "passwords.dbm")

# --- who may log in ---------------------------------------------------------------------------
c.JupyterHub.authenticator_class = LocalFirstUseAuthenticator
c.Authenticator.allowed_users = class_list(os.environ["KIT_HUB_STUDENTS"])
c.Authenticator.admin_users = {n for n in os.environ.get("KIT_HUB_ADMINS", "").split(",") if n}
c.FirstUseAuthenticator.create_users = False  # names on the class list only
c.FirstUseAuthenticator.min_password_length = 8
c.LocalAuthenticator.create_system_users = True
homes = os.environ.get("KIT_HUB_HOMES", "/home")
c.LocalAuthenticator.add_user_cmd = ["useradd", "--create-home", "--base-dir", homes,
                                     "--shell", "/bin/bash", "-K", "HOME_MODE=0700"]

# --- each student's server ------------------------------------------------------------------------
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.cmd = [str(PYTHON), "-m", "jupyterhub.singleuser"]
c.Spawner.environment = {"PATH": f"{PYTHON.parent}:/usr/local/bin:/usr/bin:/bin",
                         "OMP_NUM_THREADS": "1",  # small models gain nothing from more threads
                         # JupyterLab, its extensions and their settings: the kit's environment's
                         "JUPYTER_PATH": f"{sys.prefix}/share/jupyter",
                         "JUPYTER_CONFIG_PATH": f"{sys.prefix}/etc/jupyter",
                         "JUPYTERLAB_DIR": f"{sys.prefix}/share/jupyter/lab"}
c.Spawner.default_url = f"/lab/tree/{COURSE}/{FIRST_LESSON}"
c.Spawner.pre_spawn_hook = prepare_home
c.Spawner.http_timeout = 120  # a server's first start imports a lot on a busy machine
c.Spawner.start_timeout = 180
c.Spawner.mem_limit = os.environ.get("KIT_HUB_MEM_LIMIT", "2G")
c.Spawner.cpu_limit = float(os.environ.get("KIT_HUB_CPU_LIMIT", "1"))
c.Spawner.args = ["--MappingKernelManager.cull_idle_timeout=1800",  # idle kernels, in seconds
                  "--MappingKernelManager.cull_interval=300"]
if os.environ.get("KIT_HUB_TEST_HOOKS") == "1":
    c.Spawner.args.append("--LabApp.expose_app_in_browser=True")

# --- idle servers are stopped by the idle-culler service ----------------------------------------
idle_s = int(float(os.environ.get("KIT_HUB_IDLE_MINUTES", "60")) * 60)
c.JupyterHub.services = [{
    "name": "idle-culler",
    "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={idle_s}"],
}]
c.JupyterHub.load_roles = [{
    "name": "idle-culler",
    "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    "services": ["idle-culler"],
}]
if os.environ.get("KIT_HUB_API_TOKEN"):
    c.JupyterHub.services.append({"name": "instructor",
                                  "api_token": os.environ["KIT_HUB_API_TOKEN"]})
    c.JupyterHub.load_roles.append({
        "name": "instructor",
        "scopes": ["admin:users", "admin:servers", "access:servers", "list:users"],
        "services": ["instructor"],
    })
