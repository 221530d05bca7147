"""`python -m asgilab doctor`: its text and JSON on this machine, the container limits it reads (fake
cgroup v1 and v2 trees, and a real CPU and memory limit when this machine lets a test make one), its
proxy and port checks, the room collector, and its exit codes."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from asgilab import doctor
from asgilab.cgroups import read_limits
from asgilab.doctor import checks, collect, network
from asgilab.doctor.report import Finding, Problem, Step, run_checks
from asgilab.loopback import bypass_proxies_for_loopback
from conftest import ROOT

GIB, MIB = 2**30, 2**20
NAMES = [
    "packages",
    "proxy",
    "free ports",
    "live server and load",
    "kernel reaches loopback",
    "PostgreSQL",
    "container limits",
    "this machine",
]


def doctor_cli(
    *args: str, env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    command = [*prefix, sys.executable, "-m", "asgilab", "doctor", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)


def test_text_on_this_machine_has_a_line_per_check_and_ends_all_good():
    result = doctor_cli()
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[: len(NAMES)]] == [f"OK    {name}" for name in NAMES]
    assert lines[-1] == "all good" and all(line.startswith("note  ") for line in lines[len(NAMES) : -1])
    assert "fetched a page from 127.0.0.1" in result.stdout and "GiB of memory available" in result.stdout
    assert "note  optional load tools: wrk" in result.stdout


def test_json_on_this_machine_behind_a_dead_proxy_still_reaches_loopback(tmp_path):
    """HTTP_PROXY points at a port where nothing listens and NO_PROXY lacks loopback, as on a
    corporate laptop: `import asgilab` (here and in the kernel) must send loopback around it."""
    env = {k: v for k, v in os.environ.items() if k.lower() != "no_proxy"}
    env.update(HTTP_PROXY="http://doctor:secret@127.0.0.1:9", NO_PROXY="corp.example")
    result = doctor_cli("--json", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)  # stdout is the JSON object and nothing else
    assert report["kind"] == "asgilab doctor" and report["schema_version"] == doctor.SCHEMA_VERSION
    for key in ("hostname", "when", "python", "platform", "course_version", "executable"):
        assert report[key], key
    assert [c["name"] for c in report["checks"]] == NAMES and all(
        c["ok"] and c["fix"] is None for c in report["checks"]
    )
    assert (
        report["summary"]["ok"]
        and report["exit_status"] == 0
        and report["summary"]["line"].startswith(report["hostname"])
    )
    proxy = next(c for c in report["checks"] if c["name"] == "proxy")
    assert proxy["figures"]["set"] == {"HTTP_PROXY": "http://***@127.0.0.1:9"}  # no password in a shared report
    assert proxy["figures"]["no_proxy_before_import"] == "corp.example" and "secret" not in result.stdout
    assert any("curl, wrk or a browser" in note for note in report["notes"])
    machine = next(c for c in report["checks"] if c["name"] == "this machine")["figures"]
    assert machine["memory_needed_mib"] == doctor.MEMORY_NEEDED_MIB == 600 and machine["memory_available_mib"] > 0
    (tmp_path / "vm.json").write_text(result.stdout)
    table, status = collect.room([str(tmp_path)])
    assert status == 0 and "bypassed" in table.splitlines()[2] and "1 report(s): 1 all good" in table


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def cgroup_v2(tmp_path: Path, memory_current: int) -> tuple[Path, Path]:
    """A Kubernetes-like v2 tree: the pod's limits, the process in a container below it."""
    root = write_tree(
        tmp_path / "v2",
        {
            "cgroup.controllers": "cpuset cpu io memory pids\n",
            "kubepods/pod1/cpu.max": "150000 100000\n",
            "kubepods/pod1/memory.max": f"{GIB}\n",
            "kubepods/pod1/memory.current": f"{memory_current}\n",
            "kubepods/pod1/memory.stat": f"anon 1000\ninactive_file {100 * MIB}\nactive_file 5\n",
            "kubepods/pod1/jupyter/cpu.max": "max 100000\n",
            "kubepods/pod1/jupyter/memory.max": "max\n",
            "kubepods/pod1/jupyter/memory.current": "1000\n",
        },
    )
    return root, write_tree(tmp_path, {"proc_cgroup": "0::/kubepods/pod1/jupyter\n"}) / "proc_cgroup"


def test_a_fake_cgroup_v2_tree_the_pods_limits_apply_to_the_container_below_it(tmp_path):
    root, proc = cgroup_v2(tmp_path, memory_current=512 * MIB)
    limits = read_limits(root, proc)
    assert limits.version == "v2" and limits.cpu_cores == 1.5 and "cpu.max = 150000 100000" in str(limits.cpu_source)
    assert limits.memory_limit == GIB and limits.memory_used == 412 * MIB  # less the inactive file cache
    found = checks.container(root, proc)
    assert found.detail.startswith("limited container (cgroup v2): CPU limit 1.5 core(s)")
    assert found.figures["limited"] and found.figures["memory_limit_mib"] == 1024
    machine = checks.machine(root, proc)
    assert machine.figures["memory_source"] == "cgroup" and machine.figures["memory_available_mib"] == 612
    assert "the container's limit less its usage" in machine.detail


def test_under_600_mib_left_in_the_container_fails_whatever_the_host_has(tmp_path):
    root, proc = cgroup_v2(tmp_path, memory_current=1000 * MIB)
    with pytest.raises(Problem) as failed:
        checks.machine(root, proc)
    assert "0.1 GiB of memory available (the container's limit less its usage)" in failed.value.detail
    assert "needs 600 MiB" in failed.value.detail and failed.value.figures["memory_available_mib"] == 124


def test_a_fake_cgroup_v1_tree_with_limits_and_one_without(tmp_path):
    root = write_tree(
        tmp_path / "v1",
        {
            "cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "200000\n",
            "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
            "memory/docker/abc/memory.limit_in_bytes": f"{2 * GIB}\n",
            "memory/docker/abc/memory.usage_in_bytes": f"{GIB}\n",
            "memory/docker/abc/memory.stat": f"inactive_file 7\ntotal_inactive_file {GIB // 2}\n",
            "memory/memory.limit_in_bytes": "9223372036854771712\n",  # v1's "no limit"
            "memory/memory.usage_in_bytes": "1\n",
        },
    )
    proc = write_tree(tmp_path, {"proc": "12:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n"}) / "proc"
    limits = read_limits(root, proc)
    assert (limits.version, limits.cpu_cores, limits.memory_limit, limits.memory_free) == (
        "v1",
        2.0,
        2 * GIB,
        3 * GIB // 2,
    )
    assert checks.container(root, proc).detail.startswith("limited container (cgroup v1): CPU limit 2 core(s)")
    # A container whose own cgroup is mounted at the root (no cgroup namespace): its path is not there.
    unlimited = write_tree(
        tmp_path / "v1-root",
        {
            "cpu/cpu.cfs_quota_us": "-1\n",
            "cpu/cpu.cfs_period_us": "100000\n",
            "memory/memory.limit_in_bytes": "9223372036854771712\n",
        },
    )
    (unlimited / "memory/memory.usage_in_bytes").write_text("5\n")
    limits = read_limits(
        unlimited, write_tree(tmp_path, {"proc2": "4:memory:/docker/xyz\n2:cpu:/docker/xyz\n"}) / "proc2"
    )
    assert limits.version == "v1" and not limits.limited
    assert "without a CPU or memory limit (cgroup v1)" in checks.container(unlimited, tmp_path / "proc2").detail
    assert read_limits(tmp_path / "nothing", proc).version is None  # macOS: no cgroup filesystem


def test_a_proxy_without_loopback_in_no_proxy_fails_and_names_the_hosts():
    environ = {"https_proxy": "http://me:pw@proxy.example:3128", "NO_PROXY": "corp.example,.internal"}
    with pytest.raises(Problem) as failed:
        network.proxy(environ, before={})
    assert "HTTPS_PROXY=http://***@proxy.example:3128 is set" in failed.value.detail
    assert "does not cover 127.0.0.1, localhost" in failed.value.detail and "pw" not in failed.value.detail
    bypass_proxies_for_loopback(environ)  # what `import asgilab` does
    found = network.proxy(environ, before={"NO_PROXY": "corp.example,.internal", "no_proxy": None})
    assert (
        "`import asgilab` added loopback to NO_PROXY" in found.detail
        and found.figures["loopback_bypassed"]["localhost"]
    )
    assert "export NO_PROXY=127.0.0.1,localhost,::1" in found.notes[0]
    assert network.proxy({}, before={}).detail.startswith("no proxy variables set")
    assert not network.proxy({"ALL_PROXY": "socks5://p:1080", "no_proxy": "*"}, before={}).notes


def test_ports_bind_and_a_taken_jupyter_port_is_a_note_naming_its_holder():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        found = network.ports(needed=5, jupyter_port=port)
    assert found.figures["bound"] == 5 and not found.figures["jupyter_port_free"]
    assert (
        f"Jupyter's port {port} is taken" in found.detail
        and f"moves to the next free port ({port + 1}" in found.notes[0]
    )
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # root sees who holds it (others may not)
        assert f"(pid {os.getpid()})" in found.notes[0]
    assert network.ports(needed=5, jupyter_port=port).figures["jupyter_port_free"]  # closed since


def report_json(hostname: str, failed: dict[str, str], version: str = "0.1.0") -> str:
    """A report as `doctor --json` writes it, made by hand: ``failed`` maps check names to details."""
    results = [
        doctor.CheckResult(
            name, name not in failed, failed.get(name, "fine"), "do this" if name in failed else None, {}, [], 0.1
        )
        for name in NAMES
    ]
    results[-1].figures.update(cores=2, memory_available_mib=3072, memory_source="host")
    report = doctor.Report(results, [], datetime(2026, 12, 1, 9, 30, tzinfo=UTC), 4.0, hostname)
    return json.dumps({**report.to_dict(f"{hostname}: ..."), "course_version": version}, indent=2)


def test_the_collector_tells_which_machines_fail_what(tmp_path, capsys):
    (tmp_path / "lab-01.json").write_text(report_json("lab-01", {}))
    (tmp_path / "lab-02.json").write_text(
        "Warning: Permanently added 'lab-02' to known hosts.\n"
        + report_json("lab-02", {"PostgreSQL": "OSError: disk full"})
    )
    (tmp_path / "lab-03.json").write_text(
        report_json("lab-03", {"PostgreSQL": "no wheel", "proxy": "through"}, "0.0.9")
    )
    (tmp_path / "a.json").write_text(report_json("jupyter", {}))
    (tmp_path / "b.json").write_text(report_json("jupyter", {}))
    (tmp_path / "lab-04.json").write_text("ssh: connect to host lab-04 port 22: No route to host\n")
    code = doctor.main(["--collect", str(tmp_path)])
    out = capsys.readouterr().out
    rows = {
        name: next(line for line in out.splitlines() if line.startswith(name))
        for name in ("lab-01", "lab-02", "lab-03", "lab-04")
    }
    assert rows["lab-01"].split()[1] == "ok" and "3.0 GiB host" in rows["lab-01"]
    assert "FAIL" in rows["lab-02"] and "PostgreSQL" in rows["lab-02"]
    assert "THROUGH" in rows["lab-03"].split() and "0.0.9" in rows["lab-03"]
    assert "UNREADABLE" in rows["lab-04"] and "no JSON in it" in rows["lab-04"]
    assert "jupyter (a.json)" in out and "jupyter (b.json)" in out  # the same host name: told apart by file
    assert "6 report(s): 3 all good, 2 with problems, 1 unreadable" in out and "course versions differ" in out
    block = out[out.index("PostgreSQL: fails on 2 of 6") :]
    assert "lab-02  OSError: disk full" in block and "lab-03  no wheel" in block and "fix: do this" in block
    assert code == 1
    for name in ("lab-02", "lab-03", "lab-04"):
        (tmp_path / f"{name}.json").unlink()
    assert doctor.main(["--collect", str(tmp_path / "lab-01.json"), str(tmp_path / "a.json")]) == 0


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--json", "--summary"], "not allowed with argument"),
        (["--collect"], "expected at least one argument"),
        (["--collect", "no/such.json"], "no such file or folder: no/such.json"),
        (["--collect", ".", "--kernel", "python3"], "--kernel goes with a check of this machine"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(args, expected, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.json").write_text("{}")
    try:
        code = doctor.main(args)
    except SystemExit as ended:  # argparse's own checks end the program
        code = ended.code
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and expected in err, err


def test_a_failed_check_is_exit_1_in_every_mode_with_its_fix(monkeypatch, capsys):
    def broken() -> Finding:
        raise OSError("no space left on device")

    fake = [Step("packages", "reinstall", lambda: Finding("fine", {"n": 1})), Step("PostgreSQL", "free disk", broken)]
    monkeypatch.setattr("asgilab.doctor.cli.steps", lambda kernel: fake)
    assert doctor.main([]) == 1
    assert capsys.readouterr().out.splitlines()[1:3] == [
        "FAIL  PostgreSQL: OSError: no space left on device",
        "      fix: free disk",
    ]
    assert doctor.main(["--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["exit_status"] == 1 and report["summary"]["failed"] == ["PostgreSQL"]
    assert report["checks"][1] == {**report["checks"][1], "ok": False, "fix": "free disk", "figures": {}}
    assert doctor.main(["--summary"]) == 1
    line = capsys.readouterr().out
    assert line.count("\n") == 1 and ": 1 problem(s) (PostgreSQL)" in line


def test_a_kernel_that_does_not_exist_fails_with_its_fix():
    [step] = [s for s in doctor.steps("no-such-kernel") if s.name == "kernel reaches loopback"]
    result = run_checks([step], on_result=lambda r: None).checks[0]
    assert not result.ok and "NoSuchKernel" in result.detail and "'no-such-kernel'" in str(result.fix)


# A real CPU and memory limit: a child cgroup of this process's own (v2 when its controllers are
# delegated to children, else v1's cpu and memory hierarchies), or systemd-run, whichever works.
CPU_QUOTA, MEMORY_MAX = "100000 100000", GIB


@contextmanager
def limited() -> Iterator[tuple[str, ...]]:
    """A command prefix that runs a program under 1 CPU and 1 GiB; skips, saying why, where none works."""
    reasons: list[str] = []
    for attempt in (_cgroup_v2, _cgroup_v1):
        folders = attempt(reasons)
        if folders is None:
            continue
        moves = " && ".join(f"echo $$ > {folder}/cgroup.procs" for folder in folders)
        try:
            yield ("sh", "-c", f'{moves} && exec "$@"', "sh")
        finally:
            _remove(folders)
        return
    if shutil.which("systemd-run") and _systemd_running():
        yield ("systemd-run", "--scope", "--quiet", "-p", "CPUQuota=100%", "-p", f"MemoryMax={MEMORY_MAX}")
        return
    pytest.skip("no way to run under a CPU and memory limit here: " + "; ".join(reasons + ["no running systemd"]))


def _own(controller: str) -> str | None:
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        if (controller == "" and names == "") or controller in names.split(","):
            return path
    return None


def _cgroup_v2(reasons: list[str]) -> list[Path] | None:
    root, own = Path("/sys/fs/cgroup"), _own("")
    delegated = (root / (own or "/").lstrip("/") / "cgroup.subtree_control") if own else None
    if delegated is None or not delegated.is_file() or not {"cpu", "memory"} <= set(delegated.read_text().split()):
        reasons.append("cgroup v2: cpu and memory are not delegated to children of this process's cgroup")
        return None
    child = delegated.parent / f"asgilab-doctor-{uuid.uuid4().hex[:8]}"
    return _make(reasons, "cgroup v2", [(child, {"cpu.max": CPU_QUOTA, "memory.max": str(MEMORY_MAX)})])


def _cgroup_v1(reasons: list[str]) -> list[Path] | None:
    root, name = Path("/sys/fs/cgroup"), f"asgilab-doctor-{uuid.uuid4().hex[:8]}"
    cpu, memory = _own("cpu"), _own("memory")
    if cpu is None or memory is None or not (root / "cpu").is_dir() or not (root / "memory").is_dir():
        reasons.append("cgroup v1: no cpu and memory hierarchies at /sys/fs/cgroup")
        return None
    quota, period = CPU_QUOTA.split()
    return _make(
        reasons,
        "cgroup v1",
        [
            (root / "cpu" / cpu.lstrip("/") / name, {"cpu.cfs_period_us": period, "cpu.cfs_quota_us": quota}),
            (root / "memory" / memory.lstrip("/") / name, {"memory.limit_in_bytes": str(MEMORY_MAX)}),
        ],
    )


def _make(reasons: list[str], kind: str, plan: list[tuple[Path, dict[str, str]]]) -> list[Path] | None:
    made: list[Path] = []
    try:
        for folder, settings in plan:
            folder.mkdir()
            made.append(folder)
            for file, value in settings.items():
                (folder / file).write_text(value)
    except OSError as exc:
        reasons.append(f"{kind}: {exc.strerror or exc} ({exc.filename})")
        _remove(made)
        return None
    return made


def _remove(folders: list[Path]) -> None:
    for folder in folders:
        for _ in range(50):  # its last processes (a kernel, PostgreSQL) may take a moment to go
            try:
                folder.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.1)


def _systemd_running() -> bool:
    state = subprocess.run(["systemctl", "is-system-running"], capture_output=True, text=True, timeout=10)
    return state.stdout.strip() in ("running", "degraded")


def test_json_in_a_container_limited_to_one_cpu_and_1_gib_says_so():
    with limited() as prefix:
        result = doctor_cli("--json", prefix=prefix)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    found = {check["name"]: check for check in report["checks"]}
    container = found["container limits"]
    assert container["detail"].startswith("limited container (cgroup v"), container["detail"]
    assert container["figures"]["limited"] and container["figures"]["cpu_limit_cores"] == 1.0
    assert container["figures"]["memory_limit_mib"] == 1024
    machine = found["this machine"]["figures"]
    assert machine["cores"] == 1 and machine["memory_available_mib"] <= 1024
    assert machine["memory_source"] == "cgroup" or machine["host_available_mib"] < 1024
    assert (
        "1 core(s)" in report["summary"]["line"]
        and "limited container (CPU 1, memory 1.0 GiB)" in report["summary"]["line"]
    )


def test_the_memory_threshold_is_the_hubs_measured_peak():
    import tomllib

    from asgilab.doctor import MEMORY_NEEDED_MIB

    measured = tomllib.loads((ROOT / "hub" / "figures.toml").read_text())["measured"]
    assert measured["lesson_peak_resident_mib"] + measured["jupyter_server_mib"] == MEMORY_NEEDED_MIB
