"""The HTML report: each shipped scenario's first screen answers its question with report.json's
figures, `memsim report` writes the very page the run wrote, every table cell is formatted, trace
names stay escaped, the page's size does not grow with the run, and [report] sections are checked."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from conftest import REPO, SHIPPED_REPORTS

from sim.cli import main
from sim.profilers import REGISTRY
from sim.report import answer, fmt, metrics
from sim.report.text import summary
from sim.scenario import ScenarioError, load, run_scenario


class Page(HTMLParser):
    """What the tests read from a page: the answer's text and figures, and every table cell."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.figures: list[tuple[str, str]] = []
        self.cells: list[str] = []
        self.answer = ""
        self._in: list[str] = []     # open elements we collect text for
        self._figure: str | None = None
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "p" and a.get("class") == "answer":
            self._in.append("answer")
        if tag == "strong" and a.get("class") == "figure":
            self._figure = a["data-figure"]
            self.figures.append((self._figure, ""))
        if tag in ("td", "th") and self._cell is None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "p" and self._in and self._in[-1] == "answer":
            self._in.pop()
        if tag == "strong":
            self._figure = None
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if "answer" in self._in:
            self.answer += data
        if self._figure is not None:
            key, text = self.figures[-1]
            self.figures[-1] = (key, text + data)
        if self._cell is not None:
            self._cell.append(data)


def shipped(shipped_report, name: str) -> tuple[Path, dict, str]:
    d = shipped_report(name)
    return d, json.loads((d / "report.json").read_text()), (d / "report.html").read_text()


@pytest.mark.parametrize("name", SHIPPED_REPORTS)
def test_first_screen_answers_the_question_with_the_figures_of_report_json(shipped_report, name):
    d, report, html = shipped(shipped_report, name)
    block = report["report"]
    assert block["question"] and block["answer"] and "missing" not in block
    have = metrics.figures(report)
    for key, f in block["figures"].items():
        assert f["value"] == have[f["variant"]][f["name"]], key          # the profilers' own figure
        assert f["text"] == fmt.value(f["value"], metrics.unit(f["name"]))
    page = Page(html)
    refs = [p for p in answer.parse(block["template"]) if isinstance(p, answer.Ref)]
    assert page.figures == [(r.key, block["figures"][r.key]["text"]) for r in refs]
    assert " ".join(page.answer.split()) == " ".join(block["answer"].split())
    assert summary(report).endswith(f"{block['question']}\n{block['answer']}")   # memsim run prints it too
    # the answer comes first: before the figures table and every section
    assert html.index('class="question"') < html.index('class="answer"') < html.index('id="figures"')


@pytest.mark.parametrize("name", SHIPPED_REPORTS)
def test_memsim_report_writes_the_page_the_run_wrote(shipped_report, tmp_path, capsys, name):
    d = shipped_report(name)
    assert main(["report", str(d), "--html", str(tmp_path / "again.html")]) == 0
    assert (tmp_path / "again.html").read_bytes() == (d / "report.html").read_bytes()


UNFORMATTED = [
    (re.compile(r"\d\.\d{5,}"), "a float repr"),
    (re.compile(r"^\[.*\]$|^\(.*,.*\)$"), "a list repr"),
    (re.compile(r"^\{.*\}$"), "a dict repr"),
    (re.compile(r"^(None|True|False|nan|inf)$"), "a Python constant"),
    (re.compile(r"^'.*'$"), "a quoted repr"),
    (re.compile(r"^-?\d{5,}$"), "a number without thousands separators"),
]


@pytest.mark.parametrize("name", SHIPPED_REPORTS)
def test_every_table_cell_is_formatted(shipped_report, name):
    _, _, html = shipped(shipped_report, name)
    cells = Page(html).cells
    assert len(cells) > 50
    bad = [(cell, why) for cell in cells for pattern, why in UNFORMATTED if pattern.search(cell)]
    assert bad == []


@pytest.mark.parametrize("name", SHIPPED_REPORTS)
def test_every_figure_is_declared_and_every_section_and_chart_is_on_the_page(shipped_report, name):
    d, report, html = shipped(shipped_report, name)
    jsonschema.validate(report, json.loads((REPO / "docs" / "report.schema.json").read_text()))
    for per in metrics.figures(report).values():
        undeclared = [n for n in per if metrics.declaration(n) is None]
        assert undeclared == []       # a unit and a meaning for every figure
    for prof in REGISTRY:
        if prof in report["variants"][0]:
            assert f'id="profiler-{prof}"' in html
    charts = list((d / "charts").iterdir())
    assert len(charts) >= 2 and html.count("<svg") == len(charts)
    for c in charts:   # every chart names its lines and carries exact values in tooltips
        svg = c.read_text()
        assert "<title>" in svg and "\\mathdefault" not in svg


def test_figures_declare_their_units():
    assert metrics.unit("cache.cpu0/L1d.miss_ratio") == "ratio"
    assert metrics.label("cache.node0/L3.capacity_share") == "node0/L3 share of misses that are capacity"
    assert metrics.unit("numa_what_if.interleave.access_cost_ns") == "ns"
    assert metrics.declaration("cache.cpu0/L1d.nope") is None and metrics.declaration("nope.x") is None


@pytest.mark.parametrize("value,unit,text,exact", [
    (1234567, "bytes", "1.2 MiB", "1,234,567 B"), (16384, "bytes", "16 KiB", "16,384 B"), (512, "bytes", "512 B", ""),
    (47481220, "ns", "47.5 ms", "47,481,220 ns"), (812, "ns", "812 ns", ""),
    (0.9844666666666667, "ratio", "98.4%", "98.4467%"), (0.0004, "ratio", "0.04%", ""),
    (679, "thousandths", "0.679", ""),
    (98.26, "score", "98.3", "98.26"), (12345, "count", "12,345", ""), (0.123456, "number", "0.123", "0.123456"),
    ([3, 9], "range", "3 – 9", ""), ([4, 4], "range", "4", ""), (["a", "b"], "names", "a, b", ""),
    (None, "count", "–", ""), (True, "auto", "yes", ""), ({"free_pages": 436}, "auto", "free pages 436", ""),
])
def test_formatting(value, unit, text, exact):
    c = fmt.cell(value, unit)
    assert (c.text, c.exact) == (text, exact)


def test_page_size_does_not_grow_with_the_run(tmp_path):
    """Profilers keep bounded series and the report bounded tables and charts: a run four times as
    long (past every series' bound) writes a page of the same size, well under 5 MB."""
    sizes = {}
    for name, base in (("fragmentation", ["profile.interval=100"]),
                       ("cache-thrash", ["profile.interval=100", "workload.objects=2048"])):
        key = "workload.ops" if name == "fragmentation" else "workload.accesses"
        for n in (40000, 160000):
            out = tmp_path / f"{name}-{n}"
            run_scenario(name, [*base, f"{key}={n}"], out=out)
            sizes[name, n] = (out / "report.html").stat().st_size
        small, large = sizes[name, 40000], sizes[name, 160000]
        assert large < 5 << 20 and small < 5 << 20
        assert 0.75 < large / small < 1.33, (name, small, large)   # points vary in max/2..max


HOSTILE = '</script><img src=x onerror="alert(1)">'
MATH = "$x^2$ & co"


def test_trace_and_variant_names_stay_escaped_in_text_svg_and_the_answer(tmp_path):
    text = (REPO / "scenarios" / "fragmentation.toml").read_text()
    text = text.replace('name = "grouping-on"', f"name = '{HOSTILE}'").replace('name = "grouping-off"',
                                                                             f"name = '{MATH}'")
    text = text.split("[report]")[0] + (f"[report]\nquestion = \"{HOSTILE.replace(chr(34), '')}?\"\n"
                                        f"answer = '''{{{HOSTILE}:fragmentation.health_score}} vs "
                                        f"{{{MATH}:fragmentation.health_score}}'''\n")
    (tmp_path / "s.toml").write_text(text)
    report = run_scenario(tmp_path / "s.toml", ["workload.ops=20000"], out=tmp_path / "out").report
    assert report["report"]["answer"]
    html = (tmp_path / "out" / "report.html").read_text()
    assert HOSTILE not in html and "<img" not in html and html.count("</script>") == 1
    assert "&lt;/script&gt;&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    assert "$x^2$ &amp; co" in html and "\\mathdefault" not in html   # not mathtext
    svg = html[html.index("<svg"):]
    assert "&lt;/script&gt;&lt;img src=x onerror=" in svg              # legend text and tooltips escaped


def _report_error(tmp_path, body: str, overrides=()) -> str:
    base = (REPO / "scenarios" / "fragmentation.toml").read_text().split("[report]")[0]
    path = tmp_path / "s.toml"
    path.write_text(body + base)   # [report] first: its line numbers are the test's
    with pytest.raises(ScenarioError) as e:
        load(path, overrides)
    return str(e.value).replace(str(path), "FILE")


@pytest.mark.parametrize("body,message", [
    ("[report]\nquestion = 'q'\nanswer = 'x {grouping-on:fragmentation.nope}'\n",
     "FILE:3: report.answer: unknown figure {grouping-on:fragmentation.nope}: 'fragmentation' has no figure 'nope' "
     "(its figures: health_score,"),
    ("[report]\nquestion = 'q'\n\nanswer = 'x {grouping-middle:fragmentation.health_score}'\n",
     "FILE:4: report.answer: unknown figure {grouping-middle:fragmentation.health_score}: no variant "
     "'grouping-middle' (variants: grouping-on, grouping-off)"),
    ("[report]\nquestion = 'q'\nanswer = '{grouping-on:cache.misses}'\n",
     "the 'cache' profiler is not in profile.profilers"),
    ("[report]\nquestion = 'q'\nanswer = '{numa_what_if.best.policy}'\n",
     "'numa_what_if' is not an experiment of the scenario (experiments in this scenario: none)"),
    ("[report]\nquestion = 'q'\nanswer = '{fragmentation.health_score}'\n",
     "a profiler's figure needs its variant: {grouping-on:fragmentation.health_score}"),
    ("[report]\nquestion = 'q'\nanswer = 'a { b'\n", "FILE:3: report.answer: unmatched '{' at character 3"),
    ("[report]\nanswer = 'a'\n", "FILE:1: [report] needs question"),
    ("[report]\nquestion = 'q'\nanswer = 'a'\ncolour = 1\n", "FILE:4: unknown key report.colour"),
])
def test_report_sections_are_checked_when_the_scenario_loads(tmp_path, body, message):
    assert message in _report_error(tmp_path, body)


def test_profilers_chosen_on_the_command_line_leave_the_answer_out_instead_of_failing():
    spec = load("cache-thrash", ["profile.profilers=['fragmentation']"])   # the answer cites cache figures
    report = run_scenario(spec, ["workload.accesses=5000"], write=False).report
    assert report["report"]["answer"] is None and "random:cache.cpu0/L1d.miss_ratio" in report["report"]["missing"]


def test_a_bad_answer_from_the_command_line_names_the_option(tmp_path):
    err = _report_error(tmp_path, "[report]\nquestion = 'q'\nanswer = 'a'\n",
                        ["report.answer='{grouping-on:replay.nope}'"])
    assert err.startswith("--set report.answer: unknown figure {grouping-on:replay.nope}: 'replay' has no figure")


def test_an_answer_whose_figures_the_run_lacks_says_so(tmp_path):
    result = run_scenario("fragmentation", ["workload.ops=20000"], variants=["grouping-on"], out=tmp_path)
    block = result.report["report"]
    assert block["answer"] is None and block["missing"] == ["grouping-off:fragmentation.free_pageblocks",
                                                            "grouping-off:fragmentation.free_blocks_order_ge_9",
                                                            "grouping-off:fragmentation.health_score",
                                                            "grouping-off:fragmentation.compaction_free_pageblocks_after"]
    assert "Not answered: this run lacks grouping-off:fragmentation.free_pageblocks" in \
        (tmp_path / "report.html").read_text()
    assert summary(result.report).endswith("(not answered: this run lacks grouping-off:fragmentation.free_pageblocks, "
                                           "grouping-off:fragmentation.free_blocks_order_ge_9, "
                                           "grouping-off:fragmentation.health_score, "
                                           "grouping-off:fragmentation.compaction_free_pageblocks_after)")


def _memsim(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True, timeout=120,
                          env=env, cwd=REPO)


def test_report_open_opens_the_page_or_prints_its_path(shipped_report, tmp_path):
    d = shipped_report("fragmentation")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")}
    r = _memsim(["report", str(d), "--open"], env)
    assert r.returncode == 0 and r.stdout.strip() == f"report: {(d / 'report.html').resolve()} (no browser to open it)"
    seen = tmp_path / "opened"
    browser = tmp_path / "browser"
    browser.write_text(f"#!/bin/sh\necho \"$1\" > {seen}\n")
    browser.chmod(0o700)
    r = _memsim(["report", str(d), "--html", str(tmp_path / "x.html"), "--open"],
                {**env, "BROWSER": str(browser), "DISPLAY": ":99"})
    assert r.returncode == 0, r.stderr
    assert seen.read_text().strip() == (tmp_path / "x.html").resolve().as_uri()
    r = _memsim(["report", str(d)], env)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "give --html FILE, --open, or both" in r.stderr


def test_the_page_assets_ship_in_the_wheel():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    include = config["packages"]["find"]["include"]
    assert any(fnmatch.fnmatch("sim.report", p) for p in include)
    globs = config["package-data"]["sim.report"]
    assets = [p.relative_to(REPO / "sim" / "report").as_posix()
              for p in (REPO / "sim" / "report").rglob("*") if p.is_file() and p.suffix in (".j2", ".css", ".js")]
    assert len(assets) == 5 and all(any(fnmatch.fnmatch(a, g) for g in globs) for a in assets)
    packages = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "sim").rglob("__init__.py")}
    assert all(any(fnmatch.fnmatch(pkg, g) for g in include) for pkg in packages)


def test_tlbs_and_page_walks_are_shown_when_configured(tmp_path):
    tlb = "caches.tlb={dtlb={entries=64, ways=4}, stlb={entries=1536, ways=12}}"
    report = run_scenario("cache-thrash", ["workload.accesses=20000", tlb], out=tmp_path).report
    cache = report["variants"][0]["cache"]
    walks = sum(cache["page_walks"].values())
    assert walks > 0 and "cpu0/dtlb" in cache["caches"]
    html = (tmp_path / "report.html").read_text()
    assert "page walks (TLB misses at every level)" in html
    assert (tmp_path / "charts" / "miss_ratio_cpu0_dtlb.svg").exists()
    assert metrics.figures(report)[report["variants"][0]["name"]]["cache.page_walks"] == walks
    plain = run_scenario("cache-thrash", ["workload.accesses=20000"], write=False).report
    assert "cpu0/dtlb" not in plain["variants"][0]["cache"]["caches"]


def test_report_files_have_the_mode_open_would_give_them(tmp_path):
    import os

    from sim.report.directory import UMASK, write_atomic

    write_atomic(tmp_path / "x.txt", "hello")
    assert (tmp_path / "x.txt").read_text() == "hello"
    assert os.stat(tmp_path / "x.txt").st_mode & 0o777 == 0o666 & ~UMASK
