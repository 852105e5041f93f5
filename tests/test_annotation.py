"""GENCODE GTF → gene spans and NCBI gene_info → symbol synonyms (forge.sources.annotation)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from shared_data import REAL, requires_real_data

from forge.sources import annotation
from forge.io import InputFormatError

GTF = """##description: evidence-based annotation of the human genome (GRCh37), version 19 (Ensembl 74)
##provider: GENCODE
chr1\tHAVANA\tgene\t11869\t14412\t.\t+\t.\tgene_id "ENSG00000223972.4"; transcript_id "ENSG00000223972.4"; gene_type "pseudogene"; gene_status "KNOWN"; gene_name "DDX11L1"; transcript_type "pseudogene"; transcript_status "KNOWN"; transcript_name "DDX11L1"; level 2; havana_gene "OTTHUMG00000000961.2";
chr1\tHAVANA\ttranscript\t11869\t14409\t.\t+\t.\tgene_id "ENSG00000223972.4"; transcript_id "ENST00000456328.2"; gene_type "pseudogene"; gene_name "DDX11L1"; level 2;
chr1\tHAVANA\texon\t11869\t12227\t.\t+\t.\tgene_id "ENSG00000223972.4"; gene_type "pseudogene"; gene_name "DDX11L1";
chr1\tHAVANA\tgene\t14363\t29806\t.\t-\t.\tgene_id "ENSG00000227232.4"; transcript_id "ENSG00000227232.4"; gene_type "pseudogene"; gene_status "KNOWN"; gene_name "WASH7P"; level 2;
chr1\tENSEMBL\tgene\t6812779\t6812881\t.\t+\t.\tgene_id "ENSG00000252450.1"; gene_type "snoRNA"; gene_name "snoU13"; level 3;
chr2\tENSEMBL\tgene\t100\t202\t.\t+\t.\tgene_id "ENSG00000252451.1"; gene_type "snoRNA"; gene_name "snoU13"; level 3;
chrM\tENSEMBL\tgene\t577\t647\t.\t+\t.\tgene_id "ENSG00000210049.1"; gene_type "Mt_tRNA"; gene_name "MT-TF"; level 3;
"""

GENE_INFO = """#tax_id\tGeneID\tSymbol\tLocusTag\tSynonyms\tdbXrefs\tchromosome\tmap_location\tdescription\ttype_of_gene
9606\t1490\tCCN2\t-\tCTGF|HCS24|IGFBP8|NOV2\tMIM:121009\t6\t6q23.2\tcellular communication network factor 2\tprotein-coding
9606\t83854\tPGAP6\t-\tTMEM8|TMEM8A|M83\tMIM:620097\t16\t16p13.3\tpost-GPI attachment to proteins 6\tprotein-coding
9606\t4893\tNRAS\t-\tALPS4|N-ras|NRAS1|NS6\tMIM:164790\t1\t1p13.2\tNRAS proto-oncogene\tprotein-coding
9606\t3845\tKRAS\t-\t'C-K-RAS|C-K-RAS|KRAS1|NS|NS3\tMIM:190070\t12\t12p12.1\tKRAS proto-oncogene\tprotein-coding
9606\t99999\tNSX\t-\tNS|NSX\t-\t1\t-\ttest gene sharing the alias NS\tprotein-coding
9606\t1\tA1BG\t-\t-\tMIM:138670\t19\t19q13.43\talpha-1-B glycoprotein\tprotein-coding
10090\t13649\tEgfr\t-\tErbb1\t-\t11\t-\tmouse\tprotein-coding
"""


def write(path: Path, text: str, compress: bool) -> Path:
    if compress:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


@pytest.mark.parametrize("compress", [True, False])
def test_gene_spans_from_gtf(tmp_path: Path, compress: bool) -> None:
    spans = annotation.gtf_gene_spans(write(tmp_path / "a.gtf.gz", GTF, compress))
    assert list(spans.columns) == annotation.GENE_SPAN_COLUMNS
    assert spans["gene_name"].tolist() == ["DDX11L1", "WASH7P", "snoU13", "snoU13", "MT-TF"]
    first = spans.iloc[0].to_dict()
    assert first == dict(gene_name="DDX11L1", gene_type="pseudogene", chrom="chr1", start=11869, end=14412,
                         Strand="+", span_length=2544)
    assert spans.loc[1, "Strand"] == "-" and spans.loc[1, "span_length"] == 29806 - 14363 + 1


def test_gene_spans_errors(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="no 'gene' features"):
        annotation.gtf_gene_spans(write(tmp_path / "x.gtf", "##only a header\n", False))
    bad = 'chr1\tX\tgene\t1\tten\t.\t+\t.\tgene_name "A"; gene_type "b";\n'
    with pytest.raises(InputFormatError, match="line 1: non-integer"):
        annotation.gtf_gene_spans(write(tmp_path / "y.gtf", bad, False))
    missing = 'chr1\tX\tgene\t1\t10\t.\t+\t.\tgene_id "A";\n'
    with pytest.raises(InputFormatError, match="gene_name, gene_type"):
        annotation.gtf_gene_spans(write(tmp_path / "z.gtf", missing, False))


@requires_real_data
def test_gene_spans_match_the_reference_layout(tmp_path: Path) -> None:
    reference = pd.read_csv(REAL / "annotation/gencode_v19_grch37_gene_spans.csv.gz")
    spans = annotation.gtf_gene_spans(write(tmp_path / "a.gtf", GTF, False))
    assert list(spans.columns) == list(reference.columns)
    assert spans.dtypes.astype(str).tolist() == reference.dtypes.astype(str).tolist()
    ours = spans.set_index(["gene_name", "chrom", "start"])
    theirs = reference.set_index(["gene_name", "chrom", "start"])
    common = ours.index.intersection(theirs.index)
    assert len(common) >= 3  # DDX11L1, WASH7P, snoU13 on chr1
    pd.testing.assert_frame_equal(ours.loc[common], theirs.loc[common])


@pytest.mark.parametrize("compress", [True, False])
def test_synonyms_from_ncbi_gene_info(tmp_path: Path, compress: bool) -> None:
    table = annotation.ncbi_symbol_synonyms(write(tmp_path / "h.gene_info.gz", GENE_INFO, compress))
    assert list(table.columns) == annotation.SYNONYM_COLUMNS
    pairs = set(zip(table["alias"], table["official_symbol"]))
    assert {("CTGF", "CCN2"), ("TMEM8A", "PGAP6"), ("'C-K-RAS", "KRAS"), ("NS", "KRAS"), ("NS", "NSX")} <= pairs
    assert ("NSX", "NSX") not in pairs  # an alias equal to its own symbol
    assert not table["alias"].isin(["-", ""]).any()
    assert ("Erbb1", "Egfr") not in pairs
    assert table.equals(table.sort_values(["alias", "official_symbol"]).reset_index(drop=True))
    assert not table.duplicated().any()


def test_synonyms_errors(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="missing column"):
        annotation.ncbi_symbol_synonyms(write(tmp_path / "a.tsv", "a\tb\n1\t2\n", False))
    with pytest.raises(InputFormatError, match="no genes with tax_id 9606"):
        annotation.ncbi_symbol_synonyms(write(tmp_path / "b.tsv", GENE_INFO.split("\n")[0] + "\n", False))


@requires_real_data
def test_synonyms_agree_with_the_reference_table(tmp_path: Path) -> None:
    reference = pd.read_csv(REAL / "annotation/ncbi_symbol_synonyms.csv.gz", dtype=str, keep_default_na=False)
    table = annotation.ncbi_symbol_synonyms(write(tmp_path / "h.gene_info", GENE_INFO, False))
    assert list(table.columns) == list(reference.columns)
    wanted = {("CTGF", "CCN2"), ("TMEM8A", "PGAP6"), ("'C-K-RAS", "KRAS")}
    assert wanted <= set(zip(reference["alias"], reference["official_symbol"]))
    assert wanted <= set(zip(table["alias"], table["official_symbol"]))
