import asyncio, json, sys
from mcp import ClientSession
from mcp.client.stdio import stdio_client, StdioServerParameters

SERVERS = [
    ("mcp-server-git", StdioServerParameters(command="/tmp/evalvenv/bin/mcp-server-git", args=["--repository", "/tmp/evalwork/demo_repo"])),
    ("mcp-server-time", StdioServerParameters(command="/tmp/evalvenv/bin/mcp-server-time", args=["--local-timezone", "UTC"])),
]

async def one(name, params):
    async with stdio_client(params) as (r, w):
        async with ClientSession(r, w) as s:
            init = await s.initialize()
            res = await s.list_tools()
            return {"server": name,
                    "serverInfo": init.server_info.model_dump(mode="json", exclude_none=True),
                    "protocolVersion": init.protocol_version,
                    "tools_list_result": res.model_dump(mode="json", by_alias=True, exclude_none=True)}

async def main():
    raw = [await one(n, p) for n, p in SERVERS]
    json.dump(raw, open(sys.argv[1], "w"), indent=2, ensure_ascii=False)
    tools = []
    for srv in raw:
        for t in srv["tools_list_result"]["tools"]:
            tools.append({"type": "function", "function": {"name": t["name"], "description": t.get("description", ""), "parameters": t["inputSchema"]}})
    json.dump(tools, open(sys.argv[2], "w"), indent=2, ensure_ascii=False)
    print(len(tools), [t["function"]["name"] for t in tools])

asyncio.run(main())
