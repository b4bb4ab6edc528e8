"""An agent using the official Python MCP SDK (`mcp`), unchanged but for the server URL and its own
OIDC bearer token. Reads one JSON request on stdin, connects once over Streamable HTTP, runs the
steps in order and prints one JSON answer on stdout:

  in:  {"url", "token", "mode": "auto" (discover, falling back to initialize; default) | "legacy"
        (the 2025 initialize handshake), "timeout": s,
        "steps": [{"op": "list_tools"} | {"op": "call_tool", "name", "arguments"}]}
  out: {"protocol_version", "server_name", "http_statuses": [status of each HTTP response],
        "results": [{"tools": [{"name", "input_schema", "output_schema"}]}
                    | {"text", "structured_content", "is_error", "meta", "progress": [message]}
                    | {"error": {"type", "code", "message"}}]}
       or {"error": {...}, "http_statuses", "challenge": the last WWW-Authenticate} when the
       connection itself failed (the SDK reports a refused token only as a generic JSON-RPC error).

A step that raises (a protocol error) is reported in its place and the next step still runs.
"""
import asyncio
import json
import sys

import httpx2
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client


async def main() -> dict:
    request = json.load(sys.stdin)
    timeout = request.get("timeout", 60)
    statuses: list[int] = []
    challenge: list[str] = []

    async def seen(response: httpx2.Response) -> None:
        statuses.append(response.status_code)
        if "www-authenticate" in response.headers:
            challenge.append(response.headers["www-authenticate"])

    http = httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {request['token']}"},
        timeout=httpx2.Timeout(timeout),
        event_hooks={"response": [seen]},
    )
    async with http:
        transport = streamable_http_client(request["url"], http_client=http)
        try:
            async with Client(transport, mode=request.get("mode", "auto"), read_timeout_seconds=timeout) as client:
                results = [await step(client, s) for s in request["steps"]]
                info = client.server_info
                return {"protocol_version": client.protocol_version, "server_name": info.name if info else None, "http_statuses": statuses, "results": results}
        except BaseException as error:  # noqa: BLE001 - the connection failing is an answer too
            if isinstance(error, (KeyboardInterrupt, SystemExit)):
                raise
            return {"error": describe(error), "http_statuses": statuses, "challenge": challenge[-1] if challenge else None}


async def step(client: Client, s: dict) -> dict:
    try:
        if s["op"] == "list_tools":
            listing = await client.list_tools()
            return {"tools": [{"name": t.name, "input_schema": t.input_schema, "output_schema": t.output_schema} for t in listing.tools]}
        if s["op"] == "call_tool":
            progress: list[str] = []

            async def on_progress(_done: float, _total: float | None, message: str | None) -> None:
                progress.append(message or "")

            result = await client.call_tool(s["name"], s.get("arguments") or {}, progress_callback=on_progress)
            return {
                "text": "".join(getattr(c, "text", "") for c in result.content),
                "structured_content": result.structured_content,
                "is_error": result.is_error,
                "meta": result.meta,
                "progress": progress,
            }
        raise ValueError(f"unknown step {s['op']!r}")
    except Exception as error:  # noqa: BLE001 - reported in the step's place
        return {"error": describe(error)}


def describe(error: BaseException) -> dict:
    # anyio task groups wrap the transport's failure (e.g. an HTTP 401) in exception groups.
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    code = error.code if isinstance(error, MCPError) else None
    if isinstance(error, httpx2.HTTPStatusError):
        code = error.response.status_code
    return {"type": type(error).__name__, "code": code, "message": str(error)}


if __name__ == "__main__":
    json.dump(asyncio.run(main()), sys.stdout, default=str)
