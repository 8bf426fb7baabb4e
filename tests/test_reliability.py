"""Hostile and careless input: no silent wrong result, no lost work, no traceback
(docs/reliability.md).

Each test names the family it probes; each asserts the exit code or error, the one line, and that
nothing was lost or mislabelled."""

import errno
import json
import pathlib
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

import density_estimation
import reproduce
from problem1 import sweep
from problem2 import data as p2data
from problem2 import evaluate
from problem2 import train_vae as p2_train
from problem2.model import VAE
from problem3 import data as svhn
from problem3 import fid, fid_curves, frechet, images, qualitative, train_gan, train_vae
from problem3.classifier import Classifier, load_classifier
from problem3.models import Generator, load_generator
from problem3.scoring import checkpoint_fids, generate_uint8
from utils.cli import UserError, get_device
from utils.files import WriteError, atomic_write, write_text
from utils.training import ResumableRun, directory_lock, load_checkpoint, save_checkpoint


def _fails(main, argv, capsys, *needles) -> str:
    """Run a script's main: it must exit 2 with one 'error:' line holding every needle; returns that
    line."""
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    lines = [
        line for line in err.splitlines() if line.startswith("error:") or "error: argument" in line
    ]
    assert e.value.code == 2 and len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _training_checkpoint(path, module, *, step, num_steps, meta=None):
    """A checkpoint as ResumableRun writes it, of ``module`` at ``step`` of ``num_steps``."""
    return save_checkpoint(
        path,
        {
            "step": step,
            "num_steps": num_steps,
            "history": [],
            "meta": meta or {},
            "settings": {},
            "modules": {k: m.state_dict() for k, m in module.items()},
            "optimizers": {},
        },
    )


def _mnist_npz(root: pathlib.Path) -> pathlib.Path:
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    np.savez(
        root / "binarized_mnist.npz",
        **{s: rng.integers(0, 256, (20, 98), dtype=np.uint8) for s in ("train", "valid", "test")},
    )
    return root


# 1. A download that fails its checksum is never used; every conversion checks what it converts.
def test_a_rejected_download_is_deleted_and_a_wrong_local_file_is_never_converted(
    tmp_path, http_server
):
    served, url = http_server
    rng = np.random.default_rng(0)
    for split in p2data.SPLITS:
        x = (rng.random((3, 784)) > 0.5).astype(np.uint8)
        (served / f"binarized_mnist_{split}.amat").write_text(
            "\n".join(" ".join(map(str, r)) for r in x) + "\n"
        )
    with pytest.raises(UserError, match="checksum mismatch; the download is corrupt"):
        p2data.fetch_amat(tmp_path, url)  # the official checksums: these files fail them
    assert not list(tmp_path.glob("*.amat")) and not (tmp_path / "binarized_mnist.npz").exists()
    for f in served.glob("*.amat"):  # the same files put there by hand: refused, not converted
        shutil.copy(f, tmp_path)
    with pytest.raises(UserError, match="not the official binarized MNIST"):
        p2data.load_binarized_mnist(tmp_path, download_ok=False)
    assert not (tmp_path / "binarized_mnist.npz").exists()
    assert p2data.BASE_URL.startswith("https://")


# 2. A corrupted checkpoint is refused, not resumed with NaN weights.
def test_a_corrupted_or_non_finite_checkpoint_is_refused(tmp_path):
    path = _training_checkpoint(tmp_path / "vae.pt", {"vae": VAE()}, step=2, num_steps=2)
    load_checkpoint(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 4096] = b"\xff" * 4096
    path.write_bytes(bytes(data))
    with pytest.raises(UserError, match="corrupt"):
        load_checkpoint(path)
    broken = VAE()
    with torch.no_grad():
        broken.encoder[0].weight[0, 0, 0, 0] = float("nan")
    _training_checkpoint(path, {"vae": broken}, step=2, num_steps=2)
    with pytest.raises(UserError, match=r"vae.encoder.0.weight holds nan or inf"):
        load_checkpoint(path)


# 3. An unfinished training is not evaluated as if done; results record the model's step and
# settings.
def test_an_unfinished_training_is_refused_or_used_loudly_and_recorded(tmp_path, capsys):
    data = _mnist_npz(tmp_path / "data")
    ckpt = _training_checkpoint(tmp_path / "vae.pt", {"vae": VAE()}, step=3, num_steps=20)
    argv = [
        "--checkpoint",
        str(ckpt),
        "--data-dir",
        str(data),
        "--results-dir",
        str(tmp_path / "r"),
        "--k",
        "2",
        "--eval-images",
        "4",
        "--sweep-images",
        "2",
        "--sweep-max-k",
        "2",
    ]
    _fails(evaluate.main, argv, capsys, "at step 3 of 20", "has not finished")
    assert not (tmp_path / "r" / "problem2" / "evaluation.json").exists()
    evaluate.main(argv + ["--allow-unfinished"])
    assert "unfinished checkpoint" in capsys.readouterr().err
    record = json.loads((tmp_path / "r" / "problem2" / "evaluation.json").read_text())
    assert record["model"]["step"] == 3 and record["model"]["checkpoint"] == str(ckpt)
    gan = _training_checkpoint(
        tmp_path / "gan.pt",
        {"generator": Generator(width=8)},
        step=5,
        num_steps=10,
        meta={"model": "gan", "width": 8},
    )
    with pytest.raises(UserError, match="at step 5 of 10"):
        load_generator(gan, "cpu", "gan")


# 4. Non-finite settings are refused up front; a training that diverges stops, naming the step.
@pytest.mark.parametrize(
    "main, argv",
    [
        (p2_train.main, ["--lr", "inf"]),
        (p2_train.main, ["--lr", "nan"]),
        (density_estimation.main, ["--lr", "inf"]),
        (sweep.main, ["--lam", "nan"]),
        (train_gan.main, ["--lam", "nan"]),
        (train_vae.main, ["--lr", "inf"]),
        (qualitative.main, ["--eps", "nan"]),
    ],
)
def test_non_finite_values_are_refused_before_any_work(main, argv, capsys, tmp_path):
    _fails(main, argv + ["--results-dir", str(tmp_path)], capsys, "finite")
    assert not any(tmp_path.rglob("*.*"))


def test_a_diverging_training_stops_naming_the_step_and_nan_images_get_no_fid(tmp_path):
    with ResumableRun(
        tmp_path / "m.pt",
        tmp_path / "log.csv",
        {"m": torch.nn.Linear(2, 2)},
        {},
        num_steps=3,
        settings={},
        desc="toy",
    ) as run:
        for step in run.steps():
            if step == 1:
                with pytest.raises(
                    UserError, match=r"toy: the loss is nan at step 2: training diverged"
                ):
                    run.finite(torch.tensor(float("nan")), step)
                break
            assert run.finite(torch.tensor(1.5), step) == 1.5
    g = Generator(width=8)
    with torch.no_grad():
        g.net[-2].bias.fill_(float("nan"))
    with pytest.raises(UserError, match="not finite"):
        generate_uint8(g, torch.randn(4, 100))


# 6 and 15. Report paths: LaTeX reads the results through a plain relative link, whatever the
# real path holds (relative, LaTeX specials, non-ASCII letters).
def test_the_report_reads_the_results_through_a_plain_link(tmp_path, monkeypatch):
    report = tmp_path / "report"
    report.mkdir()
    (report / "report.pdf").write_text("an old build")
    monkeypatch.chdir(tmp_path)
    calls = []
    monkeypatch.setattr(reproduce.shutil, "which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr(
        reproduce.subprocess,
        "run",
        lambda cmd, **kw: (
            calls.append(cmd)
            or type("R", (), {"returncode": 1, "stdout": "! Undefined control sequence.\n"})()
        ),
    )
    with pytest.raises(
        UserError, match=r"LaTeX failed \(! Undefined control sequence.\); no report.pdf written"
    ):
        reproduce.build_report(pathlib.Path("relative/results"), "quick", report)
    config = (report / "results" / "config.tex").read_text()
    assert r"\def\ResultsDir{results/run/}" in config
    assert (report / "results" / "run").resolve() == tmp_path / "relative" / "results"
    assert not (report / "report.pdf").exists()  # no old PDF left looking current
    for odd in ("a#b {c}", "résultats"):
        (tmp_path / odd).mkdir()
        with pytest.raises(UserError, match="LaTeX failed"):  # the fake LaTeX fails every time
            reproduce.build_report(tmp_path / odd, "quick", report)
        assert (report / "results" / "run").resolve() == tmp_path / odd
        assert odd not in (report / "results" / "config.tex").read_text()
    assert len(calls) == 3


# 8. Sample images of 16 bits per pixel; a forged or damaged statistics file.
def test_16_bit_pngs_are_read_at_their_level_not_as_white(tmp_path):
    (tmp_path / "s").mkdir()
    # 50% grey
    Image.fromarray(np.full((32, 32), 32896, dtype=np.uint16)).save(tmp_path / "s" / "grey.png")
    assert Image.open(tmp_path / "s" / "grey.png").mode.startswith("I")
    x = images.load_images([tmp_path / "s" / "grey.png"])
    assert x.shape == (1, 32, 32, 3) and (x == 128).all()


def test_images_in_a_linked_folder_are_read_as_the_course_reads_them(tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "run" / "samples").mkdir(parents=True)
    for i in range(3):
        Image.new("RGB", (32, 32), (i, 0, 0)).save(tmp_path / "run" / "samples" / f"{i}.png")
        Image.new("RGB", (32, 32), (0, i, 0)).save(elsewhere / f"{i}.png")
    (tmp_path / "run" / "samples" / "more").symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "loop").symlink_to(tmp_path / "run" / "samples", target_is_directory=True)
    files = images.list_images(tmp_path / "run")
    assert len(files) == 6  # the linked folder's three included, the loop read once


def test_float_images_are_read_at_their_levels_or_refused(tmp_path, capsys):
    grey = np.full((32, 32), 0.5, dtype=np.float32)  # mode F, values 0-1
    Image.fromarray(grey).save(tmp_path / "unit.tiff")
    Image.fromarray(grey * 255).save(tmp_path / "levels.tiff")
    Image.fromarray(grey * 1000).save(tmp_path / "other.tiff")
    x = images.load_images([tmp_path / "unit.tiff", tmp_path / "levels.tiff"])
    assert (np.abs(x.astype(int) - 128) <= 1).all()  # not black
    assert "float" in capsys.readouterr().err  # the conversion is said
    with pytest.raises(UserError, match="outside \\[0, 255\\]"):
        images.load_images([tmp_path / "other.tiff"])


def test_an_unreadable_sample_folder_is_named_with_its_permissions(tmp_path, monkeypatch):
    (tmp_path / "samples").mkdir()

    def refused(top, followlinks, onerror):
        onerror(PermissionError(13, "Permission denied", str(top)))
        return iter(())

    monkeypatch.setattr(images.os, "walk", refused)
    with pytest.raises(UserError, match="Permission denied.*permissions"):
        images.list_images(tmp_path)


def test_altered_statistics_are_refused_and_a_damaged_cache_is_recomputed(
    tmp_path, capsys, classifier_file
):
    mu, sigma = np.zeros(4), np.eye(4)
    path = frechet.write_stats(tmp_path / "s.npz", mu, sigma, "test set", "abc")
    assert frechet.read_stats(path, "abc")[2] == "test set"
    with pytest.raises(UserError, match="another classifier"):
        frechet.read_stats(path, "xyz")
    forged = dict(np.load(path))
    forged["mu"] = np.ones(4)
    np.savez(path, **forged)
    with pytest.raises(UserError, match="do not match their checksum"):
        frechet.read_stats(path, "abc")
    np.savez(
        tmp_path / "svhn_test_10k.npz",
        x=np.random.default_rng(0).integers(0, 256, (5, 32, 32, 3), np.uint8),
    )
    model_path = classifier_file(tmp_path / "clf.npz")
    model = load_classifier(model_path)
    with pytest.warns(RuntimeWarning):
        first = frechet.reference_statistics(model, "svhn-test-10k", tmp_path, tmp_path / "cache")
    cache = next((tmp_path / "cache").glob("*.npz"))
    cache.write_bytes(cache.read_bytes()[:100])  # truncated
    with pytest.warns(RuntimeWarning):
        again = frechet.reference_statistics(model, "svhn-test-10k", tmp_path, tmp_path / "cache")
    assert "recomputing" in capsys.readouterr().err and np.array_equal(first[0], again[0])


# 9. Two runs writing one results directory at once: the second is refused, naming the first.
def test_a_second_run_on_the_same_directory_is_refused_naming_the_first(tmp_path):
    with directory_lock(tmp_path):
        with pytest.raises(UserError, match=r"in use by a run still going \(process \d+\)"):
            ResumableRun(
                tmp_path / "m.pt",
                tmp_path / "log.csv",
                {"m": torch.nn.Linear(2, 2)},
                {},
                num_steps=1,
                settings={},
                desc="toy",
            )
    with ResumableRun(
        tmp_path / "m.pt",
        tmp_path / "log.csv",
        {"m": torch.nn.Linear(2, 2)},
        {},
        num_steps=1,
        settings={},
        desc="toy",
    ):
        pass  # free again once the first run ends


# 10. Out-of-range values: one line, exit 2, before any training time is spent.
@pytest.mark.parametrize(
    "main, argv, needle",
    [
        (sweep.main, ["--seed", "-1"], "seed"),
        (sweep.main, [f"--seed={2**32}"], "seed"),
        (sweep.main, ["--lr=-0.001"], "above 0"),
        (sweep.main, ["--lr", "1e39"], "finite"),  # finite in Python, inf in float32
        (train_gan.main, ["--lam", "1e39"], "finite"),
        (sweep.main, ["--lam=-5"], "at least 10"),
        (sweep.main, ["--batch-size", "1e12"], "positive integer"),
        (sweep.main, ["--batch-size", str(10**12)], "out of memory"),
        (density_estimation.main, ["--batch-size", str(10**13)], "out of memory"),
        (fid_curves.main, ["--n", "1"], "at least 2"),
        (
            train_gan.main,
            ["--dataset", "svhn-partial", "--device", "cpu", "--width", "1000000"],
            "out of memory",
        ),
        (train_gan.main, ["--ema", "1"], "[0, 1)"),
        (qualitative.main, ["--pairs", str(10**9)], "between 1 and 20"),
        (qualitative.main, ["--eps", "1e39"], "finite"),
        (qualitative.main, ["--eps", "1000"], "between 0.001 and 100"),
    ],
)
def test_out_of_range_values_are_one_line_before_any_work(main, argv, needle, capsys, tmp_path):
    _fails(main, argv + ["--results-dir", str(tmp_path)], capsys, needle)
    assert not any(tmp_path.rglob("*.*"))


@pytest.mark.parametrize(
    "error",
    [
        MemoryError("Unable to allocate 14.6 TiB for an array with shape (10**12, 2)"),
        RuntimeError(
            "[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory"
        ),
        type("OutOfMemoryError", (RuntimeError,), {})(
            "CUDA out of memory. Tried to allocate 9 GiB"
        ),
    ],
)
def test_an_allocation_failure_is_one_line_naming_the_sizes(error, capsys):
    from utils.cli import cli

    def main(argv=None):
        raise error

    with pytest.raises(SystemExit) as e:
        cli(main)([])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("error: out of memory (") and "--batch-size" in err


def test_other_runtime_errors_are_not_called_out_of_memory():
    from utils.cli import cli

    def main(argv=None):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    with pytest.raises(RuntimeError, match="shapes"):
        cli(main)([])


# 11. Devices this project cannot use.
@pytest.mark.parametrize(
    "name", ["mps", "xpu", "meta", "foo", "cuda:7" if torch.cuda.is_available() else "cuda"]
)
def test_unusable_devices_are_one_clear_error(name):
    with pytest.raises(UserError, match=f"--device {name}|unknown device"):
        get_device(name)


# 12. A full disk while writing a checkpoint or an output.
def test_a_full_disk_keeps_the_previous_checkpoint_names_the_file_and_leaves_no_temporary(
    tmp_path, monkeypatch
):
    path = save_checkpoint(tmp_path / "m.pt", {"step": 1})
    before = path.read_bytes()

    def no_space(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pathlib.Path, "write_bytes", no_space)
    with pytest.raises(
        WriteError,
        match=r"no space left on the device writing .*m\.pt \(.* MiB free, .* MiB needed",
    ):
        save_checkpoint(path, {"step": 2, "w": torch.zeros(1000)})
    monkeypatch.undo()
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["m.pt"]

    def torch_full_disk(tmp):
        raise RuntimeError(
            "[enforce fail at inline_container.cc:626] . unexpected pos 1234 vs 1000"
        )

    with pytest.raises(WriteError, match="no space left"):
        atomic_write(tmp_path / "x.pt", torch_full_disk)
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]


# 13. An unwritable FID cache is a note; the FID is still given.
def test_an_unwritable_cache_is_only_a_note(tmp_path, monkeypatch, capsys, classifier_file):
    np.savez(
        tmp_path / "svhn_test_10k.npz",
        x=np.random.default_rng(0).integers(0, 256, (5, 32, 32, 3), np.uint8),
    )
    model_path = classifier_file(tmp_path / "clf.npz")

    def read_only(*a, **k):
        raise UserError("cannot write x: Read-only file system")

    monkeypatch.setattr(frechet, "write_stats", read_only)
    with pytest.warns(RuntimeWarning):
        mu, _, _ = frechet.reference_statistics(
            load_classifier(model_path), "svhn-test-10k", tmp_path, tmp_path / "cache"
        )
    assert mu.shape == (512,) and "not cached" in capsys.readouterr().err


# 14. fid.py and the evaluations on odd inputs.
def test_fid_inputs_wrong_kind_no_snapshots_symlink_and_nan_classifier(tmp_path, capsys):
    gan = _training_checkpoint(
        tmp_path / "vae.pt",
        {"generator": Generator(width=8)},
        step=1,
        num_steps=1,
        meta={"model": "gan", "width": 8},
    )
    with pytest.raises(UserError, match="holds a gan training, not a vae one"):
        load_generator(gan, "cpu", "vae")
    # a checkpoint from before the snapshots: one line, no curve
    with pytest.raises(UserError, match="keeps no generator snapshots"):
        checkpoint_fids(gan, scorer=None)
    target = tmp_path / "elsewhere"
    (target / "keep").mkdir(parents=True)
    (tmp_path / "fid_samples").symlink_to(target)
    fid.write_pngs(np.zeros((2, 32, 32, 3), np.uint8), tmp_path / "fid_samples")
    assert (target / "keep").exists() and not (tmp_path / "fid_samples").is_symlink()
    state = {k: v.numpy() for k, v in Classifier().state_dict().items()}
    state["conv_stack.0.weight"][0, 0, 0, 0] = np.nan
    np.savez(tmp_path / "nan.npz", **state)
    with pytest.raises(UserError, match="nan or inf"):
        load_classifier(tmp_path / "nan.npz")


# 15. Messages that name the real problem.
def test_messages_name_the_missing_split_and_the_missing_local_file(tmp_path):
    np.savez(
        tmp_path / "binarized_mnist.npz",
        train=np.zeros((2, 98), np.uint8),
        valid=np.zeros((2, 98), np.uint8),
    )
    with pytest.raises(UserError, match=r"no test split \(it holds train, valid\)"):
        p2data.load_binarized_mnist(tmp_path, download_ok=False)
    (tmp_path / "binarized_mnist.npz").unlink()
    (tmp_path / "binarized_mnist_train.amat").write_text("0 " * 784)
    with pytest.raises(
        UserError, match="holds binarized_mnist_train.amat but not binarized_mnist_valid.amat"
    ) as e:
        p2data.load_binarized_mnist(tmp_path)
    assert "download" not in str(e.value)


def test_written_text_round_trips_and_an_unwritable_place_is_one_line(tmp_path):
    write_text(tmp_path / "a.txt", "x")
    assert (tmp_path / "a.txt").read_text() == "x"
    with pytest.raises(WriteError, match=r"cannot write .*a\.txt/b\.txt"):
        write_text(tmp_path / "a.txt" / "b.txt", "y")  # its parent is a file
    assert (tmp_path / "a.txt").read_text() == "x"


# Results labelled by what was stored; nothing deleted that a tool did not write.
@pytest.mark.parametrize("name", ["fid_samples", "seed1"])
def test_run_names_a_tool_or_the_seeds_use_are_refused(name, capsys):
    with pytest.raises(SystemExit) as e:
        train_gan.main(["--run", name, "--device", "cpu"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "reserved" in err


def test_the_fid_step_never_deletes_a_folder_it_did_not_write(tmp_path):
    run = tmp_path / "fid_samples"
    run.mkdir()
    (run / "vae.pt").write_bytes(b"a finished training")
    pictures = np.zeros((2, 32, 32, 3), dtype=np.uint8)
    with pytest.raises(UserError, match="not written by fid.py"):
        fid.write_pngs(pictures, run)
    assert (run / "vae.pt").read_bytes() == b"a finished training"
    ours = fid.write_pngs(pictures, tmp_path / "ours")
    fid.write_pngs(pictures[:1], ours)  # its own folder: replaced
    assert len(list((ours / "samples").iterdir())) == 1
    (ours / fid.MARK).unlink()  # a folder from before the mark, only samples/NNNN.png: replaced
    fid.write_pngs(pictures, ours)
    assert len(list((ours / "samples").iterdir())) == 2


def test_a_checkpoint_in_another_seeds_place_is_refused():
    good = {("vae", 0): {"checkpoint": "vae/seed0/vae.pt", "settings": {"seed": 0}}}
    fid.check_seed_labels(good)
    moved = {("vae", 1): {"checkpoint": "vae/seed1/vae.pt", "settings": {"seed": 0}}}
    with pytest.raises(UserError, match="trained with seed 0, not 1"):
        fid.check_seed_labels(moved)


# Tracebacks that are now one line.
def test_a_batch_of_one_image_is_refused_before_batch_norm_sees_it(capsys):
    with pytest.raises(SystemExit) as e:
        train_vae.main(["--quick", "--batch-size", "1", "--device", "cpu"])
    assert e.value.code == 2 and "must be at least 2" in capsys.readouterr().err


def test_a_training_file_without_images_is_one_line(tmp_path):
    empty = np.zeros((0, 32, 32, 3), dtype=np.uint8)
    np.savez(tmp_path / "svhn_partial.npz", train_first=empty, extra_first=empty)
    with pytest.raises(UserError, match="0 images, too few"):
        svhn.load_training_images("svhn-partial", tmp_path)


def test_a_plain_state_dict_where_a_checkpoint_belongs_is_named_as_such(tmp_path, capsys):
    torch.save(VAE().state_dict(), tmp_path / "vae.pt")  # as a notebook would save it
    with pytest.raises(UserError, match="a plain state dict .* not a training checkpoint"):
        load_checkpoint(tmp_path / "vae.pt")
    with pytest.raises(SystemExit) as e:
        evaluate.main(["--checkpoint", str(tmp_path / "vae.pt"), "--quick", "--device", "cpu"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "plain state dict" in err and "unfinished" not in err


def test_a_results_folder_that_cannot_be_written_is_one_line(tmp_path):
    (tmp_path / ".lock").mkdir()  # open() fails here even for root, as for a folder not one's own
    with pytest.raises(UserError, match="cannot write in .*writable --results-dir"):
        with directory_lock(tmp_path):
            pass


def test_a_mistyped_data_directory_is_refused_and_not_created(tmp_path, monkeypatch):
    from utils.cli import data_dir

    with pytest.raises(UserError, match="does not exist"):
        data_dir(tmp_path / "dta")
    monkeypatch.setenv("A3_DATA_DIR", str(tmp_path / "dat"))
    with pytest.raises(UserError, match="does not exist"):
        svhn.resolve_dataset("auto")
    assert not (tmp_path / "dta").exists() and not (tmp_path / "dat").exists()


def test_the_fid_curves_cache_lives_under_its_results_directory(tmp_path, monkeypatch):
    made = []

    def scorer(*args):
        made.append(args)
        raise UserError("stop here")

    monkeypatch.setattr(fid_curves, "FidScorer", scorer)
    monkeypatch.setattr(fid_curves, "fid_reference", lambda name, root: name)
    run = tmp_path / "R" / "problem3" / "gan" / "seed0"
    run.mkdir(parents=True)
    (run / "gan.pt").write_bytes(b"")
    with pytest.raises(SystemExit):
        fid_curves.main(["--results-dir", str(tmp_path / "R")])
    assert made[0][-1] == tmp_path / "R" / "fid_cache"
