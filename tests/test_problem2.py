import math

import numpy as np
import pytest
import torch
from torch.distributions import MultivariateNormal, Normal

from problem2 import evaluate, layers, train_vae
from problem2.data import fetch_amat, load_binarized_mnist, packed_sha256
from problem2.importance_sampling import (
    importance_sampling_log_likelihood,
    log_mean_weight,
    log_weight_terms,
    sample_posterior,
)
from problem2.layers import ExpELU, FastConv2d, MatmulUpsamplingBilinear2d, fast_layers
from problem2.model import VAE, gaussian_kl, negative_elbo
from utils import config as cfg
from utils.cli import UserError
from utils.training import load_checkpoint


@pytest.fixture(scope="module")
def vae():
    """The VAE as the scripts run it: the stock layers with their fast equivalents swapped in."""
    torch.manual_seed(0)
    return fast_layers(VAE()).eval()


def test_the_model_is_built_from_stock_layers_and_fast_layers_keep_its_parameters():
    torch.manual_seed(0)
    plain = VAE()
    assert {type(m) for m in plain.modules()} <= {
        VAE,
        torch.nn.Sequential,
        torch.nn.Conv2d,
        torch.nn.ELU,
        torch.nn.AvgPool2d,
        torch.nn.Flatten,
        torch.nn.Linear,
        torch.nn.UpsamplingBilinear2d,
    }
    keys = list(plain.state_dict())
    values = [v.clone() for v in plain.state_dict().values()]
    fast = fast_layers(plain)
    assert fast is plain and list(fast.state_dict()) == keys
    assert all(torch.equal(a, b) for a, b in zip(fast.state_dict().values(), values))
    swapped = [
        m for m in fast.modules() if isinstance(m, (FastConv2d, ExpELU, MatmulUpsamplingBilinear2d))
    ]
    assert len(swapped) == 16  # 7 convolutions, 7 ELUs, 2 upsamplings


def test_fast_layers_equal_the_stock_model_in_value_and_gradient(vae):
    plain = VAE()
    plain.load_state_dict(vae.state_dict())
    x = (torch.rand(5, 1, 28, 28) > 0.5).float()
    outputs = []
    for model in (vae, plain):
        torch.manual_seed(7)
        model.zero_grad()
        loss = negative_elbo(model.train(), x)[0].sum()
        loss.backward()
        outputs.append((loss.detach(), [p.grad.clone() for p in model.parameters()]))
    vae.eval()
    (fast_loss, fast_grads), (plain_loss, plain_grads) = outputs
    assert torch.allclose(fast_loss, plain_loss, rtol=1e-5)
    assert all(torch.allclose(a, b, rtol=1e-3, atol=1e-4) for a, b in zip(fast_grads, plain_grads))


def test_shapes_and_conv_on_1x1_equals_conv(vae):
    x = (torch.rand(3, 1, 28, 28) > 0.5).float()
    mu, logvar = vae.encode(x)
    assert mu.shape == logvar.shape == (3, 100)
    assert vae.decode(mu).shape == (3, 1, 28, 28)
    conv = vae.decoder[0]
    assert isinstance(conv, FastConv2d)
    h = torch.randn(4, 256, 1, 1)
    assert torch.allclose(conv(h), torch.nn.Conv2d.forward(conv, h), atol=1e-5)


def test_conv_over_whole_input_equals_conv(vae):
    conv = vae.encoder[6]
    assert isinstance(conv, FastConv2d)
    h = torch.randn(4, 64, 5, 5)
    assert torch.allclose(conv(h), torch.nn.Conv2d.forward(conv, h), atol=1e-5)
    wider = torch.randn(2, 64, 6, 6)  # not the whole input: the stock kernel runs
    assert torch.equal(conv(wider), torch.nn.Conv2d.forward(conv, wider))


def test_exp_elu_equals_elu_in_value_and_gradient():
    x = (
        torch.cat([torch.linspace(-30, 30, 601), torch.tensor([0.0, -1e-8, 1e-8])])
        .double()
        .requires_grad_()
    )
    y = ExpELU()(x)
    (g,) = torch.autograd.grad(y, x, torch.ones_like(y))
    x_ref = x.detach().clone().requires_grad_()
    y_ref = torch.nn.functional.elu(x_ref)
    (g_ref,) = torch.autograd.grad(y_ref, x_ref, torch.ones_like(y_ref))
    assert torch.allclose(y, y_ref, atol=1e-15) and torch.allclose(g, g_ref, atol=1e-15)
    x32 = torch.randn(10000) * 5
    assert (ExpELU()(x32) - torch.nn.functional.elu(x32)).abs().max() < 1e-6
    assert torch.autograd.gradcheck(
        ExpELU(), torch.linspace(-3, 3, 20, dtype=torch.float64, requires_grad=True)
    )


def test_conv_to_one_channel_equals_conv_in_value_and_gradient(vae):
    conv = vae.decoder[-1]
    assert isinstance(conv, FastConv2d)
    x = torch.randn(3, 16, 26, 26, requires_grad=True)
    out, ref = conv(x), torch.nn.Conv2d.forward(conv, x)
    assert out.shape == ref.shape == (3, 1, 28, 28) and torch.allclose(out, ref, atol=1e-5)
    g = torch.randn_like(out)
    grads = torch.autograd.grad(out, [x, conv.weight, conv.bias], g)
    grads_ref = torch.autograd.grad(ref, [x, conv.weight, conv.bias], g)
    assert all(torch.allclose(a, b, atol=1e-4) for a, b in zip(grads, grads_ref))
    other = fast_layers(
        torch.nn.Conv2d(4, 1, (3, 5), padding=(1, 0))
    ).double()  # other kernel and padding shapes
    y = torch.randn(2, 4, 9, 11, dtype=torch.float64)
    assert torch.allclose(other(y), torch.nn.Conv2d.forward(other, y), atol=1e-12)


def test_a_training_step_works_after_an_inference_mode_pass_filled_the_layer_caches():
    torch.manual_seed(0)
    model = fast_layers(VAE())
    x = (torch.rand(4, 1, 28, 28) > 0.5).float()
    layers.bilinear_matrix.cache_clear()
    layers.bilinear_kron.cache_clear()
    with torch.inference_mode():
        model.decode(torch.randn(3, 100))  # first use of the cached interpolation matrices
    negative_elbo(model, x)[0].mean().backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("size", [(5, 5), (12, 12), (3, 7), (4, 20)])
def test_matmul_upsampling_equals_bilinear_align_corners(size):
    up = MatmulUpsamplingBilinear2d(scale_factor=2)
    x = torch.randn(2, 3, *size, dtype=torch.float64)
    assert torch.allclose(up(x), torch.nn.UpsamplingBilinear2d.forward(up, x), atol=1e-12)


def test_kl_term_equals_monte_carlo():
    torch.manual_seed(0)
    mu, logvar = torch.randn(2, 5, dtype=torch.float64), torch.randn(2, 5, dtype=torch.float64)
    q, p = Normal(mu, (0.5 * logvar).exp()), Normal(torch.zeros_like(mu), torch.ones_like(mu))
    z = q.sample((200000,))
    mc = (q.log_prob(z) - p.log_prob(z)).sum(-1).mean(0)
    assert torch.allclose(gaussian_kl(mu, logvar), mc, rtol=0.02)


def test_importance_sampling_shapes_and_errors(vae):
    x = (torch.rand(4, 784) > 0.5).float()
    z = sample_posterior(vae, x, 7)
    assert z.shape == (4, 7, 100)
    assert importance_sampling_log_likelihood(vae, x, z).shape == (4,)
    with pytest.raises(ValueError, match="M = 3"):
        importance_sampling_log_likelihood(vae, x, z[:3])
    with pytest.raises(ValueError, match="D = 700"):
        importance_sampling_log_likelihood(vae, x[:, :700], z)
    with pytest.raises(ValueError, match="L = 50"):
        importance_sampling_log_likelihood(vae, x, z[..., :50])
    with pytest.raises(ValueError, match=r"\(M, K, L\)"):
        importance_sampling_log_likelihood(vae, x, z[:, 0])


def test_decoder_chunks_pair_each_sample_with_its_own_image(vae):
    torch.manual_seed(3)
    x = (torch.rand(3, 784) > 0.5).float()
    z = sample_posterior(vae, x, 5)
    with torch.no_grad():
        # (M, K)
        per_image = torch.stack([vae.log_px_given_z(x[i].expand(5, 784), z[i]) for i in range(3)])
        for chunk in (1, 7, 15, 1000):  # chunks that split images, and one that holds them all
            log_lik, _, _ = log_weight_terms(vae, x, z, chunk)
            assert torch.allclose(log_lik, per_image, atol=1e-3), chunk


def test_k1_equals_single_sample_elbo_computed_independently(vae):
    torch.manual_seed(1)
    x = (torch.rand(5, 784) > 0.5).float()
    z = sample_posterior(vae, x, 1)
    with torch.no_grad():
        mu, logvar = vae.encode(x.view(-1, 1, 28, 28))
        logits = vae.decode(z[:, 0]).flatten(1)
        log_px = torch.distributions.Bernoulli(logits=logits).log_prob(x).sum(1)
        log_pz = Normal(0.0, 1.0).log_prob(z[:, 0]).sum(1)
        log_qz = Normal(mu, (0.5 * logvar).exp()).log_prob(z[:, 0]).sum(1)
        est = importance_sampling_log_likelihood(vae, x, z)
    assert torch.allclose(est, log_px + log_pz - log_qz, atol=1e-3)


def test_estimate_is_above_elbo_on_average_for_k200(vae):
    torch.manual_seed(2)
    x = (torch.rand(8, 1, 28, 28) > 0.7).float()
    with torch.no_grad():
        est = importance_sampling_log_likelihood(
            vae, x.flatten(1), sample_posterior(vae, x.flatten(1), 200)
        )
        elbo = -torch.stack([negative_elbo(vae, x)[0] for _ in range(20)]).mean(0)
    assert est.mean() > elbo.mean()


class LinearGaussian(torch.nn.Module):
    """p(z) = N(0, I), p(x|z) = N(Wz + b, s^2 I) with orthogonal columns of W, so the exact
    posterior is diagonal: the encoder returns it, and every importance weight equals p(x)."""

    input_shape = (6,)
    latent_dim = 3

    def __init__(self):
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(6, 3, dtype=torch.float64))
        self.w = q * torch.tensor([2.0, 1.0, 0.5], dtype=torch.float64)
        self.b = torch.randn(6, dtype=torch.float64)
        self.s2 = 0.3

    def encode(self, x):
        prec = 1 + (self.w**2).sum(0) / self.s2  # diagonal posterior precision
        mu = ((x - self.b) @ self.w) / self.s2 / prec
        return mu, (-prec.log()).expand_as(mu)

    def log_px_given_z(self, x, z):
        return Normal(z @ self.w.T + self.b, math.sqrt(self.s2)).log_prob(x).sum(-1)


def test_estimator_is_exact_for_a_tractable_model():
    torch.manual_seed(3)
    m = LinearGaussian()
    x = torch.randn(4, 6, dtype=torch.float64) * 2
    exact = MultivariateNormal(
        m.b, m.w @ m.w.T + m.s2 * torch.eye(6, dtype=torch.float64)
    ).log_prob(x)
    for k in (1, 50):
        z = sample_posterior(m, x, k)
        assert torch.allclose(importance_sampling_log_likelihood(m, x, z), exact, atol=1e-9)


def test_log_mean_weight_is_stable_at_minus_ten_thousand():
    log_lik = torch.tensor([[-10000.0, -10000.0 + math.log(3.0)]], dtype=torch.float64)
    zeros = torch.zeros_like(log_lik)
    out = log_mean_weight(log_lik, zeros, zeros)
    assert torch.isfinite(out).all()
    assert out.item() == pytest.approx(-10000.0 + math.log(2.0), abs=1e-9)  # log((1 + 3) / 2)


# ----------------------------------------------------------------------------- data
def _write_amat(root, rng, n=(40, 10, 10)):
    arrays = {}
    for split, rows in zip(("train", "valid", "test"), n):
        x = (rng.random((rows, 784)) > 0.8).astype(np.uint8)
        (root / f"binarized_mnist_{split}.amat").write_text(
            "\n".join(" ".join(map(str, r)) for r in x) + "\n"
        )
        arrays[split] = x
    return arrays


def _trust(monkeypatch, arrays: dict) -> dict:
    """Make the synthetic splits ``arrays`` the ones the conversion checks against; returns their
    checksums."""
    import problem2.data as p2data

    sums = {s: packed_sha256(np.packbits(x, axis=1)) for s, x in arrays.items()}
    monkeypatch.setattr(p2data, "OFFICIAL_SHA256", sums)
    return sums


def test_amat_round_trip_and_cached_npz(tmp_path, monkeypatch):
    arrays = _write_amat(tmp_path, np.random.default_rng(0))
    _trust(monkeypatch, arrays)
    data = load_binarized_mnist(tmp_path, download_ok=False)
    assert (tmp_path / "binarized_mnist.npz").exists()
    for s, x in arrays.items():
        assert data[s].shape == (len(x), 1, 28, 28) and np.array_equal(
            data[s].reshape(len(x), -1), x
        )
    assert np.array_equal(load_binarized_mnist(tmp_path)["test"], data["test"])  # from the cache


def test_bad_files_give_one_clear_error(tmp_path):
    _write_amat(tmp_path, np.random.default_rng(0))
    (tmp_path / "binarized_mnist_valid.amat").write_text("0 1 2\n")
    with pytest.raises(UserError, match="binarized_mnist_valid.amat"):
        load_binarized_mnist(tmp_path, download_ok=False)
    (tmp_path / "binarized_mnist_valid.amat").write_text("0 1 " * 400)
    with pytest.raises(UserError, match="truncated"):
        load_binarized_mnist(tmp_path, download_ok=False)
    (tmp_path / "binarized_mnist.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(UserError, match="binarized_mnist.npz"):
        load_binarized_mnist(tmp_path)
    (tmp_path / "empty").mkdir(exist_ok=True)
    with pytest.raises(UserError, match=r"not in .*empty: put binarized_mnist.npz"):
        load_binarized_mnist(tmp_path / "empty", download_ok=False)


def test_an_amat_file_with_rows_of_other_lengths_is_refused_naming_the_line(tmp_path):
    _write_amat(tmp_path, np.random.default_rng(0))
    good = (tmp_path / "binarized_mnist_test.amat").read_text().splitlines()
    short, long = " ".join(good[1].split()[:700]), good[2] + " " + " ".join(good[3].split()[:84])
    # 2352 values
    (tmp_path / "binarized_mnist_test.amat").write_text("\n".join([good[0], short, long]) + "\n")
    with pytest.raises(
        UserError, match=r"binarized_mnist_test.amat, line 2: 700 values, expected 784"
    ):
        load_binarized_mnist(tmp_path, download_ok=False)
    assert not (tmp_path / "binarized_mnist.npz").exists()  # nothing cached


def test_an_npz_of_objects_is_refused_without_suggesting_an_unsafe_load(tmp_path):
    np.savez(
        tmp_path / "binarized_mnist.npz",
        **{s: np.array([{"a": 1}], dtype=object) for s in ("train", "valid", "test")},
    )
    with pytest.raises(UserError, match="not a binarized-MNIST .npz") as e:
        load_binarized_mnist(tmp_path, download_ok=False)
    assert "allow_pickle" not in str(e.value) and "weights_only" not in str(e.value)


def test_offline_without_data_says_which_file_to_put_where(tmp_path, monkeypatch):
    import problem2.data as p2data

    def no_network(url, dest, **kw):
        raise UserError(f"could not download {url}: no network")

    monkeypatch.setattr(p2data, "download", no_network)
    with pytest.raises(UserError, match=r"put binarized_mnist.npz .* there.*download failed"):
        load_binarized_mnist(tmp_path)


def test_download_path_over_local_http(tmp_path, http_server, monkeypatch):
    served, url = http_server
    arrays = _write_amat(served, np.random.default_rng(1))
    sums = _trust(monkeypatch, arrays)
    with pytest.raises(UserError, match="checksum"):
        fetch_amat(tmp_path / "bad", url, {**sums, "test": "0" * 64})
    fetch_amat(tmp_path / "data", url)
    data = load_binarized_mnist(tmp_path / "data", download_ok=False)
    assert np.array_equal(data["valid"].reshape(10, -1), arrays["valid"])


# ----------------------------------------------------------------------------- training, resume,
# scripts
def _vae_config(**changes) -> dict:
    """train_vae.py's settings with small batches, as its one configuration path resolves them."""
    return {**cfg.COMMON, **train_vae.DEFAULTS, "batch_size": 16, "epochs": 1, **changes}


@pytest.mark.slow
def test_resume_gives_the_same_result_as_an_uninterrupted_run(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.random((48, 1, 28, 28)) > 0.8).astype(np.float32)
    cpu = torch.device("cpu")
    straight, rows = train_vae.fit(x, x[:8], tmp_path / "a", _vae_config(epochs=2), cpu)
    train_vae.fit(x, x[:8], tmp_path / "b", _vae_config(epochs=1), cpu)
    resumed, rows_b = train_vae.fit(x, x[:8], tmp_path / "b", _vae_config(epochs=2), cpu)
    for p, q in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(p, q)
    assert [r["valid_elbo"] for r in rows] == [r["valid_elbo"] for r in rows_b]


@pytest.mark.slow
def test_a_rerun_with_other_settings_is_refused_not_relabelled(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.random((32, 1, 28, 28)) > 0.8).astype(np.float32)
    cpu = torch.device("cpu")
    train_vae.fit(x, x[:8], tmp_path, _vae_config(), cpu)
    with pytest.raises(UserError, match=r"lr 0\.001 -> 0\.01"):
        train_vae.fit(x, x[:8], tmp_path, _vae_config(lr=1e-2), cpu)
    # what a logged number means is checked too
    with pytest.raises(UserError, match="valid_images None -> 4"):
        train_vae.fit(x, x[:4], tmp_path, _vae_config(valid_images=4), cpu)
    with pytest.raises(UserError, match="data"):
        train_vae.fit(1 - x, x[:8], tmp_path, _vae_config(), cpu)
    _, rows = train_vae.fit(x, x[:8], tmp_path, _vae_config(lr=1e-2, restart=True), cpu)
    assert (
        torch.load(tmp_path / "vae.pt", weights_only=True)["settings"]["lr"] == 1e-2
        and len(rows) == 1
    )


def test_the_k_sweep_is_one_estimator_at_growing_k_and_rises_from_the_single_sample_elbo():
    torch.manual_seed(0)
    model = VAE().eval()
    x = (np.random.default_rng(0).random((6, 1, 28, 28)) > 0.8).astype(np.float32)
    sweep = evaluate.k_sweep(model, x, ks=(1, 10, 100), batch_size=6, seed=3)
    with torch.no_grad():
        xf = torch.from_numpy(x).flatten(1)
        z = sample_posterior(model, xf, 100, torch.Generator().manual_seed(3))
        at = {
            k: importance_sampling_log_likelihood(model, xf, z[:, :k]).mean().item()
            for k in (1, 100)
        }
    assert sweep["k"] == [1, 10, 100] and sweep["n"] == 6
    assert sweep["log_px"][0] == pytest.approx(at[1], abs=1e-3)
    assert sweep["log_px"][2] == pytest.approx(at[100], abs=1e-3)
    assert sweep["log_px"][0] < sweep["log_px"][1] < sweep["log_px"][2]
    # K = 1: a one-sample ELBO estimate
    assert sweep["elbo"] == pytest.approx(sweep["log_px"][0], abs=20)


def test_validation_elbo_uses_fixed_noise_and_leaves_the_training_stream_untouched():
    torch.manual_seed(5)
    model = VAE().eval()
    x = (np.random.default_rng(0).random((10, 1, 28, 28)) > 0.8).astype(np.float32)
    before = torch.get_rng_state()
    first = train_vae.evaluate_elbo(model, x, "cpu", batch_size=4)
    assert torch.equal(torch.get_rng_state(), before)
    torch.rand(100)  # the training stream moves on; the evaluation noise does not
    assert train_vae.evaluate_elbo(model, x, "cpu", batch_size=4) == first


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    bad = tmp_path / "vae.pt"
    bad.write_bytes(b"garbage")
    with pytest.raises(UserError, match="corrupt"):
        load_checkpoint(bad)


@pytest.mark.slow
def test_train_and_evaluate_scripts_end_to_end(tmp_path, isolated_results, capsys):
    rng = np.random.default_rng(0)
    arrays = {
        s: np.packbits((rng.random((n, 784)) > 0.8).astype(np.uint8), axis=1)
        for s, n in (("train", 64), ("valid", 20), ("test", 20))
    }
    np.savez(tmp_path / "binarized_mnist.npz", **arrays)
    train_vae.main(["--quick", "--data-dir", str(tmp_path)])
    evaluate.main(["--quick", "--k", "20", "--data-dir", str(tmp_path)])
    out = isolated_results / "problem2"
    assert (out / "training_curves.png").exists() and (out / "evaluation_table.tex").exists()
    res = __import__("json").loads((out / "evaluation.json").read_text())
    assert res["valid"]["n"] == 20 and res["valid"]["log_px"] >= res["valid"]["elbo"] - 1.0
    with pytest.raises(SystemExit) as e:
        evaluate.main(["--checkpoint", str(tmp_path / "missing.pt"), "--data-dir", str(tmp_path)])
    assert e.value.code == 2 and "checkpoint not found" in capsys.readouterr().err


def test_download_into_an_unwritable_place_is_a_clear_error(tmp_path):
    from utils.files import download

    (tmp_path / "a_file").write_text("")
    with pytest.raises(UserError, match="writable --data-dir"):
        download("http://127.0.0.1:9/x", tmp_path / "a_file" / "x")


def test_fast_layers_change_the_estimate_by_less_than_1e_3_nats(vae):
    torch.manual_seed(4)
    x = (torch.rand(3, 784) > 0.8).float()
    plain_vae = VAE().eval()
    plain_vae.load_state_dict(vae.state_dict())
    with torch.no_grad():
        z = sample_posterior(vae, x, 30)
        fast = importance_sampling_log_likelihood(vae, x, z)
        plain = importance_sampling_log_likelihood(plain_vae, x, z)
    assert (fast - plain).abs().max() < 1e-3


@pytest.mark.parametrize(
    "script, argv",
    [
        ("train", ["--epochs", "0"]),
        ("train", ["--batch-size", "-3"]),
        ("evaluate", ["--k", "0"]),
        ("evaluate", ["--batch-size", "x"]),
    ],
)
def test_counts_must_be_positive_one_line_exit_2(script, argv, capsys):
    main = {"train": train_vae.main, "evaluate": evaluate.main}[script]
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and "Traceback" not in err
    assert "must be at least 1" in err or "expected a positive integer" in err


def test_validation_elbo_does_not_depend_on_the_evaluation_batch_size():
    torch.manual_seed(5)
    model = VAE().eval()
    x = (np.random.default_rng(1).random((400, 1, 28, 28)) > 0.8).astype(np.float32)
    whole = train_vae.evaluate_elbo(model, x, "cpu", batch_size=400)
    for k, v in train_vae.evaluate_elbo(model, x, "cpu", batch_size=200).items():
        # the same z for every image, summed in another order
        assert v == pytest.approx(whole[k], abs=1e-4)


def test_the_learning_rate_schedules_have_their_closed_form_values():
    constant = {"lr": 3e-4, "schedule": "constant", "warmup_steps": 0}
    assert [train_vae.learning_rate(i, 100, constant) for i in (0, 50, 99)] == [3e-4] * 3
    cosine = {"lr": 1e-3, "schedule": "cosine", "warmup_steps": 10}
    assert train_vae.learning_rate(0, 110, cosine) == pytest.approx(1e-4)  # warm-up: 1 of 10
    assert train_vae.learning_rate(9, 110, cosine) == pytest.approx(1e-3)  # its end: the peak
    assert train_vae.learning_rate(10, 110, cosine) == pytest.approx(1e-3)  # the decay's start
    assert train_vae.learning_rate(60, 110, cosine) == pytest.approx(0.5e-3)  # half-way
    assert train_vae.learning_rate(110, 110, cosine) == pytest.approx(0.0, abs=1e-12)


def test_the_text_settings_are_one_flag_away(monkeypatch):
    seen = {}

    def fake_fit(x_train, x_valid, out, config, device):
        seen.update(config)
        raise SystemExit(0)

    empty = np.zeros((4, 1, 28, 28), dtype=np.float32)
    monkeypatch.setattr(
        train_vae, "load_binarized_mnist", lambda root: {"train": empty, "valid": empty}
    )
    monkeypatch.setattr(train_vae, "fit", fake_fit)
    with pytest.raises(SystemExit):
        train_vae.main(["--text-settings", "--device", "cpu"])
    assert {k: seen[k] for k in train_vae.TEXT} == train_vae.TEXT and "text_settings" not in seen
