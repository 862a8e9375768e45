"""The Prefect flow's parameters: one pydantic model, which is also the form the Prefect UI shows.

Prefect renders a flow's parameters as the form of an ad-hoc run ("Run" → "Custom run"). The
fields of :class:`CampaignParameters` become those parameters (``flow_signature``): each with a
title, a description, a default and, where there is a choice, an enum (stages, test type) — never
``Property is type "None"``, since nothing a person fills in is optional-with-null. Fields a person
should not touch in a form — the warehouse file, the trigger, whether to start the service, the
stages' internal options — are still parameters (the CLI, ``prefect.yaml`` and the API pass them),
but hidden from the form (``SkipJsonSchema``).

The environments are a free list in the generic flow; :func:`form_for` makes the model of one
campaign file, whose environments field is an enum of that campaign's environments
(``flows/forms.py`` turns it into the flow the ad-hoc deployment in ``prefect.yaml`` points at).

Values are validated here, by the flow, not by Prefect: a mistake (an unknown environment, a
campaign file that is not there) ends the run Failed with one line, never a traceback.

Kept importable without ``from __future__ import annotations``: Prefect reads the signature's
annotations as real types.
"""

import inspect
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.fields import FieldInfo
from pydantic.json_schema import SkipJsonSchema

from campaigns.vocabulary import STAGE_ORDER, TEST_TYPES, Stage

#: the test type the campaign itself says (``load.test_type``)
CAMPAIGN_TEST_TYPE = "campaign"
TestTypeChoice = Literal["campaign", "load", "stress", "spike", "soak", "breakpoint"]
assert TestTypeChoice.__args__ == (CAMPAIGN_TEST_TYPE, *TEST_TYPES)  # type: ignore[attr-defined]

#: the fields a person sets in the form, in form order
FORM_FIELDS = ("campaign_file", "environments", "stages", "test_type", "duration_scale", "dask_address")
#: parameters hidden from the form
HIDDEN_FIELDS = ("warehouse", "trigger", "start_services", "stage_options", "outputs")


def _field(default: Any = ..., *, title: str, description: str, **kwargs: Any) -> Any:
    """A field whose title survives Prefect (it titles each parameter with its name; a title in
    ``json_schema_extra`` is applied last)."""
    extra = {"title": title}
    if "default_factory" in kwargs:
        return Field(title=title, description=description, json_schema_extra=extra, **kwargs)
    return Field(default, title=title, description=description, json_schema_extra=extra, **kwargs)


class CampaignParameters(BaseModel):
    """What a run of the ``campaign`` flow is asked to do."""

    model_config = ConfigDict(extra="forbid")

    campaign_file: str = _field(
        "campaigns/demo.yaml", title="Campaign file",
        description="The campaign YAML, relative to the project folder on the worker (e.g. campaigns/shop.yaml).")
    environments: list[str] = _field(
        default_factory=list, title="Environments",
        description="Which environments to run, one after the other. Leave empty for every environment of the "
                    "campaign.")
    stages: list[Stage] = _field(
        default_factory=list, title="Stages",
        description="Which stages to run, in pipeline order. Leave empty for every stage each environment allows "
                    "(chaos never runs in production).")
    test_type: TestTypeChoice = _field(
        CAMPAIGN_TEST_TYPE, title="Test type",
        description="The load stage's preset: load, stress, spike, soak or breakpoint. 'campaign': the campaign's "
                    "own load.test_type.")
    duration_scale: float = _field(
        1.0, title="Duration scale", gt=0, le=100,
        description="Multiply every load phase's duration: 0.1 runs a tenth (a rehearsal), 1 the campaign as written.")
    dask_address: str = _field(
        "", title="Dask scheduler",
        description="Run the load shards on this Dask cluster, e.g. tcp://scheduler:8786. Leave empty for the "
                    "campaign's load.dask_address, else local processes.")
    # -- hidden from the form: set by the CLI, prefect.yaml or the API --------------------------------
    warehouse: SkipJsonSchema[str | None] = Field(None, description="DuckDB file (default: PERFCAMPAIGN_WAREHOUSE "
                                                                    "or .perfcampaign/warehouse.duckdb)")
    trigger: SkipJsonSchema[str | None] = Field(None, description="recorded with the run (default: schedule for a "
                                                                  "scheduled run, deployment, else manual)")
    start_services: SkipJsonSchema[bool] = Field(True, description="start the service under test when it is down")
    stage_options: SkipJsonSchema[dict[str, Any]] = Field(default_factory=dict,
                                                          description="internal options for the stages")
    outputs: SkipJsonSchema[dict[str, Any] | None] = Field(None, description="what the outputs do (e.g. JUnit)")

    @property
    def test_type_or_none(self) -> str | None:
        return None if self.test_type == CAMPAIGN_TEST_TYPE else self.test_type

    def stage_options_with_form(self) -> dict[str, Any]:
        """The stages' options: the hidden ``stage_options`` plus the form's duration scale and Dask address."""
        options = dict(self.stage_options)
        if self.duration_scale != 1.0:
            options["duration_scale"] = self.duration_scale
        if self.dask_address:
            options["dask_address"] = self.dask_address
        return options


def flow_signature(model: type[BaseModel]) -> inspect.Signature:
    """The keyword-only signature a flow gets from ``model``: Prefect builds the form from it."""
    params = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if info.metadata:  # constraints (gt, le) travel with the annotation
            annotation = Annotated[annotation, *info.metadata]  # type: ignore[valid-type]
        default = _default_field(info)
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                        annotation=_skip_if_hidden(name, annotation)))
    return inspect.Signature(params, return_annotation=dict[str, Any])


def _skip_if_hidden(name: str, annotation: Any) -> Any:
    return SkipJsonSchema[annotation] if name in HIDDEN_FIELDS else annotation


def _default_field(info: FieldInfo) -> Any:
    """The parameter's default: a ``Field`` carrying the title and description (Prefect reads them)."""
    default = info.get_default(call_default_factory=True)
    return Field(default, description=info.description, json_schema_extra=info.json_schema_extra)


def form_for(campaign_file: str, root: Path | None = None) -> type[CampaignParameters]:
    """The parameters of one campaign: its file as the default and its environments as an enum.
    A file that cannot be read leaves the environments free (the run then fails with the reason)."""
    from campaigns.loader import CampaignError, load_campaign

    path = Path(campaign_file)
    try:
        names = list(load_campaign((root or Path.cwd()) / path if not path.is_absolute() else path)
                     .campaign.environments)
    except (CampaignError, OSError):
        names = []
    base = CampaignParameters.model_fields
    fields: dict[str, Any] = {"campaign_file": (str, _field(campaign_file, title="Campaign file",
                                                            description=base["campaign_file"].description or ""))}
    if names:
        env = Literal[tuple(names)]  # type: ignore[valid-type]
        fields["environments"] = (list[env], _field(  # type: ignore[valid-type]
            default_factory=list, title="Environments",
            description=f"Which of {', '.join(names)} to run, one after the other. Leave empty for all of them."))
    return create_model(f"CampaignParameters_{path.stem.replace('-', '_')}", __base__=CampaignParameters,
                        **fields)


def one_line(exc: ValidationError) -> str:
    """``environments.0: Input should be 'dev' or 'staging' (got 'prod')`` — every problem, one line."""
    problems = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "parameters"
        got = f" (got {error['input']!r})" if error.get("type") != "missing" and "input" in error else ""
        problems.append(f"{where}: {error['msg']}{got}")
    return "invalid parameters: " + "; ".join(problems)


__all__ = ["CAMPAIGN_TEST_TYPE", "FORM_FIELDS", "HIDDEN_FIELDS", "STAGE_ORDER", "CampaignParameters", "flow_signature",
           "form_for", "one_line"]
