import json
import os
import subprocess
import time

import pytest

import reproduce
from reproduce import up_to_date
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


def test_a_step_is_stale_when_its_checkpoint_input_is_newer_or_missing(tmp_path):
    now = time.time() + 1000  # later than any code file
    (tmp_path / ".profile").write_text("full")
    _touch(tmp_path, EVAL.inputs, now)
    _touch(tmp_path, EVAL.outputs, now + 10)
    assert up_to_date(tmp_path, EVAL, "full", "cpu")
    assert not up_to_date(tmp_path, EVAL, "quick", "cpu")  # made in another profile
    _touch(tmp_path, EVAL.inputs, now + 20)  # the model was retrained
    assert not up_to_date(tmp_path, EVAL, "full", "cpu")
    _touch(tmp_path, EVAL.outputs, now + 30)
    (tmp_path / EVAL.outputs[0]).unlink()  # an output is missing
    assert not up_to_date(tmp_path, EVAL, "full", "cpu")


def test_a_training_step_reruns_without_its_checkpoint_and_when_code_is_newer(tmp_path):
    (tmp_path / ".profile").write_text("full")
    _touch(tmp_path, TRAIN.outputs + TRAIN.checkpoints, time.time() + 1000)
    assert up_to_date(tmp_path, TRAIN, "full", "cpu")
    (tmp_path / TRAIN.checkpoints[0]).unlink()
    assert not up_to_date(tmp_path, TRAIN, "full", "cpu")
    _touch(tmp_path, TRAIN.outputs + TRAIN.checkpoints, 1.0)  # older than the code
    assert not up_to_date(tmp_path, TRAIN, "full", "cpu")


def test_a_problem3_training_step_reruns_when_the_recipe_differs(tmp_path):
    (tmp_path / ".profile").write_text("full")
    _touch(tmp_path, GAN.outputs + GAN.checkpoints, time.time() + 1000)
    run = tmp_path / GAN.summary
    run.write_text(json.dumps({"profile": "cpu"}))
    os.utime(run, (time.time() + 1000, time.time() + 1000))
    assert up_to_date(tmp_path, GAN, "full", "cpu")
    assert not up_to_date(tmp_path, GAN, "full", "gpu")


def test_only_that_matches_no_step_is_an_error_naming_the_steps(capsys):
    with pytest.raises(SystemExit) as e:
        reproduce.main(["--only", "Problem 9", "--no-report"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "matches no step" in err and "Problem 1.3 sweep" in err


@pytest.mark.slow
def test_the_main_job_fails_when_the_built_report_is_missing_results(
    tmp_path, isolated_results, monkeypatch, capfd
):
    monkeypatch.setattr(reproduce, "up_to_date", lambda *a: True)  # every step done already
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
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(reproduce.subprocess, "run", fake_script)
    monkeypatch.setattr(reproduce, "up_to_date", lambda *a: False)
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


def test_a_step_s_code_is_what_its_script_imports():
    rel = {str(p.relative_to(reproduce.ROOT)) for p in reproduce.step_code("problem1/sweep.py")}
    assert {"problem1/sweep.py", "problem1/divergences.py", "samplers.py", "utils/cli.py"} <= rel
    assert not any(f.startswith(("problem2", "problem3")) or f == "score_fid.py" for f in rel)
    gan = {str(p.relative_to(reproduce.ROOT)) for p in reproduce.step_code("problem3/train_gan.py")}
    assert {
        "problem1/critics.py",
        "problem3/augment.py",
        "problem3/frechet.py",
        "utils/training.py",
    } <= gan
    assert "problem2/model.py" not in gan
