"""Resumable runs (utils.training): refusing mismatched checkpoints, extending, Ctrl-C, RNG
state."""

import random

import numpy as np
import pytest
import torch

from utils import config as cfg
from utils.cli import Interrupted, UserError
from utils.training import ResumableRun, rng_state, set_rng_state


def _run(tmp_path, steps, settings, step_fn=None, restart=False):
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def default_step(i):
        loss = model(torch.ones(1, 2)).pow(2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss.item()}

    step_fn = step_fn or default_step
    with ResumableRun(
        tmp_path / "m.pt",
        tmp_path / "log.csv",
        {"m": model},
        {"o": opt},
        num_steps=steps,
        settings=settings,
        desc="toy",
        restart=restart,
    ) as run:
        for i in run.steps():
            run.log(i, step_fn(i))
            if run.due(i, 2):
                run.checkpoint()
    return run.history


def test_a_checkpoint_made_with_other_settings_is_refused_naming_them(tmp_path):
    _run(tmp_path, 4, {"lr": 0.1, "data": "abc"})
    with pytest.raises(UserError, match=r"lr 0\.1 -> 0\.5.*--restart") as e:
        _run(tmp_path, 4, {"lr": 0.5, "data": "abc"})
    assert "data" not in str(e.value)
    with pytest.raises(UserError, match="data 'abc' -> 'xyz'"):
        _run(tmp_path, 4, {"lr": 0.1, "data": "xyz"})
    rows = _run(tmp_path, 4, {"lr": 0.5, "data": "abc"}, restart=True)  # starts over
    assert (
        len(rows) == 4 and torch.load(tmp_path / "m.pt", weights_only=True)["settings"]["lr"] == 0.5
    )


def test_fewer_steps_than_the_checkpoint_is_refused_and_more_extend_it(tmp_path, capsys):
    _run(tmp_path, 4, {"lr": 0.1})
    with pytest.raises(UserError, match="at step 4, past the 2 steps"):
        _run(tmp_path, 2, {"lr": 0.1})
    rows = _run(tmp_path, 6, {"lr": 0.1})
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert "extending toy from step 4 to 6" in capsys.readouterr().err


def test_ctrl_c_reports_the_step_and_the_checkpoint_kept(tmp_path):
    def interrupt_at_3(i):
        if i == 3:
            raise KeyboardInterrupt
        return {"loss": 0.0}

    with pytest.raises(Interrupted, match=r"interrupted at step 3; checkpoint at step 2 kept") as e:
        _run(tmp_path, 10, {}, step_fn=interrupt_at_3)
    assert e.value.exit_code == 130
    assert torch.load(tmp_path / "m.pt", weights_only=True)["step"] == 2


def test_rng_state_round_trip_restores_the_numpy_and_python_positions():
    np.random.seed(1)
    random.seed(1)
    np.random.rand(3)  # mid-stream, not at a block boundary
    np.random.standard_normal()  # leaves a cached Gaussian in numpy's legacy state
    random.gauss(0, 1)  # and in Python's
    saved = rng_state()
    expected = (np.random.rand(5), np.random.standard_normal(), random.gauss(0, 1), torch.rand(3))
    np.random.seed(99)
    random.seed(99)
    torch.manual_seed(99)
    set_rng_state(saved)
    again = (np.random.rand(5), np.random.standard_normal(), random.gauss(0, 1), torch.rand(3))
    assert np.array_equal(expected[0], again[0]) and expected[1:3] == again[1:3]
    assert torch.equal(expected[3], again[3])


def test_settings_are_defaults_then_layers_then_quick_then_explicit_flags():
    ap = cfg.parser("doc")
    ap.add_argument("--steps", type=int)
    ap.add_argument("--lr", type=float)

    def resolve(argv):
        return cfg.resolve(
            ap.parse_args(argv), {"steps": 2000, "lr": 0.1}, {"lr": 0.2}, quick={"steps": 300}
        )

    assert resolve([]) == {**cfg.COMMON, "steps": 2000, "lr": 0.2}
    assert resolve(["--quick"])["steps"] == 300 and resolve(["--quick"])["quick"] is True
    assert resolve(["--quick", "--steps", "100", "--lr", "0.5"])["steps"] == 100
    assert resolve(["--lr", "0.5"])["lr"] == 0.5
    # not where it runs, nor its length
    assert set(cfg.resume_settings(resolve([]), "steps")) == {
        "lr",
        "seed",
    }


def test_a_results_or_data_directory_under_a_file_is_one_clear_error(tmp_path):
    from utils.cli import data_dir, results_dir

    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="cannot create the results directory .*file/problem1"):
        results_dir("problem1", base=tmp_path / "file")
    with pytest.raises(UserError, match="is a file, not a directory"):
        data_dir(tmp_path / "file")


@pytest.mark.slow
def test_ctrl_c_in_a_script_is_one_line_and_exit_code_130(capsys):
    from utils.cli import cli

    @cli
    def interrupted(argv=None):
        raise Interrupted("interrupted at step 7; checkpoint at step 5 kept (x.pt)")

    @cli
    def interrupted_elsewhere(argv=None):
        raise KeyboardInterrupt

    for main, text in (
        (interrupted, "interrupted at step 7; checkpoint at step 5 kept"),
        (interrupted_elsewhere, "interrupted"),
    ):
        with pytest.raises(SystemExit) as e:
            main()
        err = capsys.readouterr().err
        assert e.value.code == 130 and err.strip() == f"error: {text}" + (
            " (x.pt)" if "step" in text else ""
        )


def test_comma_lists_check_each_value_and_refuse_repeats():
    import argparse

    from utils.config import comma_list, seed

    assert comma_list(seed)("0,1,2") == [0, 1, 2]
    for bad in ("0,1,1", "0,-1", "0,,1"):
        with pytest.raises(argparse.ArgumentTypeError):
            comma_list(seed)(bad)
