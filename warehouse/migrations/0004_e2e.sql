-- 0004: the e2e stage — journeys and their steps, the network calls a browser journey made, Web
-- Vitals per page, friction points and screenshots (files beside the run's report; paths here).
-- Backlog items from friction points go to backlog_items (0001) under keys 'e2e:<type>:<what>'.

CREATE TABLE journeys (
    run_id        VARCHAR NOT NULL,
    journey       VARCHAR NOT NULL,                 -- the journey's name in the campaign
    kind          VARCHAR NOT NULL,                 -- api | browser
    status        VARCHAR NOT NULL,                 -- passed | failed | error
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ NOT NULL,
    duration_ms   DOUBLE NOT NULL,
    steps         INTEGER NOT NULL,
    failed_steps  INTEGER NOT NULL,
    friction_points INTEGER NOT NULL,
    error         VARCHAR,                          -- the first failure, in words
    PRIMARY KEY (run_id, journey)
);

CREATE TABLE journey_steps (
    run_id       VARCHAR NOT NULL,
    journey      VARCHAR NOT NULL,
    step_index   INTEGER NOT NULL,                  -- 0 is a browser journey's start page
    name         VARCHAR NOT NULL,
    action       VARCHAR NOT NULL,                  -- request | think | start | goto | click | fill | …
    target       VARCHAR,                           -- 'GET /api/profile', a selector, a path
    endpoint     VARCHAR,                           -- campaign endpoint name (API steps)
    outcome      VARCHAR NOT NULL,                  -- passed | failed | skipped
    gating       BOOLEAN NOT NULL,                  -- false when the failure is a known gap (readiness)
    started_at   TIMESTAMPTZ NOT NULL,
    duration_ms  DOUBLE NOT NULL,
    status_code  INTEGER,
    url          VARCHAR,                           -- request URL, or the page URL after a browser step
    failures     JSON,                              -- list of failed expectations, in words
    captured     JSON,                              -- names of the variables captured (never values)
    reason       VARCHAR,                           -- why it was skipped
    screenshot   VARCHAR,
    PRIMARY KEY (run_id, journey, step_index)
);

CREATE TABLE network_calls (
    run_id        VARCHAR NOT NULL,
    journey       VARCHAR NOT NULL,
    seq           INTEGER NOT NULL,
    step_index    INTEGER,
    method        VARCHAR NOT NULL,
    url           VARCHAR NOT NULL,
    resource_type VARCHAR NOT NULL,                 -- document | fetch | xhr | script | … | api
    endpoint      VARCHAR,                          -- campaign endpoint it matches
    status_code   INTEGER,
    duration_ms   DOUBLE,                           -- request start to response end (request.timing)
    ttfb_ms       DOUBLE,
    started_at    TIMESTAMPTZ NOT NULL,
    failure       VARCHAR,                          -- net::ERR_… or a transport error kind
    blocked       BOOLEAN NOT NULL,                 -- aborted: host outside allow_hosts
    from_app      BOOLEAN NOT NULL,                 -- a host of the environment
    page_url      VARCHAR,                          -- the page that made the call (browser journeys)
    PRIMARY KEY (run_id, journey, seq)
);

CREATE TABLE web_vitals (
    run_id       VARCHAR NOT NULL,
    journey      VARCHAR NOT NULL,
    page_seq     INTEGER NOT NULL,                  -- documents in the order the journey opened them
    page_url     VARCHAR NOT NULL,
    metric       VARCHAR NOT NULL,                  -- LCP | CLS | FCP | TTFB | INP | FID
    value        DOUBLE NOT NULL,
    unit         VARCHAR NOT NULL,                  -- ms | score
    rating       VARCHAR NOT NULL,                  -- good | needs-improvement | poor (web.dev bands)
    step_index   INTEGER,
    measured_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, journey, page_seq, metric)
);

CREATE TABLE friction_points (
    run_id       VARCHAR NOT NULL,
    journey      VARCHAR NOT NULL,
    seq          INTEGER NOT NULL,
    type         VARCHAR NOT NULL,                  -- missing_api | slow_api | mock_data | ui_blocker | …
    severity     VARCHAR NOT NULL,                  -- high | medium | low
    title        VARCHAR NOT NULL,
    key          VARCHAR NOT NULL,                  -- the backlog item it feeds, without 'e2e:'
    target       VARCHAR,
    endpoint     VARCHAR,
    page_url     VARCHAR,
    step_index   INTEGER,
    evidence     JSON,
    screenshot   VARCHAR,                           -- path of the screenshot that shows it
    detected_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, journey, seq)
);

CREATE TABLE screenshots (
    run_id       VARCHAR NOT NULL,
    journey      VARCHAR NOT NULL,
    seq          INTEGER NOT NULL,
    step_index   INTEGER,
    label        VARCHAR NOT NULL,
    path         VARCHAR NOT NULL,                  -- <out_dir>/e2e/<journey>/NN-<label>.png
    page_url     VARCHAR,
    taken_at     TIMESTAMPTZ NOT NULL,
    bytes        BIGINT,
    PRIMARY KEY (run_id, journey, seq)
);
