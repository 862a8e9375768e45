"""Mockoon environment files (the format Mockoon's desktop app saves, lastMigration 33), built in
code so the bed's environments stay readable and consistent, and written next to the campaigns.

    python -m tests.realbed.mockoon_env     # rewrites configs/mockoon-*/environment.json

The committed JSON files are what the tests run; this module only regenerates them.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent / "configs"
NS = uuid.UUID("6f1d3b2e-8f4a-4c55-9f39-2f1d2a0c7b11")


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(NS, "/".join(parts)))


def response(body: str = "{}", *, status: int = 200, label: str = "", rules: list[dict] | None = None,
             default: bool = False, bucket: str = "", latency: int = 0, headers: list[dict] | None = None,
             operator: str = "OR", key: str = "") -> dict[str, Any]:
    return {"uuid": _uuid("response", key, label, str(status), body[:40]), "body": body, "latency": latency,
            "statusCode": status, "label": label, "headers": headers or [],
            "bodyType": "DATABUCKET" if bucket else "INLINE", "filePath": "", "databucketID": bucket,
            "sendFileAsBody": False, "rules": rules or [], "rulesOperator": operator, "disableTemplating": False,
            "fallbackTo404": False, "default": default, "crudKey": "id", "callbacks": []}


def rule(target: str, modifier: str, value: str, operator: str = "equals", invert: bool = False) -> dict[str, Any]:
    return {"target": target, "modifier": modifier, "value": value, "invert": invert, "operator": operator}


def route(method: str, endpoint: str, *responses: dict[str, Any], crud: bool = False, doc: str = "") -> dict[str, Any]:
    rs = list(responses)
    for i, r in enumerate(rs):
        r["uuid"] = _uuid("response", method, endpoint, str(i))
    if rs and not any(r["default"] for r in rs):
        rs[0]["default"] = True
    return {"uuid": _uuid("route", method, endpoint), "type": "crud" if crud else "http", "documentation": doc,
            "method": "" if crud else method.lower(), "endpoint": endpoint, "responses": rs,
            "responseMode": None, "streamingMode": None, "streamingInterval": 0}


def bucket(short_id: str, name: str, value: str) -> dict[str, Any]:
    return {"uuid": _uuid("bucket", name), "id": short_id, "name": name, "documentation": "", "value": value}


def environment(name: str, routes: list[dict], data: list[dict] | None = None, *, proxy: str = "",
                latency: int = 0) -> dict[str, Any]:
    return {"uuid": _uuid("env", name), "lastMigration": 33, "name": name, "endpointPrefix": "", "latency": latency,
            "port": 3000, "hostname": "", "folders": [], "routes": routes,
            "rootChildren": [{"type": "route", "uuid": r["uuid"]} for r in routes],
            "proxyMode": bool(proxy), "proxyHost": proxy, "proxyRemovePrefix": False,
            "tlsOptions": {"enabled": False, "type": "CERT", "pfxPath": "", "certPath": "", "keyPath": "",
                           "caPath": "", "passphrase": ""},
            "cors": True, "headers": [{"key": "Content-Type", "value": "application/json"}],
            "proxyReqHeaders": [{"key": "", "value": ""}], "proxyResHeaders": [{"key": "", "value": ""}],
            "data": data or [], "callbacks": []}


JSON = [{"key": "Content-Type", "value": "application/json"}]


def helpdesk() -> dict[str, Any]:
    """A helpdesk API mocked with CRUD routes over data buckets, faker templating and rules."""
    customers = json.dumps([
        {"id": "1", "name": "Ada Lovelace", "email": "ada@analytical.engine", "plan": "enterprise"},
        {"id": "2", "name": "Grace Hopper", "email": "grace@cobol.dev", "plan": "team"},
        {"id": "3", "name": "Alan Turing", "email": "alan@bletchley.park", "plan": "free"}], indent=2)
    tickets = ("[\n{{#repeat 8 comma=true}}\n  {\n    \"id\": \"{{add @index 1}}\",\n"
               "    \"subject\": \"{{faker 'hacker.phrase'}}\",\n"
               "    \"status\": \"{{oneOf (array 'open' 'pending' 'solved')}}\",\n"
               "    \"priority\": \"{{oneOf (array 'low' 'normal' 'high' 'urgent')}}\",\n"
               "    \"requester\": \"{{faker 'internet.email'}}\",\n"
               "    \"created_at\": \"{{faker 'date.past'}}\"\n  }\n{{/repeat}}\n]")
    routes = [
        route("", "api/customers", response(bucket="cust"), crud=True, doc="CRUD over the customers bucket"),
        route("", "api/tickets", response(bucket="tick"), crud=True, doc="CRUD over the tickets bucket"),
        route("get", "api/tickets/:id/comments",
              response('[{"id": 1, "author": "Ada Lovelace", "body": "Still broken after the update"},'
                       ' {"id": 2, "author": "Support", "body": "We are looking into it"}]',
                       rules=[rule("params", "id", "1")], label="ticket 1"),
              response("[]", default=True, label="others")),
        route("get", "api/dashboard",
              response('{\n  "open": {{int 5 60}},\n  "pending": {{int 0 20}},\n  "solved_today": {{int 0 40}},\n'
                       '  "csat": {{float 3.5 5 precision=0.01}},\n  "generated_at": "{{now}}"\n}')),
        route("get", "api/agents/:id",
              response('{\n  "id": "{{urlParam \'id\'}}",\n  "name": "{{faker \'person.fullName\'}}",\n'
                       '  "email": "{{faker \'internet.email\'}}",\n  "online": {{faker \'datatype.boolean\'}},\n'
                       '  "open_tickets": {{int 0 25}}\n}')),
        route("post", "api/auth/login",
              response('{"token": "{{faker \'string.uuid\'}}", "expires_in": 3600}',
                       rules=[rule("body", "email", "agent@helpdesk.test")], label="known agent"),
              response('{"error": "invalid credentials"}', status=401, default=True, label="anyone else")),
        route("put", "api/tickets/:id/assign",
              response('{"ticket": "{{urlParam \'id\'}}", "assignee": "{{body \'agent_id\'}}", "ok": true}')),
        route("get", "api/search",
              response('{"query": "{{queryParam \'q\'}}", "hits": [{"id": "3", "subject": "Printer on fire"}],'
                       ' "took_ms": {{int 3 40}} }', latency=80)),
    ]
    return environment("Helpdesk API", routes, [bucket("cust", "customers", customers), bucket("tick", "tickets", tickets)])


def shop_proxy(upstream: str = "http://127.0.0.1:8000") -> dict[str, Any]:
    """Mockoon in front of the real shop API: a few routes stubbed, the rest proxied to it."""
    routes = [
        route("get", "api/products/:id",
              response('{\n  "id": {{urlParam \'id\'}},\n  "name": "{{faker \'commerce.productName\'}}",\n'
                       '  "sku": "SKU-{{int 1000 9999}}",\n  "price": {{float 5 500 precision=0.01}},\n'
                       '  "stock": {{int 0 100}},\n  "created_at": "{{faker \'date.recent\'}}"\n}')),
        route("post", "api/orders",
              response('{"id": {{int 1000 9999}}, "ref": "ORD-{{faker \'string.alphanumeric\' 10 casing=\'upper\'}}",'
                       ' "status": "accepted", "total": {{float 10 500 precision=0.01}},'
                       ' "customer_id": {{body \'customer_id\'}}, "product_id": {{body \'product_id\'}},'
                       ' "qty": {{body \'qty\'}} }', status=201)),
        route("get", "api/customers/:id/wallet",
              response('{"customer_id": {{urlParam \'id\'}}, "balance": 1000, "currency": "EUR", "orders": 0,'
                       ' "as_of": "{{now}}"}')),
        route("get", "api/recommendations",
              response('{"customer_id": {{queryParam \'customer_id\' 1}}, "items": [{{#repeat 3 comma=true}}'
                       '{"product_id": {{int 1 6}}, "name": "{{faker \'commerce.productName\'}}",'
                       ' "score": {{float 0 1 precision=0.01}} }{{/repeat}}]}')),
    ]
    return environment("Shop API (proxy)", routes, proxy=upstream)


def crm() -> dict[str, Any]:
    """A CRM API mocked in Mockoon: CRUD over buckets (contacts with faker data, deals), templated
    routes reading the buckets, a rule on a query parameter, a route with latency."""
    contacts = ("[\n{{#repeat 12 comma=true}}\n  {\n    \"id\": \"c{{add @index 1}}\",\n"
                "    \"name\": \"{{faker 'person.fullName'}}\",\n"
                "    \"company\": \"{{faker 'company.name'}}\",\n"
                "    \"email\": \"{{faker 'internet.email'}}\",\n"
                "    \"phone\": \"{{faker 'phone.number'}}\",\n"
                "    \"created\": \"{{faker 'date.past'}}\"\n  }\n{{/repeat}}\n]")
    deals = json.dumps([{"id": "d1", "contact": "c1", "amount": 12000, "stage": "proposal"},
                        {"id": "d2", "contact": "c2", "amount": 4500, "stage": "won"},
                        {"id": "d3", "contact": "c3", "amount": 30000, "stage": "negotiation"}], indent=2)
    routes = [
        route("", "v2/contacts", response(bucket="cont"), crud=True),
        route("", "v2/deals", response(bucket="deal"), crud=True),
        route("get", "v2/pipeline",
              response('{"stages": [{{#each (dataRaw \'deals\')}}{"id": "{{id}}", "stage": "{{stage}}",'
                       ' "amount": {{amount}} }{{#unless @last}},{{/unless}}{{/each}}],'
                       ' "forecast": {{float 10000 90000 precision=0.01}} }')),
        route("get", "v2/contacts/:id/activities",
              response('[{{#repeat 3 comma=true}}{"type": "{{oneOf (array \'call\' \'email\' \'meeting\')}}",'
                       ' "at": "{{faker \'date.recent\'}}", "note": "{{faker \'lorem.sentence\'}}"}{{/repeat}}]')),
        route("get", "v2/reports/revenue",
              response('{"period": "{{queryParam \'period\' \'month\'}}", "total": 46500, "currency": "USD"}',
                       rules=[rule("query", "period", "month|quarter|year", operator="regex")], label="known period"),
              response('{"error": "unknown period"}', status=400, default=True, label="bad period")),
        route("post", "v2/emails/send",
              response('{"queued": true, "id": "{{faker \'string.uuid\'}}", "to": "{{body \'to\'}}"}', status=202,
                       latency=250)),
    ]
    return environment("CRM API", routes, [bucket("cont", "contacts", contacts), bucket("deal", "deals", deals)])


def write_all() -> None:
    for folder, env in (("mockoon-helpdesk", helpdesk()), ("mockoon-proxy-shop", shop_proxy()),
                        ("mockoon-crm", crm())):
        path = HERE / folder / "environment.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(env, indent=2) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    write_all()
