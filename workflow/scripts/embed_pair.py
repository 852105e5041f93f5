"""Adapter of rule embed_pair: latent embeddings (reported model and replicate consensus) of every cohort sample;
the reported one also as AnnData (embedding.h5ad, Z in obsm["X_forge"])."""

from forge.analysis.embedding_h5ad import write_embedding_h5ad
from forge.analysis.pair import embed_pair, joint_replicates
from forge.io import read_parquet_matrix, read_tsv_indexed, write_tsv
from forge.modelling.pair_data import output_columns
from forge.modelling.pairs import pair_record
from forge.rules import setup_rule_logging, snakemake_job


def main(smk) -> None:
    log = setup_rule_logging(smk, "embed_pair")
    pair = pair_record(smk.input.pairs, smk.wildcards.pair)
    dependency_column, ic50_column = output_columns(pair)[:2]
    models = joint_replicates(smk.input.models)
    expression = read_parquet_matrix(smk.input.expression)  # the pair's genes, every cohort sample
    outputs = read_parquet_matrix(smk.input.outputs)  # observed outputs of every measured sample
    dependency, response = outputs[dependency_column], outputs[ic50_column]
    scores = read_tsv_indexed(smk.input.scores, "sample")
    reported, consensus = embed_pair(models, expression, scores, dependency, response,
                                     smk.params.max_missing_fraction)
    log.info("%d samples; reported k = %d, consensus %d columns (%d replicates)", len(reported),
             models[0].W.shape[1], consensus.shape[1] - (reported.shape[1] - models[0].W.shape[1]), len(models))
    write_tsv(reported.reset_index(), smk.output.embedding)
    write_tsv(consensus.reset_index(), smk.output.consensus)
    write_embedding_h5ad(reported, smk.output.h5ad, smk.wildcards.pair)


if __name__ == "__main__":
    main(snakemake_job())
