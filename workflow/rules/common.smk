import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))
from config_check import validate_config  # noqa: E402

# Validate at parse time: unknown keys, wrong types and missing files stop here
# with a message naming the key (see scripts/config_check.py).
config = validate_config(
    config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml"
)

COHORT = config["cohort"]
RAW_DEMO = "resources/raw/demo"
PROCESSED = f"resources/processed/{COHORT}"
PAIRS = {pair["name"]: pair for pair in config["pairs"]}

DEMO_FILES = [
    "OmicsExpressionRNASeQCGeneCountProfile.csv",
    "OmicsProfiles.csv",
    "Model.csv",
    "CRISPRGeneDependency.csv",
    "creammist_ic50.csv",
    "creammist_cell_lines.csv",
    "drug_targets.csv",
    "symbol_synonyms.csv",
    "gencode_v19_gene_spans.csv",
    "genesets.gmt",
    "nm.3954-S2.xlsx",
    "tahoe/plate7_filt_Vevo_Tahoe100M_WServicesFrom_ParseGigalab.h5ad",
    "tahoe/plate8_filt_Vevo_Tahoe100M_WServicesFrom_ParseGigalab.h5ad",
    "tahoe/plate9_filt_Vevo_Tahoe100M_WServicesFrom_ParseGigalab.h5ad",
    "planted_truth.json",
]

# Raw DepMap/CREAMMIST inputs of the cohort, keyed as build_cohort's inputs.
DEMO_COHORT_INPUTS = {
    "counts": "OmicsExpressionRNASeQCGeneCountProfile.csv",
    "profiles": "OmicsProfiles.csv",
    "models": "Model.csv",
    "dependency": "CRISPRGeneDependency.csv",
    "ic50": "creammist_ic50.csv",
    "creammist_cell_lines": "creammist_cell_lines.csv",
    "drug_targets": "drug_targets.csv",
    "synonyms": "symbol_synonyms.csv",
}


# Where each raw file lives when it is downloaded (resources/raw/<source>/<name>);
# the demo generator writes the same names into resources/raw/demo/.
RAW_SOURCE_OF = {
    "OmicsExpressionRNASeQCGeneCountProfile.csv": "depmap",
    "OmicsProfiles.csv": "depmap",
    "Model.csv": "depmap",
    "CRISPRGeneDependency.csv": "depmap",
    "creammist_ic50.csv": "creammist",
    "creammist_cell_lines.csv": "creammist",
    "drug_targets.csv": "annotation",
    "symbol_synonyms.csv": "annotation",
    "gencode_v19_gene_spans.csv": "annotation",
    "nm.3954-S2.xlsx": "pdx",
}


def raw_file(name):
    """Path of a raw input by its source file name (demo or downloaded).

    Tahoe plates are named ``tahoe/<plate file>`` in both layouts.
    """
    if config["data"]["source"] == "demo":
        return f"{RAW_DEMO}/{name}"
    if name.startswith("tahoe/"):
        return f"resources/raw/{name}"
    return f"resources/raw/{RAW_SOURCE_OF[name]}/{name}"


def cohort_raw_inputs(wildcards):
    """Raw files of the cohort: generated demo files or configured paths."""
    if config["data"]["source"] == "files":
        return dict(config["data"]["files"])
    return {key: raw_file(name) for key, name in DEMO_COHORT_INPUTS.items()}


def pair_config(wildcards):
    return PAIRS[wildcards.pair]


# Final outputs of the other stages (Tahoe, PDX, ...): each stage's rule file
# appends to this list, and the default target collects it.
STAGE_TARGETS = []


def all_outputs():
    outputs = ["results/metrics.tsv"] + STAGE_TARGETS
    for pair in PAIRS:
        outputs += [
            f"results/pairs/{pair}/metrics.tsv",
            f"results/pairs/{pair}/benefit_scores.tsv",
            f"results/pairs/{pair}/gene_effects.tsv",
        ]
    return outputs
