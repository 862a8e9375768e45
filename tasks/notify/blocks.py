"""The Slack message of a campaign run: a pure Block Kit formatter (as Otava's ``slack.py``).

``build_message(doc, …)`` turns the run document (``tasks.document.RunDocument``) into
``Message(text, blocks)``; it does no I/O, so ``tests/notify/expected-slack-blocks.json`` pins its
output. Layout, top to bottom: the verdict as a header, the one-line why, one section per
environment (verdict, p95, errors, throughput, real endpoints; a warning when its numbers are in
doubt, with the reason), the run against last night and the baseline, the failed gates, the
regressions, the mocked and missing endpoints, what was refused (chaos in production), the links
(report, Prefect flow run) and the run ids.

Block Kit's limits are respected by construction and checked by :func:`limit_problems` (the fake
Slack in the tests checks them independently): at most 50 blocks, a header's text ≤ 150
characters, a section's text ≤ 3000, at most 10 fields of ≤ 2000, at most 10 context elements,
a button's text ≤ 75 and its URL ≤ 3000.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tasks.document import RunDocument
from tasks.report.summary import (DOUBT_EMOJI, VERDICTS, EnvSummary, RunSummary, fmt_ms, fmt_pct, gate_line,
                                  regression_line, summarize)

MAX_BLOCKS, MAX_HEADER, MAX_SECTION, MAX_FIELDS, MAX_FIELD, MAX_CONTEXT = 50, 150, 3000, 10, 2000, 10
MAX_BUTTON_TEXT, MAX_URL, MAX_LIST = 75, 3000, 8
MAX_ENV_SECTIONS = 12


@dataclass
class Links:
    report: str | None = None           #: http(s) URL of the HTML report, or its local path
    report_attached: bool = False       #: the HTML goes into the message's thread (no URL serves it)
    flow_run: str | None = None         #: the Prefect UI's flow-run page
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class Message:
    text: str
    blocks: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mrkdwn_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _section(text: str, fields: list[str] | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, MAX_SECTION)}}
    if fields:
        block["fields"] = [{"type": "mrkdwn", "text": _cut(f, MAX_FIELD)} for f in fields[:MAX_FIELDS]]
    return block


def _context(parts: list[str]) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(p, MAX_SECTION)}
                                            for p in parts[:MAX_CONTEXT]]}


def _bullets(lines: list[str], limit: int = MAX_LIST) -> str:
    shown = [f"• {_mrkdwn_escape(line)}" for line in lines[:limit]]
    if len(lines) > limit:
        shown.append(f"… and {len(lines) - limit} more in the report")
    return "\n".join(shown)


def _env_fields(env: EnvSummary) -> list[str]:
    n = env.numbers
    fields = []
    if n.p95_ms is not None:
        fields.append(f"*p95*\n{fmt_ms(n.p95_ms)}")
        fields.append(f"*errors*\n{fmt_pct(n.error_rate)}")
        if n.rps is not None:
            fields.append(f"*throughput*\n{n.rps:,.0f} req/s")
    elif n.smoke_checked:
        fields.append(f"*smoke*\n{n.smoke_passed}/{n.smoke_checked} passed")
    if n.verdicts:
        total = sum(n.verdicts.values())
        fields.append(f"*real endpoints*\n{n.verdicts.get('real', 0)}/{total}")
    return fields


def _env_line(env: EnvSummary) -> str:
    kind = f" ({env.kind})" if env.kind and env.kind != env.name else ""
    line = f"{env.emoji} *{env.name}*{kind} — *{env.label}*"
    if env.verdict in ("error", "interrupted", "crashed") and env.reasons:
        line += f"\n{_mrkdwn_escape(_cut(env.reasons[0], 500))}"
    if env.doubt:
        line += f"\n{DOUBT_EMOJI} {_mrkdwn_escape(_cut(env.doubt, 500))}"
    return line


def _comparison_lines(env: EnvSummary) -> list[str]:
    """The run against last night and the baseline: its regressions with their change and
    significance, else the analysis's one line (no significant regression, first night…)."""
    if env.regressions:
        return [f"{env.name} · {regression_line(g)}" for g in env.regressions]
    return [f"{env.name} · {env.vs}"] if env.vs else []


def _links(links: Links) -> tuple[dict[str, Any] | None, list[str]]:
    """Buttons for http(s) links; other links (a local report path) go to a context line."""
    buttons, context = [], []
    items = [("Open the report", links.report, "report"), ("Prefect flow run", links.flow_run, "flow-run")]
    items += [(label, url, label.lower().replace(" ", "-")) for label, url in links.extra.items()]
    for label, url, action in items:
        if not url:
            continue
        if action == "report" and links.report_attached and not url.startswith(("http://", "https://")):
            context.append("report: attached in the thread (report.html, opens offline); set `notify.report_url` "
                           "to link a served copy")
            continue
        if url.startswith(("http://", "https://")) and len(url) <= MAX_URL:
            button = {"type": "button", "text": {"type": "plain_text", "text": _cut(label, MAX_BUTTON_TEXT)},
                      "url": url, "action_id": f"open-{action}"}
            if action == "report":
                button["style"] = "primary"
            buttons.append(button)
        else:
            context.append(f"{label.lower().replace('open the ', '')}: `{_cut(url, 500)}`")
    return ({"type": "actions", "elements": buttons[:25]} if buttons else None), context


def _when(doc: RunDocument) -> str | None:
    starts = [o.started_at for e in doc.environments.values() for _, o in e.stages.items() if o.started_at]
    starts += [e.started_at for e in doc.environments.values() if e.started_at]
    return f"{min(starts):%Y-%m-%d %H:%M} UTC" if starts else None


def build_message(doc: RunDocument, *, environments: list[str] | None = None, links: Links | None = None,
                  mention: str | None = None, trigger: str | None = None) -> Message:
    """The run's message for the ``environments`` sharing one channel (all when None)."""
    links = links or Links()
    full = summarize(doc)
    envs = [e for e in full.environments if environments is None or e.name in environments]
    run = RunSummary(campaign=full.campaign, team=full.team,
                     verdict=max((e.verdict for e in envs), key=lambda v: VERDICTS[v][0], default="passed"),
                     environments=envs, refused=full.refused, exit_code=full.exit_code, flow_run_id=full.flow_run_id)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                    "text": _cut(f"{run.emoji} {run.campaign} · {run.label}", MAX_HEADER)}}]
    attention = [e for e in envs if e.attention]
    if attention:
        why = []
        for env in attention[:5]:
            emoji = DOUBT_EMOJI if env.verdict == "passed" else env.emoji      # passed, but in doubt
            why.append(f"{emoji} *{env.name}*: {_mrkdwn_escape(_cut(env.brief, 400))}")
        if len(attention) > 5:
            why.append(f"… and {len(attention) - 5} more environments")
        lead = "\n".join(why)
        if mention and any(e.verdict in ("failed", "error") for e in attention):
            lead = f"{mention} {lead}"
    else:
        lead = f"All {len(envs)} environment{'s' if len(envs) != 1 else ''} passed every gate."
    blocks.append(_section(lead))
    meta = [f"team *{_mrkdwn_escape(run.team)}*" if run.team else None, _when(doc),
            f"trigger {trigger}" if trigger else None,
            f"exit code {run.exit_code}" if run.exit_code is not None else None]
    blocks.append(_context([m for m in meta if m] or [f"campaign {run.campaign}"]))
    blocks.append({"type": "divider"})

    for env in envs[:MAX_ENV_SECTIONS]:
        blocks.append(_section(_env_line(env), _env_fields(env)))
    if len(envs) > MAX_ENV_SECTIONS:
        rest = envs[MAX_ENV_SECTIONS:]
        blocks.append(_section(", ".join(f"{e.emoji} {e.name} {e.label}" for e in rest)))

    failed = [(e.name, g) for e in envs for g in e.failed_gates]
    if failed:
        blocks.append(_section(f"*Failed gates* ({len(failed)})\n"
                               + _bullets([f"{name} · {gate_line(g)}" for name, g in failed])))
    regressions = sum(len(e.regressions) for e in envs)
    compared = [line for e in envs for line in _comparison_lines(e)]
    if compared:
        title = f"*Regressions* ({regressions}) — vs last night / vs baseline" if regressions else \
            "*vs last night / vs baseline*"
        blocks.append(_section(f"{title}\n" + _bullets(compared)))
    gaps: dict[tuple[str, str], list[str]] = {}
    for env in envs:
        for name in env.mocked:
            gaps.setdefault((name, "mocked"), []).append(env.name)
        for name in env.missing:
            gaps.setdefault((name, "missing"), []).append(env.name)
    if gaps:
        lines = [f"{name} — {kind} in {', '.join(where)}" for (name, kind), where in
                 sorted(gaps.items(), key=lambda kv: (kv[0][1] != "missing", kv[0][0]))]
        blocks.append(_section(f"*Endpoints not real yet* ({len(gaps)}, kept out of load and chaos)\n"
                               + _bullets(lines)))
    refused = [f"{e.name} · {stage} ({why})" if why else f"{e.name} · {stage}"
               for e in envs for stage, status, why in e.not_run if status == "refused"]
    if refused:
        blocks.append(_context([f":shield: Left out: {_mrkdwn_escape('; '.join(refused))}"]))

    actions, link_context = _links(links)
    if actions:
        blocks.append(actions)
    ids = [f"{e.name} `{e.run_id}`" for e in envs if e.run_id]
    context = link_context + ([f"runs: {', '.join(ids)}"] if ids else [])
    if context:
        blocks.append(_context(context))
    blocks = blocks[:MAX_BLOCKS]
    text = _cut(run.headline, 3000)
    return Message(text=text, blocks=blocks)


def limit_problems(blocks: list[dict[str, Any]]) -> list[str]:
    """Where ``blocks`` break Block Kit's limits (empty when they do not)."""
    problems = []
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"{len(blocks)} blocks (limit {MAX_BLOCKS})")
    for i, block in enumerate(blocks):
        kind = block.get("type")
        text = (block.get("text") or {}).get("text", "")
        if kind == "header" and len(text) > MAX_HEADER:
            problems.append(f"block {i}: header text {len(text)} > {MAX_HEADER}")
        if kind == "section":
            if len(text) > MAX_SECTION:
                problems.append(f"block {i}: section text {len(text)} > {MAX_SECTION}")
            fields = block.get("fields") or []
            if len(fields) > MAX_FIELDS:
                problems.append(f"block {i}: {len(fields)} fields > {MAX_FIELDS}")
            problems += [f"block {i}: field {j} {len(f['text'])} > {MAX_FIELD}"
                         for j, f in enumerate(fields) if len(f.get("text", "")) > MAX_FIELD]
        if kind == "context" and len(block.get("elements") or []) > MAX_CONTEXT:
            problems.append(f"block {i}: {len(block['elements'])} context elements > {MAX_CONTEXT}")
        if kind == "actions":
            for element in block.get("elements") or []:
                if len(element.get("text", {}).get("text", "")) > MAX_BUTTON_TEXT:
                    problems.append(f"block {i}: button text > {MAX_BUTTON_TEXT}")
                if len(element.get("url", "")) > MAX_URL:
                    problems.append(f"block {i}: button url > {MAX_URL}")
    return problems
