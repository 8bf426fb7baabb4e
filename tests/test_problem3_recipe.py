"""Problem 3: recipes and profiles, data and reference sets, augmentation, weight averaging,
monitoring."""

import argparse
import csv
import json

import numpy as np
import pytest
import torch
from conftest import CPUS, fake_cpu

from problem3 import data as svhn
from problem3 import images, scoring, train_gan, train_vae
from problem3.common import resolve_training, training_parser
from problem3.models import Critic, Generator, ema_update, recalibrate_batchnorm
from problem3.train_gan import critic_gap
from problem3.train_vae import validation_elbo
from utils import runtime
from utils.cli import UserError, get_device
from utils.runtime import pick_profile

read_cpu_flags = runtime.cpu_flags  # the real reader, taken before any test fakes it


SCRIPTS = {"vae": train_vae, "gan": train_gan}


def recipe(model, profile):
    """A training script's settings in a profile: its DEFAULTS with PROFILES[profile] over them."""
    script = SCRIPTS[model]
    return {**script.DEFAULTS, **script.PROFILES[profile]}


def _args(model, argv):
    script = SCRIPTS[model]
    return training_parser("doc", model, script.DEFAULTS, script.PROFILES).parse_args(argv)


def _args_parser(model):
    script = SCRIPTS[model]
    return training_parser("doc", model, script.DEFAULTS, script.PROFILES)


def _settings(model, argv, dataset="svhn"):
    """The settings a training script resolves, without reading data (the dataset named, never
    looked up)."""
    script = SCRIPTS[model]
    args = _args(model, ["--dataset", dataset, "--device", "cpu", *argv])
    return resolve_training(args, model, script.DEFAULTS, script.PROFILES)[0]


def test_the_profile_follows_the_device_unless_named():
    assert pick_profile("auto", torch.device("cpu")) == "cpu"
    assert pick_profile("auto", torch.device("cuda")) == "gpu"
    assert pick_profile("cpu", torch.device("cuda")) == "cpu"
    assert recipe("gan", "gpu")["iterations"] > recipe("gan", "cpu")["iterations"]


@pytest.mark.parametrize("cpu", sorted(CPUS))
def test_explicit_flags_win_over_quick_and_over_the_profile(monkeypatch, capsys, cpu):
    fake_cpu(monkeypatch, cpu)
    config = _settings(
        "gan", ["--profile", "gpu", "--quick", "--iterations", "7", "--n-critic", "3"]
    )
    assert config["iterations"] == 7 and config["n_critic"] == 3  # explicit
    assert config["ckpt_every"] == train_gan.PROFILES["quick"]["ckpt_every"]  # quick
    assert config["width"] == recipe("gan", "gpu")["width"]  # profile
    assert config["profile"] == "gpu" and config["restart"] is False  # shared defaults
    plain = _settings("vae", ["--profile", "cpu"])
    # the recipe's bf16 only where it is fast
    precision = {"precision": "bf16" if cpu == "bf16" else "fp32"}
    assert {k: plain[k] for k in recipe("vae", "cpu")} == {**recipe("vae", "cpu"), **precision}
    assert "settings: " in capsys.readouterr().out  # printed at the start


def test_the_parsed_arguments_hold_only_the_flags_given():
    args = _args("gan", ["--lr", "0.5"])
    assert vars(args) == {"lr": 0.5}
    _settings("gan", ["--lr", "0.5"])
    assert vars(args) == {"lr": 0.5}  # resolving writes nothing into them


def test_on_the_small_offline_set_the_vae_keeps_the_cpu_settings_in_every_profile():
    small = _settings("vae", ["--profile", "gpu"], "svhn-partial")
    model_and_schedule = {k: v for k, v in recipe("vae", "cpu").items() if k != "precision"}
    assert {k: small[k] for k in model_and_schedule} == model_and_schedule
    # the hardware's, not the small set's
    assert small["precision"] == recipe("vae", "gpu")["precision"]
    full = _settings("vae", ["--profile", "gpu"], "svhn")
    assert {k: full[k] for k in recipe("vae", "gpu")} == recipe("vae", "gpu")
    explicit = _settings("vae", ["--profile", "gpu", "--width", "64"], "svhn-partial")
    assert explicit["width"] == 64 and explicit["iterations"] == recipe("vae", "cpu")["iterations"]


@pytest.mark.parametrize(
    "flags, fast",
    [
        ({"avx512f", "avx512_bf16"}, True),
        ({"amx_bf16"}, True),
        ({"avx512f", "avx512_vnni"}, False),
        (set(), False),
    ],
)
def test_bf16_is_used_only_where_the_cpu_has_bf16_instructions(monkeypatch, capsys, flags, fast):
    monkeypatch.setattr(runtime, "cpu_flags", lambda: flags)
    assert runtime.fast_bf16(torch.device("cpu")) is fast
    config = _settings("gan", ["--profile", "cpu"])
    assert config["precision"] == ("bf16" if fast else "fp32")
    assert ("not fast" in capsys.readouterr().err) is (not fast)
    monkeypatch.setattr(runtime, "onednn_built", lambda: False)  # a torch built without oneDNN
    assert runtime.fast_bf16(torch.device("cpu")) is False


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu avx2 amx_bf16\n\n"
        "processor\t: 1\nflags\t\t: fpu avx2 amx_bf16\n"
    )
    assert read_cpu_flags(str(cpuinfo)) == {"fpu", "avx2", "amx_bf16"}
    assert read_cpu_flags(str(tmp_path / "missing")) == set()
    cpuinfo.write_text("processor\t: 0\n")  # no flags line (e.g. some ARM kernels)
    assert read_cpu_flags(str(cpuinfo)) == set()


@pytest.mark.parametrize(
    "argv", [["--iterations", "0"], ["--batch-size", "-1"], ["--ckpt-every", "x"]]
)
def test_counts_must_be_positive(argv, capsys):
    with pytest.raises(SystemExit) as e:
        _args("vae", argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and (
        "must be at least" in err or "expected a positive integer, got 'x'" in err
    )
    assert "Traceback" not in err


def test_a_cuda_device_without_a_gpu_is_one_clear_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(UserError, match="no CUDA GPU"):
        get_device("cuda")
    with pytest.raises(UserError, match="unknown device"):
        get_device("gpu0")


# ----------------------------------------------------------------------------- data and the FID
# reference
def test_partial_training_set_holds_out_a_seeded_validation_part(shared_data):
    d = svhn.load_training_images("svhn-partial", shared_data)
    assert len(d["valid"]) == svhn.PARTIAL_VALID and len(d["train"]) + len(d["valid"]) == 1264
    flat = {img.tobytes() for img in d["train"]}
    assert not any(img.tobytes() in flat for img in d["valid"])
    again = svhn.load_training_images("svhn-partial", shared_data)
    assert np.array_equal(again["valid"], d["valid"])


def _offline(monkeypatch):
    """No official SVHN file, for the images and the data modules."""
    for module in (images, svhn):
        monkeypatch.setattr(module, "svhn_file", lambda split, root=None, download_ok=True: None)


def test_without_the_official_test_file_the_reference_is_the_first_10k_test_images(
    shared_data, tmp_path, monkeypatch
):
    _offline(monkeypatch)
    x, description = images.reference_images("auto", shared_data)
    assert description == "SVHN test, first 10,000 images" and x.shape == (10000, 32, 32, 3)
    assert np.array_equal(x, images.reference_images("svhn-test-10k", shared_data)[0])
    train = svhn.load_partial(shared_data)[0]
    # never training images
    assert not {img.tobytes() for img in x[:500]} & {img.tobytes() for img in train}
    with pytest.raises(UserError, match="test_32x32.mat"):
        images.reference_images("svhn-test", shared_data)
    with pytest.raises(UserError, match="unknown FID reference"):
        images.reference_images("svhn-partial", shared_data)
    with pytest.raises(UserError, match="svhn_test_10k.npz not found"):
        images.reference_images("auto", tmp_path)


def test_selection_and_reported_images_are_disjoint_test_images(shared_data, monkeypatch):
    _offline(monkeypatch)
    selection = scoring.fid_reference("selection", shared_data)
    reported = scoring.fid_reference("reported", shared_data)
    everything = images.reference_images("auto", shared_data)[0]
    assert (
        selection[1] == "SVHN test, images 5,000-9,999"
        and reported[1] == "SVHN test, images 0-4,999"
    )
    assert np.array_equal(np.concatenate([reported[0], selection[0]]), everything)
    assert not {x.tobytes() for x in selection[0]} & {x.tobytes() for x in reported[0]}
    train = svhn.load_partial(shared_data)[0]
    assert not {x.tobytes() for x in train} & {x.tobytes() for x in selection[0]}
    assert scoring.fid_reference("auto", shared_data) == "auto"  # the other names: as given


def test_with_the_official_files_selection_is_the_held_out_training_split(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (50, 32, 32, 3), dtype=np.uint8)
    test = rng.integers(0, 256, (7, 32, 32, 3), dtype=np.uint8)
    for module in (images, svhn):
        monkeypatch.setattr(
            module, "svhn_file", lambda split, root=None, download_ok=True: tmp_path / split
        )
        monkeypatch.setattr(
            module,
            "read_svhn",
            lambda split, root=None: (train if split == "train" else test, None),
        )
    monkeypatch.setattr(scoring, "svhn_file", images.svhn_file)  # the same stand-in
    selected, description = scoring.fid_reference("selection", tmp_path)
    assert description == "SVHN train, held-out validation split (5 images)"
    assert np.array_equal(selected, svhn.load_training_images("svhn", tmp_path)["valid"])
    reported, description = scoring.fid_reference("reported", tmp_path)
    assert np.array_equal(reported, test) and description == "SVHN test, 7 images"


# ----------------------------------------------------------------------------- augmentation
# default: an eighth of 32; the VAE's 2
@pytest.mark.parametrize("max_shift, bound", [(None, 4), (2, 2)])
def test_translation_shifts_whole_images_with_zero_fill(max_shift, bound):
    torch.manual_seed(0)
    x = torch.rand(16, 3, 32, 32) * 2 - 1
    y = svhn.translation(x, max_shift)
    # each output is the input shifted by some (dy, dx) within +-bound, zeros elsewhere
    for i in range(16):
        found = False
        for dy in range(-bound, bound + 1):
            for dx in range(-bound, bound + 1):
                shifted = torch.zeros_like(x[i])
                src = x[i][:, max(dy, 0) : 32 + min(dy, 0), max(dx, 0) : 32 + min(dx, 0)]
                shifted[:, max(-dy, 0) : 32 + min(-dy, 0), max(-dx, 0) : 32 + min(-dx, 0)] = src
                found |= torch.equal(shifted, y[i])
        assert found, i


def test_augmentations_keep_shapes_pass_gradients_and_reject_unknown_names():
    x = torch.randn(4, 3, 32, 32, requires_grad=True)
    y = svhn.augment(x, svhn.parse_policy("translation,color,cutout"))
    assert y.shape == x.shape
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    # a zero square of side 16, clipped at the border
    for hole in svhn.cutout(torch.ones(8, 3, 32, 32)) == 0:
        rows, cols = hole[0].any(1).nonzero().ravel(), hole[0].any(0).nonzero().ravel()
        assert 8 <= len(rows) <= 16 and 8 <= len(cols) <= 16
        assert hole[0].sum() == len(rows) * len(cols) and (hole == hole[0]).all()
        assert rows.diff().eq(1).all() and cols.diff().eq(1).all()
    assert svhn.parse_policy("none") == [] and svhn.parse_policy("") == []
    with pytest.raises(ValueError, match="unknown augmentation flip"):
        svhn.parse_policy("translation,flip")


# ----------------------------------------------------------------------------- weight averaging,
# batch norm
def test_ema_update_warms_up_then_uses_the_decay():
    a, m = torch.nn.Linear(1, 1, bias=False), torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        a.weight.fill_(0.0)
        m.weight.fill_(1.0)
    ema_update(a, m, decay=0.999, step=0)  # d = min(0.999, 1/10) = 0.1
    assert a.weight.item() == pytest.approx(0.9)
    ema_update(a, m, decay=0.5, step=1000)  # d = 0.5
    assert a.weight.item() == pytest.approx(0.95)


def test_recalibrated_batchnorm_statistics_are_exact_averages():
    torch.manual_seed(0)
    g = Generator(width=4)
    recalibrate_batchnorm(g, batches=3, batch_size=50, seed=5)
    gen = torch.Generator().manual_seed(5)
    zs = torch.cat([torch.randn(50, 100, generator=gen) for _ in range(3)])
    with torch.no_grad():
        h = g.fc[0](zs)
    assert torch.allclose(g.fc[1].running_mean, h.mean(0), atol=1e-5)
    assert not g.training and g.fc[1].momentum == 0.1


# ----------------------------------------------------------------------------- monitoring
def test_critic_gap_is_the_difference_of_mean_scores():
    torch.manual_seed(0)
    c = Critic(width=4)
    seen, held = torch.randn(30, 3, 32, 32), torch.randn(10, 3, 32, 32)
    with torch.no_grad():
        expected = c(seen[:10]).mean() - c(held).mean()
    assert critic_gap(c, seen, held, batch_size=4) == pytest.approx(expected.item(), abs=1e-5)


def test_validation_elbo_leaves_the_training_random_stream_untouched():
    from problem3.models import Encoder

    torch.manual_seed(0)
    e, g = Encoder(width=4).eval(), Generator(width=4).eval()
    x = torch.rand(6, 3, 32, 32) * 2 - 1
    torch.manual_seed(1)
    first = validation_elbo(e, g, x, 127.5, batch_size=4)
    after = torch.rand(1)
    torch.manual_seed(1)
    assert validation_elbo(e, g, x, 127.5, batch_size=4) == first and torch.equal(
        torch.rand(1), after
    )
    assert first["valid_elbo"] == pytest.approx(
        -(first["valid_kl"] + first["valid_reconstruction"]), rel=1e-6
    )
    assert first["valid_kl"] > 0


def test_training_parser_help_names_both_recipes():
    text = _args_parser("gan").format_help()
    assert f"{recipe('gan', 'cpu')['iterations']} in the cpu recipe" in " ".join(text.split())
    assert isinstance(_args_parser("vae"), argparse.ArgumentParser)


def test_kl_weight_rises_linearly_then_stays_at_one():
    from problem3.train_vae import kl_weight

    assert [kl_weight(i, 4) for i in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert kl_weight(0, 0) == 1.0


def test_sampling_generator_is_a_recalibrated_copy():
    from problem3.models import sampling_generator

    torch.manual_seed(0)
    g = Generator(width=4)
    before = {k: v.clone() for k, v in g.state_dict().items()}
    s = sampling_generator(g)
    # the trained generator is untouched
    assert all(torch.equal(v, g.state_dict()[k]) for k, v in before.items())
    assert not s.training and not torch.equal(s.fc[1].running_mean, g.fc[1].running_mean)
    assert torch.equal(s.fc[0].weight, g.fc[0].weight)


def test_the_pixel_scale_curve_reads_only_sweep_runs_that_differ_in_the_scale(tmp_path, capsys):
    from problem3 import pixel_scale

    root = tmp_path / "problem3"
    base = {"seed": 0, "iterations": 10, "lr": 0.002, "pixel_scale": 127.5}

    def run(name, scale, fid, **other):
        d = root / "vae" / name
        d.mkdir(parents=True)
        (d / "run.json").write_text(
            json.dumps({"settings": {**base, "pixel_scale": scale, "run": name, **other}})
        )
        # a mean squared error of 0.01
        rec = 0.5 * 3072 * np.log(2 * np.pi) + 0.5 * scale**2 * 3072 * 0.01
        (d / "train_log.csv").write_text(f"step,valid_kl,valid_reconstruction\n10,{scale},{rec}\n")
        (d / "fid_curve.csv").write_text(f"step,fid\n10,{fid}\n")

    run("seed0", 127.5, 40000.0)
    run("scale-4", 4.0, 30000.0)
    # the same scale as the first seed's run: that run is the point
    run("scale-127.5", 127.5, 41000.0)
    run("scale-16", 16.0, 35000.0, lr=0.01)  # another learning rate: not a point of this curve
    pixel_scale.main(["--results-dir", str(tmp_path)])
    rows = list(csv.DictReader(open(root / "pixel_scale.csv")))
    assert [(float(r["pixel_scale"]), r["run"]) for r in rows] == [
        (4.0, "scale-4"),
        (127.5, "seed0"),
    ]
    assert all(abs(float(r["valid_mse"]) - 0.01) < 1e-9 for r in rows)
    record = json.loads((root / "pixel_scale.json").read_text())
    best = min(record["rows"], key=lambda r: r["fid"])
    assert record["chosen"] == 127.5 and best["run"] == "scale-4"
    assert (root / "pixel_scale.png").exists()
    capsys.readouterr()
    # a run's curve, then its log deleted, then its run.json truncated: one line each
    (root / "vae" / "scale-4" / "fid_curve.csv").unlink()
    with pytest.raises(SystemExit) as e:
        pixel_scale.main(["--results-dir", str(tmp_path)])
    assert "run python problem3/fid_curves.py first" in capsys.readouterr().err
    (root / "vae" / "scale-4" / "fid_curve.csv").write_text("step,fid\n10,30000.0\n")
    (root / "vae" / "scale-4" / "train_log.csv").unlink()
    (root / "vae" / "seed0" / "run.json").write_text('{"settings": {"pixel')
    for expected in ("run.json is unreadable", "train_log.csv is missing"):
        with pytest.raises(SystemExit) as e:
            pixel_scale.main(["--results-dir", str(tmp_path)])
        err = capsys.readouterr().err
        assert e.value.code == 2 and expected in err and "Traceback" not in err
        run_json = root / "vae" / "seed0" / "run.json"
        run_json.write_text(json.dumps({"settings": {**base, "run": "seed0"}}))


def test_the_pixel_scale_curve_compares_every_run_at_the_last_checkpoint_they_all_have(tmp_path):
    from problem3 import pixel_scale

    root = tmp_path / "problem3"
    base = {"seed": 0, "lr": 0.002}

    def run(name, scale, iterations, fids):
        d = root / "vae" / name
        d.mkdir(parents=True)
        settings = {**base, "pixel_scale": scale, "iterations": iterations, "run": name}
        (d / "run.json").write_text(json.dumps({"settings": settings}))
        rows = "".join(f"{step},1.0,{0.5 * 3072 * np.log(2 * np.pi)}\n" for step, _ in fids)
        (d / "train_log.csv").write_text("step,valid_kl,valid_reconstruction\n" + rows)
        (d / "fid_curve.csv").write_text("step,fid\n" + "".join(f"{s},{f}\n" for s, f in fids))

    # the recipe's run, twice as long
    run("seed0", 3.0, 6, [(2, 50000.0), (4, 30000.0), (6, 20000.0)])
    # no checkpoint at 4: the runs meet at step 2
    run("scale-1", 1.0, 3, [(2, 45000.0), (3, 44000.0)])
    run("scale-16", 16.0, 4, [(2, 60000.0), (4, 35000.0)])
    rows = pixel_scale.sweep_runs(
        root, {**base, "pixel_scale": 3.0, "iterations": 6}, root / "vae" / "seed0"
    )
    assert [(r["pixel_scale"], r["step"], r["fid"]) for r in rows] == [
        (1.0, 2, 45000.0),
        (3.0, 2, 50000.0),
        (16.0, 2, 60000.0),
    ]
    assert all(isinstance(r["step"], int) for r in rows)  # printed as "2 iterations", not "2.0"
    rows = pixel_scale.sweep_runs(
        root, {**base, "pixel_scale": 3.0}, root / "vae" / "seed0", scales=[16.0]
    )
    assert [(r["pixel_scale"], r["step"], r["fid"]) for r in rows] == [
        (3.0, 4, 30000.0),
        (16.0, 4, 35000.0),
    ]
