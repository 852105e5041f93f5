"""Adapter of rule provenance: package versions, the validated config, checksums of the raw inputs."""

import yaml

from forge.provenance import input_checksums, versions
from forge.io import atomic_write, write_tsv
from forge.rules import setup_rule_logging, snakemake_job


def main(smk) -> None:
    log = setup_rule_logging(smk, "provenance")
    write_tsv(versions(), smk.output.versions)
    manifest = smk.input.get("manifest")
    inputs = input_checksums(list(smk.input.raw), manifest or None)
    write_tsv(inputs, smk.output.inputs)
    with atomic_write(smk.output.config) as tmp:
        tmp.write_text(yaml.safe_dump(dict(smk.params.config), sort_keys=True))
    log.info("%d raw inputs checksummed", len(inputs))


if __name__ == "__main__":
    main(snakemake_job())
