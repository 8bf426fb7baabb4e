import csv
import json
import pickle
import warnings

import numpy as np
import pytest
import scipy.io
import scipy.linalg
import torch
from PIL import Image

import score_fid
from problem3 import classifier, fid, fid_curves, frechet, images, qualitative, train_gan, train_vae
from problem3 import data as svhn
from problem3.data import load_training_images, read_svhn
from problem3.models import Critic, Encoder, Generator, load_generator, vae_loss
from utils.cli import UserError
from utils.files import file_hash, read_csv


def _features(n, d, seed, shift=0.0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) * 0.3 + shift


def test_fid_of_a_set_with_itself_is_zero():
    f = _features(300, 20, 0)
    assert abs(score_fid.calculate_fid_score(iter(f), iter(f))) < 1e-6


def test_fid_is_symmetric_and_matches_scipy_sqrtm():
    a, b = _features(300, 20, 0), _features(250, 20, 1, shift=0.5)
    ab, ba = (
        score_fid.calculate_fid_score(iter(a), iter(b)),
        score_fid.calculate_fid_score(iter(b), iter(a)),
    )
    assert ab == pytest.approx(ba, rel=1e-9)
    mu_a, s_a = a.mean(0), np.cov(a, rowvar=False)
    mu_b, s_b = b.mean(0), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s_a @ s_b).real
    direct = np.sum((mu_a - mu_b) ** 2) + np.trace(s_a + s_b - 2 * covmean)
    assert ab == pytest.approx(direct, rel=1e-6)


def test_frechet_distance_closed_form_for_two_gaussians():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    v1, v2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)  # 5 + 1 + 1 + 4
    assert frechet.frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(
        expected, abs=1e-10
    )
    assert expected == pytest.approx(11.0)


def test_fewer_samples_than_dimensions_warns():
    with pytest.warns(RuntimeWarning, match="singular"):
        frechet.feature_statistics(iter(_features(10, 20, 0)))


# ----------------------------------------------------------------------------- the classifier
def test_classifier_loads_from_both_files_with_identical_features(shared_data):
    a = classifier.load_classifier(shared_data / "svhn_classifier.pt")
    b = classifier.load_classifier(shared_data / "svhn_classifier_state_dict.npz")
    imgs = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    fa, fb = (
        np.stack(list(frechet.extract_features(a, imgs))),
        np.stack(list(frechet.extract_features(b, imgs))),
    )
    assert fa.shape == (8, 512) and np.array_equal(fa, fb)


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("echo should-never-run",))


def test_classifier_is_copied_checked_or_downloaded(shared_data, tmp_path, monkeypatch):
    real = shared_data / "svhn_classifier.pt"
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "svhn_classifier.pt").write_bytes(b"not the classifier")
    with pytest.raises(UserError, match="SHA-256"):
        svhn.fetch_classifier(tmp_path / "out.pt", root=tmp_path / "bad")
    copied = svhn.fetch_classifier(tmp_path / "copied.pt", root=shared_data)
    assert copied.read_bytes() == real.read_bytes()
    monkeypatch.setattr(svhn, "CLASSIFIER_URL", (tmp_path / "nowhere.pt").as_uri())
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match=r"not found, and could not download .*A3_DATA_DIR"):
        svhn.fetch_classifier(tmp_path / "out.pt", root=tmp_path / "empty")
    monkeypatch.setattr(svhn, "CLASSIFIER_URL", real.as_uri())  # the download path, offline
    fetched = svhn.fetch_classifier(tmp_path / "fetched.pt", root=tmp_path / "empty")
    assert file_hash(fetched) == svhn.CLASSIFIER_SHA256


def test_pickles_outside_the_allow_list_are_refused(tmp_path):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:  # the legacy layout: magic, protocol, sys info, then the object
        for obj in (0x1950A86A20F9469CFC6C, 1001, {}, _Evil()):
            pickle.dump(obj, f, protocol=2)
    with pytest.raises(UserError, match="allow-list"):
        classifier.load_classifier(path)


def test_classifier_round_trips_through_a_zip_state_dict(tmp_path):
    torch.manual_seed(0)
    m = classifier.Classifier()
    torch.save(m.state_dict(), tmp_path / "c.pt")
    loaded = classifier.load_classifier(tmp_path / "c.pt")
    x = torch.randn(2, 3, 32, 32)
    assert torch.equal(loaded.extract_features(x), m.eval().extract_features(x))


# ----------------------------------------------------------------------------- score_fid input
# errors
def _png_dir(root, n, size=32):
    d = root / "samples"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(d / f"{i}.png")
    return root


def test_sample_directory_errors(tmp_path):
    with pytest.raises(UserError, match="exactly one subdirectory"):
        images.list_images(tmp_path)
    (tmp_path / "samples").mkdir()
    with pytest.raises(UserError, match="0 image.*at least 2"):
        images.list_images(tmp_path)
    (tmp_path / "samples" / "bad.png").write_bytes(b"not a png")
    (tmp_path / "samples" / "also.png").write_bytes(b"not a png")
    with pytest.raises(UserError, match="unreadable image"):
        images.load_images(images.list_images(tmp_path))
    (tmp_path / "other").mkdir()
    with pytest.raises(UserError, match="found 2"):
        images.list_images(tmp_path)


def test_images_in_nested_folders_are_found_and_other_files_reported(tmp_path, capsys):
    _png_dir(tmp_path, 1)
    nested = tmp_path / "samples" / "more" / "deeper"
    nested.mkdir(parents=True)
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(nested / "x.PNG")
    (tmp_path / "samples" / "notes.txt").write_text("not an image")
    files = images.list_images(tmp_path)
    assert [f.name for f in files] == ["0.png", "x.PNG"]
    assert "skipped 1 file(s) that are not images: notes.txt" in capsys.readouterr().err
    (nested / "x.PNG").unlink()
    with pytest.raises(UserError, match="1 image.*at least 2"):
        images.list_images(tmp_path)


def test_a_rounding_level_negative_fid_is_zero():
    f = _features(600, 8, 3)
    mu, sigma = f.mean(0), np.cov(f, rowvar=False)
    assert frechet.frechet_distance(mu, sigma, mu, sigma * (1 + 1e-15)) == 0.0


def test_images_of_another_size_are_resized_as_torchvision_resize_does(tmp_path):
    from torchvision import transforms

    files = images.list_images(_png_dir(tmp_path, 3, size=48))
    imgs = images.load_images(files)
    assert imgs.shape == (3, 32, 32, 3) and imgs.dtype == np.uint8
    # the course's Resize((32, 32)) on the PIL image, pixel for pixel
    for img, f in zip(imgs, files):
        with Image.open(f) as im:
            reference = np.asarray(transforms.Resize((32, 32))(im.convert("RGB")))
        assert np.array_equal(img, reference)
        # not a crop
        assert not np.array_equal(img, np.asarray(Image.open(f).convert("RGB"))[::3, ::3][:32, :32])


def test_a_classifier_file_with_other_keys_or_shapes_is_refused_naming_them(tmp_path):
    state = classifier.Classifier().state_dict()
    first, second = list(state)[:2]
    bad = {k: v for k, v in state.items() if k != first}
    bad[second] = torch.zeros(3, 3)
    bad["extra.weight"] = torch.zeros(1)
    torch.save(bad, tmp_path / "c.pt")
    with pytest.raises(UserError) as e:
        classifier.load_classifier(tmp_path / "c.pt")
    msg = str(e.value)
    assert (
        f'Missing key(s) in state_dict: "{first}"' in msg
        and 'Unexpected key(s) in state_dict: "extra.weight"' in msg
        and f"size mismatch for {second}: copying a param with shape torch.Size([3, 3])" in msg
    )
    # a pickled global outside the allow-list
    torch.save({"not": "a model", "fn": print}, tmp_path / "p.pt")
    with pytest.raises(UserError, match="not the course's SVHN classifier") as e:
        classifier.load_classifier(tmp_path / "p.pt")
    assert "weights_only" not in str(e.value) and "allow_pickle" not in str(e.value)


# ----------------------------------------------------------------------------- models
def test_model_shapes_and_vae_loss():
    g, e, c = Generator(), Encoder(), Critic()
    x = g(torch.randn(4, 100))
    assert x.shape == (4, 3, 32, 32) and x.abs().max() <= 1
    mu, sigma = e(x)
    assert mu.shape == (4, 100) and (sigma > 0).all()
    assert c(x).shape == (4,)
    nelbo, rec, kl = vae_loss(e, g, x.detach(), 127.5)
    assert nelbo.shape == (4,) and torch.allclose(nelbo, rec + kl) and (kl >= 0).all()


@pytest.mark.parametrize("scale", [127.5, 8.0, 1.0])
def test_vae_loss_is_the_gaussian_likelihood_on_pixel_values_and_the_closed_form_kl(scale):
    torch.manual_seed(0)
    g, e = Generator().eval(), Encoder().eval()
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    noise = torch.randn(3, 100)
    nelbo, rec, kl = vae_loss(e, g, x, scale, noise)
    mu, sigma = e(x)
    mean = g(mu + sigma * noise)
    # N(x; g(z), I) on values 0 .. 2 * scale
    pixels = torch.distributions.Normal(scale * (mean + 1), 1.0)
    expected_rec = -pixels.log_prob(scale * (x + 1)).flatten(1).sum(1)
    expected_kl = torch.distributions.kl_divergence(
        torch.distributions.Normal(mu, sigma), torch.distributions.Normal(0.0, 1.0)
    ).sum(1)
    assert torch.allclose(rec, expected_rec, rtol=1e-5) and torch.allclose(
        kl, expected_kl, rtol=1e-5, atol=1e-4
    )
    assert torch.allclose(nelbo, rec + kl)


# ----------------------------------------------------------------------------- end to end on
# synthetic .mat files
def _write_svhn(root, n_train=48, n_test=40):
    """Synthetic {train,test}_32x32.mat files (the layout of the official ones); returns their
    md5s."""
    rng = np.random.default_rng(0)
    md5 = {}
    for split, n in (("train", n_train), ("test", n_test)):
        path = root / f"{split}_32x32.mat"
        scipy.io.savemat(
            path,
            {
                "X": rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8),
                "y": rng.integers(1, 11, (n, 1)),
            },
        )
        md5[split] = file_hash(path, "md5")
    return md5


@pytest.fixture
def official(monkeypatch):
    """Make torchvision.datasets.SVHN (and so problem3.data) take given URLs and md5s for the
    official files."""
    from torchvision.datasets import SVHN

    def register(md5: dict, base_url: str = "http://127.0.0.1:9"):
        for split, digest in md5.items():
            monkeypatch.setitem(
                SVHN.split_list,
                split,
                [f"{base_url}/{split}_32x32.mat", f"{split}_32x32.mat", digest],
            )

    return register


def test_svhn_files_are_read_by_torchvision_after_the_md5_check_and_split(tmp_path, official):
    official(_write_svhn(tmp_path))
    x, y = read_svhn("train", tmp_path)
    raw = scipy.io.loadmat(tmp_path / "train_32x32.mat")
    assert (
        x.shape == (48, 32, 32, 3)
        and x.dtype == np.uint8
        and np.array_equal(x[5], raw["X"][..., 5])
    )
    assert np.array_equal(y, raw["y"].ravel() % 10) and y.max() <= 9
    d = load_training_images("svhn", tmp_path, valid_fraction=0.25)
    assert len(d["train"]) == 36 and len(d["valid"]) == 12
    (tmp_path / "test_32x32.mat").write_bytes(b"truncated")
    with pytest.raises(UserError, match="test_32x32.mat: not the official SVHN test file"):
        read_svhn("test", tmp_path)


def test_the_official_md5s_and_urls_are_torchvisions():
    url, name, md5 = images.official_file("test")
    assert (
        url == "http://ufldl.stanford.edu/housenumbers/test_32x32.mat" and name == "test_32x32.mat"
    )
    assert md5 == "eb5a983be6a315427106f1b164d9cef3"


def test_official_files_are_downloaded_with_md5_checks_else_partial_is_used(
    tmp_path, http_server, official, capsys
):
    served, url = http_server
    md5 = _write_svhn(served)
    official({**md5, "train": "0" * 32}, url)
    (tmp_path / "data").mkdir()
    assert svhn.resolve_dataset("auto", tmp_path / "data") == "svhn-partial"
    assert "checksum mismatch" in capsys.readouterr().err
    assert not (tmp_path / "data" / "train_32x32.mat").exists()  # a corrupt download is never kept
    official(md5, url)
    assert svhn.resolve_dataset("auto", tmp_path / "data") == "svhn"
    assert np.array_equal(read_svhn("train", tmp_path / "data")[0], read_svhn("train", served)[0])
    x, description = images.reference_images("auto", tmp_path / "data")
    assert description == "SVHN test, 40 images" and np.array_equal(x, read_svhn("test", served)[0])


@pytest.mark.slow
def test_problem3_pipeline_end_to_end_on_synthetic_files(
    tmp_path, isolated_results, official, capsys, classifier_file
):
    official(_write_svhn(tmp_path, n_train=60))
    model = classifier_file(tmp_path / "classifier.npz")
    common = [
        "--dataset",
        "svhn",
        "--data-dir",
        str(tmp_path),
        "--iterations",
        "3",
        "--ckpt-every",
        "2",
        "--batch-size",
        "8",
        "--width",
        "8",
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 20 samples < 512 feature dims
        for seed in ("0", "1"):
            train_vae.main(common + ["--seed", seed])
            train_gan.main(
                common
                + ["--seed", seed, "--n-critic", "2", "--augment", "translation,color,cutout"]
            )
        qualitative.main(["--dims", "2", "--pairs", "1"])
        curve_flags = ["--n", "20", "--model", str(model), "--data-dir", str(tmp_path)]
        fid_curves.main([*curve_flags, "--dataset", "svhn"])
        fid.main(
            [
                "--n",
                "30",
                "--model",
                str(model),
                "--data-dir",
                str(tmp_path),
                "--dataset",
                "svhn",
                "--train-seeds",
                "0,1",
            ]
        )
    out = isolated_results / "problem3"
    for m in ("vae", "gan"):
        for f in (
            "samples.png",
            "perturbations.png",
            "interpolation.png",
            "seed0/training_curves.png",
            "seed1/run.json",
        ):
            assert (out / m / f).exists(), f"{m}/{f}"
        assert len(list((out / m / "fid_samples" / "samples").glob("*.png"))) == 30
    gan_run = json.loads((out / "gan" / "seed0" / "run.json").read_text())
    # flags beat the recipe
    assert gan_run["settings"]["n_critic"] == 2 and gan_run["settings"]["iterations"] == 3
    assert gan_run["settings"]["ema"] == train_gan.DEFAULTS["ema"] and gan_run["profile"] == "cpu"
    assert gan_run["last_evaluation"]["step"] == 3 and "critic_gap" in gan_run["last_evaluation"]
    log = read_csv(out / "gan" / "seed0" / "train_log.csv")
    gaps = [r["step"] for r in log if r["critic_gap"] == r["critic_gap"]]
    assert gaps == [2, 3] and "fid" not in log[0]  # training computes no FID
    vae_log = [r for r in read_csv(out / "vae" / "seed1" / "train_log.csv") if r["valid_elbo"] < 0]
    assert [r["step"] for r in vae_log] == [2, 3] and all(r["valid_kl"] >= 0 for r in vae_log)
    # the monitoring curves: every checkpoint of every run, against the selection images only
    curves = json.loads((out / "fid_curves.json").read_text())
    assert curves["reference"] == "SVHN train, held-out validation split (6 images)"
    assert set(curves["runs"]) == {f"{m}/seed{s}" for m in ("vae", "gan") for s in (0, 1)}
    for run, rows in curves["runs"].items():
        assert [r["step"] for r in rows] == [2, 3] and all(r["fid"] > 0 for r in rows)
        assert read_csv(out / run / "fid_curve.csv") == rows
    res = json.loads((out / "fid.json").read_text())
    reported = res["reported"]
    assert reported["reference"] == "SVHN test, 40 images" and reported["floor_train"] > 0
    for m in ("vae", "gan"):
        per_seed = reported[f"{m}_per_seed"]
        assert set(per_seed) == {"0", "1"} and reported[m]["n"] == 2
        assert reported[m]["mean"] == pytest.approx(np.mean(list(per_seed.values())))
        assert reported[m]["sd"] == pytest.approx(np.std(list(per_seed.values()), ddof=1))
    assert res["selection"]["reference"] == "SVHN train, held-out validation split (6 images)"
    draws = res["draws"]
    assert draws["reference"] == reported["reference"] and draws["train_seed"] == 0
    # the same model on 5 other sets of codes: 5 different FIDs, none the reported one
    for m in (
        "vae",
        "gan",
    ):
        fids = draws[m]["fids"]
        assert len(set(fids)) == 5 and reported[f"{m}_per_seed"]["0"] not in fids
        assert draws[m]["sd"] == pytest.approx(np.std(fids, ddof=1)) and draws[m]["sd"] > 0
    assert res["models"]["gan seed 1"]["step"] == 3
    assert (out / "fid_curves.png").exists() and (out / "qualitative.json").exists()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        score_fid.main(
            [str(out / "gan" / "fid_samples"), "--model", str(model), "--data-dir", str(tmp_path)]
        )
    assert "FID score:" in capsys.readouterr().out


def _straight_equals_resumed(
    train, common: list[str], tmp_path, model: str, modules: tuple[str, ...]
) -> dict:
    """Train 4 iterations in one go (results dir straight/) and as 2 then resumed to 4 (resumed/);
    assert the two final checkpoints hold equal ``modules``; return the first."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # FIDs of 4 samples in 512 dimensions
        train(common + ["--iterations", "4", "--results-dir", str(tmp_path / "straight")])
        train(common + ["--iterations", "2", "--results-dir", str(tmp_path / "resumed")])
        train(common + ["--iterations", "4", "--results-dir", str(tmp_path / "resumed")])
    a, b = (
        torch.load(tmp_path / d / "problem3" / model / "seed0" / f"{model}.pt", weights_only=True)
        for d in ("straight", "resumed")
    )
    assert a["step"] == b["step"] == 4
    for name in modules:
        for k, v in a["modules"][name].items():
            assert torch.equal(v, b["modules"][name][k]), f"{name}.{k}"
    return a


def _tiny_training(tmp_path, official) -> list[str]:
    """Flags of a tiny Problem 3 training on 60 synthetic official-format images, checkpointing
    every 2 iterations, with a random classifier for its monitoring FID."""
    official(_write_svhn(tmp_path, n_train=60))
    sizes = ["--ckpt-every", "2", "--batch-size", "8", "--width", "8"]
    return [
        "--dataset",
        "svhn",
        "--data-dir",
        str(tmp_path),
        *sizes,
        "--device",
        "cpu",
    ]


@pytest.mark.slow
def test_a_resumed_gan_run_equals_an_uninterrupted_one(tmp_path, official, capsys):
    common = [*_tiny_training(tmp_path, official), "--n-critic", "2"]
    _straight_equals_resumed(
        train_gan.main, common, tmp_path, "gan", ("generator", "critic", "generator_ema")
    )
    # another learning rate: refused, naming it, not relabelled
    with pytest.raises(SystemExit) as e:
        train_gan.main(
            common
            + ["--iterations", "4", "--lr", "0.01", "--results-dir", str(tmp_path / "straight")]
        )
    err = capsys.readouterr().err
    assert e.value.code == 2 and "lr 0.001 -> 0.01" in err and "--restart" in err
    assert (
        json.loads((tmp_path / "straight" / "problem3" / "gan" / "seed0" / "run.json").read_text())[
            "settings"
        ]["lr"]
        == 1e-3
    )
    # the generator's snapshots, one per checkpoint, replay exactly too
    a, b = (
        torch.load(tmp_path / d / "problem3" / "gan" / "seed0" / "gan.pt", weights_only=True)
        for d in ("straight", "resumed")
    )
    assert sorted(a["snapshots"]) == sorted(b["snapshots"]) == [2, 4]
    for step, weights in a["snapshots"].items():
        assert all(torch.equal(v, b["snapshots"][step][k]) for k, v in weights.items())
    assert torch.equal(
        a["snapshots"][4]["fc.0.weight"], a["modules"]["generator_ema"]["fc.0.weight"]
    )


@pytest.mark.slow
def test_a_resumed_vae_run_with_shifts_and_a_weight_average_equals_an_uninterrupted_one(
    tmp_path, official
):
    common = [*_tiny_training(tmp_path, official), "--profile", "cpu"]
    # the shifts and the weight average replay exactly
    a = _straight_equals_resumed(
        train_vae.main, common, tmp_path, "vae", ("encoder", "generator", "generator_ema")
    )
    assert a["settings"]["shift"] == train_vae.DEFAULTS["shift"] > 0
    g, _ = load_generator(
        tmp_path / "straight" / "problem3" / "vae" / "seed0" / "vae.pt", "cpu", "vae"
    )
    average = {
        k: v
        for k, v in a["modules"]["generator_ema"].items()
        if "running" not in k and "tracked" not in k
    }
    assert all(torch.equal(g.state_dict()[k], v) for k, v in average.items())
    assert not torch.equal(g.state_dict()["fc.0.weight"], a["modules"]["generator"]["fc.0.weight"])


@pytest.mark.slow
def test_the_gpu_recipe_settings_reach_the_gan_run(tmp_path, isolated_results, official):
    official(_write_svhn(tmp_path, n_train=60))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        train_gan.main(
            [
                "--dataset",
                "svhn",
                "--data-dir",
                str(tmp_path),
                "--profile",
                "gpu",
                "--device",
                "cpu",
                "--iterations",
                "1",
                "--width",
                "8",
                "--batch-size",
                "4",
                "--n-critic",
                "1",
            ]
        )
    run = json.loads((isolated_results / "problem3" / "gan" / "seed0" / "run.json").read_text())
    assert (
        run["profile"] == "gpu"
        and run["settings"]["augment"] == train_gan.PROFILES["gpu"]["augment"] != "none"
    )
    assert (
        run["settings"]["ema"] == train_gan.PROFILES["gpu"]["ema"]
        and run["settings"]["iterations"] == 1
    )
    with pytest.raises(SystemExit):
        train_gan.main(
            [
                "--dataset",
                "svhn",
                "--data-dir",
                str(tmp_path),
                "--augment",
                "flip",
                "--iterations",
                "1",
                "--results-dir",
                str(tmp_path / "other"),
            ]
        )


def test_reference_statistics_are_cached_and_a_hit_extracts_no_feature(
    tmp_path, monkeypatch, classifier_file
):
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "svhn_test_10k.npz", x=rng.integers(0, 256, (30, 32, 32, 3), dtype=np.uint8)
    )
    model = classifier.load_classifier(classifier_file(tmp_path / "classifier.npz"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 30 images < 512 feature dims
        mu, sigma, description = frechet.reference_statistics(
            model, "svhn-test-10k", tmp_path, cache_dir=tmp_path / "cache"
        )
    assert (
        description == "SVHN test, first 30 images"
        and mu.shape == (512,)
        and sigma.shape == (512, 512)
    )

    def no_features(*a, **kw):
        raise AssertionError("a cache hit extracted features")

    monkeypatch.setattr(frechet, "extract_features", no_features)
    mu2, sigma2, description2 = frechet.reference_statistics(
        model, "svhn-test-10k", tmp_path, cache_dir=tmp_path / "cache"
    )
    assert description2 == description and np.array_equal(mu2, mu) and np.array_equal(sigma2, sigma)
    np.savez(
        tmp_path / "svhn_test_10k.npz", x=rng.integers(0, 256, (31, 32, 32, 3), dtype=np.uint8)
    )
    # other reference images: no stale hit
    with pytest.raises(AssertionError, match="cache hit extracted"):
        frechet.reference_statistics(model, "svhn-test-10k", tmp_path, cache_dir=tmp_path / "cache")


def test_score_fid_scores_several_directories_and_saves_and_reuses_reference_statistics(
    tmp_path, capsys, classifier_file
):
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "svhn_test_10k.npz", x=rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)
    )
    model = classifier_file(tmp_path / "classifier.npz")
    dirs = []
    for name in ("student_a", "student_b"):
        (tmp_path / name / "samples").mkdir(parents=True)
        for i in range(6):
            Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(
                tmp_path / name / "samples" / f"{i}.png"
            )
        dirs.append(str(tmp_path / name))
    common = [
        "--model",
        str(model),
        "--data-dir",
        str(tmp_path),
        "--cache-dir",
        str(tmp_path / "cache"),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 6 samples < 512 feature dims
        score_fid.main(
            [
                *dirs,
                *common,
                "--csv",
                str(tmp_path / "scores.csv"),
                "--save-stats",
                str(tmp_path / "ref.npz"),
            ]
        )
        lines = capsys.readouterr().out.strip().splitlines()
        assert [
            line.split(": FID score: ")[0] for line in lines
        ] == dirs  # one line per directory, in order
        rows = list(csv.DictReader(open(tmp_path / "scores.csv")))
        assert [r["directory"] for r in rows] == dirs and rows[0][
            "reference"
        ] == "SVHN test, first 40 images"
        # the course's call, stats reused
        score_fid.main([dirs[1], "--reference", str(tmp_path / "ref.npz"), *common])
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("FID score: ")
    assert float(out[0].split()[-1]) == pytest.approx(float(rows[1]["fid"]))
    # statistics under any name are read back; the table on standard output with --csv -
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        score_fid.main([*common, "--save-stats", str(tmp_path / "ref.stats")])
        capsys.readouterr()
        score_fid.main([dirs[1], "--reference", str(tmp_path / "ref.stats"), *common, "--csv", "-"])
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].startswith("FID score: ") and out[1] == "directory,fid,reference"
    assert out[2].startswith(dirs[1] + ",") and not (tmp_path / "-").exists()
    with pytest.raises(SystemExit):  # a missing statistics file is named as missing
        score_fid.main([dirs[0], "--reference", str(tmp_path / "nope.npz"), *common])
    assert "nope.npz: no such file" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # a statistics file made with another classifier is refused
        classifier_file(model, seed=1)
        score_fid.main([dirs[0], "--reference", str(tmp_path / "ref.npz"), *common])
    assert "another classifier" in capsys.readouterr().err


@pytest.mark.parametrize("n", [0, 1])
def test_a_reference_of_fewer_than_two_images_is_one_line(tmp_path, capsys, classifier_file, n):
    np.savez(tmp_path / "svhn_test_10k.npz", x=np.zeros((n, 32, 32, 3), dtype=np.uint8))
    model = classifier_file(tmp_path / "classifier.npz")
    with pytest.raises(SystemExit) as e:
        score_fid.main(
            [
                "--save-stats",
                str(tmp_path / "r.npz"),
                "--model",
                str(model),
                "--data-dir",
                str(tmp_path),
                "--cache-dir",
                str(tmp_path / "c"),
            ]
        )
    err = capsys.readouterr().err
    assert e.value.code == 2 and f"holds {n} image(s)" in err and "Traceback" not in err


def test_a_scorer_against_another_reference_keeps_the_classifier_and_scores_as_a_fresh_one(
    tmp_path, monkeypatch, classifier_file
):
    images = np.random.default_rng(0).integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)
    np.savez(tmp_path / "svhn_test_10k.npz", x=images)
    model_path = classifier_file(tmp_path / "classifier.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 40 images < 512 feature dims
        first = frechet.FidScorer(model_path, "svhn-test-10k", tmp_path, "cpu", tmp_path / "cache")
        first.save_stats(tmp_path / "ref.npz")
        loads = []
        monkeypatch.setattr(frechet, "load_classifier", lambda *a: loads.append(a))
        second = first.against(str(tmp_path / "ref.npz"))  # the same statistics, through a file
        samples = images[:20][::-1].copy()
        assert loads == [] and second.model is first.model
        assert second.score_images(samples) == pytest.approx(first.score_images(samples))
    assert (second.mu == first.mu).all() and second.description == first.description
