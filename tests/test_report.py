"""hallsim report: one self-contained HTML file (no network, no other file), checked as a
text and rendered by a real browser (headless Chromium).

The browser test renders a probe copy of the report: the same page with, first in its head, a
Content-Security-Policy that allows only inline styles, ``data:`` images and the probe's own
inline script (so anything the report would fetch from a network or another file is blocked
and reported), and that script, which records load errors and policy violations and, once the
page has loaded, writes each image's state (``complete`` and ``naturalWidth > 0``: decoded) and
the page's size into an element of the DOM. ``chromium --headless --dump-dom`` prints the DOM
after the page has loaded (``--virtual-time-budget`` lets the load handlers run first); the
test reads the record back. A screenshot of the report itself, unchanged, must have the
window's size and show the plots' colours (rendered images, not a blank page).

The browser test skips when no Chromium is found, unless ``HALLSIM_REQUIRE_BROWSER`` is set
(as in CI, which installs Debian's ``chromium``): then it fails.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import hallsim as hs
from hallsim.cli import main
from hallsim.report import write_report

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
IMAGE = re.compile(r'<img src="([^"]*)"')


@pytest.fixture(scope="module")
def two_halls(tmp_path_factory) -> Path:
    """Panjin before and after the reform, on common random numbers."""
    out = tmp_path_factory.mktemp("report") / "panjin.html"
    files = [str(SCENARIOS / "panjin-before.toml"), str(SCENARIOS / "panjin.toml")]
    argv = ["report", *files, "--replications", "3", "--seed", "5", "--out", str(out)]
    assert main(argv) == 0
    return out


@pytest.fixture(scope="module")
def staffed_hall(tmp_path_factory) -> Path:
    """One hall with staff and reserve windows, given as a Scenario."""
    out = tmp_path_factory.mktemp("report") / "operations.html"
    scenario = hs.load_scenario(SCENARIOS / "panjin-operations.toml")
    assert write_report({"operations": scenario}, out, replications=2, seed=9) == out
    return out


def test_the_report_holds_everything_and_needs_nothing_else(two_halls):
    page = two_halls.read_text(encoding="utf-8")
    # self-contained: no URL to fetch, no script, no link to another file
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//|file:)""", page)
    assert "<script" not in page and "<link" not in page and "@import" not in page
    images = IMAGE.findall(page)
    # comparison: 3; each hall: queue, wait, ECDF, windows (no staff in these halls)
    assert len(images) == 3 + 2 * 4
    for source in images:
        assert source.startswith("data:image/png;base64,")
        picture = Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1])))
        assert picture.format == "PNG" and picture.width >= 600 and picture.height >= 300
    text = html.unescape(page)
    assert "seed <strong>5</strong>" in page
    assert "--replications 3 --seed 5" in text
    assert "paired: the halls share their demand" in text  # the comparison
    assert "after - before" not in text and "panjin - panjin-before [95 % CI]" in text
    for heading in ("Comparison", "Summary", "Per interval", "Per window", "Scenario"):
        assert f">{heading}" in page
    for name in ("panjin-before", "panjin"):
        scenario_text = (SCENARIOS / f"{name}.toml").read_text(encoding="utf-8")
        assert html.escape(scenario_text) in page
    assert "08:30-09:00" in page  # the per-interval table


def test_a_staffed_hall_gets_its_gantt_chart(staffed_hall):
    page = staffed_hall.read_text(encoding="utf-8")
    assert len(IMAGE.findall(page)) == 5
    assert "Staff on duty on the first day" in page
    assert "schema_version = 1" in page  # the Scenario, written as TOML
    assert "<h2>Comparison" not in page
    assert "seed <strong>9</strong>" in page


def test_bad_input_is_an_error_without_traceback(tmp_path, capsys):
    broken = tmp_path / "broken.toml"
    broken.write_text("[hall]\nopen = 8\n", encoding="utf-8")
    out = tmp_path / "report.html"
    cases = [
        ["report", str(tmp_path / "missing.toml"), "--out", str(out)],
        ["report", str(broken), "--out", str(out)],
        ["report", str(SCENARIOS / "mmc.toml"), "--out", str(tmp_path / "no" / "r.html")],
        ["report", str(SCENARIOS / "mmc.toml"), "--out", str(tmp_path)],
    ]
    for argv in cases:
        assert main(argv) == 2
        error = capsys.readouterr().err
        assert error and "Traceback" not in error
    assert not out.exists()
    with pytest.raises(SystemExit) as exit_:
        main(["report", str(SCENARIOS / "mmc.toml"), "--replications", "0"])
    assert exit_.value.code == 2
    with pytest.raises(hs.ScenarioError, match="file not found"):
        write_report(tmp_path / "missing.toml", out)
    with pytest.raises(TypeError, match="scenario file or a hallsim.Scenario"):
        write_report([42], out)
    with pytest.raises(ValueError, match="replications"):
        write_report(SCENARIOS / "mmc.toml", out, replications=0)


# --- in a real browser ------------------------------------------------------------------

PROBE = """<meta http-equiv="Content-Security-Policy" content="default-src 'none'; \
img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<script>
var problems = [];
window.addEventListener("error", function (e) {
  problems.push("error: " + (e.message || (e.target && (e.target.src || e.target.href))));
}, true);
document.addEventListener("securitypolicyviolation", function (e) {
  problems.push("blocked: " + e.blockedURI + " (" + e.violatedDirective + ")");
});
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var record = {
    images: images.length,
    decoded: images.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length,
    problems: problems,
    width: document.documentElement.scrollWidth,
    viewport: window.innerWidth,
    height: document.documentElement.scrollHeight
  };
  var out = document.createElement("pre");
  out.id = "hallsim-probe";
  out.textContent = JSON.stringify(record);
  document.body.appendChild(out);
});
</script>
"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("HALLSIM_REQUIRE_BROWSER"):
        pytest.fail("HALLSIM_REQUIRE_BROWSER is set but no chromium was found")
    pytest.skip("no chromium (set HALLSIM_REQUIRE_BROWSER=1 to make this a failure)")


def _browse(browser: str, profile: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",  # as root in a container
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={profile}",
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )


@pytest.mark.parametrize("report", ["two_halls", "staffed_hall"])
def test_chromium_renders_the_report_and_every_image(report, request, tmp_path):
    browser = _chromium()
    path = request.getfixturevalue(report)
    page = path.read_text(encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("<head>", "<head>\n" + PROBE, 1), encoding="utf-8")
    dom = _browse(
        browser,
        tmp_path / "profile",
        "--window-size=1280,2000",
        "--virtual-time-budget=10000",
        "--dump-dom",
        probe.as_uri(),
    ).stdout
    found = re.search(r'<pre id="hallsim-probe">(.*?)</pre>', dom, re.S)
    assert found, f"the page did not finish loading: {dom[-500:]}"
    record = json.loads(html.unescape(found.group(1)))
    assert record["problems"] == []
    assert record["images"] == len(IMAGE.findall(page)) >= 5
    assert record["decoded"] == record["images"]  # every image loaded and decoded
    assert record["width"] <= record["viewport"]  # nothing wider than the window
    assert record["height"] > 3000  # the whole report laid out

    shot = tmp_path / "shot.png"
    _browse(
        browser,
        tmp_path / "profile",
        "--hide-scrollbars",
        "--window-size=1280,3000",
        f"--screenshot={shot}",
        path.as_uri(),
    )
    picture = Image.open(shot).convert("RGB")
    assert picture.size == (1280, 3000)
    pixels = np.asarray(picture, dtype=int)
    blue = (np.abs(pixels - [31, 119, 180]).max(axis=2) < 12).sum()
    assert blue > 5000  # the plots' first colour (matplotlib's tab:blue) is on the screen
    colours = (pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2]
    assert np.unique(colours).size > 100  # not a blank page


def test_the_probe_sees_a_broken_image_and_a_fetch_from_the_network(tmp_path):
    """The browser check itself fails where it should: an image that does not decode, and
    one the report would fetch (blocked, so it never loads)."""
    browser = _chromium()
    page = (
        "<!DOCTYPE html><html><head><title>t</title></head><body>"
        '<img src="data:image/png;base64,bm90IGEgcG5n">'
        '<img src="https://example.invalid/plot.png"></body></html>'
    )
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("<head>", "<head>\n" + PROBE, 1), encoding="utf-8")
    dom = _browse(
        browser, tmp_path / "profile", "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()
    ).stdout
    record = json.loads(
        html.unescape(re.search(r'<pre id="hallsim-probe">(.*?)</pre>', dom).group(1))
    )
    assert record["images"] == 2 and record["decoded"] == 0
    assert any("blocked: https://example.invalid" in p for p in record["problems"])
