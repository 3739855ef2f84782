-- grant.lua: the client_credentials grant for wrk, one fixed request.
--   BASIC  base64 of "client_id:client_secret" (client_secret_basic)
--   BODY   the form body (default grant_type=client_credentials)
-- wrk sends the same prebuilt request on every keep-alive connection.
wrk.method = "POST"
wrk.body = os.getenv("BODY") or "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. assert(os.getenv("BASIC"), "BASIC is not set")
