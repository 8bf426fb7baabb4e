import os
import time

from reproduce import STEPS, up_to_date

EVAL = next(s for s in STEPS if s.name == "Problem 2 evaluation")
TRAIN = next(s for s in STEPS if s.name == "Problem 2 training")


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
    assert up_to_date(tmp_path, EVAL, "full")
    assert not up_to_date(tmp_path, EVAL, "quick")           # made in another profile
    _touch(tmp_path, EVAL.inputs, now + 20)                  # the model was retrained
    assert not up_to_date(tmp_path, EVAL, "full")
    _touch(tmp_path, EVAL.outputs, now + 30)
    (tmp_path / EVAL.outputs[0]).unlink()                    # an output is missing
    assert not up_to_date(tmp_path, EVAL, "full")


def test_a_training_step_reruns_without_its_checkpoint_and_when_code_is_newer(tmp_path):
    (tmp_path / ".profile").write_text("full")
    _touch(tmp_path, TRAIN.outputs + TRAIN.checkpoints, time.time() + 1000)
    assert up_to_date(tmp_path, TRAIN, "full")
    (tmp_path / TRAIN.checkpoints[0]).unlink()
    assert not up_to_date(tmp_path, TRAIN, "full")
    _touch(tmp_path, TRAIN.outputs + TRAIN.checkpoints, 1.0)  # older than the code
    assert not up_to_date(tmp_path, TRAIN, "full")
