"""The report's numbers: reads what the scripts wrote under a results directory (JSON and CSV) and
writes report/results/values.tex, one ``\\newcommand{\\Name}{value}`` per number report.tex shows.

This is the only file that knows a macro name; the experiment scripts write data only. A file that
is missing leaves its macros undefined, and report.tex prints a visible placeholder naming the
command that makes it.

    python report/values.py [RESULTS_DIR]   # default: ./results; reproduce.py runs it before LaTeX
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from utils.cli import ROOT
from utils.files import write_text

LABELS = {"vae": "VAE", "gan": "WGAN-GP"}


def fixed(v: float, digits: int) -> str:
    """``v`` with ``digits`` decimals; n/a (in italics) when not finite."""
    return f"{v:.{digits}f}" if math.isfinite(v) else r"\textit{n/a}"


def whole(v: float) -> str:
    """An FID-sized number grouped by thousands (32,398), like every FID the scripts print."""
    return f"{v:,.0f}" if math.isfinite(v) else r"\textit{n/a}"


def with_spread(stats: dict) -> str:
    """mean +- sd over seeds (the mean alone for one seed)."""
    spread = rf" $\pm$ {whole(stats['sd'])}" if stats["n"] > 1 else ""
    return whole(stats["mean"]) + spread


def read_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def sweep(results: Path) -> dict[str, str]:
    """Problem 1.3: problem1/sweep.json."""
    sweep = read_json(results / "problem1" / "sweep.json")
    if not sweep:
        return {}
    settings = sweep["settings"]
    return {
        "PoneJsdMaxErr": f"{sweep['max_jsd_error']:.1e}",
        "PoneWdMaxErr": fixed(sweep["max_wd_error"], 4),
        "PoneSteps": str(settings["steps"]),
        "PoneBatch": str(settings["batch_size"]),
        "PoneLambda": f"{settings['lam']:g}",
        "PoneLr": f"{settings['lr']:g}",
        "PoneSweepSeconds": f"{sweep['wall_s']:.0f}",
        "PoneSweepMode": "quick" if settings["quick"] else "full",
    }


def density(results: Path) -> dict[str, str]:
    """Problem 1.4: problem1/density.json."""
    density = read_json(results / "problem1" / "density.json")
    if not density:
        return {}
    return {
        "PoneDensityLone": fixed(density["l1"], 4),
        "PoneDensitySteps": str(density["settings"]["steps"]),
    }


def schedule_text(settings: dict) -> str:
    """Problem 2's learning-rate schedule in words (older records hold none: constant)."""
    if settings.get("schedule", "constant") == "constant":
        return "constant"
    warmup = settings.get("warmup_epochs", 0)
    return (
        f"a linear warm-up over {warmup} epoch{'s' if warmup != 1 else ''} then a cosine decay to 0"
    )


def problem2_training(results: Path) -> dict[str, str]:
    """Problem 2's training: problem2/train_summary.json."""
    train = read_json(results / "problem2" / "train_summary.json")
    if not train:
        return {}
    settings = train["settings"]
    return {
        "PtwoTrainValidElbo": fixed(train["valid_elbo"], 2),
        "PtwoTrainEpochs": str(settings["epochs"]),
        "PtwoTrainBatch": str(settings["batch_size"]),
        "PtwoTrainLr": f"{settings['lr']:g}",
        "PtwoTrainSchedule": schedule_text(settings),
        "PtwoTrainImages": str(train["train_images"]),
        "PtwoTrainMinutes": fixed(train["elapsed_s"] / 60, 0),
        "PtwoTrainDevice": train["device_name"],
    }


def problem2_evaluation(results: Path) -> dict[str, str]:
    """Questions 2.1-2.2: problem2/evaluation.json."""
    evaluation = read_json(results / "problem2" / "evaluation.json")
    if not evaluation:
        return {}
    sweep = evaluation["k_sweep"]
    return {
        "PtwoValidElbo": fixed(evaluation["valid"]["elbo"], 2),
        "PtwoValidLogpx": fixed(evaluation["valid"]["log_px"], 2),
        "PtwoTestElbo": fixed(evaluation["test"]["elbo"], 2),
        "PtwoTestLogpx": fixed(evaluation["test"]["log_px"], 2),
        "PtwoK": str(evaluation["k"]),
        "PtwoEvalSeconds": f"{evaluation['seconds']:.0f}",
        "PtwoSweepN": f"{sweep['n']:,}",
        "PtwoSweepFirst": fixed(sweep["log_px"][0], 2),
        "PtwoSweepLast": fixed(sweep["log_px"][-1], 2),
        "PtwoSweepLastK": str(sweep["k"][-1]),
        "PtwoSweepElbo": fixed(sweep["elbo"], 2),
        "PtwoMeanGap": fixed(evaluation["mean_gap_valid"], 2),
    }


def problem3_vae(results: Path, seed: int = 0) -> dict[str, str]:
    """The first seed's VAE training (the run the report shows): problem3/vae/seed0/run.json."""
    vae = read_json(results / "problem3" / "vae" / f"seed{seed}" / "run.json")
    if not vae:
        return {}
    settings = vae["settings"]
    last = vae.get("last_evaluation", {})
    return {
        "PthreeVaeIterations": str(settings["iterations"]),
        "PthreeVaeLr": f"{settings['lr']:g}",
        "PthreeVaeWidth": str(settings["width"]),
        "PthreeVaeBatch": str(settings["batch_size"]),
        "PthreeVaeImages": str(vae["train_images"]),
        "PthreeVaeDataset": settings["dataset"],
        "PthreeVaeProfile": settings["profile"],
        "PthreeVaeDevice": vae["device_name"],
        "PthreeVaeMinutes": f"{vae['wall_s'] / 60:.1f}",
        "PthreeVaeKlWarmup": str(settings["kl_warmup"]),
        "PthreeVaePixelScale": f"{settings['pixel_scale']:g}",
        "PthreeVaePrecision": settings["precision"],
        "PthreeVaeShift": str(settings["shift"]),
        "PthreeVaeEma": str(settings["ema"]),
        **({"PthreeVaeValidKl": f"{last['valid_kl']:,.0f}"} if "valid_kl" in last else {}),
    }


def problem3_gan(results: Path, seed: int = 0) -> dict[str, str]:
    """The first seed's WGAN-GP training: problem3/gan/seed0/run.json."""
    gan = read_json(results / "problem3" / "gan" / f"seed{seed}" / "run.json")
    if not gan:
        return {}
    settings = gan["settings"]
    return {
        "PthreeGanIterations": str(settings["iterations"]),
        "PthreeGanLr": f"{settings['lr']:g}",
        "PthreeGanWidth": str(settings["width"]),
        "PthreeGanBatch": str(settings["batch_size"]),
        "PthreeGanImages": str(gan["train_images"]),
        "PthreeGanDataset": settings["dataset"],
        "PthreeGanProfile": settings["profile"],
        "PthreeGanDevice": gan["device_name"],
        "PthreeGanMinutes": f"{gan['wall_s'] / 60:.1f}",
        "PthreeGanNCritic": str(settings["n_critic"]),
        "PthreeGanLam": str(settings["lam"]),
        "PthreeGanAugment": settings["augment"],
        "PthreeGanEma": str(settings["ema"]),
        "PthreeGanPrecision": settings["precision"],
    }


def pixel_scale(results: Path) -> dict[str, str]:
    """The VAE's pixel-scale comparison: problem3/pixel_scale.json."""
    scale = read_json(results / "problem3" / "pixel_scale.json")
    if not scale:
        return {}
    rows = scale["rows"]
    best = min(rows, key=lambda r: r["fid"])
    return {
        "PthreeScaleChosen": f"{scale['chosen']:g}",
        "PthreeScaleStep": f"{best['step']:,}",
        "PthreeScaleBest": f"{best['pixel_scale']:g}",
        "PthreeScaleBestFid": f"{best['fid']:,.0f}",
        "PthreeScaleRuns": str(len(rows)),
        "PthreeScaleList": ", ".join(f"{r['pixel_scale']:g}" for r in rows),
        "PthreeScaleFids": ", ".join(f"{r['fid']:,.0f}" for r in rows),
    }


def qualitative(results: Path) -> dict[str, str]:
    """Questions 3.1-3.3: problem3/qualitative.json."""
    qualitative = read_json(results / "problem3" / "qualitative.json")
    if not qualitative:
        return {}
    vae, gan = qualitative["vae"], qualitative["gan"]
    return {
        "PthreeVaeEps": f"{vae['eps']:g}",
        "PthreeVaeVisibleDims": str(vae["dims_above_visible"]),
        "PthreeVaeMedianChange": f"{vae['median_change']:.3f}",
        "PthreeVaeTopChange": f"{vae['shown_change'][0]:.3f}",
        "PthreeVaeTopDims": ", ".join(map(str, vae["shown_dims"])),
        "PthreeGanEps": f"{gan['eps']:g}",
        "PthreeGanVisibleDims": str(gan["dims_above_visible"]),
        "PthreeGanMedianChange": f"{gan['median_change']:.3f}",
        "PthreeGanTopChange": f"{gan['shown_change'][0]:.3f}",
        "PthreeGanTopDims": ", ".join(map(str, gan["shown_dims"])),
        "PthreeVisible": f"{qualitative['visible']:g}",
    }


def fid(results: Path) -> dict[str, str]:
    """Question 3.4: problem3/fid.json."""
    fid = read_json(results / "problem3" / "fid.json")
    if not fid:
        return {}
    reported = fid["reported"]  # the reported images
    everything = fid["score_fid"]  # score_fid.py's reference
    draws = fid["draws"]  # one model, other draws of its samples
    floor = reported["floor_train"]
    lower = min(LABELS, key=lambda m: reported[m]["mean"])
    return {
        "PthreeFidVae": with_spread(reported["vae"]),
        "PthreeFidGan": with_spread(reported["gan"]),
        "PthreeFidFloor": whole(floor),
        "PthreeFidReference": reported["reference"],
        "PthreeFidVaeAll": with_spread(everything["vae"]),
        "PthreeFidGanAll": with_spread(everything["gan"]),
        "PthreeFidFloorAll": whole(everything["floor_train"]),
        "PthreeFidReferenceAll": everything["reference"],
        "PthreeFidSeeds": str(reported["vae"]["n"]),
        "PthreeFidFloorN": f"{fid['floor_n']:,}",
        "PthreeFidN": f"{fid['n']:,}",
        "PthreeFidVaeOverFloor": f"{reported['vae']['mean'] / floor:.1f}",
        "PthreeFidGanOverFloor": f"{reported['gan']['mean'] / floor:.1f}",
        "PthreeFidLower": LABELS[lower],
        "PthreeFidDraws": str(len(draws["vae"]["fids"])),
        "PthreeFidDrawSdVae": whole(draws["vae"]["sd"]),
        "PthreeFidDrawSdGan": whole(draws["gan"]["sd"]),
    }


def sample_quality(results: Path) -> dict[str, str]:
    """Question 3.1's measures (problem3/fid.json, "quality"): a table's values and the sentences
    that compare the two models, each following from the numbers."""
    fid = read_json(results / "problem3" / "fid.json")
    q = fid.get("quality") if fid else None
    if not q:
        return {}
    vae, gan, floor = q["vae"], q["gan"], q["floor"]
    values = {
        "PthreeQReference": q["reference"],
        "PthreeQK": str(q["k"]),
        "PthreeQVaePrecision": f"{vae['precision']:.2f}",
        "PthreeQVaeRecall": f"{vae['recall']:.2f}",
        "PthreeQVaeSharpness": f"{vae['sharpness']:.2f}",
        "PthreeQVaeEntropy": f"{vae['class_entropy']:.2f}",
        "PthreeQVaeSpread": f"{vae['spread']:.2f}",
        "PthreeQGanPrecision": f"{gan['precision']:.2f}",
        "PthreeQGanRecall": f"{gan['recall']:.2f}",
        "PthreeQGanSharpness": f"{gan['sharpness']:.2f}",
        "PthreeQGanEntropy": f"{gan['class_entropy']:.2f}",
        "PthreeQGanSpread": f"{gan['spread']:.2f}",
        "PthreeQFloorPrecision": f"{floor['precision']:.2f}",
        "PthreeQFloorRecall": f"{floor['recall']:.2f}",
        "PthreeQFloorSharpness": f"{floor['sharpness']:.2f}",
        "PthreeQFloorEntropy": f"{floor['class_entropy']:.2f}",
        "PthreeQFloorSpread": f"{floor['spread']:.2f}",
    }
    values["PthreeQRealEntropy"] = f"{q['real']['class_entropy']:.2f}"
    sharper, blurrier = ("gan", "vae") if gan["sharpness"] >= vae["sharpness"] else ("vae", "gan")
    hi, lo = q[sharper]["sharpness"], q[blurrier]["sharpness"]
    energy = (
        f"the {LABELS[sharper]}'s samples carry {hi:.2f} times the real images' high-frequency "
        f"energy and the {LABELS[blurrier]}'s {lo:.2f}"
    )
    if lo >= 1:
        verdict = "neither set is blurred: both carry more than the real images, noise or artefacts"
    elif hi >= 1:
        verdict = f"the {LABELS[blurrier]}'s samples are blurred, the {LABELS[sharper]}'s are not"
    else:
        verdict = f"both are blurred, the {LABELS[blurrier]}'s {hi / max(lo, 1e-12):.1f} times more"
    values["PthreeQSharpnessText"] = f"Sharpness: {energy}; {verdict}."
    wider, narrower = ("gan", "vae") if gan["recall"] >= vae["recall"] else ("vae", "gan")
    missed = 100 * (1 - q[narrower]["recall"] / max(q["floor"]["recall"], 1e-12))
    values["PthreeQCoverageText"] = (
        f"The {LABELS[wider]} covers more of the real images' feature manifold (recall "
        f"{q[wider]['recall']:.2f} against {q[narrower]['recall']:.2f}); real training images "
        f"reach {q['floor']['recall']:.2f}, so the {LABELS[narrower]} misses {missed:.0f}\\% of "
        "what the floor covers."
    )
    truer, looser = ("gan", "vae") if gan["precision"] >= vae["precision"] else ("vae", "gan")
    values["PthreeQFidelityText"] = (
        f"More of the {LABELS[truer]}'s samples fall inside the real manifold (precision "
        f"{q[truer]['precision']:.2f} against {q[looser]['precision']:.2f}; real images "
        f"{q['floor']['precision']:.2f})."
    )
    richer = "gan" if gan["class_entropy"] >= vae["class_entropy"] else "vae"
    values["PthreeQDiversityText"] = (
        f"The classifier's predicted digits are more varied over the {LABELS[richer]}'s samples "
        f"(entropy {q[richer]['class_entropy']:.2f} bits against "
        f"{q['vae' if richer == 'gan' else 'gan']['class_entropy']:.2f}; real images "
        f"{q['real']['class_entropy']:.2f}, and 3.32 for ten equal classes), and their features "
        f"spread {vae['spread']:.2f} (VAE) and {gan['spread']:.2f} (WGAN-GP) times as far apart "
        "as the real images'."
    )
    values["PthreeQComparisonText"] = (
        f"By these numbers the {LABELS[sharper]} gives the sharper samples, the {LABELS[wider]} "
        f"covers more of the data and the {LABELS[truer]} more often produces images that look "
        "real to the classifier."
    )
    return values


def perturbations(results: Path) -> dict[str, str]:
    """Question 3.2: what each shown latent dimension changes (problem3/qualitative.json)."""
    qualitative = read_json(results / "problem3" / "qualitative.json")
    if not qualitative or "shown_described" not in qualitative.get("vae", {}):
        return {}
    vae, gan = qualitative["vae"], qualitative["gan"]

    def listed(m: dict) -> str:  # "$z_{27}$: brightness -0.23, ...; digit 7 kept; $z_{70}$: ..."
        return "; ".join(f"$z_{{{i}}}$: {t}" for i, t in zip(m["shown_dims"], m["shown_described"]))

    values = {
        "PthreeVaeDimText": listed(vae),
        "PthreeVaeDigitDims": str(vae["dims_changing_digit"]),
        "PthreeVaeShownDigitDims": str(sum(vae["shown_digit_changes"])),
        "PthreeGanDimText": listed(gan),
        "PthreeGanDigitDims": str(gan["dims_changing_digit"]),
        "PthreeGanShownDigitDims": str(sum(gan["shown_digit_changes"])),
    }
    return values


def job(results: Path) -> dict[str, str]:
    """The main job's steps and times (reproduce.py's step_times.json)."""
    times = read_json(results / "step_times.json")
    if not times:
        return {}
    devices = sorted({t["device"] for t in times.values()})
    dates = sorted({t["date"] for t in times.values()})
    return {
        "JobMinutes": f"{sum(t['seconds'] for t in times.values()) / 60:.0f}",
        "JobSteps": str(len(times)),
        "JobDevice": "; ".join(devices),
        "JobDates": dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}",
    }


def report_values(results: Path) -> dict[str, str]:
    """Every macro the results under ``results`` define, by name."""
    sources = (
        sweep,
        density,
        problem2_training,
        problem2_evaluation,
        problem3_vae,
        problem3_gan,
        pixel_scale,
        qualitative,
        perturbations,
        fid,
        sample_quality,
        job,
    )
    return {name: value for source in sources for name, value in source(results).items()}


def write_values(results: Path, path: Path) -> Path:
    """Write the macros of :func:`report_values` to ``path`` as ``\\newcommand`` lines."""
    values = report_values(Path(results))
    lines = [f"\\newcommand{{\\{name}}}{{{value}}}\n" for name, value in values.items()]
    return write_text(path, "".join(lines))


if __name__ == "__main__":
    results = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "results"
    written = write_values(results, ROOT / "report" / "results" / "values.tex")
    print(f"{written}: {len(report_values(results))} values from {results}")
