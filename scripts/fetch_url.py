"""Snakemake adapter: download one file from a configured URL (drug targets, Tahoe, PDX, GENCODE, NCBI, Enrichr).

Params: source, release, url; optional sha256 (known checksum, "" = none), md5sums_url (an
md5sum-format listing of the release that names the file, "" = none), validate ("gmt",
"drug_targets" or "" for none).
Output: output[0]. Log: log[0]. Download settings come from config["download"].
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import download as dl  # noqa: E402
from rule_utils import setup_rule_logging  # noqa: E402

VALIDATORS = {"gmt": dl.validate_gmt, "drug_targets": dl.validate_drug_targets}


def main(smk) -> None:
    log = setup_rule_logging(smk, "fetch_url")
    settings = dl.FetchSettings.from_config(smk.config["download"])
    params = smk.params
    url, dest = params.url, smk.output[0]
    checks = []
    if getattr(params, "sha256", ""):
        checks.append(dl.ExpectedChecksum("sha256", params.sha256, "download config sha256"))
    md5sums_url = getattr(params, "md5sums_url", "")
    if md5sums_url:
        try:
            listing = dl.parse_md5sums(dl.get_text(md5sums_url, settings.policy, offline=settings.offline, log=log))
        except dl.OfflineError:
            raise
        except dl.DownloadError as error:
            log.warning("cannot read the md5 list (%s); falling back to the recorded sha256", error)
            listing = {}
        name = dl.url_basename(url)
        if name in listing:
            checks.append(dl.ExpectedChecksum("md5", listing[name], f"md5 list {md5sums_url}"))
        elif listing:
            log.warning("%s does not list %s; falling back to the recorded sha256", md5sums_url, name)
    kind = getattr(params, "validate", "")
    validator = (lambda path: VALIDATORS[kind](path, url)) if kind else None
    spec = dl.FetchSpec(params.source, params.release, url, dest, tuple(checks))
    row = dl.fetch(spec, settings, log, validator=validator)
    log.info("manifest row: %s", row)


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # type: ignore[name-defined]  # noqa: F821
