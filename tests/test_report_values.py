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


def test_values_come_from_the_records_with_their_formats(tmp_path):
    settings = {"steps": 800, "batch_size": 512, "lam": 50.0, "lr": 0.004, "quick": False}
    _write(
        tmp_path / "problem1" / "sweep.json",
        {"settings": settings, "wall_s": 24.6, "max_jsd_error": 3.2e-5, "max_wd_error": 0.01093},
    )
    fid_stats = {"mean": 32398.4, "sd": 1189.2, "n": 2}
    fid = {
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
