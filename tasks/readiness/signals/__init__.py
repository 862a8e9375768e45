"""Readiness signals: one module per family, one registry.

Each signal is a pure function over a :class:`~tasks.readiness.probe.ProbeRecord` returning a
(possibly empty) list of :class:`~tasks.readiness.models.Evidence`; a module registers its
signals with :func:`register`, and :data:`SIGNAL_MODULES` fixes the order their evidence is
reported in. Adding a signal is adding a function (or a module listed here); how the evidence is
combined into a verdict is documented in :mod:`tasks.readiness.verdict`.

=============  ===========================================================================
module         family
=============  ===========================================================================
status         what the status says: missing, error, unreachable, bad samples
fingerprints   known mock tools' headers and bodies (:mod:`tasks.readiness.signatures`)
content        placeholder/example values, Lorem ipsum, template-stamped lists
identity       other and nonexistent ids: does the answer depend on the id?
stability      identical requests, randomly different bodies
queries        query parameters honoured (limit)
writes         writes that persist or not, repeated POSTs
rpc            POSTs that create nothing: does the answer depend on the input?
timing         fixed-sleep latency
transport      catch-all routes, auth not enforced, content type, Date header, writes not probed
=============  ===========================================================================

Weights are on a log-odds-like scale:

=====================  =========  ======  =====================================================
signal                 points to  weight  when
=====================  =========  ======  =====================================================
mock-server-header     mock       1-5     a known mock tool's header on the endpoint's own answers
                                          (see signatures.py)
mock-server-body       mock       5       a known mock tool's body (error page, sampler UUID)
mock-server-host       mock       ≤4      a tool the host's own pages name (admin API, 404 page, home
                                          page, CORS preflight): 4 when the endpoint's answers come
                                          from the same software, nothing when they are relayed
dev-http-server        mock       1       served by Python's BaseHTTP
placeholder-content    mock       1-3.5   many fields hold example values ("string", 0, "test"...),
                                          weighed by their share; any Lorem ipsum text weighs 2-2.5
                                          on its own, whatever the share; two or more different
                                          well-known placeholder people/texts (John Doe, Jane Doe,
                                          Foo Bar...) not sent by the request 2.5-2.8 (never alone)
uniform-items          mock       1-2     list items identical apart from their id, or all with the
                                          same midnight timestamp (+ the same free text)
fixture-timestamp      mock       0.5     every event time (``*_at``) of the answer is midnight on the 1st
                                          of a month, long ago ("2020-01-01T00:00:00Z"): typed by hand
invalid-json           mock       2       a JSON content type over a body that is not JSON
template-token         mock       2       a value that is a template's token for a name the request itself
                                          filled in (``@alertname``, ``{{id}}``, ``${id}``): left unrendered
js-date-string         mock       1.5     JavaScript Date.toString() values instead of ISO 8601
stale-generated-at     mock       1.5     an answer computed on request says it was generated days ago
ignores-path-id        mock       1-2.5   other and nonexistent ids give the same 2xx body (1 for a
                                          DELETE of a nonexistent id answered 2xx)
ignores-query          mock       1-2     a query parameter's other and nonexistent values, or limit=1,
                                          change nothing
unknown-id-empty       mock       0.7     a nonexistent id answers 2xx with an empty body where a real one
                                          answers an object
phantom-resource       mock       1-1.5   a nonexistent id answers 2xx with a full body (1.5: a body
                                          about that very id)
id-mismatch            mock       1-1.5   /items/2 (or ?customer_id=2) answers about 1, never says 2
accepts-malformed      mock       1.5-2   an id of the wrong shape answered like a real one; a POST
                                          body that is not JSON answered 2xx
unstable-random-body   mock       1-3     identical requests get randomly different bodies (one field:
                                          1; the resource's own id changing counts extra); 3 when three
                                          or more business counts jump up and down by large amounts
                                          (or two, and a third leaps one way) and nothing else
                                          changes (a randint dashboard)
random-template        mock       1       both of the above: a nonexistent id answered like a real one
                                          (ignores-path-id or phantom-resource ≥ 1.5) and random
                                          changes between identical requests: a template with random
                                          helpers
cycling-body           mock       1-2     identical requests get a few bodies in a fixed rotation (a
                                          tool's response list; 1 for two bodies: two replicas?)
write-not-persisted    mock       0.5-2.5 the created/updated/deleted state is not there after (a
                                          404 is re-read once after 0.5 s; 2.5 only when the API's own
                                          item route says so); a DELETE (the probe's own, or the
                                          cleanup's through the campaign's route) that left the object
                                          answering exactly as before, timestamps included: 2
location-unroutable    mock       0.3     the Location names a route the API does not expose: weak
write-same-id          mock       2-2.5   two POSTs return the same new id (2.5 when their bodies differ)
write-not-reflected    mock       1.5     the read-back (or the created object) lacks what was written
creation-time-not-now  mock       2       a just-created object says it was created days ago
effect-none            mock       1       nothing the API lists changed after an unconfirmed POST
ignores-input          mock       0.8-2   a non-create POST with one identifier varied (sku SKU-00001
                                          → SKU-00002) gets the same informative answer (0.8 when only
                                          the echoed value differs)
input-not-reflected    mock       1-1.5   a non-create POST's answer names another identifier of the
                                          same shape as the one sent (sku SKU-00001 → "SKU-00042")
constant-latency       mock       0.5-2   fixed-sleep latency (>20 ms, CV < 3 %) over the identical
                                          reads, or the identical sends of a non-create POST (≤ 1 under
                                          40 ms: a steady query looks the same)
catch-all-route        mock       2       a random path answers 2xx JSON
ignores-auth           mock       0.7     same 200 body without the auth headers
content-type-mismatch  mock       0.8     JSON body served as text/html, text/plain or untyped
no-date-header         mock       0.7     no Date header (RFC 9110 wants one from real servers)
pretty-printed-json    mock       0.5     indented JSON (json-server, Mockoon…)
documented-example     mock       2-3     the answer repeats the example values the endpoint's documented
                                          response schema gives (≥ 3 fields and ≥ 80 % of those documented;
                                          2 for a write answering the spec's example id)
static-file            mock       3       a JSON answer with Accept-Ranges: bytes and Last-Modified: a
                                          fixture file served from disk (nginx, http-server), not a
                                          handler; never on a path that names a file (/config.json)
transport-differs      mock       1-2.3   served by other software than its sibling endpoints (cross): the
                                          side without Date or Server is blamed, else the much smaller
                                          one, else the one with two or more mocks beside one with none
co-served-with-mocks   mock       1.5-2   blamed by transport-differs, served by the same software as an
                                          endpoint that is mock on its own evidence, and no endpoint of
                                          that group shows strong real evidence (R ≥ 2) (cross)
host-of-mocks          mock       3       one piece of software answers the whole base URL (no transport
                                          split), ≥ 5 and ≥ 40 % of its endpoints are mock on their own
                                          evidence, none shows strong real evidence (R ≥ 2) and ≤ 10 %
                                          any (R ≥ 1): a mock generator serving a whole spec (cross)
phantom-parent         mock       2       a sibling says the parent does not exist, this one answers
                                          2xx for it (cross)
list-item-contradiction mock      0.7-1   GET /items/2 answers other text than the list shows for item 2
                                          (1 on the item route, 0.7 on the list; fields a write of the
                                          run sends are not compared) (cross)
frozen-list            mock       2       the collection's plain list did not show an object confirmed
                                          created (cross)
unknown-id-rejected    real       0-1     a nonexistent id answers 404/410/400/422 (0 when that 404 is the one a
                                          path that does not exist gets: no lookup is seen)
distinct-by-id         real       0.8     different ids give different bodies
limit-honoured         real       1       limit=1 really returns ≤1 item
write-persisted        real       1.5-2   created/updated/deleted state is visible after
effect-listed          real       2       a related list shows the new id or the probe's unique value
effect-changed         real       1       a related read (a balance, a count) changed after the POST
list-moves             real       1       this list changed after a POST to its collection (cross)
write-conflict         real       1       the repeated POST was refused with 409
write-new-id           real       0.5     two POSTs got different ids
rejects-malformed      real       0.5     a POST body that is not JSON was refused (4xx)
depends-on-input       real       0.5-0.8 the varied identifier got another answer (0.5: a 4xx)
auth-enforced          real       1       401/403 without the auth headers
not-found              missing    3       404/410 that is the router's own (see routing.py)
method-not-allowed     missing    3       405
not-implemented        missing    2-3     501, or a 2xx stub answer ({"message": "Not implemented yet"})
server-error           error      3       5xx
client-error           error      2       another 4xx the campaign does not expect
unreachable            error      5       connection refused / DNS / timeout
request-failed         error      3       protocol error, invalid URL
=====================  =========  ======  =====================================================

(cross): added by :mod:`tasks.readiness.crosscheck` from several endpoints' probes and reported by
the ``cross-endpoint`` signal.

Informational (weight 0): ``entity-not-found`` (a handler's 404: the route exists, no id that
exists was found — the verdict is ``unverified``), ``mock-tool-proxy`` (a mock tool relaying a real
backend — its headers are then ignored), ``collection-route-ok`` (ids 404 but the collection
answers: test data may be wrong), ``bad-sample`` (the campaign's sample failed, a real id or an
empty query worked), ``unexpected-status``, ``missing-sample``, ``write-accepted-async`` (202),
``write-idempotent``, ``write-unverifiable``, ``read-back-id-blind`` (the object was read back
through an item route that answers the same for any id: no ``write-persisted``), ``location-offsite`` (a Location outside the
allow-list: not followed), ``not-restored``, ``writes-not-probed`` (with the reason).
"""

from __future__ import annotations

import importlib
from typing import Callable

from ..models import Evidence
from ..probe import ProbeRecord

Signal = Callable[[ProbeRecord], list[Evidence]]

SIGNAL_MODULES = ("status", "fingerprints", "content", "identity", "stability", "queries", "writes", "rpc",
                  "timing", "transport")
_REGISTERED: dict[str, list[Signal]] = {}


def register(fn: Signal) -> Signal:
    """Decorator: make ``fn`` a signal of its module's family."""
    family = fn.__module__.rsplit(".", 1)[-1]
    _REGISTERED.setdefault(family, []).append(fn)
    return fn


def _load() -> tuple[Signal, ...]:
    for name in SIGNAL_MODULES:
        importlib.import_module(f"{__name__}.{name}")
    return tuple(fn for name in SIGNAL_MODULES for fn in _REGISTERED.get(name, []))


#: every signal, in the order its evidence is reported
SIGNALS: tuple[Signal, ...] = _load()


def collect(rec: ProbeRecord) -> list[Evidence]:
    """Run every signal; a failing signal is reported, never raised."""
    out: list[Evidence] = []
    for sig in SIGNALS:
        try:
            out.extend(sig(rec))
        except Exception as exc:  # pragma: no cover - defensive
            out.append(Evidence("signal-failed", "error", 0.0, f"{sig.__name__}: {type(exc).__name__}: {exc}"))
    return out


from .content import fixture_timestamps, lorem_weight, placeholder_content, uniform_items  # noqa: E402
from .fingerprints import mock_server_signatures  # noqa: E402
from .identity import id_mismatch, ignores_path_id  # noqa: E402
from .queries import ignores_query  # noqa: E402
from .rpc import ignores_input, input_not_reflected  # noqa: E402
from .stability import unstable_body  # noqa: E402
from .status import status_evidence  # noqa: E402
from .timing import constant_latency  # noqa: E402
from .transport import auth_ignored, catch_all_route, transport_details, writes_skipped  # noqa: E402
from .writes import reflects, write_persistence  # noqa: E402

__all__ = ["SIGNALS", "SIGNAL_MODULES", "Signal", "auth_ignored", "catch_all_route", "collect", "constant_latency",
           "fixture_timestamps",
           "id_mismatch", "ignores_input", "ignores_path_id", "ignores_query", "input_not_reflected", "lorem_weight",
           "mock_server_signatures", "placeholder_content", "reflects", "register", "status_evidence",
           "transport_details", "uniform_items", "unstable_body", "write_persistence", "writes_skipped"]
