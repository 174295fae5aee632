-- Per-router reads that scanned whole tables. The routers list (admin page, the silence check
-- every quarter of its threshold, the catalog sweep) reads each router's newest usage row and
-- counts its open commands; the inventory checks and the validity expiry read a router's
-- tokens by state. With 45 routers the list took up to 4.4 s (the soak's long form).
CREATE INDEX IF NOT EXISTS usage_router ON usage(router_id, at);
CREATE INDEX IF NOT EXISTS agent_commands_router ON agent_commands(router_id, state);
CREATE INDEX IF NOT EXISTS tokens_router ON tokens(router_id, state);
