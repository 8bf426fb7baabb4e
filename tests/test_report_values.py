"""report/values.py: the report's numbers from the scripts' records, and no macro name elsewhere."""

import json
import re
import subprocess
from pathlib import Path

from report.values import report_values, with_spread, write_values

ROOT = Path(__file__).resolve().parents[1]


def _write(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))


def _fid_record() -> dict:
    fid_stats = {"mean": 32398.4, "sd": 1189.2, "n": 2}
    return {
        "n": 1000,
        "floor_n": 1000,
        "reported": {
            "vae": fid_stats,
            "gan": {"mean": 22106.0, "sd": 919.0, "n": 2},
            "floor_train": 8467.0,
            "reference": "SVHN test images 0-4,999",
        },
        "score_fid": {
            "vae": {"mean": 30168.0, "sd": 0.0, "n": 1},
            "gan": {"mean": 20537.0, "sd": 0.0, "n": 1},
            "floor_train": 8728.0,
            "reference": "SVHN test, first 10,000 images",
        },
        "draws": {"vae": {"fids": [1, 2, 3], "sd": 871.4}, "gan": {"fids": [1, 2, 3], "sd": 848.0}},
    }


def test_values_come_from_the_records_with_their_formats(tmp_path):
    settings = {"steps": 800, "batch_size": 512, "lam": 50.0, "lr": 0.004, "quick": False}
    _write(
        tmp_path / "problem1" / "sweep.json",
        {"settings": settings, "wall_s": 24.6, "max_jsd_error": 3.2e-5, "max_wd_error": 0.01093},
    )
    fid = _fid_record()
    _write(tmp_path / "problem3" / "fid.json", fid)
    values = report_values(tmp_path)
    assert values["PoneJsdMaxErr"] == "3.2e-05" and values["PoneWdMaxErr"] == "0.0109"
    assert values["PoneSteps"] == "800" and values["PoneLr"] == "0.004"
    assert values["PoneSweepMode"] == "full" and values["PoneSweepSeconds"] == "25"
    assert values["PthreeFidVae"] == r"32,398 $\pm$ 1,189"
    assert values["PthreeFidVaeAll"] == "30,168"  # one seed: no spread
    assert values["PthreeFidLower"] == "WGAN-GP" and values["PthreeFidGanOverFloor"] == "2.6"
    assert values["PthreeFidDraws"] == "3" and values["PthreeFidDrawSdVae"] == "871"
    assert "PtwoValidElbo" not in values  # no Problem 2 record: the report shows a placeholder


def test_the_values_file_defines_each_macro_once(tmp_path):
    _write(
        tmp_path / "step_times.json",
        {
            "a": {"seconds": 60.0, "device": "cpu", "date": "2026-12-07"},
            "b": {"seconds": 120.0, "device": "cpu", "date": "2026-12-08"},
        },
    )
    text = write_values(tmp_path, tmp_path / "values.tex").read_text()
    assert text.splitlines() == [
        r"\newcommand{\JobMinutes}{3}",
        r"\newcommand{\JobSteps}{2}",
        r"\newcommand{\JobDevice}{cpu}",
        r"\newcommand{\JobDates}{2026-12-07 to 2026-12-08}",
    ]
    assert with_spread({"mean": float("nan"), "sd": 1.0, "n": 1}) == r"\textit{n/a}"


def test_no_experiment_code_names_a_report_macro():
    files = subprocess.run(
        ["git", "ls-files", "problem1", "problem2", "problem3", "density_estimation.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    names = [f for f in files.stdout.split() if f.endswith(".py")]
    assert names, "no experiment files found"
    macro = re.compile(r"\b(Pone|Ptwo|Pthree|Job)[A-Z][A-Za-z]*\b|newcommand")
    offenders = [f for f in names if macro.search((ROOT / f).read_text())]
    assert offenders == []


def test_every_macro_the_report_uses_is_one_the_values_module_writes():
    tex = (ROOT / "report" / "report.tex").read_text()
    used = set(re.findall(r"\\val\{([A-Za-z]+)\}", tex)) - {"Macro"}  # Macro: the definition
    source = (ROOT / "report" / "values.py").read_text()
    written = set(re.findall(r'"((?:Pone|Ptwo|Pthree|Job)[A-Za-z]+)"', source))
    assert used and used <= written, sorted(used - written)


def _quality(vae, gan):
    neutral = {"precision": 0.7, "recall": 0.8, "sharpness": 1.0, "class_entropy": 3.2, "spread": 1}
    return {
        "reference": "1,000 of real",
        "k": 3,
        "floor": neutral,
        "real": {"class_entropy": 3.2},
        "vae": {**neutral, **vae},
        "gan": {**neutral, **gan},
    }


def test_the_sample_sentences_follow_from_the_numbers(tmp_path):
    q = _quality(
        {"sharpness": 0.3, "recall": 0.5, "precision": 0.6},
        {"sharpness": 0.9, "recall": 0.2, "precision": 0.4},
    )
    _write(tmp_path / "problem3" / "fid.json", {**_fid_record(), "quality": q})
    values = report_values(tmp_path)
    assert "both are blurred, the VAE's 3.0 times more" in values["PthreeQSharpnessText"]
    assert values["PthreeQCoverageText"].startswith("The VAE covers more")
    assert "WGAN-GP misses 75\\% of what the floor covers" in values["PthreeQCoverageText"]
    assert "More of the VAE's samples fall inside" in values["PthreeQFidelityText"]
    assert values["PthreeQVaeSharpness"] == "0.30" and values["PthreeQFloorRecall"] == "0.80"
    q = _quality({"sharpness": 1.4}, {"sharpness": 2.0})
    _write(tmp_path / "problem3" / "fid.json", {**_fid_record(), "quality": q})
    assert "neither set is blurred" in report_values(tmp_path)["PthreeQSharpnessText"]


def test_what_a_latent_dimension_changes_is_measured_along_its_row():
    import torch

    from problem3 import qualitative

    def g(codes):  # brightness follows z_0 alone
        return (0.1 * codes[:, :1]).view(-1, 1, 1, 1).expand(-1, 3, 32, 32)

    classifier = torch.nn.Linear(3 * 32 * 32, 10)
    flat = torch.nn.Sequential(torch.nn.Flatten(), classifier)
    torch.nn.init.zeros_(classifier.weight)
    torch.nn.init.zeros_(classifier.bias)  # every image: digit 0
    rows = qualitative.dimension_rows(g, torch.zeros(1, 100), eps=1.0)
    changes = qualitative.what_changes(rows, flat)
    assert abs(changes["brightness"][0] - 0.2) < 1e-6 and abs(changes["brightness"][1]) < 1e-6
    assert abs(changes["contrast"][0]) < 1e-6  # a flat image stays flat
    assert qualitative.describe_dimension(changes, 0).startswith("brightness +0.20")
    assert qualitative.describe_dimension(changes, 0).endswith("digit 0 kept")


def test_the_readme_figures_come_from_a_results_directory(tmp_path, monkeypatch, capsys):
    import pytest
    from PIL import Image

    from report import figures

    monkeypatch.setattr(figures, "ROOT", tmp_path)
    with pytest.raises(SystemExit) as e:
        figures.main([str(tmp_path / "results")])
    assert e.value.code == 2 and "run the main job first" in capsys.readouterr().err
    for sources in figures.FIGURES.values():
        for f in sources:
            (tmp_path / "results" / f).parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (1200, 800), (200, 10, 10)).save(tmp_path / "results" / f)
    figures.main([str(tmp_path / "results")])
    written = sorted(p.name for p in (tmp_path / "figures").iterdir())
    assert written == sorted(figures.FIGURES)
    assert all(Image.open(tmp_path / "figures" / n).width <= figures.WIDTH for n in written)
