"""benchmarks/results.py: a run of a few presets replaces their rows and keeps the others."""

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def results(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the script imports its neighbour docblock
    import results

    yield results
    sys.modules.pop("results", None)


HEAD = "| preset | dataset | recipe | cond. acc. |\n| --- | --- | --- | --- |\n"
OLD = [
    "| `fashion-best` | fashion-mnist | old recipe | 91.0% | 70.8% (shirt) | 5.87 | 12.17 | 0.896 | 0.809 | 9 m 37 s |",
    "| `mnist-cdcgan` | mnist | old recipe | 99.0% | 97.6% (3) | 6.13 | 15.58 | 0.880 | 0.837 | 3 m 38 s |",
    "| `mnist-best` | mnist | old recipe | 98.9% | 98.2% (3) | 2.81 | 8.04 | 0.903 | 0.906 | 13 m 08 s |",
]


def test_a_subset_run_replaces_its_rows_and_keeps_the_others(results):
    text = "# Results\n\n<!-- table -->\n" + HEAD + "\n".join(OLD) + "\n<!-- /table -->\nnotes\n"
    row = {"preset": "mnist-best", "dataset": "mnist", "train_s": 700, "cond_acc": 0.9935, "fid": 2.5}
    row |= {"worst_class_acc": "98.9% (3)", "intra_fid": 7.5, "precision": 0.91, "recall": 0.91}
    kept = results.kept_rows(text, [row])
    assert kept == OLD[:2]  # the old mnist-best row goes; the Fashion row and the default stay
    lines = results.table([row], kept).splitlines()[2:]
    assert lines[0] == OLD[0]  # fashion-mnist sorts before mnist
    assert lines[1].startswith("| `mnist-best` | mnist | cdcgan, bce,") and "| 99.35% |" in lines[1]
    assert "| 11 m 40 s |" in lines[1] and lines[2] == OLD[1]  # by accuracy within a dataset


def test_a_grouped_block_keeps_the_presets_a_run_did_not_name(results, tmp_path):
    from docblock import replace_block

    head = "| preset | direction | FID |\n| --- | --- | --- |\n"
    old = head + "| `a` | A → B | 8.0 |\n|  | B → A | 1.2 |\n| `b` | A → B | 140 |\n|  | B → A | 65 |\n"
    doc = tmp_path / "results.md"
    doc.write_text(f"intro\n<!-- unpaired -->\n{old}<!-- /unpaired -->\nnotes\n")
    replace_block(
        doc, "unpaired", head + "| `a` | A → B | 3.0 |\n|  | B → A | 1.1 |\n| `c` | A → B | 9 |\n", merge=True
    )
    block = doc.read_text().split("<!-- unpaired -->\n")[1].split("<!-- /unpaired -->")[0]
    rows = block.strip().splitlines()[2:]
    # a's two rows are replaced in place, b's stay as measured, c (new) comes last
    assert rows == [
        "| `a` | A → B | 3.0 |",
        "|  | B → A | 1.1 |",
        "| `b` | A → B | 140 |",
        "|  | B → A | 65 |",
        "| `c` | A → B | 9 |",
    ]
    assert doc.read_text().startswith("intro\n") and doc.read_text().endswith("<!-- /unpaired -->\nnotes\n")
    # another header (columns changed): the new table alone
    replace_block(doc, "unpaired", "| preset | FID |\n| --- | --- |\n| `a` | 2.0 |\n", merge=True)
    assert "`b`" not in doc.read_text() and "| `a` | 2.0 |" in doc.read_text()
