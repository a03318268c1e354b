"""``wallboard report``'s refusals: each a single line, with the exit codes the CLI uses
elsewhere (2 for a bad option or config, 1 when InfluxDB cannot answer)."""

from pathlib import Path

import pytest

from wallboard.cli import main
from wallboard.devservices import free_port

WEEK = ["--from", "2026-11-16", "--to", "2026-11-22"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int | str | None, str]:
    """Exit code and stderr of ``wallboard report ...``, run in this process."""
    code: int | str | None
    try:
        code = main(["report", *args])
    except SystemExit as exc:  # argparse refuses options this way
        code = exc.code
    return code, capsys.readouterr().err


def config_for(tmp_path: Path, url: str) -> str:
    path = tmp_path / "wallboard.toml"
    path.write_text(f'[site]\nid = "hq"\n[influx]\nurl = "{url}"\ndatabase = "wallboard"\n')
    return str(path)


REFUSED = [
    # (id, arguments, exit code, what stderr says)
    ("from-after-to", ["--from", "2026-11-22", "--to", "2026-11-16"], 2,
     "bad option: --from 2026-11-22 is not before --to 2026-11-16"),
    ("unparsable-from", ["--from", "16/11/2026", "--to", "2026-11-22"], 2,
     "argument --from: not a date: '16/11/2026'"),
    ("unparsable-to", ["--from", "2026-11-16", "--to", "next week"], 2,
     "argument --to: not a date: 'next week'"),
    ("from-missing", ["--to", "2026-11-22"], 2, "the following arguments are required: --from"),
    ("bad-site", [*WEEK, "--site", "no such/site"], 2, "bad option: --site: not a site id"),
]


@pytest.mark.parametrize(("args", "code", "message"), [r[1:] for r in REFUSED],
                         ids=[r[0] for r in REFUSED])
def test_bad_options_are_refused_before_anything_is_queried(capsys, tmp_path, args, code,
                                                            message):
    out = tmp_path / "report.html"
    got, err = run(capsys, *args, "--out", str(out))
    assert got == code
    assert message in err
    assert not out.exists()


def test_a_bad_config_is_refused_naming_the_key(capsys, tmp_path):
    path = tmp_path / "wallboard.toml"
    path.write_text('[influx]\nurl = "localhost:8086"\n')
    code, err = run(capsys, *WEEK, "--config", str(path), "--out", str(tmp_path / "r.html"))
    assert code == 2
    assert err.startswith("bad config: ") and "influx.url" in err


def test_an_unreachable_influxdb_is_one_line_naming_its_url(capsys, tmp_path):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    out = tmp_path / "report.html"
    code, err = run(capsys, *WEEK, "--config", config_for(tmp_path, url), "--out", str(out))
    assert code == 1
    assert err.startswith(f"cannot reach InfluxDB at {url}: ")
    assert err.count("\n") == 1
    assert not out.exists()
