"""Drug-target pairs: the configured table, the "auto" listing, and per-pair sample counts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from forge.io import InputFormatError, not_found_message, read_text_csv

PAIR_COLUMNS = ["name", "target", "drug", "extra_drugs", "control"]
#: How drugs and targets are named in a processed cohort (quoted when a pair's name is not found).
TARGET_CONVENTION = ("targets are gene symbols as in the dependency matrix (a prepared cohort: the <TARGET> of its "
                     "<TARGET>_dependency columns)")
DRUG_CONVENTION = ("drug names are upper-case (the IC50 and drug-target readers upper-case them; a prepared cohort: "
                   "the <DRUG> of its <DRUG>_ic50 columns)")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def _as_bool(value: object, path: str, row: int) -> bool:
    text = str(value).strip().lower()
    if text in ("", "nan", "false", "0", "no"):
        return False
    if text in ("true", "1", "yes"):
        return True
    raise InputFormatError(f"{path}: row {row}, column 'control': {value!r} is not true/false")


def read_pairs_table(path: str | Path) -> pd.DataFrame:
    """Read ``pairs.tsv``: drug, target, optional extra_drugs (comma-separated), control, name.

    Returns a table with columns ``PAIR_COLUMNS``; ``extra_drugs`` is a comma-separated
    string (possibly empty) and ``name`` defaults to ``TARGET_DRUG``.
    """
    path = str(path)
    try:
        table = read_text_csv(path, sep="\t", dtype=str, comment="#").fillna("")
    except pd.errors.EmptyDataError as err:
        raise InputFormatError(f"{path}: empty pairs table; expected columns drug, target") from err
    missing = [c for c in ("drug", "target") if c not in table.columns]
    if missing:
        raise InputFormatError(f"{path}: missing column(s) {missing}; expected drug, target[, extra_drugs, control, name]")
    unknown = sorted(set(table.columns) - set(PAIR_COLUMNS))
    if unknown:
        raise InputFormatError(f"{path}: unknown column(s) {unknown}; allowed: {PAIR_COLUMNS}")
    rows = []
    for i, row in enumerate(table.to_dict("records"), start=2):  # row 1 is the header
        drug, target = row["drug"].strip(), row["target"].strip()
        if not drug or not target:
            raise InputFormatError(f"{path}: row {i}: drug and target must not be empty")
        extra = [d.strip() for d in row.get("extra_drugs", "").split(",") if d.strip()]
        if drug in extra:
            raise InputFormatError(f"{path}: row {i}: extra_drugs repeats the pair's drug {drug!r}")
        name = row.get("name", "").strip() or f"{target}_{drug}"
        if not _NAME.match(name):
            raise InputFormatError(f"{path}: row {i}: pair name {name!r} may only use letters, digits, _ . -")
        control = _as_bool(row.get("control", ""), path, i)
        rows.append((name, target, drug, ",".join(extra), control))
    pairs = pd.DataFrame(rows, columns=PAIR_COLUMNS)
    duplicated = sorted(set(pairs["name"][pairs["name"].duplicated()]))
    if duplicated:
        raise InputFormatError(f"{path}: duplicated pair name(s) {duplicated}; add a 'name' column")
    if pairs.empty:
        raise InputFormatError(f"{path}: no pairs listed")
    # the same model under two names would be trained twice and counted twice in across-pair tests
    same = pairs.assign(drugs=[",".join(sorted([d] + [e for e in x.split(",") if e]))
                               for d, x in zip(pairs["drug"], pairs["extra_drugs"])])
    repeated = same[same.duplicated(["target", "drugs"], keep=False)]
    if len(repeated):
        groups = repeated.groupby(["target", "drugs"])["name"].apply(list).tolist()
        raise InputFormatError(f"{path}: the same drug-target pair is listed more than once under the names "
                               f"{groups}; list each pair once")
    return pairs


def complete_samples(
    expression: pd.DataFrame, dependency: pd.DataFrame, response: pd.DataFrame, target: str, drugs: list[str]
) -> pd.Index:
    """Samples with expression, the target's dependency and every drug's IC50."""
    if target not in dependency.columns or any(d not in response.columns for d in drugs):
        return pd.Index([])
    ok = dependency[target].notna() & response.reindex(dependency.index)[drugs].notna().all(axis=1)
    return expression.index.intersection(ok.index[ok])


def check_pair_names(pairs: pd.DataFrame, dependency: pd.DataFrame, response: pd.DataFrame,
                     source: str = "pairs.table") -> None:
    """Refuse a pair whose target, drug or extra drug is not in the cohort, saying the naming convention
    and the nearest existing names (a wrong case, e.g. ``erlotinib``, is the usual cause)."""
    for row in pairs.itertuples(index=False):
        if row.target not in dependency.columns:
            raise InputFormatError(f"{source}: pair {row.name}: " + not_found_message(
                "target", row.target, dependency.columns, TARGET_CONVENTION, "in the dependency matrix"))
        extra = [d for d in str(row.extra_drugs or "").split(",") if d]
        for drug, what in [(row.drug, "drug")] + [(d, "extra drug") for d in extra]:
            if drug not in response.columns:
                raise InputFormatError(f"{source}: pair {row.name}: " + not_found_message(
                    what, drug, response.columns, DRUG_CONVENTION, "in the response matrix"))


def count_pairs(
    pairs: pd.DataFrame, expression: pd.DataFrame, dependency: pd.DataFrame, response: pd.DataFrame
) -> pd.DataFrame:
    """Add per-pair counts: cell lines with all data for the joint model and the multi-drug model.

    A target, drug or extra drug absent from the cohort is refused by :func:`check_pair_names`
    (the flags ``target_in_dependency`` and ``drug_in_response`` are then always true).
    """
    check_pair_names(pairs, dependency, response)
    out = pairs.copy()
    out["target_in_dependency"] = out["target"].isin(dependency.columns)
    out["drug_in_response"] = out["drug"].isin(response.columns)
    out["n_cell_lines"] = [
        len(complete_samples(expression, dependency, response, t, [d])) for t, d in zip(out["target"], out["drug"])
    ]
    out["n_cell_lines_multi"] = [
        len(complete_samples(expression, dependency, response, t, [d] + [x for x in e.split(",") if x]))
        if e else 0
        for t, d, e in zip(out["target"], out["drug"], out["extra_drugs"])
    ]
    return out


def auto_pairs(
    drug_targets: pd.DataFrame,
    expression: pd.DataFrame,
    dependency: pd.DataFrame,
    response: pd.DataFrame,
    min_cell_lines: int,
) -> pd.DataFrame:
    """Every annotated drug-target pair with at least ``min_cell_lines`` complete cell lines.

    ``drug_targets`` is the long table (drug, target). Drugs sharing a target are offered
    as ``extra_drugs`` of each other's pair (for the multi-drug model). The result has the
    columns of :func:`count_pairs` and is sorted by target, then drug.
    """
    annotated = drug_targets[["drug", "target"]].drop_duplicates()
    annotated = annotated[annotated["drug"].isin(response.columns) & annotated["target"].isin(dependency.columns)]
    candidates = pd.DataFrame(
        {
            "name": annotated["target"] + "_" + annotated["drug"],
            "target": annotated["target"],
            "drug": annotated["drug"],
            "extra_drugs": "",
            "control": False,
        }
    )
    counted = count_pairs(candidates, expression, dependency, response)
    kept = counted[counted["n_cell_lines"] >= min_cell_lines].sort_values(["target", "drug"])
    drugs_of_target = kept.groupby("target")["drug"].agg(list)
    kept["extra_drugs"] = [
        ",".join(d for d in drugs_of_target[t] if d != drug) for t, drug in zip(kept["target"], kept["drug"])
    ]
    kept["n_cell_lines_multi"] = count_pairs(kept[PAIR_COLUMNS], expression, dependency, response)[
        "n_cell_lines_multi"
    ].to_numpy()
    return kept.reset_index(drop=True)


@dataclass(frozen=True)
class Pair:
    """One modelled drug-target pair: the record every later step is handed (never its name split).

    Attributes
    ----------
    name : str
        The pair's name (``results/<run>/pairs/<name>/``); any name the pairs table allows.
    target : str
        Gene symbol of the target (a column of the dependency matrix).
    drug : str
        The drug (a column of the response matrix; may contain ``_``).
    extra_drugs : tuple of str
        Further drugs of the same target (multi-drug model).
    control : bool
        A negative-control pair.
    """

    name: str
    target: str
    drug: str
    extra_drugs: tuple[str, ...] = ()
    control: bool = False

    @property
    def title(self) -> str:
        """How figures and captions name the pair: 'EGFR–erlotinib'; a custom name is kept in front
        ('egfr-main: EGFR–erlotinib') so two pairs of the same target and drug stay apart."""
        title = f"{self.target}–{self.drug.lower()}"
        return title if self.name == f"{self.target}_{self.drug}" else f"{self.name}: {title}"

    @property
    def dependency_output(self) -> str:
        """Output column of the target's dependency (``EGFR_dependency``)."""
        return f"{self.target}_dependency"

    @property
    def ic50_output(self) -> str:
        """Output column of the drug's IC50 (``ERLOTINIB_ic50``)."""
        return f"{self.drug}_ic50"

    def as_dict(self) -> dict:
        """The record as a dict (``extra_drugs`` as a list), as the modelling steps take it."""
        return dict(name=self.name, target=self.target, drug=self.drug, extra_drugs=list(self.extra_drugs),
                    control=self.control)


def read_selected_pairs(path: str | Path) -> dict[str, Pair]:
    """The selected pairs (``results/<run>/pairs.tsv``, written by rule select_pairs), by name, in the
    table's order. The one reader of that table: every step that needs a pair's target, drug or
    control flag takes its :class:`Pair` from here.
    """
    try:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (pd.errors.EmptyDataError, FileNotFoundError) as err:
        raise InputFormatError(f"{path}: cannot read the selected pairs ({err})") from err
    return pairs_from_frame(table, str(path))


def pairs_from_frame(table: pd.DataFrame, source: str = "pairs table") -> dict[str, Pair]:
    """The :class:`Pair` records of a selected-pairs table already in memory (columns ``PAIR_COLUMNS``;
    ``control`` true/false in any case, ``extra_drugs`` comma-separated), by name, in the table's order."""
    missing = [c for c in PAIR_COLUMNS if c not in table.columns]
    if missing:
        raise InputFormatError(f"{source}: missing column(s) {missing}; expected {PAIR_COLUMNS} (written by select_pairs)")
    pairs = {}
    for i, row in enumerate(table[PAIR_COLUMNS].itertuples(index=False), start=2):
        control = str(row.control).strip().lower()
        if control not in ("true", "false"):
            raise InputFormatError(f"{source}: row {i}, column 'control': {row.control!r} is not True/False")
        extra = "" if pd.isna(row.extra_drugs) else str(row.extra_drugs)
        pairs[str(row.name)] = Pair(str(row.name), str(row.target), str(row.drug),
                                    tuple(d for d in extra.split(",") if d), control == "true")
    return pairs


def pair_record(pairs_table_path: str | Path, name: str) -> dict:
    """One pair of the selected-pairs table as a dict (``extra_drugs`` as a list)."""
    pairs = read_selected_pairs(pairs_table_path)
    if name not in pairs:
        raise InputFormatError(f"{pairs_table_path}: pair {name!r} not found")
    return pairs[name].as_dict()
