"""Bring your own tests: turn files teams already have into campaign files.

Importers are pure: file text in, an :class:`ImportResult` out (the campaign as a dict, the notes
on what did not convert, and side files such as a CSV feeder or a response-schema file). The
CLI (``flows/import_cli.py``) writes them; ``campaigns.loader.parse_campaign`` validates them.

    openapi.py      OpenAPI 3.0 / 3.1 → endpoints, sample values, bodies, expectations, schemas
    spec.py         reading an OpenAPI document: local $refs, checks, 3.0 → JSON Schema
    samples.py      sample values from schemas (examples, defaults, enums, formats)
    artillery.py    Artillery YAML → environments, phases, variables, thresholds (config) and the campaign
    artillery_flow.py  Artillery flows → endpoints and steps (templates, captures, expectations)
    contract.py     response schemas at run time: readiness and smoke validate bodies with them
    check.py        probe imported endpoints once against a base URL (404/405 = missing)
    result.py       ImportResult, SourceError, names (kebab-case slugs) and the YAML writer
"""

from campaigns.importers.result import ImportResult, SourceError, dump_campaign, slug

__all__ = ["ImportResult", "SourceError", "dump_campaign", "slug"]
