import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import reproduce
from reproduce import stamp
from utils.pipeline import steps

STEPS = steps((0, 1, 2))
EVAL = next(s for s in STEPS if s.name == "Problem 2 evaluation")
TRAIN = next(s for s in STEPS if s.name == "Problem 2 training")
GAN = next(s for s in STEPS if s.name == "Problem 3 GAN seed 1")


def _touch(root, names, t):
    for n in names:
        (root / n).parent.mkdir(parents=True, exist_ok=True)
        (root / n).write_text("x")
        os.utime(root / n, (t, t))


CMD = ["python", "problem2/evaluate.py"]


class AllRecorded(dict):
    """Recorded fingerprints in which every step has the fingerprint "same"."""

    def get(self, key, default=None):
        return "same"


@pytest.fixture
def made(tmp_path, monkeypatch):
    """A results directory holding the evaluation step's input and outputs, and a data directory
    with the files Problem 2 reads."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "binarized_mnist.npz").write_bytes(b"mnist")
    (data / "svhn_partial.npz").write_bytes(b"svhn")
    monkeypatch.setenv("A3_DATA_DIR", str(data))
    results = tmp_path / "results"
    _touch(results, EVAL.inputs + EVAL.outputs, 1000.0)
    return results


def test_a_step_is_up_to_date_only_while_nothing_it_was_made_from_changed(made):
    before = stamp(made, EVAL, CMD)
    assert before is not None and stamp(made, EVAL, CMD) == before  # nothing changed
    assert stamp(made, EVAL, [*CMD, "--quick"]) != before  # another command line (profile)
    (made / EVAL.inputs[0]).write_text("retrained")  # the model it reads
    assert stamp(made, EVAL, CMD) != before


def test_an_output_that_changed_or_went_missing_makes_the_step_stale(made):
    before = stamp(made, EVAL, CMD)
    (made / EVAL.summary).write_text('{"trunc')  # a truncated record: stale, never parsed
    assert stamp(made, EVAL, CMD) != before
    (made / EVAL.summary).unlink()
    assert stamp(made, EVAL, CMD) is None


def test_replaced_data_makes_only_the_steps_that_read_it_stale(made):
    gan_files = [*GAN.outputs, *GAN.checkpoints]
    _touch(made, gan_files, 1000.0)
    gan_cmd = ["python", GAN.script]
    gan, evaluation = stamp(made, GAN, gan_cmd), stamp(made, EVAL, CMD)
    data = Path(os.environ["A3_DATA_DIR"])
    (data / "svhn_partial.npz").write_bytes(b"other images")
    assert stamp(made, GAN, gan_cmd) != gan and stamp(made, EVAL, CMD) == evaluation


def test_changed_code_makes_the_step_stale(made, monkeypatch, tmp_path):
    code = tmp_path / "code"
    (code / "utils").mkdir(parents=True)
    (code / "utils" / "cli.py").write_text("a = 1\n")
    (code / "samplers.py").write_text("b = 1\n")
    monkeypatch.setattr(reproduce, "ROOT", code)
    monkeypatch.setattr(reproduce, "CODE", ("utils", "samplers.py"))
    before = stamp(made, EVAL, CMD)
    (code / "utils" / "cli.py").write_text("a = 2\n")
    assert stamp(made, EVAL, CMD) != before


def test_the_job_skips_a_step_whose_fingerprint_holds_and_reruns_it_after_an_interruption(
    made, monkeypatch, capsys
):
    ran = []

    def fake_step(cmd, env):  # a training that writes its outputs and checkpoint
        ran.append(cmd)
        _touch(made, [*TRAIN.outputs, *TRAIN.checkpoints], 2000.0)
        return 0

    monkeypatch.setenv("A3_RESULTS_DIR", str(made.parent))
    monkeypatch.setattr(reproduce, "results_dir", lambda *a, **k: made)
    monkeypatch.setattr(reproduce, "run_step", fake_step)
    reproduce.main(["--only", "Problem 2 training", "--no-report"])
    reproduce.main(["--only", "Problem 2 training", "--no-report"])
    assert len(ran) == 1 and "[up to date] Problem 2 training" in capsys.readouterr().out
    (made / TRAIN.checkpoints[0]).write_text("restarted, stopped at step 50 of 100")
    reproduce.main(["--only", "Problem 2 training", "--no-report"])
    assert len(ran) == 2
    (made / "steps.json").write_text('{"Problem 2 tr')  # a damaged record: every step reruns
    reproduce.main(["--only", "Problem 2 training", "--no-report"])
    assert len(ran) == 3 and "unreadable" in capsys.readouterr().err


def test_report_only_with_no_report_is_refused(capsys):
    with pytest.raises(SystemExit) as e:
        reproduce.main(["--report-only", "--no-report"])
    assert e.value.code == 2 and "would do nothing" in capsys.readouterr().err


def test_only_that_matches_no_step_is_an_error_naming_the_steps(capsys):
    with pytest.raises(SystemExit) as e:
        reproduce.main(["--only", "Problem 9", "--no-report"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "matches no step" in err and "Problem 1.3 sweep" in err


@pytest.mark.slow
def test_the_main_job_fails_when_the_built_report_is_missing_results(
    tmp_path, isolated_results, monkeypatch, capfd
):
    monkeypatch.setattr(reproduce, "stamp", lambda *a: "same")  # every step done already
    monkeypatch.setattr(reproduce, "read_stamps", lambda path: AllRecorded())
    monkeypatch.setattr(reproduce, "build_report", lambda *a: tmp_path / "report.pdf")  # not built
    with pytest.raises(SystemExit) as e:
        reproduce.main([])
    err = capfd.readouterr().err
    assert e.value.code == 2 and "report.pdf does not exist" in err and "missing results" in err
    reproduce.main(["--only", "Problem 1"])  # part of the job: not checked
    assert "not checked" in capfd.readouterr().out


@pytest.mark.slow
def test_a_finished_training_resumed_keeps_its_recorded_time(isolated_results, monkeypatch, capsys):
    results = isolated_results
    _touch(results, TRAIN.checkpoints, 1000.0)
    reproduce.record_step_time(results, TRAIN.name, 900.0, "cpu")
    # whether the fake script trains (rewrites its checkpoint) or resumes a finished one
    trains = []

    def fake_script(cmd, env):
        if trains:
            _touch(results, TRAIN.checkpoints, 2000.0)
        return 0

    monkeypatch.setattr(reproduce, "run_step", fake_script)
    monkeypatch.setattr(reproduce, "stamp", lambda *a: None)
    reproduce.main(["--only", "Problem 2 training", "--no-report"])
    assert json.loads((results / "step_times.json").read_text())[TRAIN.name]["seconds"] == 900.0
    assert "from its finished checkpoint" in capsys.readouterr().out
    trains.append(True)
    reproduce.main(["--only", "Problem 2 training", "--no-report"])
    assert json.loads((results / "step_times.json").read_text())[TRAIN.name]["seconds"] < 900.0


def test_each_seed_is_a_training_step_and_the_report_shows_the_first_seed_only():
    names = [s.name for s in STEPS]
    assert [n for n in names if n.startswith("Problem 3 VAE")] == [
        f"Problem 3 VAE seed {k}" for k in (0, 1, 2)
    ]
    assert (
        GAN.args == ["--seed", "1"]
        and GAN.checkpoints == ["problem3/gan/seed1/gan.pt"]
        and not GAN.figures
    )
    fid = next(s for s in STEPS if s.name == "Problem 3 FID")
    assert fid.args == ["--train-seeds", "0,1,2"] and len(fid.inputs) == 6
    shown = {f for s in STEPS for f in s.figures}
    # the report does not depend on seeds
    assert shown == {f for s in steps((0,)) for f in s.figures}
    assert "problem3/vae/seed0/training_curves.png" in shown


def test_a_stopped_job_stops_its_running_step_as_ctrl_c_would(tmp_path):
    saved = tmp_path / "saved"
    script = tmp_path / "step.py"
    script.write_text(
        "import sys, time\n"
        "print('ready', flush=True)\n"
        "try:\n"
        "    time.sleep(60)\n"
        "except KeyboardInterrupt:\n"
        "    open(sys.argv[1], 'w').write('checkpoint saved')\n"
        "    sys.exit(130)\n"
    )
    previous = signal.signal(signal.SIGTERM, reproduce.stop)
    timer = threading.Timer(2.0, os.kill, (os.getpid(), signal.SIGTERM))  # kill <the job's pid>
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            reproduce.run_step([sys.executable, str(script), str(saved)], dict(os.environ))
    finally:
        timer.cancel()
        signal.signal(signal.SIGTERM, previous)
    assert saved.read_text() == "checkpoint saved"  # the step was stopped, not left running


def test_a_script_started_with_sigint_ignored_still_stops_on_it(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(
        "import time\n"
        "from utils.cli import cli\n"
        "@cli\n"
        "def main(argv=None):\n"
        "    print('ready', flush=True)\n"
        "    time.sleep(60)\n"
        "main()\n"
    )
    child = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(reproduce.ROOT)},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # as a background job
    )
    assert child.stdout.readline().strip() == "ready"
    child.send_signal(signal.SIGINT)
    assert child.wait(timeout=30) == 130 and "interrupted" in child.stderr.read()


def test_the_plan_adds_every_step_that_reads_what_a_stale_step_writes():
    stale = {"Problem 2 training"}
    names = [s.name for s in reproduce.plan(STEPS, stale)]
    assert names == ["Problem 2 training", "Problem 2 evaluation"]  # evaluation reads vae.pt
    assert reproduce.plan(STEPS, set()) == []


def test_the_estimate_scales_the_reference_times_by_the_calibration(monkeypatch):
    reference = {
        "machine": "the reference CPU",
        "calibration": {"problem2_step": 0.1, "gan_iteration": 1.0},
        "seconds": {"Problem 2 training": 600.0, "Problem 3 GAN seed 1": 300.0},
    }
    monkeypatch.setattr(reproduce, "REFERENCE", reference)
    # this machine: Problem 2's workload twice as slow, Problem 3's as fast
    monkeypatch.setattr(
        reproduce, "calibrate", lambda recipe: {"problem2_step": 0.2, "gan_iteration": 1.0}
    )
    text = reproduce.estimate([TRAIN, GAN, EVAL], "cpu")
    assert text.startswith("about 25 min here")  # 2 x 10 min + 5 min
    assert "not estimated: Problem 2 evaluation" in text and "2.00x" in text
