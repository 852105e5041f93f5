"""Download layer: the real download rules against a loopback HTTP server (no internet).

The server (``http.server`` in a thread on 127.0.0.1) serves generated files, supports
``Range`` requests, mocks the figshare file listing and Enrichr, and can drop a connection
half-way through a body, answer 404, or announce a wrong md5.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import multiprocessing
import re
import socket
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import copy_workflow, run_snakemake

import forge.layout as layout
import forge.sources.download as dl
from forge.io import InputFormatError
from forge.sources import parsers

# --------------------------------------------------------------------------- loopback server


@dataclass
class Route:
    body: bytes
    status: int = 200
    drop_first: bool = False  # first request: send half the body, then close the socket
    fail_times: int = 0  # answer 503 this many times first
    ignore_range: bool = False
    headers: dict[str, str] = field(default_factory=dict)


class LoopbackServer:
    """Serves ``routes`` (keyed by raw path, or path + query) and records every request."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802
                server.requests.append((self.path, dict(self.headers)))
                route = server.routes.get(self.path) or server.routes.get(self.path.split("?")[0])
                if route is None or route.status == 404:
                    self.send_error(404, "Not Found")
                    return
                if route.fail_times > 0:
                    route.fail_times -= 1
                    self.send_error(503, "Service Unavailable")
                    return
                body, status, extra = route.body, 200, {}
                wanted = self.headers.get("Range")
                if wanted and not route.ignore_range:
                    start = int(wanted.removeprefix("bytes=").split("-")[0])
                    if start >= len(body):
                        self.send_error(416, "Range Not Satisfiable")
                        return
                    status = 206
                    extra["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
                    body = body[start:]
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                for key, value in {**route.headers, **extra}.items():
                    self.send_header(key, value)
                self.end_headers()
                if route.drop_first:
                    route.drop_first = False
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join()

    def requests_for(self, path: str) -> list[dict[str, str]]:
        return [headers for p, headers in self.requests if p.split("?")[0] == path]


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # noqa: S324


FAST = {"retries": 3, "backoff_seconds": 0.01, "max_backoff_seconds": 0.05, "timeout_seconds": 10}

# --------------------------------------------------------------------------- fixtures' content

GTF_LINES = [
    "##description: evidence-based annotation of the human genome (GRCh37), version 19",
    'chr1\tHAVANA\tgene\t11869\t14412\t.\t+\t.\tgene_id "ENSG00000223972.4"; transcript_id "ENSG00000223972.4"; '
    'gene_type "pseudogene"; gene_status "KNOWN"; gene_name "DDX11L1"; level 2;',
    'chr1\tHAVANA\ttranscript\t11869\t14409\t.\t+\t.\tgene_id "ENSG00000223972.4"; gene_type "pseudogene"; '
    'gene_name "DDX11L1";',
    'chr7\tHAVANA\tgene\t55086714\t55324313\t.\t+\t.\tgene_id "ENSG00000146648.11"; gene_type "protein_coding"; '
    'gene_name "EGFR"; level 2;',
]
GENE_INFO = (
    "#tax_id\tGeneID\tSymbol\tLocusTag\tSynonyms\tdbXrefs\n"
    "9606\t1490\tCCN2\t-\tCTGF|HCS24|IGFBP8\t-\n"
    "9606\t83854\tPGAP6\t-\tTMEM8|TMEM8A\t-\n"
    "9606\t1956\tEGFR\t-\tERBB|ERBB1|HER1\t-\n"
    "9606\t1\tA1BG\t-\t-\t-\n"
    "10090\t13649\tEgfr\t-\tErbb1\t-\n"
)
DRUG_TARGETS = b'Drug,Target\nERLOTINIB,EGFR\nGEFITINIB,EGFR\nDAPORINAD,NAMPT\nVORINOSTAT,"HDAC1,HDAC2"\n'


def gmt(name: str) -> bytes:
    return f"{name} set A\t\tEGFR\tERBB2\n{name} set B\t\tNAMPT\tNMNAT1\tBRAF\n".encode()


def depmap_body(name: str, size: int) -> bytes:
    rows = "\n".join(f"ACH-{i:06d},{i * 0.5}" for i in range(size))
    return f"{name},value\n{rows}\n".encode()


@dataclass
class Scenario:
    server: LoopbackServer
    bodies: dict[str, bytes]


def serve_sources(server: LoopbackServer) -> Scenario:
    """Routes for every source of the download rules except CREAMMIST."""
    base = server.url
    bodies = {
        "Model.csv": depmap_body("Model", 200),
        "OmicsProfiles.csv": depmap_body("Profiles", 20000),  # ~300 kB, dropped half-way once
        "CRISPRGeneDependency.csv": depmap_body("CRISPR", 300),  # announced with a wrong md5
        "OmicsExpressionRNASeQCGeneCountProfile.csv": b"never served",  # 404
    }
    listing = []
    for number, (name, body) in enumerate(bodies.items()):
        announced = md5(body) if name != "CRISPRGeneDependency.csv" else md5(b"something else")
        listing.append(
            {"id": number, "name": name, "size": len(body), "supplied_md5": announced,
             "computed_md5": announced, "download_url": f"{base}/files/{name}"}
        )
    server.routes["/figshare/articles/27993248/files"] = Route(json.dumps(listing).encode())
    server.routes["/files/Model.csv"] = Route(bodies["Model.csv"])
    server.routes["/files/OmicsProfiles.csv"] = Route(bodies["OmicsProfiles.csv"], drop_first=True)
    server.routes["/files/CRISPRGeneDependency.csv"] = Route(bodies["CRISPRGeneDependency.csv"])
    server.routes["/files/OmicsExpressionRNASeQCGeneCountProfile.csv"] = Route(b"", status=404)
    for library in ("KEGG_2021_Human", "Reactome_2022"):
        bodies[f"{library}.gmt"] = gmt(library)
        server.routes[f"/enrichr?mode=text&libraryName={library}"] = Route(bodies[f"{library}.gmt"], fail_times=1)
    bodies["drug_targets.csv"] = DRUG_TARGETS
    server.routes["/targets/drug_targets.csv"] = Route(DRUG_TARGETS)
    gtf = gzip.compress(("\n".join(GTF_LINES) + "\n").encode(), mtime=0)
    bodies["gencode.v19.annotation.gtf.gz"] = gtf
    server.routes["/gencode/release_19/gencode.v19.annotation.gtf.gz"] = Route(gtf)
    server.routes["/gencode/release_19/MD5SUMS"] = Route(
        f"{md5(gtf)}  gencode.v19.annotation.gtf.gz\n{md5(b'x')}  other.gtf.gz\n".encode()
    )
    info = gzip.compress(GENE_INFO.encode(), mtime=0)
    bodies["Homo_sapiens.gene_info.gz"] = info
    server.routes["/ncbi/Homo_sapiens.gene_info.gz"] = Route(info)
    plate = bytes(range(256)) * 512
    bodies["plate7"] = plate
    goog = "crc32c=AAAAAA==,md5=" + base64.b64encode(hashlib.md5(plate).digest()).decode()  # noqa: S324
    server.routes["/tahoe/2025-02-25/h5ad/plate7_filt_Vevo_Tahoe100M_WServicesFrom_ParseGigalab.h5ad"] = Route(
        plate, headers={"x-goog-hash": goog}
    )
    bodies["sample_metadata.parquet"] = b"PAR1 fake parquet bytes PAR1"
    server.routes["/tahoe/2025-02-25/metadata/sample_metadata.parquet"] = Route(bodies["sample_metadata.parquet"])
    bodies["nm.3954-S2.xlsx"] = b"PK\x03\x04 fake workbook"
    server.routes["/pdx/nm.3954-S2.xlsx"] = Route(bodies["nm.3954-S2.xlsx"])
    return Scenario(server, bodies)


def download_config(base: str, **overrides) -> dict:
    cfg = {
        **FAST,
        "depmap": {"figshare_api": f"{base}/figshare"},
        "creammist": {"api": f"{base}/api", "requests_per_second": 1000},
        "drug_targets": {"url": f"{base}/targets/drug_targets.csv"},
        "tahoe": {"base_url": f"{base}/tahoe", "plates": [7], "metadata": ["sample_metadata.parquet"]},
        "pdx": {"url": f"{base}/pdx/nm.3954-S2.xlsx"},
        "gencode": {
            "url": f"{base}/gencode/release_19/gencode.v19.annotation.gtf.gz",
            "md5sums_url": f"{base}/gencode/release_19/MD5SUMS",
        },
        "synonyms": {"url": f"{base}/ncbi/Homo_sapiens.gene_info.gz"},
        "enrichr": {
            "url": f"{base}/enrichr?mode=text&libraryName={{library}}",
            "libraries": ["KEGG_2021_Human", "Reactome_2022"],
        },
    }
    cfg.update(overrides)
    return cfg


def write_config(workdir: Path, download: dict, source: str = "demo") -> Path:
    path = workdir / "test_download.yaml"
    path.write_text(yaml.safe_dump({"data": {"source": source}, "download": download}))
    return path


def plan_config(download: dict) -> dict:
    """The ``download`` section with the schema defaults filled in (as the workflow sees it)."""
    from forge.config import load_schema, _fill_defaults

    schema = load_schema(Path(__file__).resolve().parents[1] / "workflow/schemas/config.schema.yaml")
    cfg = {"download": json.loads(json.dumps(download))}
    _fill_defaults(cfg, {"properties": {"download": schema["properties"]["download"]}})
    return cfg["download"]


def planned(download: dict) -> dict[str, list[dl.PlannedFile]]:
    """The planned files of a ``download`` section (schema defaults filled in)."""
    return dl.planned_downloads(plan_config(download))


# --------------------------------------------------------------------------- the download rules


@pytest.fixture(scope="module")
def rules_run(tmp_path_factory: pytest.TempPathFactory):
    """All download rules but CREAMMIST run once, with --keep-going, against the loopback server."""
    workdir = copy_workflow(tmp_path_factory.mktemp("download_rules"))
    with LoopbackServer() as server:
        scenario = serve_sources(server)
        cfg = download_config(server.url)
        configfile = write_config(workdir, cfg)
        targets = [p.path for source, files in planned(cfg).items() if source != "creammist" for p in files]
        result = run_snakemake(workdir, "--keep-going", "--configfile", str(configfile), "--", *targets, check=False)
        yield workdir, scenario, cfg, result, targets


def read_tsv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def test_good_files_are_verified_and_manifested(rules_run) -> None:
    workdir, scenario, cfg, result, targets = rules_run
    assert result.returncode != 0, "the corrupt and the 404 file must fail the run"
    raw = workdir / "resources/raw"
    good = {
        "depmap/Model.csv": "Model.csv",
        "depmap/OmicsProfiles.csv": "OmicsProfiles.csv",
        "annotation/drug_targets.csv": "drug_targets.csv",
        "enrichr/KEGG_2021_Human.gmt": "KEGG_2021_Human.gmt",
        "enrichr/Reactome_2022.gmt": "Reactome_2022.gmt",
        "annotation/gencode.v19.annotation.gtf.gz": "gencode.v19.annotation.gtf.gz",
        "annotation/Homo_sapiens.gene_info.gz": "Homo_sapiens.gene_info.gz",
        "tahoe/plate7_filt_Vevo_Tahoe100M_WServicesFrom_ParseGigalab.h5ad": "plate7",
        "tahoe/metadata/sample_metadata.parquet": "sample_metadata.parquet",
        "pdx/nm.3954-S2.xlsx": "nm.3954-S2.xlsx",
    }
    for relative, key in good.items():
        assert (raw / relative).read_bytes() == scenario.bodies[key], relative
        assert not (raw / f"{relative}.part").exists()
    manifest = read_tsv(raw / "MANIFEST.tsv")
    assert list(manifest.columns) == dl.MANIFEST_COLUMNS
    assert manifest["file"].is_unique
    assert sorted(manifest["file"]) == sorted(f"resources/raw/{r}" for r in good)
    for row in manifest.itertuples():
        data = (workdir / row.file).read_bytes()
        assert int(row.bytes) == len(data)
        assert row.sha256 == hashlib.sha256(data).hexdigest()
        assert row.md5 == md5(data)
    verified = manifest.set_index("file")["verified_against"]
    assert "figshare supplied_md5" in verified["resources/raw/depmap/Model.csv"]
    assert "md5 list" in verified["resources/raw/annotation/gencode.v19.annotation.gtf.gz"]
    assert "x-goog-hash" in verified[
        "resources/raw/tahoe/plate7_filt_Vevo_Tahoe100M_WServicesFrom_ParseGigalab.h5ad"
    ]
    checksums = read_tsv(raw / "CHECKSUMS.tsv")
    assert sorted(checksums["file"]) == sorted(manifest["file"])
    # Enrichr answered 503 once per library: retried with backoff
    log = (workdir / "logs/download/enrichr/KEGG_2021_Human.log").read_text()
    assert "HTTP 503" in log and "retry 1/3" in log
    assert "download_enrichr WARNING" in log  # the shared adapter's logger is named after its rule


def test_corrupt_file_fails_and_leaves_nothing(rules_run) -> None:
    workdir, _, _, result, _ = rules_run
    path = workdir / "resources/raw/depmap/CRISPRGeneDependency.csv"
    assert not path.exists()
    assert not path.with_name(path.name + ".part").exists()
    log = (workdir / "logs/download/depmap/CRISPRGeneDependency.csv.log").read_text()
    assert "checksum verification failed" in log and "figshare supplied_md5" in log
    assert "checksum verification failed" in result.stderr


def test_interrupted_download_resumes_with_range(rules_run) -> None:
    workdir, scenario, _, _, _ = rules_run
    body = scenario.bodies["OmicsProfiles.csv"]
    requests = scenario.server.requests_for("/files/OmicsProfiles.csv")
    assert len(requests) == 2
    assert "Range" not in requests[0]
    assert requests[1]["Range"] == f"bytes={len(body) // 2}-"
    assert md5((workdir / "resources/raw/depmap/OmicsProfiles.csv").read_bytes()) == md5(body)
    log = (workdir / "logs/download/depmap/OmicsProfiles.csv.log").read_text()
    assert "connection dropped" in log and "resuming at byte" in log


def test_404_names_the_url(rules_run) -> None:
    workdir, scenario, _, result, _ = rules_run
    url = f"{scenario.server.url}/files/OmicsExpressionRNASeQCGeneCountProfile.csv"
    log = (workdir / "logs/download/depmap/OmicsExpressionRNASeQCGeneCountProfile.csv.log").read_text()
    assert f"{url}: HTTP 404" in log
    assert f"{url}: HTTP 404" in result.stderr
    # not retried: 404 is final
    assert len(scenario.server.requests_for("/files/OmicsExpressionRNASeQCGeneCountProfile.csv")) == 1
    assert not (workdir / "resources/raw/depmap/OmicsExpressionRNASeQCGeneCountProfile.csv").exists()


def test_conversions_of_annotation_files(rules_run) -> None:
    workdir = rules_run[0]
    spans = pd.read_csv(workdir / "resources/raw/annotation/gencode_v19_gene_spans.csv")
    assert list(spans.columns) == ["gene_name", "gene_type", "chrom", "start", "end", "Strand", "span_length"]
    assert spans.to_dict("records")[0] == dict(
        gene_name="DDX11L1", gene_type="pseudogene", chrom="chr1", start=11869, end=14412, Strand="+",
        span_length=2544,
    )
    synonyms = parsers.read_symbol_synonyms(workdir / "resources/raw/annotation/symbol_synonyms.csv")
    pairs = set(zip(synonyms["alias"], synonyms["official_symbol"]))
    assert {("CTGF", "CCN2"), ("TMEM8A", "PGAP6"), ("ERBB1", "EGFR")} <= pairs
    assert ("Erbb1", "Egfr") not in pairs  # mouse row dropped
    targets, _ = parsers.read_drug_targets(workdir / "resources/raw/annotation/drug_targets.csv")
    assert set(targets.loc[targets["drug"] == "VORINOSTAT", "target"]) == {"HDAC1", "HDAC2"}


def test_redownload_is_checked_against_recorded_sha256(rules_run) -> None:
    workdir, scenario, _, _, _ = rules_run
    configfile = workdir / "test_download.yaml"
    target = workdir / "resources/raw/annotation/drug_targets.csv"
    # same content again: verified against the recorded sha256, still one manifest row
    target.unlink()
    run_snakemake(workdir, "--configfile", str(configfile), "--", "resources/raw/annotation/drug_targets.csv")
    manifest = read_tsv(workdir / "resources/raw/MANIFEST.tsv")
    row = manifest.loc[manifest["file"] == "resources/raw/annotation/drug_targets.csv"]
    assert len(row) == 1 and "recorded in resources/raw/CHECKSUMS.tsv" in row["verified_against"].iloc[0]
    assert manifest["file"].is_unique
    # upstream content changed: the recorded checksum no longer matches
    scenario.server.routes["/targets/drug_targets.csv"] = Route(DRUG_TARGETS + b"NEWDRUG,EGFR\n")
    target.unlink()
    result = run_snakemake(
        workdir, "--configfile", str(configfile), "--", "resources/raw/annotation/drug_targets.csv", check=False
    )
    assert result.returncode != 0
    assert "recorded in resources/raw/CHECKSUMS.tsv" in result.stderr
    assert not target.exists() and not target.with_name(target.name + ".part").exists()


def test_offline_mode_lists_every_missing_file(tmp_path: Path) -> None:
    workdir = copy_workflow(tmp_path / "offline")
    cfg = download_config("http://127.0.0.1:9", offline=True)
    present = "resources/raw/annotation/drug_targets.csv"
    (workdir / present).parent.mkdir(parents=True)
    (workdir / present).write_text(DRUG_TARGETS.decode())
    configfile = write_config(workdir, cfg, source="download")
    result = run_snakemake(workdir, "-n", "--configfile", str(configfile), check=False)
    assert result.returncode != 0
    message = result.stdout + result.stderr
    assert "download.offline is true" in message
    expected = [p for files in planned(cfg).values() for p in files if p.path != present]
    for item in expected:
        assert f"{item.path}  <-  {item.url}" in message, item.path
    assert f"{present}  <-" not in message


# --------------------------------------------------------------------------- CREAMMIST crawl

CELLS = {"ERLOTINIB": ["A-549", "HCC-827", "NO DATA"], "DAPORINAD": ["A-549"]}
IC50 = {("ERLOTINIB", "A-549"): 4.2, ("ERLOTINIB", "HCC-827"): -1.5, ("DAPORINAD", "A-549"): -7.4}


def experiment_records(drug: str, cell: str) -> list[dict]:
    value = IC50[(drug.upper(), cell)]
    return [
        {"cellosaurus_id": cell, "standard_drug_name": drug, "dataset": "GDSC1", "info": "", "IC50": value + 1,
         "AUC": 0.5, "dose_response": [[0.1, 90.0]]},
        {"cellosaurus_id": cell, "standard_drug_name": drug, "dataset": "All", "info": "", "IC50": value,
         "AUC": 0.4, "dose_response": []},
    ]


def serve_creammist(server: LoopbackServer) -> None:
    quote = lambda s: urllib.parse.quote(s, safe="")  # noqa: E731
    server.routes["/api/drugs"] = Route(json.dumps(
        [{"standard_drug_name": d, "target": "", "synonyms": ""} for d in CELLS]).encode())
    for drug, cells in CELLS.items():
        server.routes[f"/api/drugs/{drug}"] = Route(json.dumps(
            [{"standard_drug_name": drug, "cellosaurus_id": c, "dataset": "All", "info": ""} for c in cells]).encode())
        for cell in cells:
            key = f"/api/experiments/{quote(cell)}/{drug}"
            if (drug, cell) in IC50:
                server.routes[key] = Route(json.dumps(experiment_records(drug, cell)).encode())
            else:
                server.routes[key] = Route(b'{"message": "404 Not Found"}', status=404)
    server.routes["/api/celllines"] = Route(json.dumps([
        {"cellosaurus_id": "A-549", "cellosaurus_index": "CVCL_0023", "site": "lung"},
        {"cellosaurus_id": "HCC-827", "cellosaurus_index": "CVCL_2063", "site": "lung"},
    ]).encode())


def test_creammist_crawl_is_reproducible_from_its_cache(tmp_path: Path) -> None:
    workdir = copy_workflow(tmp_path / "creammist")
    outputs = ["resources/raw/creammist/creammist_ic50.csv", "resources/raw/creammist/creammist_cell_lines.csv"]
    with LoopbackServer() as server:
        serve_creammist(server)
        configfile = write_config(workdir, download_config(server.url))
        run_snakemake(workdir, "--configfile", str(configfile), "--", *outputs)
        n_requests = len(server.requests)
    assert n_requests == 1 + 2 + 4 + 1  # drugs, per drug, per (cell, drug), cell lines
    first = {o: (workdir / o).read_bytes() for o in outputs}
    ic50, _ = parsers.read_ic50(workdir / outputs[0])
    assert ic50.loc["A-549", "ERLOTINIB"] == 4.2 and ic50.loc["HCC-827", "ERLOTINIB"] == -1.5
    assert pd.isna(ic50.loc["HCC-827", "DAPORINAD"])
    assert parsers.read_creammist_cell_lines(workdir / outputs[1]).to_dict() == {
        "A-549": "CVCL_0023", "HCC-827": "CVCL_2063"}
    cache = workdir / "resources/raw/creammist/cache"
    assert len(dl.ApiCache(cache)) == n_requests
    # server gone: the same tables are rebuilt from the cache alone
    for output in outputs:
        (workdir / output).unlink()
    run_snakemake(workdir, "--configfile", str(configfile), "--", *outputs)
    assert {o: (workdir / o).read_bytes() for o in outputs} == first
    manifest = read_tsv(workdir / "resources/raw/MANIFEST.tsv")
    assert sorted(manifest["file"]) == sorted(outputs)


def test_creammist_cache_only_lists_missing_urls(tmp_path: Path) -> None:
    cache = dl.ApiCache(tmp_path / "cache")
    api = "http://127.0.0.1:9/api"
    cache.put(f"{api}/drugs", 200, [{"standard_drug_name": "ERLOTINIB"}])
    with pytest.raises(dl.CacheMiss) as error:
        dl.crawl_creammist(api, cache, cache_only=True)
    assert f"{api}/drugs/ERLOTINIB" in str(error.value) and f"{api}/celllines" in str(error.value)


def test_creammist_tables_from_fixture_json() -> None:
    experiments = experiment_records("erlotinib", "A-549") + [
        {"cellosaurus_id": "B", "standard_drug_name": "ERLOTINIB", "dataset": "All", "IC50": None},
        {"cellosaurus_id": "C", "standard_drug_name": "ERLOTINIB", "dataset": "CCLE", "IC50": 1.0},
    ]
    lines = [{"cellosaurus_id": "A-549", "cellosaurus_index": "CVCL_0023"},
             {"cellosaurus_id": "X", "cellosaurus_index": "not an rrid"}]
    ic50, cells = dl.creammist_tables(experiments, lines)
    assert list(ic50.columns) == ["drug", "A-549"] and ic50["drug"].tolist() == ["ERLOTINIB"]
    assert ic50["A-549"].tolist() == [4.2]  # the "All" dataset, not GDSC1
    assert cells.to_dict("records") == [{"cell_line_name": "A-549", "cellosaurus_index": "CVCL_0023"}]
    gdsc, _ = dl.creammist_tables(experiments, [], dataset="GDSC1")
    assert gdsc["A-549"].tolist() == [5.2]
    linear = [{"cellosaurus_id": f"c{i}", "standard_drug_name": "D", "dataset": "All", "IC50": 500.0 + i}
              for i in range(5)]
    with pytest.raises(InputFormatError, match="linear concentration"):
        dl.creammist_tables(linear, [])
    with pytest.raises(InputFormatError, match="lacks"):
        dl.creammist_tables([{"cellosaurus_id": "A", "dataset": "All", "IC50": 1}], [])


# --------------------------------------------------------------------------- library units


def test_partial_file_is_kept_and_resumed_by_the_next_run(tmp_path: Path) -> None:
    body = bytes(range(256)) * 4000
    dest = tmp_path / "big.bin"
    part = tmp_path / "big.bin.part"
    with LoopbackServer() as server:
        server.routes["/big.bin"] = Route(body, drop_first=True)
        policy = dl.RetryPolicy(retries=0, backoff_seconds=0)
        with pytest.raises(dl.DownloadError, match="rerun to resume"):
            dl.download_file(f"{server.url}/big.bin", dest, policy=policy)
        assert part.stat().st_size == len(body) // 2 and not dest.exists()
        digests, verified = dl.download_file(
            f"{server.url}/big.bin", dest, policy=policy,
            checksums=[dl.ExpectedChecksum("md5", md5(body), "test")], progress_every_bytes=100_000,
        )
        assert server.requests_for("/big.bin")[1]["Range"] == f"bytes={len(body) // 2}-"
        # a server that ignores Range restarts the file from byte 0
        (tmp_path / "other.bin.part").write_bytes(b"junk")
        server.routes["/big.bin"] = Route(body, ignore_range=True)
        dl.download_file(f"{server.url}/big.bin", tmp_path / "other.bin", policy=policy)
    assert dest.read_bytes() == body and not part.exists()
    assert digests["sha256"] == hashlib.sha256(body).hexdigest() and verified[0].origin == "test"
    assert (tmp_path / "other.bin").read_bytes() == body


def test_retry_policy_and_offline() -> None:
    policy = dl.RetryPolicy(retries=5, backoff_seconds=1.0, max_backoff_seconds=5.0)
    assert [policy.delay(i) for i in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert policy.delay(0, retry_after=3.0) == 3.0 and policy.delay(0, retry_after=60) == 5.0
    with pytest.raises(dl.OfflineError, match="put the file at"):
        dl.download_file("http://127.0.0.1:9/x", "never/x", offline=True)
    assert not Path("never").exists()
    with pytest.raises(ValueError, match="validate='xml'"):
        dl.fetch_url("http://127.0.0.1:9/x", "never/x", source="s", release="r",
                     settings=dl.FetchSettings(offline=True), validate="xml")
    assert dl.parse_md5sums(f"{'a' * 32}  dir/file.gz\nnot a line\n{'B' * 32} *other\n") == {
        "file.gz": "a" * 32, "other": "b" * 32}


def _upsert_many(args: tuple[str, int]) -> None:
    path, worker = args
    for i in range(15):
        dl.upsert_row(path, {"file": f"w{worker}-{i}", "url": "u", "sha256": "s", "recorded": "d"},
                      dl.CHECKSUM_COLUMNS)


def test_concurrent_manifest_updates_keep_every_row(tmp_path: Path) -> None:
    path = str(tmp_path / "table.tsv")
    with multiprocessing.get_context("fork").Pool(6) as pool:
        pool.map(_upsert_many, [(path, w) for w in range(6)])
    table = read_tsv(Path(path))
    assert len(table) == 90 and table["file"].is_unique
    dl.upsert_row(path, {"file": "w0-0", "url": "v", "sha256": "t", "recorded": "e"}, dl.CHECKSUM_COLUMNS)
    table = read_tsv(Path(path))
    assert len(table) == 90 and table.set_index("file").loc["w0-0", "url"] == "v"


def test_plan_has_exactly_the_raw_files_the_workflow_reads() -> None:
    """The plan's paths are forge.layout's downloaded paths of every raw file the workflow reads
    with data.source = download, and nothing else but the Tahoe metadata (provenance only)."""
    cfg = download_config("https://example.org")
    cfg["tahoe"]["plates"] = [7, 8, 9]
    plan = planned(cfg)
    paths = [p.path for files in plan.values() for p in files]
    assert len(paths) == len(set(paths))
    tahoe = plan_config(cfg)["tahoe"]
    read = {
        # the cohort's raw inputs (build_cohort), the PDX workbook, gene spans and synonyms
        *(layout.downloaded_path(name) for name in layout.RAW_SOURCE_OF),
        *(layout.downloaded_path(layout.tahoe_plate_file(plate)) for plate in tahoe["plates"]),
        *(layout.downloaded_path(layout.enrichr_library_file(name)) for name in cfg["enrichr"]["libraries"]),
    }
    assert set(layout.COHORT_RAW_FILES.values()) <= set(layout.RAW_SOURCE_OF)
    provenance = {layout.downloaded_path(layout.tahoe_metadata_file(name)) for name in tahoe["metadata"]}
    assert set(paths) == read | provenance
    # each source's files sit where its rule writes them
    assert {p.path for p in plan["creammist"]} == {
        layout.downloaded_path(layout.COHORT_RAW_FILES[key]) for key in ("ic50", "creammist_cell_lines")}
    assert [p.path for p in plan["pdx"]] == [layout.downloaded_path(layout.PDX_WORKBOOK)]
    # the plate file is the one the release serves, under the same name
    assert {p.url.rsplit("/", 1)[1] for p in plan["tahoe"][:3]} == {
        layout.TAHOE_PLATE.format(plate=plate) for plate in (7, 8, 9)}


def dry_run_jobs(output: str) -> list[tuple[str, list[str], list[str]]]:
    """(rule, input files, output files) of every job a ``snakemake -n`` printed."""
    jobs = []
    for block in re.split(r"\n(?=(?:local)?(?:rule|checkpoint) \w+:\n)", output):
        match = re.match(r"(?:local)?(?:rule|checkpoint) (\w+):\n", block)
        if match:
            fields = dict(re.findall(r"^    (input|output): (.*)$", block, re.M))
            jobs.append((match.group(1), *(fields.get(k, "").split(", ") if fields.get(k) else [] for k in ("input", "output"))))
    return jobs


def test_dry_run_downloads_exactly_the_plan(tmp_path: Path) -> None:
    """With data.source = download, the workflow's dry run plans the download rules for exactly
    the plan's files (and the GTF and gene_info they are converted from), and every raw file a
    job reads is one of the plan's."""
    workdir = copy_workflow(tmp_path / "dry_run")
    cfg = download_config("http://127.0.0.1:9")
    cfg["tahoe"]["plates"] = [7, 8]  # the plates the Tahoe stage reads (its own tahoe.plates)
    configfile = workdir / "test_download.yaml"
    configfile.write_text(yaml.safe_dump({"data": {"source": "download"}, "tahoe": {"plates": cfg["tahoe"]["plates"]},
                                          "download": cfg}))
    result = run_snakemake(workdir, "-n", "--configfile", str(configfile))
    jobs = dry_run_jobs(result.stdout)
    download_rules = set(re.findall(r"^rule (\w+):", (workdir / "workflow/rules/download.smk").read_text(), re.M))
    assert {"download_depmap", "download_tahoe_plate", "gencode_gene_spans"} <= download_rules
    plan = [p for files in planned(cfg).values() for p in files]
    files = {p.path for p in plan}
    converted_from = {a for p in plan for a in p.alternatives if a != layout.CREAMMIST_CACHE}
    assert converted_from == {dl.gencode_gtf_path(plan_config(cfg)), dl.gene_info_path(plan_config(cfg))}
    produced = [o for rule, _, outputs in jobs if rule in download_rules - {"download_all"} for o in outputs]
    assert len(produced) == len(set(produced))
    assert set(produced) == files | converted_from
    read = {i for rule, inputs, _ in jobs if rule not in download_rules for i in inputs
            if i.startswith(layout.RAW + "/")}
    assert read and read <= files
    cohort = [inputs for rule, inputs, _ in jobs if rule == "build_cohort"]
    assert cohort == [[layout.downloaded_path(name) for name in layout.COHORT_RAW_FILES.values()]]
