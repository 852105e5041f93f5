"""Bad text encodings: every text reader refuses a non-UTF-8 file naming the file, line and column
(the policy for all text inputs: UTF-8), instead of a raw traceback or silently missing values."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from forge.analysis.enrichment import read_gmt
from forge.io import InputFormatError, first_invalid_utf8
from forge.modelling.pairs import read_pairs_table
from forge.modelling.scoring import read_expression
from forge.sources.prepared import read_prepared

LATIN1 = "é".encode("latin-1")  # b"\xe9": valid Latin-1, invalid UTF-8


def latin1_file(path: Path, lines: list[str], bad_line: int) -> Path:
    data = [line.encode("utf-8") for line in lines]
    data[bad_line - 1] = data[bad_line - 1].replace(b"X", LATIN1, 1)
    path.write_bytes(b"\n".join(data) + b"\n")
    return path


CASES = {
    "pairs table": (["drug\ttarget", "ERLOTINIB\tEGFR", "DABRAFENIB\tBRAX"], lambda p: read_pairs_table(p), ".tsv"),
    "GMT": (["SET A\t\tG1\tG2", "SET B\t\tG3\tG4", "SET X\t\tG5"], lambda p: read_gmt(p), ".gmt"),
    "scoring expression": (["sample,G1,G2", "S1,1,2", "SX,3,4"], lambda p: read_expression(p), ".csv"),
    "prepared expression": (["sample,G1,G2", "S1,1,2", "SX,3,4"],
                            lambda p: read_prepared(p, p), ".csv"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_non_utf8_text_inputs_name_file_and_line(tmp_path: Path, case: str) -> None:
    lines, reader, suffix = CASES[case]
    path = latin1_file(tmp_path / f"bad{suffix}", lines, bad_line=3)
    with pytest.raises(InputFormatError, match=r"bad\.\w+: line 3, byte \d+: not valid UTF-8"):
        reader(path)


def test_first_invalid_utf8_counts_lines_across_blocks_and_in_gzip(tmp_path: Path) -> None:
    body = ("x" * 99 + "\n") * 20_000  # 2 MB: the reader goes through several 1 MB blocks
    data = body.encode() + b"abc" + LATIN1 + b"def\n"
    plain = tmp_path / "big.txt"
    plain.write_bytes(data)
    assert first_invalid_utf8(plain) == (20_001, 4)
    packed = tmp_path / "big.txt.gz"
    packed.write_bytes(gzip.compress(data))
    assert first_invalid_utf8(packed) == (20_001, 4)
    good = tmp_path / "good.txt"
    good.write_text("G1,É\n", encoding="utf-8")
    assert first_invalid_utf8(good) is None
