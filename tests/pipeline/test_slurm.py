"""The Snakemake SLURM profile on a real single-node SLURM cluster (opt-in: ``make test-slurm``).

scripts/slurm_cluster.sh brings up munge, MariaDB, slurmdbd, slurmctld and slurmd on loopback
(installing the Debian packages when missing, which needs root). The sample preprocessing then
runs through ``snakemake --profile workflow/profiles/slurm``: SLURM's accounting must show every
job submitted by sbatch and completed by slurmd, the outputs must be those of a local run, a job
killed mid-way must be retried with the same result, and the rules the profile marks as GPU rules
must land in the gpu partition with one GPU. The tests are marked ``slurm`` and deselected by
default (pyproject.toml), so ``make test`` skips them.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.project import ROOT, SMALL, TWO_VIDEOS, digests, run, snakemake_jobs, tool_env

pytestmark = pytest.mark.slurm

CLUSTER = ROOT / "scripts" / "slurm_cluster.sh"
PROFILE = ROOT / "workflow" / "profiles" / "slurm"
# The preprocessing of both videos (what later stages add to ``rule all`` is not part of this test).
TARGETS = [f"data/landmarks/{video}" for video in TWO_VIDEOS]
SACCT_FIELDS = ("JobID", "JobName", "Comment", "Partition", "State", "ExitCode", "NodeList",
                "AllocTRES")


@dataclass(frozen=True)
class SlurmJob:
    """One line of ``sacct``: a job or one of its steps (``<id>.batch``, ``<id>.0``)."""

    job_id: str
    name: str
    comment: str
    partition: str
    state: str
    exit_code: str
    nodes: str
    tres: str

    @property
    def snakemake_job(self) -> str:
        """``rule@wildcards`` from the comment the plugin gives each submission."""
        match = re.fullmatch(r"rule_(\w+?)(?:_wildcards_(.+))?", self.comment)
        assert match, f"job {self.job_id}: unexpected comment {self.comment!r}"
        return match.group(1) + (f"@{match.group(2)}" if match.group(2) else "")


@dataclass(frozen=True)
class Cluster:
    base: Path
    env: dict[str, str]  # the tools' environment pointed at this cluster

    def jobs(self) -> list[SlurmJob]:
        """Every job and step in the cluster's accounting database."""
        table = self.tool(["sacct", "--allusers", "--parsable2", "--noheader",
                           "--starttime=2000-01-01", f"--format={','.join(SACCT_FIELDS)}"])
        return [SlurmJob(*line.split("|")) for line in table.splitlines()]

    def snakemake(self, project: Path, *args: str, profile: str = "workflow/profiles/slurm"
                  ) -> float:
        """Run Snakemake with the SLURM profile in ``project``; return its wall time."""
        return timed(["snakemake", "--profile", profile, *args], project, self.env)

    def kill_stage(self, comment: str, script: str, timeout: float = 300) -> str:
        """SIGKILL the stage process ``script`` of the running job with ``comment``, as the
        kernel's OOM killer would; return the job's id."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            queue = self.tool(["squeue", "-h", "-o", "%i|%k|%T"])
            for job_id, job_comment, state in (line.split("|") for line in queue.splitlines()):
                if job_comment != comment or state != "RUNNING":
                    continue
                # A job just started may have no step yet, one just ended none left: both
                # make listpids fail, and the next poll looks again.
                listing = self.tool(["scontrol", "listpids", job_id],
                                    check=False).splitlines()[1:]
                for pid in (line.split()[0] for line in listing):
                    try:
                        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                    except FileNotFoundError:
                        continue
                    if script.encode() in command:
                        os.kill(int(pid), signal.SIGKILL)
                        return job_id
            time.sleep(0.1)
        pytest.fail(f"no running job {comment} with a {script} process within {timeout} s")

    def tool(self, cmd: list[str], check: bool = True) -> str:
        return subprocess.run(cmd, env=self.env, capture_output=True, text=True,
                              check=check).stdout


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        pytest.fail(f"{cmd} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return wall


@contextmanager
def shown(request: pytest.FixtureRequest) -> Iterator[None]:
    """Let prints through to the terminal: the timings are this test's report."""
    with request.config.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
        yield


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory,
            request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """A SLURM cluster for this module's tests, torn down by PID afterwards, also on failure."""
    base = tmp_path_factory.mktemp("slurm")  # short: unix socket paths are limited to 107 bytes
    started = time.perf_counter()
    start = subprocess.run([CLUSTER, "start", base], capture_output=True, text=True)
    bring_up = time.perf_counter() - started
    try:
        if start.returncode != 0:
            pytest.fail(f"SLURM cluster did not start:\n{start.stdout}\n{start.stderr}")
        env = tool_env()
        pointed = subprocess.run(
            ["bash", "-c", f'eval "$({CLUSTER} env {base})" && echo "$SLURM_CONF" && echo "$PATH"'],
            env=env, capture_output=True, text=True, check=True).stdout.splitlines()
        env.update(SLURM_CONF=pointed[0], PATH=pointed[1])
        installed = " (including Debian package installation)" if "installing" in start.stderr else ""
        with shown(request):
            print(f"\nSLURM cluster bring-up: {bring_up:.1f} s{installed}")
        yield Cluster(base, env)
    finally:
        started = time.perf_counter()
        stop = subprocess.run([CLUSTER, "stop", base], capture_output=True, text=True)
        with shown(request):
            print(f"\nSLURM cluster teardown: {time.perf_counter() - started:.1f} s")
        assert stop.returncode == 0, stop.stderr
        status = subprocess.run([CLUSTER, "status", base], capture_output=True, text=True)
        assert status.returncode != 0, f"daemons still running after stop: {status.stdout}"


def test_preprocessing_runs_as_slurm_jobs_and_matches_a_local_run(make_project, cluster, request):
    on_slurm = make_project(TWO_VIDEOS, name="slurm", **SMALL)
    local = make_project(TWO_VIDEOS, name="local", **SMALL)
    planned = snakemake_jobs(run(["snakemake", "-n", *TARGETS], on_slurm).stdout)
    assert len(planned) == 6

    slurm_wall = cluster.snakemake(on_slurm, *TARGETS)
    local_wall = timed(["snakemake", "--profile", "workflow/profiles/local", "--cores", "2",
                        *TARGETS], local, tool_env())
    jobs = cluster.jobs()
    with shown(request):
        print(f"\nSnakemake wall time, 6 jobs: SLURM {slurm_wall:.1f} s, local --cores 2 "
              f"{local_wall:.1f} s\nsacct:\n" + "\n".join("|".join(vars(job).values())
                                                        for job in jobs))

    # One sbatch submission per planned job, all from this Snakemake run, all completed.
    submitted = [job for job in jobs if "." not in job.job_id]
    assert sorted(job.snakemake_job for job in submitted) == sorted(planned)
    assert len({job.name for job in submitted}) == 1
    for job in submitted:
        assert (job.state, job.exit_code, job.partition, job.nodes) == (
            "COMPLETED", "0:0", "debug", "localhost"), job
        # slurmd ran the batch script, and the jobstep's srun step inside it (the rule's command).
        steps = {step.job_id: step.state for step in jobs
                 if step.job_id.startswith(f"{job.job_id}.")}
        assert steps == {f"{job.job_id}.batch": "COMPLETED", f"{job.job_id}.0": "COMPLETED"}
    slurmd_log = (cluster.base / "log" / "slurmd.log").read_text()
    assert all(f"Launching batch job {job.job_id} " in slurmd_log for job in submitted)

    produced = digests(on_slurm)
    assert {name for name in produced if name.endswith("manifest.json")} == {
        f"data/{stage}/{video}/manifest.json" for stage in ("ingest", "crop", "landmarks")
        for video in TWO_VIDEOS}
    assert produced == digests(local)
    assert "Nothing to be done" in run(["snakemake", "-n", *TARGETS], on_slurm).stdout

    # A job killed mid-way (out of memory, a failing node) is resubmitted by the profile's
    # retries, and the retried rule writes the same output.
    rerun = subprocess.Popen(["snakemake", "--profile", "workflow/profiles/slurm", "--force",
                              "data/crop/obama"], cwd=on_slurm, env=cluster.env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        killed = cluster.kill_stage("rule_crop_wildcards_obama", "stages/crop.py")
        output = rerun.communicate(timeout=600)[0]
    finally:
        rerun.kill()
    assert rerun.returncode == 0, output
    retried = [job for job in cluster.jobs() if "." not in job.job_id][len(submitted):]
    with shown(request):
        print("\nretry: " + ", ".join(f"{job.job_id} {job.comment} {job.state} {job.exit_code}"
                                      for job in retried))
    assert [(job.snakemake_job, job.state) for job in retried] == [
        ("crop@obama", "FAILED"), ("crop@obama", "COMPLETED")]
    assert retried[0].job_id == killed
    assert digests(on_slurm) == digests(local)


GPU_WORKFLOW = """
rule all:
    input: "trained.txt", "cropped.txt"

rule finetune:
    output: "trained.txt"
    shell: "echo trained > {output}"

rule crop:
    output: "cropped.txt"
    shell: "echo cropped > {output}"
"""


def test_profile_sends_gpu_rules_to_the_gpu_partition_with_one_gpu(tmp_path, cluster):
    """The profile's set-resources for the GPU rule names, on the cluster's pretend GPU."""
    (tmp_path / "Snakefile").write_text(GPU_WORKFLOW)
    before = {job.job_id for job in cluster.jobs()}
    cluster.snakemake(tmp_path, profile=str(PROFILE))
    jobs = {job.snakemake_job: job for job in cluster.jobs()
            if "." not in job.job_id and job.job_id not in before}
    assert set(jobs) == {"finetune", "crop"}
    assert (jobs["finetune"].partition, jobs["finetune"].state) == ("gpu", "COMPLETED")
    assert "gres/gpu=1" in jobs["finetune"].tres.split(",")
    assert (jobs["crop"].partition, jobs["crop"].state) == ("debug", "COMPLETED")
    assert "gres/gpu" not in jobs["crop"].tres
