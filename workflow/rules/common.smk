import os
import sys
import warnings
from pathlib import Path

from snakemake.exceptions import WorkflowError


def workflow_dir(rules_dir):
    """The workflow/ directory of this workflow's tree, wherever the tree is (a checkout, a
    Snakemake module, a snakedeploy deployment): paths inside the workflow are built from it;
    paths in the configuration stay relative to the user's working directory."""
    try:
        return Path(os.fspath(rules_dir)).parent
    # a remote module (github(...), an URL): the library is not on disk
    except TypeError:
        raise WorkflowError(
            f"FORGE is used from {rules_dir}: its library (scripts/) must be on disk. Clone the "
            "repository and give the module the local path of its workflow/Snakefile."
        ) from None


def use_workflow_library(library):
    """Make the workflow's own library (scripts/: forge, forge_core, forge_score) importable
    without installing it, ahead of any installed copy: first on sys.path for the parse (and
    Snakemake appends the parse's sys.path to every script job's), first on PYTHONPATH for
    the jobs (inherited from this process; a cluster job parses the workflow again)."""
    if not (library / "forge" / "__init__.py").is_file():
        raise WorkflowError(f"FORGE's library (forge/__init__.py) is not in {library}")
    library = str(library)
    sys.path[:] = [library] + [p for p in sys.path if p != library]
    # set here, never required from the user (so no envvars: directive)
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    os.environ.update(
        PYTHONPATH=os.pathsep.join([library] + [p for p in paths if p and p != library])
    )


WORKFLOW_DIR = workflow_dir(workflow.current_basedir)
use_workflow_library(WORKFLOW_DIR.parent / "scripts")

import forge.targets
from forge.code_version import code_digest
from forge.config import validate_config
from forge.figures.registry import (
    COHORT_TITLES,
    caption_text,
    figure_subject,
    load_all,
    paper_figure,
    rst_escaped,
    table_paths,
    validation_cohorts,
)
from forge.layout import (
    COHORT_RAW_FILES,
    PDX_WORKBOOK,
    VALIDATION_TABLES,
    RunLayout,
    enrichr_library_file,
    tahoe_plate_file,
)
from forge.modelling.pairs import read_selected_pairs
from forge.sources.demo_data import DEMO_FILES  # the generator's own list of files

# Validate at parse time: unknown keys, wrong types and missing files stop here
# with a message naming the key (see scripts/forge/config.py).
config = validate_config(config, WORKFLOW_DIR / "schemas/config.schema.yaml")

COHORT = config["cohort"]
# Each configuration writes under its own roots (run_name, default the cohort name), so a
# real-data run never overwrites the demo's; downloads in resources/raw/<source>/ are shared.
# Every path of the run comes from forge.layout (scripts/forge/layout.py).
RUN = config["run_name"] or COHORT
LAYOUT = RunLayout(RUN)
RESULTS = LAYOUT.results
LOGS = LAYOUT.logs
BENCH = LAYOUT.benchmarks
RAW_DEMO = LAYOUT.raw_demo
PROCESSED = LAYOUT.processed


def code_version(script):
    """params entry of every rule: a digest of the rule's script and of each library module it
    uses (forge.code_version), so that a job reruns when the code it runs changes (Snakemake
    itself watches only the script's file, not the library it imports)."""
    return code_digest(
        WORKFLOW_DIR / "scripts" / script, WORKFLOW_DIR.parent / "scripts"
    )


# -- resources: threads, mem_mb and runtime are declared for every job with these helpers.
# To override them without editing the workflow, use the profile's set-resources and
# set-threads (e.g. `tune_pair:mem_mb=16000`) or --set-resources on the command line.
def memory(base_mb, per_input_mb=0.0):
    """mem_mb callable: the larger of ``base_mb`` and ``per_input_mb`` × the inputs' size (MB),
    times the attempt, so a job killed for memory is retried with more (profiles set retries).
    """

    def mem_mb(wildcards, input, attempt):
        # the inputs' size is not needed: do not ask for it (see the warning filter below)
        if not per_input_mb:
            return int(attempt * base_mb)
        return int(attempt * max(base_mb, per_input_mb * input.size_mb))

    return mem_mb


# `snakemake --report` (and other commands that build the DAG inside Snakemake's own event loop)
# evaluates every job's resources there: input.size_mb then creates a coroutine that Snakemake
# cannot run in the running loop; it catches the NestedCoroutineError and uses a placeholder, and
# the unawaited coroutine prints a RuntimeWarning when collected (~80 of them in `make report`).
# memory() no longer asks for the size when it does not use it; the remaining cases are harmless.
warnings.filterwarnings(
    "ignore",
    message="coroutine 'InputFiles._predicated_size_files.<locals>.sizes' was never awaited",
    category=RuntimeWarning,
)


def minutes(base):
    """runtime callable (minutes): ``base`` times the attempt."""

    def runtime(wildcards, attempt):
        return attempt * base

    return runtime


def raw_file(name):
    """Path of a raw input by its file name (forge.layout): the run's generated demo file, or the
    downloaded one. Tahoe plates are ``tahoe/<plate file>`` (forge.layout.tahoe_plate_file).
    """
    return LAYOUT.raw_file(name, config["data"]["source"])


def prepared_inputs():
    """Files of a prepared cohort (data.source = prepared)."""
    prepared = config["data"]["prepared"]
    inputs = dict(expression=prepared["expression"], outputs=prepared["outputs"])
    if prepared["models"]:
        inputs["models"] = prepared["models"]
    return inputs


def cohort_raw_inputs(wildcards):
    """Raw files of the cohort: generated demo files or configured paths."""
    if config["data"]["source"] == "files":
        return dict(config["data"]["files"])
    return {key: raw_file(name) for key, name in COHORT_RAW_FILES.items()}


# The pair's slices of the cohort (written by prepare_pair), read by the later per-pair jobs.
PAIR_SLICES = dict(
    expression=f"{RESULTS}/pairs/{{pair}}/expression.parquet",
    outputs=f"{RESULTS}/pairs/{{pair}}/observed_outputs.parquet",
)


# The processed cohort (written by build_cohort and voom_expression, or by import_prepared with
# data.source = prepared), read by the later stages.
COHORT_FILES = dict(
    # raw counts (build_cohort; not with data.source = prepared)
    counts=f"{PROCESSED}/counts.parquet",
    expression=f"{PROCESSED}/expression.parquet",
    dependency=f"{PROCESSED}/dependency.parquet",
    response=f"{PROCESSED}/response.parquet",
    samples=f"{PROCESSED}/samples.tsv",
    drug_targets=f"{PROCESSED}/drug_targets.tsv",
    dropped=f"{PROCESSED}/dropped.tsv",
)


# Priority of the modelling chain up to the embeddings (prepare … embed_pair) and of the UMAP
# of all pairs' embeddings: with it, every pair's models come first and the all-pairs UMAP runs
# beside the remaining clustering/DE jobs instead of alone after them (paper scale, 50 pairs on
# 2 cores: a 150 s serial tail otherwise).
MODELLING_FIRST = 1


# The cohort expression as a memory-mapped array with per-gene sort orders (forge.io.MatrixArray):
# the per-pair jobs that need every gene read it in a fraction of a second instead of parsing
# the Parquet matrix each time.
EXPRESSION_ARRAY = dict(
    index=f"{PROCESSED}/expression_array/index.json",
    values=f"{PROCESSED}/expression_array/values.npy",
    rank_order=f"{PROCESSED}/expression_array/rank_order.npy",
)


def cross_validated_choice():
    """Input of the training rules: the tuning stage's hyper-parameters, only when
    cross-validation chooses them (with the configured values training does not wait for tuning).
    """
    if config["tuning"]["cv"]["enabled"]:
        return dict(chosen=rules.tune_pair.output.chosen)
    return {}


# What prepare_pair checks a split against (forge.modelling.model.split_requirements): only
# these values, so that other edits of the baselines or tuning sections do not rerun it.
SPLIT_REQUIREMENT_SETTINGS = dict(
    baselines=dict(cv_folds=config["baselines"]["cv_folds"]),
    tuning=dict(
        cv=dict(
            enabled=config["tuning"]["cv"]["enabled"],
            folds=config["tuning"]["cv"]["folds"],
        )
    ),
)
# The model settings of a fit (tuning curve, cross-validation): the solver's and the seed, not
# the replicates or kinds that only the training rules read.
MODEL_FIT_SETTINGS = {
    key: value
    for key, value in config["model"].items()
    if key not in ("replicates", "kinds")
}
# The model settings of the validation.k models (train_pair_k): joint models whose k is the
# rule's wildcard, so neither the reported k nor the kinds.
VALIDATION_K_MODEL_SETTINGS = {
    key: value
    for key, value in config["model"].items()
    if key not in ("n_components", "kinds")
}


def validated_k_dirs(wildcards):
    """Models of the further validated k (validation.k) of a pair; with the hyper-parameters from
    the configuration, the reported model's own k is served by its replicates (not trained twice).
    """
    reported = (
        None if config["tuning"]["cv"]["enabled"] else config["model"]["n_components"]
    )
    return [
        expand(rules.train_pair_k.output.models, pair=wildcards.pair, k=k)[0]
        for k in sorted(set(config["validation"]["k"]))
        if k != reported
    ]


def validation_settings(cohort):
    """The settings of one cohort's validation rule: its section plus the shared recipe keys."""
    shared = config["validation"]
    return dict(
        config["validation"][cohort],
        recipes=shared["recipes"],
        min_cohort_size=shared["min_cohort_size"],
        robustness_fisher_resamples=shared["robustness"]["fisher_resamples"],
    )


def pair_selection_inputs(wildcards):
    """The cohort, and the configured pairs table unless pairs are listed automatically."""
    inputs = dict(
        dependency=COHORT_FILES["dependency"],
        response=COHORT_FILES["response"],
        **{f"expression_{key}": path for key, path in EXPRESSION_ARRAY.items()},
        drug_targets=COHORT_FILES["drug_targets"],
    )
    if not config["pairs"]["auto"]:
        inputs["table"] = config["pairs"]["table"]
    return inputs


def prepare_pair_inputs(wildcards):
    inputs = dict(
        dependency=COHORT_FILES["dependency"],
        response=COHORT_FILES["response"],
        **{f"expression_{key}": path for key, path in EXPRESSION_ARRAY.items()},
        samples=COHORT_FILES["samples"],
        pairs=rules.select_pairs.output[0],
    )
    for key in ("split", "genes"):
        if config[key]["file"]:
            inputs[f"{key}_file"] = config[key]["file"]
    return inputs


def selected_pairs():
    """Pair names from the select_pairs checkpoint (known once the cohort is built)."""
    return list(selected_pair_records())


def per_pair(pattern):
    """Input function: ``pattern`` expanded over the selected pairs."""

    def expand_pairs(wildcards):
        return expand(pattern, pair=selected_pairs())

    return expand_pairs


def cohort_to_score(wildcards):
    return config["scoring"]["cohorts"][wildcards.cohort]["path"]


def de_pair_inputs(wildcards):
    """Cohort expression, and its voom weights when the cohort has them and they are wanted."""
    inputs = {f"expression_{key}": path for key, path in EXPRESSION_ARRAY.items()}
    if config["analysis"]["de"]["weights"] and config["data"]["source"] != "prepared":
        inputs["weights"] = rules.voom_expression.output.weights
    return inputs


def enrichment_library_files():
    """GMT files of the enrichment: configured, else the demo's or the downloaded Enrichr ones."""
    configured = config["analysis"]["enrichment"]["libraries"]
    if configured:
        return list(configured)
    if config["data"]["source"] == "demo":
        return [raw_file("genesets.gmt")]
    if config["data"]["source"] == "download":
        libraries = config["download"]["enrichr"]["libraries"]
        return [raw_file(enrichr_library_file(name)) for name in libraries]
    return []


def enrichment_inputs(wildcards):
    inputs = dict(libraries=enrichment_library_files())
    if config["analysis"]["enrichment"]["background"] == "universe":
        inputs["universe"] = config["analysis"]["enrichment"]["universe_file"]
    return inputs


def selected_pair_records():
    """The selected pairs' records (forge.modelling.pairs.Pair) by name, from the checkpoint."""
    return read_selected_pairs(checkpoints.select_pairs.get().output[0])


def validation_pairs(cohort):
    """Pairs validated on ``cohort`` ("tahoe" or "pdx"): forge.targets.validation_pairs."""
    return forge.targets.validation_pairs(config, cohort, selected_pair_records())


def validation_enrichment_inputs(wildcards):
    return dict(libraries=enrichment_library_files())


def validation_tables(wildcards):
    """Tests and scores of every validated pair (the summary's inputs)."""
    inputs = {}
    for cohort in ("tahoe", "pdx"):
        pairs = validation_pairs(cohort)
        for table in ("tests", "scores", "robustness"):
            inputs[f"{cohort}_{table}"] = [
                LAYOUT.validation_table(cohort, table, pair) for pair in pairs
            ]
    inputs["cohort_scores"] = expand(
        rules.evaluate_pair.output.scores, pair=selected_pairs()
    )
    return inputs


def provenance_inputs(wildcards):
    """The run's raw inputs (checksummed) and the download manifest when there is one."""
    inputs = dict(pairs=rules.select_pairs.output[0])
    if config["data"]["source"] == "demo":
        inputs["raw"] = [f"{RAW_DEMO}/{name}" for name in DEMO_FILES]
    elif config["data"]["source"] == "files":
        inputs["raw"] = list(config["data"]["files"].values())
    elif config["data"]["source"] == "prepared":
        inputs["raw"] = [v for v in config["data"]["prepared"].values() if v]
    else:
        inputs["raw"] = list(cohort_raw_inputs(wildcards).values())
    if os.path.exists(config["download"]["manifest"]):
        inputs["manifest"] = config["download"]["manifest"]
    return inputs


def stage_outputs():
    """The outputs of the stages that are not per pair: downloads (data.source = download), the
    Tahoe-100M pseudo-bulk, the PDX tables. Known at parse time (no checkpoint), so rule all lists
    them directly and they are planned from the start."""
    outputs = []
    if config["data"]["source"] == "download":
        outputs += rules.download_all.input
    if config["stages"]["tahoe"]:
        outputs += rules.tahoe_combine.output + rules.tahoe_voom.output
    if config["stages"]["pdx"]:
        outputs += rules.pdx_process.output
    return outputs


def all_outputs(wildcards):
    """Default target once the pairs are known (the stages' outputs are its neighbours in the
    default target's inputs): comparison across pairs, per-pair outputs, cohort scores,
    validation, figures, report."""
    compared = rules.compare_pairs.output
    outputs = [compared.metrics, compared.comparison, compared.concordance_test]
    if config["stages"]["tahoe"] or config["stages"]["pdx"]:
        outputs.append(rules.summarise_validation.output.summary)
    pairs = selected_pairs()
    outputs += expand(rules.who_benefits.output[0], pair=pairs)
    outputs += [rules.provenance.output.versions] + report_pages()
    if config["stages"]["figures"]:
        outputs += [rules.figure_index.output[0]] + figure_targets("png")
    evaluated = rules.evaluate_pair.output
    for name in (
        evaluated.scores,
        rules.tune_pair.output.curve,
        evaluated.top_genes,
        evaluated.group_tests,
    ):
        outputs += expand(name, pair=pairs)
    outputs += expand(
        rules.score_cohort.output.scores,
        pair=pairs,
        cohort=config["scoring"]["cohorts"],
    )
    if config["stages"]["analysis"]:
        for analysed in (rules.embed_pair, rules.cluster_pair):
            outputs += expand(analysed.output, pair=pairs)
        outputs += expand(rules.de_pair.output.summary, pair=pairs)
        outputs += expand(rules.enrich_pair.output.enrichment, pair=pairs)
        outputs.append(rules.embedding_umap.output.umap)
    return outputs


# -- figures (workflow/rules/figures.smk): the figures' metadata (scripts/forge/figures/registry.py;
# no drawing code is imported here) and which files a run draws (scripts/forge/targets.py).

FIGURE_SPECS = load_all()
# The validation cohorts' drug and models, as figure titles and captions name them.
FIGURE_COHORTS = validation_cohorts(
    config["tahoe"]["drug"], config["pdx"]["treatment"], config["pdx"]["tumour_type"]
)


def figure_inputs(wildcards):
    spec = FIGURE_SPECS[wildcards.figure]
    paths = table_paths(spec, wildcards.name, selected_pairs(), root=RESULTS)
    return {key.replace("@", "_"): files for key, files in paths.items()}


def figure_targets(suffix):
    """Every figure file of the run (``png`` or ``index.tsv``): forge.targets.figure_files."""
    pairs = selected_pair_records()
    return forge.targets.figure_files(
        FIGURE_SPECS,
        pairs,
        forge.targets.all_validation_pairs(config, pairs),
        analysis=config["stages"]["analysis"],
        results=RESULTS,
        suffix=suffix,
    )


def figure_subject_of(wildcards):
    """What the figure job draws: the pair's record (never its name split), the cohort."""
    pairs = selected_pair_records()
    return figure_subject(
        FIGURE_SPECS[wildcards.figure], wildcards.name, pairs, FIGURE_COHORTS
    )


def figure_drawn_for(wildcards):
    """Report subcategory of a figure: 'EGFR–erlotinib', 'PDX (Gao 2015) / EGFR–erlotinib', 'all pairs'."""
    subject = figure_subject_of(wildcards)
    if subject.pair is None:
        return "all pairs"
    return " / ".join(filter(None, [COHORT_TITLES.get(subject.cohort), subject.title]))


def figure_labels(wildcards, output):
    """Report labels, read at report time from the figure's index rows."""
    import pandas as pd

    labels = {
        "figure": wildcards.figure,
        "drawn for": figure_drawn_for(wildcards),
    }
    try:
        index = pd.read_csv(output.index, sep="\t", keep_default_na=False)
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return labels
    drawn = (index["status"] == "drawn").sum()
    labels["panels drawn"] = f"{drawn} of {len(index)}"
    labels["key numbers"] = str(index["key_numbers"].iloc[0]) if len(index) else ""
    return labels


def figure_caption(wildcards):
    """The figure's caption for the report, filled from the pair record and the cohort
    (rst: a literal | must be escaped)."""
    spec = FIGURE_SPECS[wildcards.figure]
    return caption_text(spec, figure_subject_of(wildcards), rst=True).replace(
        "|", "\\|"
    )
# -- report pages (workflow/rules/figures.smk): tables as sortable, searchable HTML and the overview.
# One line per table: the table the workflow wrote ({pair}: one page per selected pair), the stage
# that writes it (None: always), the report category (the leading number orders the report's menu),
# the page title and its caption under workflow/report/.
# fmt: off
REPORT_TABLES = {
    "who_benefits": dict(table=LAYOUT.table("who_benefits"), stage=None, category="2 Who benefits", title="Who benefits", caption="who_benefits.rst"),
    "model_comparison": dict(table=LAYOUT.table("all_comparison"), stage=None, category="3 Model comparison", title="FORGE next to the baselines (mean ± sd over replicates)", caption="comparison.rst"),
    "test_metrics": dict(table=LAYOUT.table("all_metrics"), stage=None, category="3 Model comparison", title="Metrics of every model, replicate and split", caption="metrics.rst"),
    "validation_summary": dict(table=LAYOUT.table("validation_summary"), stage="validation", category="4 Validation", title="Every validation test", caption="validation_summary.rst"),
    "validation_robustness": dict(table=LAYOUT.table("robustness_summary"), stage="validation", category="4 Validation", title="Robustness of every validation claim (not additional claims)", caption="robustness_summary.rst"),
    "figure_index": dict(table=LAYOUT.table("figure_index"), stage="figures", category="Figure index", title="Every panel of every figure", caption="figure_index.rst"),
    "versions": dict(table=LAYOUT.table("versions"), stage=None, category="Provenance", title="Package versions", caption="provenance.rst"),
    "inputs": dict(table=LAYOUT.table("inputs"), stage=None, category="Provenance", title="Raw inputs and their sha256", caption="provenance.rst"),
}
# fmt: on
REPORT_PAGES = f"{RESULTS}/report"


def report_stage_on(stage):
    if stage == "validation":
        return config["stages"]["tahoe"] or config["stages"]["pdx"]
    return stage is None or config["stages"][stage]


def report_pages():
    """Every report page of the run: the overview and each table's page (per pair where it has one)."""
    pages = [f"{REPORT_PAGES}/overview.html"]
    for key, entry in REPORT_TABLES.items():
        if not report_stage_on(entry["stage"]):
            continue
        if "{pair}" in entry["table"]:
            pages += [f"{REPORT_PAGES}/{key}/{pair}.html" for pair in selected_pairs()]
        else:
            pages.append(f"{REPORT_PAGES}/{key}.html")
    return pages


def report_page_of(wildcards):
    """The table entry and the pair (or None) of a page: the ``page`` wildcard is ``<table>`` or
    ``<table>/<pair>`` (pair names have no '/')."""
    key, _, pair_name = wildcards.page.partition("/")
    if not pair_name:
        return REPORT_TABLES[key], None
    return (
        REPORT_TABLES[key],
        selected_pair_records()[pair_name],
    )


def report_page_table(wildcards):
    entry, pair = report_page_of(wildcards)
    return entry["table"].replace("{pair}", pair.name) if pair else entry["table"]


def report_page_title(wildcards):
    entry, pair = report_page_of(wildcards)
    return f"{entry['title']}: {pair.title}" if pair else entry["title"]


def report_page_subcategory(wildcards):
    entry, pair = report_page_of(wildcards)
    return pair.title if pair else entry["title"]


def report_page_caption(wildcards):
    """The page's caption (rst, a Jinja template like every report caption: ``snakemake.config``,
    and ``pair`` the pair's title), also shown at the top of the page."""
    from types import SimpleNamespace

    import jinja2

    entry, pair = report_page_of(wildcards)
    with open(workflow.source_path(f"../report/{entry['caption']}")) as handle:
        template = jinja2.Template(handle.read())
    return template.render(
        snakemake=SimpleNamespace(config=config),
        pair=rst_escaped(pair.title) if pair else "",
    )


def report_overview_inputs(wildcards):
    inputs = dict(
        pairs=rules.select_pairs.output[0],
        comparison=rules.compare_pairs.output.comparison,
        who_benefits=expand(rules.who_benefits.output[0], pair=selected_pairs()),
        method=workflow.source_path("../../docs/METHOD.md"),
    )
    if report_stage_on("validation"):
        inputs["validation"] = rules.summarise_validation.output.summary
    return inputs


def report_run_settings():
    """What ran, as the overview lists it: (setting, value) rows from the validated config."""
    model, split = config["model"], config["split"]
    stages = [name for name, on in config["stages"].items() if on]
    pairs = selected_pair_records()
    rows = [
        ("run", f"{RUN} (cohort {COHORT}, data source {config['data']['source']})"),
        (
            "pairs",
            f"{len(pairs)} from "
            + (
                "all annotated pairs (pairs.auto)"
                if config["pairs"]["auto"]
                else config["pairs"]["table"]
            )
            + ": "
            + ", ".join(
                p.title + (" (control)" if p.control else "") for p in pairs.values()
            ),
        ),
        ("stages", ", ".join(stages) if stages else "modelling only"),
        (
            "model",
            f"k = {model['n_components']}, λ = {model['l1_penalty']}, η = {model['learning_rate']}, "
            f"{model['max_iter']} epochs, {model['update']} update rule, {model['replicates']} replicates "
            f"(seeds {model['seed']} + b; replicate 0 is the reported model)",
        ),
        (
            "split",
            f"{split.get('scheme', 'random')} split, test fraction {split['test_fraction']}, seed {split['seed']}"
            + (f", fixed split file {split['file']}" if split.get("file") else ""),
        ),
    ]
    if config["stages"]["tahoe"]:
        rows.append(
            (
                "Tahoe-100M",
                f"plates {config['tahoe']['plates']}, drug {config['tahoe']['drug']}",
            )
        )
    if config["stages"]["pdx"]:
        rows.append(
            (
                "PDX",
                f"Gao 2015 {config['pdx']['tumour_type']} arm treated with {config['pdx']['treatment']}",
            )
        )
    return rows


def report_categories():
    """Where to look: the report's categories, in the order of its menu, and what each holds."""
    listed = [
        (
            "2 Who benefits",
            "per pair, every sample ranked by Benefit Score with its name, disease and lineage",
        ),
        (
            "3 Model comparison",
            "held-out accuracy of FORGE next to training mean, lineage mean, ridge and elastic net",
        ),
    ]
    if report_stage_on("validation"):
        listed.append(
            (
                "4 Validation",
                "every Tahoe-100M and PDX test with Benjamini–Hochberg adjustment",
            )
        )
    if config["stages"]["figures"]:
        listed += [
            (
                "Fig. 1 … Fig. 6, Fig. S",
                "the paper's figures regenerated for each pair (subcategories), captions say what each panel shows",
            ),
            (
                "Figure index",
                "every panel: the tables it was drawn from, and whether it was drawn or why not",
            ),
        ]
    listed.append(
        (
            "Provenance",
            "package versions, the validated configuration, sha256 of every raw input",
        )
    )
    return listed
