"""The importers on a corpus of real files (tests/importers/corpus/README.md): every OpenAPI 3.0/3.1 and
Swagger 2.0 document of @readme/oas-examples, the Prefect server's own spec, and Artillery scripts
written after real public ones. Each converts (or is refused with its reason), validates, drops no
construct without a note, and — for a representative set — runs end to end against a loopback server
with no internal error. Measured by the same code as ``python -m bench.importers``."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.importers import CORPUS, catch_all_app, discover, measure, prefect_spec, summarize
from tests.loopback import serve

OAS = CORPUS / "openapi-examples" / "node_modules" / "@readme" / "oas-examples"
#: files the importers refuse, and why (the refusal names it)
REFUSED = {"webhooks.yaml": "no paths", "webhooks.json": "no paths",  # webhooks only: nothing to call
           "title.yaml": "no paths", "title.json": "no paths"}        # a workshop step with no paths yet


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[tuple[Path, str]]:
    if not OAS.is_dir():
        pytest.fail("the importer corpus is not installed: run `make setup` (scripts/importer-corpus.sh)")
    files = discover([CORPUS])
    files.append((prefect_spec(tmp_path_factory.mktemp("prefect-spec")), "openapi"))
    return files


def test_the_corpus_holds_every_kind(corpus):
    kinds = {k for _, k in corpus}
    assert kinds == {"artillery", "openapi", "swagger"}
    assert sum(k == "openapi" for _, k in corpus) >= 90 and sum(k == "swagger" for _, k in corpus) >= 10
    assert sum(k == "artillery" for _, k in corpus) >= 4


@pytest.mark.slow
def test_every_file_converts_validates_and_drops_nothing_silently(corpus):
    results = measure(corpus, run=False)
    summary = summarize(results)
    problems = [f"{r.file}: {r.convert}/{r.validate}: {r.detail}" for r in results
                if r.convert == "internal-error" or r.validate in ("invalid", "internal-error")
                or (r.convert == "refused" and Path(r.file).name not in REFUSED)]
    assert not problems, "\n".join(problems)
    for r in results:
        if Path(r.file).name in REFUSED:
            assert r.convert == "refused" and REFUSED[Path(r.file).name] in r.detail
    silent = [f"{r.file}: {s}" for r in results for s in r.silent]
    assert not silent, "\n".join(silent)
    assert all(s["internal errors"] == 0 for s in summary.values()), summary
    # the oracle looked at something: thousands of constructs, each converted or noted
    assert sum(s["constructs"] for s in summary.values()) > 3000


@pytest.mark.slow
def test_a_representative_set_runs_end_to_end_without_an_internal_error(corpus, tmp_path):
    wanted = {"petstore-expanded.yaml", "link-example.yaml", "polymorphism.yaml", "form-data.yaml",
              "file-uploads.yaml", "parameters-style.yaml", "security.yaml", "petstore.yaml",
              "prefect-server.openapi.json", "sign-in-cookies.yml", "table-driven.yml", "loops-and-functions.yml",
              "unsupported.yml"}
    chosen = [(p, k) for p, k in corpus if p.name in wanted and ("/2.0/" in str(p) or "/json/" not in str(p))]
    assert len(chosen) >= 12
    with serve(catch_all_app()) as url:
        results = measure(chosen, run=True, base_url=url)
    failed = [f"{r.file}: convert {r.convert}, validate {r.validate}, run {r.run}: {r.detail}" for r in results
              if "internal-error" in (r.convert, r.validate, r.run) or r.run not in ("ok", "-")]
    assert not failed, "\n".join(failed)
    assert sum(r.run == "ok" for r in results) >= 12
